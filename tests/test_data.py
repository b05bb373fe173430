"""`torch.utils.data`: datasets, samplers, `default_collate`/`default_convert`
and `DataLoader` (batching, shuffling with a generator, `drop_last`,
iterable datasets, argument errors, worker processes).

Orders drawn at random are rustgrad's own stream, so they are checked for
reproducibility and coverage; everything deterministic (batches, collated
structures and dtypes, lengths, error messages) is also compared with
PyTorch through the `torch` fixture."""

import collections
import pickle

import numpy as np
import pytest

import rustgrad as rg
from conftest import REFERENCE, run_python
from rustgrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

# rustgrad's random streams (PyTorch's orders differ).
own_streams = pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own random streams")


def plain(obj):
    """``obj`` with every tensor (rustgrad's or PyTorch's) replaced by
    ``("tensor", dtype, shape, values)``, containers kept by type name, so
    results of the two libraries compare with ``==``."""
    if type(obj).__name__ == "Tensor":
        return ("tensor", str(obj.dtype), tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: plain(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.tolist())
    return obj


class Squares(Dataset):
    """``i -> (np.array([i, i*i]), i)``, NumPy and ints only (picklable
    without tensor pickling)."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i]), i


class Stream(IterableDataset):
    """``start..end-1``, each worker taking every ``num_workers``-th item
    (sharding through ``get_worker_info``, as PyTorch's docs do)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        return iter(range(self.start + info.id, self.end, info.num_workers))

    def __len__(self):
        return self.end - self.start


def np_collate(batch):
    """Stacks NumPy samples (``(array, int)`` pairs) without tensors."""
    arrays, ints = zip(*batch)
    return np.stack(arrays), list(ints)


def batches_of(loader):
    return [plain(b) for b in loader]


# ---------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------


def test_tensor_dataset():
    x, y = rg.arange(12).reshape(6, 2).float(), rg.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8.0, 9.0] and b.item() == 4
    assert ds.tensors[0] is x
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, rg.arange(5))


def test_base_dataset_and_sampler_are_abstract():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__."):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(Sampler())

    class NoIter(IterableDataset):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoIter()
    assert Dataset[int] is not None and Sampler[int] is not None  # subscriptable like PyTorch's


def test_concat_dataset_indexing():
    ds = ConcatDataset([range(3), range(10, 14), range(20, 22)])
    assert len(ds) == 9 and ds.cumulative_sizes == [3, 7, 9]
    assert [ds[i] for i in range(9)] == [0, 1, 2, 10, 11, 12, 13, 20, 21]
    assert ds[-1] == 21 and ds[-9] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ds[-10]
    with pytest.raises(IndexError):
        ds[9]
    with pytest.warns(FutureWarning, match="renamed to `cumulative_sizes`"):
        assert ds.cummulative_sizes == [3, 7, 9]
    assert isinstance(Squares(2) + Squares(3), ConcatDataset) and len(Squares(2) + Squares(3)) == 5
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Stream(0, 3)])


def test_chain_dataset():
    ds = Stream(0, 3) + Stream(10, 12)
    assert isinstance(ds, ChainDataset)
    assert list(ds) == [0, 1, 2, 10, 11] and len(ds) == 5
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([range(3)]))


def test_subset_and_stack_dataset():
    sub = Subset(Squares(), [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7
    assert [s[1] for s in sub.__getitems__([2, 0])] == [5, 7]
    stack = StackDataset(range(3), "abc")
    assert stack[1] == (1, "b") and len(stack) == 3
    assert StackDataset(n=range(3), s="abc").__getitems__([0, 2]) == [{"n": 0, "s": "a"}, {"n": 2, "s": "c"}]
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(range(3), "ab")

    class Doubled(Subset):
        def __getitem__(self, idx):
            return 2 * self.dataset[self.indices[idx]]

    with pytest.raises(NotImplementedError, match="Doubled overrides __getitem__ but not __getitems__."):
        Doubled(range(3), [0])


def test_random_split_lengths_partition_the_dataset():
    parts = random_split(range(10), [3, 7], generator=rg.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    assert all(isinstance(p, Subset) for p in parts)


def test_random_split_fractions_hand_out_the_remainder_round_robin():
    parts = random_split(range(11), [0.3, 0.3, 0.4], generator=rg.Generator().manual_seed(0))
    # floor(3.3), floor(3.3), floor(4.4) = 3, 3, 4; the remaining 1 goes to the first
    assert [len(p) for p in parts] == [4, 3, 4]
    assert sorted(i for p in parts for i in p) == list(range(11))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0. This might result in an empty dataset."):
        random_split(range(2), [0.5, 0.0, 0.5])


@own_streams
def test_random_split_is_reproducible():
    def split(**kw):
        return [p.indices for p in random_split(range(20), [0.25, 0.75], **kw)]

    assert split(generator=rg.Generator().manual_seed(5)) == split(generator=rg.Generator().manual_seed(5))
    assert split(generator=rg.Generator().manual_seed(5)) != split(generator=rg.Generator().manual_seed(6))
    rg.manual_seed(3)
    first = split()
    rg.manual_seed(3)
    assert split() == first  # the default generator follows manual_seed


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, -0.5, 1.0])


# ---------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------


def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    assert len(BatchSampler(range(9), 3, True)) == 3


@pytest.mark.parametrize("build, cls, message", [
    (lambda: BatchSampler(range(3), 0, False), ValueError,
     "batch_size should be a positive integer value, but got batch_size=0"),
    (lambda: BatchSampler(range(3), True, False), ValueError,
     "batch_size should be a positive integer value, but got batch_size=True"),
    (lambda: BatchSampler(range(3), 2, 1), ValueError, "drop_last should be a boolean value, but got drop_last=1"),
    (lambda: RandomSampler(range(3), replacement=1), TypeError,
     "replacement should be a boolean value, but got replacement=1"),
    (lambda: RandomSampler(range(3), num_samples=0), ValueError,
     "num_samples should be a positive integer value, but got num_samples=0"),
    (lambda: WeightedRandomSampler([1.0, 2.0], 0), ValueError,
     "num_samples should be a positive integer value, but got num_samples=0"),
    (lambda: WeightedRandomSampler([1.0, 2.0], 2, replacement=None), ValueError,
     "replacement should be a boolean value, but got replacement=None"),
    (lambda: WeightedRandomSampler([[1.0, 2.0]], 2), ValueError,
     "weights should be a 1d sequence but given weights have shape (1, 2)"),
])
def test_sampler_errors(build, cls, message):
    with pytest.raises(cls) as info:
        build()
    assert str(info.value) == message


def test_random_sampler_permutes():
    for _ in range(3):
        order = list(RandomSampler(range(10)))
        assert sorted(order) == list(range(10))
    assert len(RandomSampler(range(10))) == 10


def test_random_sampler_num_samples_and_replacement():
    more = list(RandomSampler(range(4), num_samples=10, generator=rg.Generator().manual_seed(0)))
    # two whole permutations, then part of a third
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3]
    assert len(set(more[8:])) == 2
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=70, generator=rg.Generator().manual_seed(0)))
    assert len(drawn) == 70 and set(drawn) == set(range(5))  # 70 draws: every index, with repeats
    assert len(RandomSampler(range(5), replacement=True, num_samples=70)) == 70


@own_streams
def test_random_sampler_reproducibility():
    def order(seed):
        return list(RandomSampler(range(20), generator=rg.Generator().manual_seed(seed)))

    assert order(1) == order(1) and order(1) != order(2)
    g = rg.Generator().manual_seed(1)
    sampler = RandomSampler(range(20), generator=g)
    assert list(sampler) != list(sampler)  # a generator advances: a new order per pass
    rg.manual_seed(4)
    first = [list(RandomSampler(range(20))) for _ in range(2)]
    rg.manual_seed(4)
    assert [list(RandomSampler(range(20))) for _ in range(2)] == first


def test_subset_random_sampler():
    order = list(SubsetRandomSampler([3, 5, 8, 13], generator=rg.Generator().manual_seed(0)))
    assert sorted(order) == [3, 5, 8, 13]
    assert len(SubsetRandomSampler([3, 5])) == 2


def test_weighted_random_sampler():
    drawn = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=rg.Generator().manual_seed(0)))
    assert len(drawn) == 200 and set(drawn) == {1, 3}
    assert 110 < drawn.count(3) < 190  # expected 150
    distinct = list(WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 4, replacement=False))
    assert sorted(distinct) == [0, 1, 2, 3]
    sampler = WeightedRandomSampler([1, 2], 3)
    assert sampler.weights.dtype == rg.float64 and len(sampler) == 3


# ---------------------------------------------------------------------------
# collation
# ---------------------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "mixed_numbers": [[1, 2.5], [3, 4.5]],
    "strings": ["a", "b"],
    "bytes": [b"a", b"b"],
    "tuples": [(1, "x", 2.0), (2, "y", 3.0)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": (1.5, "s")}, {"a": 2, "b": (2.5, "t")}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "numpy_arrays": [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    "numpy_float32": [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    "numpy_int32_scalars": [np.int32(1), np.int32(2)],
    "numpy_float64_scalars": [np.float64(0.1), np.float64(2)],
    "numpy_mixed_scalars": [np.int32(1), np.float32(2.5), np.uint8(3)],
    "numpy_uint8_scalars": [np.uint8(1), np.uint8(255)],
    "numpy_0d": [np.array(1.5), np.array(2.5)],
    "numpy_bools": [np.bool_(True), np.bool_(False)],
    "nested": [{"img": np.zeros(2), "label": [1, "cat"]}, {"img": np.ones(2), "label": [0, "dog"]}],
}


def rg_tensor_samples():
    return [(rg.tensor([1.0, 2.0]), rg.tensor(3)), (rg.tensor([4.0, 5.0]), rg.tensor(6))]


def test_collate_dtypes_and_structures():
    assert plain(default_collate([1, 2, 3])) == ("tensor", "torch.int64", (3,), [1, 2, 3])
    assert plain(default_collate([1.5, 2.0])) == ("tensor", "torch.float64", (2,), [1.5, 2.0])
    assert plain(default_collate([True, False])) == ("tensor", "torch.bool", (2,), [True, False])
    assert default_collate(["a", "b"]) == ["a", "b"]
    out = default_collate([(1, "x"), (2, "y")])
    assert isinstance(out, list) and out[1] == ("x", "y")  # tuples come back as lists
    d = default_collate([{"a": np.array([1, 2])}, {"a": np.array([3, 4])}])
    assert plain(d) == ("dict", {"a": ("tensor", "torch.int64", (2, 2), [[1, 2], [3, 4]])})
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(p) is Point and p.x.tolist() == [1, 3] and p.y.dtype == rg.float64
    x, y = default_collate(rg_tensor_samples())
    assert x.tolist() == [[1.0, 2.0], [4.0, 5.0]] and y.tolist() == [3, 6]


def test_collate_keeps_the_mapping_type():
    batch = [collections.OrderedDict(a=1), collections.OrderedDict(a=2)]
    out = default_collate(batch)
    assert type(out) is collections.OrderedDict and out["a"].tolist() == [1, 2]


@pytest.mark.parametrize("name", sorted(COLLATE_CASES))
def test_collate_matches_pytorch(torch, name):
    from torch.utils.data import default_collate as torch_collate

    assert plain(default_collate(COLLATE_CASES[name])) == plain(torch_collate(COLLATE_CASES[name]))


@pytest.mark.parametrize("name", sorted(COLLATE_CASES))
def test_convert_matches_pytorch(torch, name):
    from torch.utils.data import default_convert as torch_convert

    for sample in COLLATE_CASES[name]:
        assert plain(default_convert(sample)) == plain(torch_convert(sample))


def test_convert():
    assert plain(default_convert(np.array([0, 1]))) == ("tensor", "torch.int64", (2,), [0, 1])
    assert default_convert(0) == 0 and default_convert("s") == "s"
    converted = default_convert((np.array(1.5), 2))
    assert isinstance(converted, list) and converted[0].dtype == rg.float64 and converted[1] == 2
    strings = np.array(["a", "b"])
    assert default_convert(strings) is strings


@pytest.mark.parametrize("batch, cls, message", [
    ([object()], TypeError,
     "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <class 'object'>"),
    ([np.array(["a"])], TypeError,
     "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found <U1"),
    ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
])
def test_collate_errors(batch, cls, message):
    with pytest.raises(cls) as info:
        default_collate(batch)
    assert str(info.value) == message


# ---------------------------------------------------------------------------
# DataLoader, single process
# ---------------------------------------------------------------------------


def test_batches_and_len():
    ds = TensorDataset(rg.arange(10).float(), rg.arange(10))
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    got = [(x.tolist(), y.tolist()) for x, y in loader]
    assert got == [([0.0, 1.0, 2.0, 3.0], [0, 1, 2, 3]), ([4.0, 5.0, 6.0, 7.0], [4, 5, 6, 7]),
                   ([8.0, 9.0], [8, 9])]
    dropped = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [y.tolist() for _, y in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(ds)) == 10 and next(iter(DataLoader(ds)))[1].tolist() == [0]


def test_batches_match_pytorch(torch):
    from torch.utils.data import DataLoader as TorchLoader

    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None), dict()]:
        assert batches_of(DataLoader(Squares(), **kw)) == batches_of(TorchLoader(Squares(), **kw)), kw
        assert len(DataLoader(Squares(), **kw)) == len(TorchLoader(Squares(), **kw))


def test_no_auto_batching_converts_samples():
    loader = DataLoader(Squares(3), batch_size=None)
    first = next(iter(loader))
    assert isinstance(first, list) and first[0].tolist() == [0, 0] and first[1] == 0


def test_shuffle_is_a_permutation_each_epoch():
    loader = DataLoader(range(20), batch_size=6, shuffle=True)
    for _ in range(2):
        seen = [i for batch in loader for i in batch.tolist()]
        assert sorted(seen) == list(range(20))
    assert [len(b) for b in loader] == [6, 6, 6, 2]


@own_streams
def test_shuffle_with_a_seeded_generator_is_reproducible():
    def epochs(seed, n=3):
        loader = DataLoader(range(20), batch_size=5, shuffle=True, generator=rg.Generator().manual_seed(seed))
        return [[b.tolist() for b in loader] for _ in range(n)]

    a = epochs(7)
    assert a == epochs(7)
    assert a != epochs(8)
    assert a[0] != a[1]  # a new order each epoch
    assert a[0] != [list(range(i, i + 5)) for i in range(0, 20, 5)]


@own_streams
def test_default_shuffle_follows_manual_seed():
    def two_epochs():
        loader = DataLoader(range(20), batch_size=20, shuffle=True)
        return [next(iter(loader)).tolist() for _ in range(2)]

    rg.manual_seed(11)
    first = two_epochs()
    rg.manual_seed(11)
    assert two_epochs() == first
    rg.manual_seed(12)
    assert two_epochs() != first


def test_custom_sampler_batch_sampler_and_collate_fn():
    loader = DataLoader(range(10), batch_size=2, sampler=[9, 8, 7, 6, 5])
    assert [b.tolist() for b in loader] == [[9, 8], [7, 6], [5]]
    loader = DataLoader(range(10), batch_sampler=[[0, 5], [1, 2, 3]])
    assert [b.tolist() for b in loader] == [[0, 5], [1, 2, 3]] and len(loader) == 2
    assert loader.batch_size is None and loader.drop_last is False
    loader = DataLoader(range(5), batch_size=2, collate_fn=lambda batch: sum(batch))
    assert list(loader) == [1, 5, 4]


def test_getitems_is_used_for_batches():
    class Batched(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            raise AssertionError("should fetch through __getitems__")

        def __getitems__(self, indices):
            return [10 * i for i in indices]

    assert [b.tolist() for b in DataLoader(Batched(), batch_size=4)] == [[0, 10, 20, 30], [40, 50]]


def test_iterable_dataset_batches():
    loader = DataLoader(Stream(0, 7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    assert [b.tolist() for b in DataLoader(Stream(0, 7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(Stream(0, 7), batch_size=3, drop_last=True)) == 2
    assert list(DataLoader(Stream(0, 3), batch_size=None)) == [0, 1, 2]


def test_iterable_dataset_longer_than_its_len_warns():
    class Liar(Stream):
        def __len__(self):
            return 2

    loader = DataLoader(Liar(0, 3), batch_size=None)
    assert len(loader) == 2
    with pytest.warns(UserWarning, match="was reported to be 2\\(when accessing len\\(dataloader\\)\\), but 3 samples"):
        list(loader)


def test_pin_memory_is_accepted_and_warns_without_an_accelerator():
    if rg.accelerator.is_available():
        pytest.skip("an accelerator is present")
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        assert [b.tolist() for b in DataLoader(range(4), batch_size=2, pin_memory=True)] == [[0, 1], [2, 3]]


LOADER_ERRORS = [
    (dict(shuffle=True, sampler=[0, 1]), ValueError, "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError,
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError,
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], sampler=[0]), ValueError,
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError,
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_size=None, drop_last=True), ValueError,
     "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"),
    (dict(num_workers=-1), ValueError,
     "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."),
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError,
     "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to enable "
     "multiprocessing, otherwise set prefetch_factor to None."),
    (dict(num_workers=1, prefetch_factor=-1), ValueError, "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), ValueError, "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="fork"), ValueError,
     "multiprocessing_context can only be used with multi-process loading (num_workers > 0), but got num_workers=0"),
    (dict(num_workers=1, multiprocessing_context="telepathy"), ValueError,
     "multiprocessing_context option should specify a valid start method in"),
    (dict(num_workers=1, multiprocessing_context=3), TypeError,
     "multiprocessing_context option should be a valid context object or a string specifying the start method, "
     "but got multiprocessing_context=3"),
    (dict(batch_size=0), ValueError, "batch_size should be a positive integer value, but got batch_size=0"),
]

ITERABLE_ERRORS = [
    (dict(shuffle=True), ValueError,
     "DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=True"),
    (dict(sampler=[0]), ValueError,
     "DataLoader with IterableDataset: expected unspecified sampler option, but got sampler=[0]"),
    (dict(batch_sampler=[[0]]), ValueError,
     "DataLoader with IterableDataset: expected unspecified batch_sampler option, but got batch_sampler=[[0]]"),
]


@pytest.mark.parametrize("kw, cls, message", LOADER_ERRORS)
def test_loader_errors(kw, cls, message):
    with pytest.raises(cls) as info:
        DataLoader(range(4), **kw)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("kw, cls, message", ITERABLE_ERRORS)
def test_iterable_loader_errors(kw, cls, message):
    with pytest.raises(cls) as info:
        DataLoader(Stream(0, 3), **kw)
    assert str(info.value) == message


@pytest.mark.parametrize("kw, cls, message", LOADER_ERRORS + ITERABLE_ERRORS)
def test_loader_errors_match_pytorch(torch, kw, cls, message):
    from torch.utils.data import DataLoader as TorchLoader

    class TorchStream(torch.utils.data.IterableDataset):
        __iter__ = Stream.__iter__

    dataset = TorchStream() if (kw, cls, message) in ITERABLE_ERRORS else range(4)
    with pytest.raises(cls) as info:
        TorchLoader(dataset, **kw)
    assert str(info.value).startswith(message)


def test_workers_need_a_positive_prefetch_factor():
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter"):
        iter(DataLoader(range(4), num_workers=1, prefetch_factor=0))


def test_settings_are_frozen_after_init():
    loader = DataLoader(range(4))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 2
    loader.num_workers = 0  # not one of the frozen ones


def test_too_many_workers_warns():
    with pytest.warns(UserWarning, match="This DataLoader will create 10000 worker processes in total."):
        DataLoader(range(4), num_workers=10000)


def test_iterator_is_not_picklable():
    with pytest.raises(NotImplementedError):
        pickle.dumps(iter(DataLoader(range(4))))


# ---------------------------------------------------------------------------
# DataLoader with worker processes
# ---------------------------------------------------------------------------


def record_worker(worker_id):
    """A worker_init_fn: checks get_worker_info() inside the worker."""
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.seen_init = worker_id


class WorkerEcho(Dataset):
    """``i -> (i, worker id, worker seed, the id recorded by
    worker_init_fn, a draw from the worker's rustgrad and NumPy
    generators)``."""

    seen_init = None

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, info.id, info.seed, self.seen_init, float(rg.rand(1).item()), float(np.random.rand()))


def identity(batch):
    return batch


def test_workers_give_the_same_batches_in_order():
    want = batches_of(DataLoader(Squares(11), batch_size=3, collate_fn=np_collate))
    got = batches_of(DataLoader(Squares(11), batch_size=3, collate_fn=np_collate, num_workers=2))
    assert got == want
    got = batches_of(DataLoader(Squares(11), batch_size=3, collate_fn=np_collate, num_workers=2, prefetch_factor=1,
                                drop_last=True))
    assert got == want[:-1]


def test_workers_collate_tensors_like_the_main_process():
    ds = TensorDataset(rg.arange(20).float().reshape(10, 2), rg.arange(10))
    want = batches_of(DataLoader(ds, batch_size=3))
    assert batches_of(DataLoader(ds, batch_size=3, num_workers=2)) == want
    assert batches_of(DataLoader(Squares(7), batch_size=2, num_workers=2)) == batches_of(
        DataLoader(Squares(7), batch_size=2))


@own_streams
def test_workers_shuffle_like_the_main_process():
    """The order comes from the loader's generator in the main process,
    whatever the number of workers."""
    def epochs(num_workers):
        loader = DataLoader(TensorDataset(rg.arange(10)), batch_size=4, shuffle=True, num_workers=num_workers,
                            generator=rg.Generator().manual_seed(3))
        return [batches_of(loader) for _ in range(2)]

    assert epochs(2) == epochs(0)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_started_without_fork(method):
    """Start methods that pickle the dataset and the collate function."""
    ds = TensorDataset(rg.arange(6).float(), rg.arange(6))
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context=method)
    assert batches_of(loader) == batches_of(DataLoader(ds, batch_size=4))


def test_worker_info_seeds_and_init_fn():
    assert get_worker_info() is None  # in the main process
    loader = DataLoader(WorkerEcho(), batch_size=2, num_workers=2, worker_init_fn=record_worker, collate_fn=identity,
                        generator=rg.Generator().manual_seed(0))
    samples = [s for batch in loader for s in batch]
    assert [s[0] for s in samples] == list(range(8))
    # batches go round-robin to the workers: batch k to worker k % 2
    assert [s[1] for s in samples] == [0, 0, 1, 1, 0, 0, 1, 1]
    assert all(s[3] == s[1] for s in samples)
    seeds = {s[1]: s[2] for s in samples}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker id
    # the workers' generators are seeded differently
    assert samples[0][4] != samples[2][4] and samples[0][5] != samples[2][5]


@own_streams
def test_worker_seeds_follow_the_loader_generator():
    def draws(seed):
        loader = DataLoader(WorkerEcho(), batch_size=2, num_workers=2, collate_fn=identity,
                            generator=rg.Generator().manual_seed(seed))
        return [s[2:] for batch in loader for s in batch]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_iterable_dataset_sharded_by_worker_info():
    loader = DataLoader(Stream(0, 9), batch_size=2, num_workers=2, collate_fn=identity)
    batches = list(loader)
    # worker 0 streams 0,2,4,6,8 and worker 1 streams 1,3,5,7, batches alternating
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8]]
    unsharded = Squares(3)
    assert len(list(DataLoader(unsharded, batch_size=None, num_workers=2, collate_fn=identity))) == 3


def test_persistent_workers_serve_several_epochs():
    loader = DataLoader(Squares(7), batch_size=2, collate_fn=np_collate, num_workers=2, persistent_workers=True)
    want = batches_of(DataLoader(Squares(7), batch_size=2, collate_fn=np_collate))
    first_iterator = iter(loader)
    assert [plain(b) for b in first_iterator] == want
    assert batches_of(loader) == want
    assert iter(loader) is first_iterator
    workers = first_iterator._workers
    assert all(w.is_alive() for w in workers)
    first_iterator._shutdown_workers()
    for w in workers:
        w.join(5)
    assert not any(w.is_alive() for w in workers)


def test_out_of_order_loading_yields_every_batch():
    got = DataLoader(Squares(9), batch_size=2, collate_fn=np_collate, num_workers=2, in_order=False)
    assert sorted(labels for _, labels in got) == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]


class Faulty(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise ValueError("bad sample 3")
        return i


def test_worker_errors_are_reraised_in_the_main_process():
    loader = DataLoader(Faulty(), batch_size=2, num_workers=2, collate_fn=identity)
    it = iter(loader)
    assert next(it) == [0, 1]
    with pytest.raises(ValueError) as info:
        next(it)
    assert str(info.value).startswith("Caught ValueError in DataLoader worker process 1.\nOriginal Traceback")
    assert "bad sample 3" in str(info.value)
    del it


def unpicklable(batch):
    import threading

    return threading.Lock()


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch's worker drops the batch and the loader waits forever")
def test_a_batch_that_cannot_be_pickled_is_reported():
    with pytest.raises(TypeError, match="Caught TypeError in DataLoader worker process 0.(.|\n)*cannot pickle"):
        next(iter(DataLoader(range(2), num_workers=1, collate_fn=unpicklable)))


def failing_init(worker_id):
    raise KeyError("no init")


def test_worker_init_errors_are_reraised():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0."):
        list(DataLoader(range(4), batch_size=2, num_workers=1, worker_init_fn=failing_init, collate_fn=identity))


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import time

        time.sleep(1)
        return i


def test_timeout():
    loader = DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.2, collate_fn=identity)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        next(iter(loader))


@pytest.mark.skipif(REFERENCE is not None, reason="a rustgrad thread-pool issue")
def test_forked_workers_run_large_kernels_after_the_parent_did():
    # Fresh interpreter: the parent first runs large kernels (starting the
    # thread pool), then a forked worker stacks large arrays.
    result = run_python("""
        import numpy as np
        import rustgrad as rg
        from rustgrad.utils.data import DataLoader

        def collate(batch):
            return rg.stack([rg.as_tensor(b) for b in batch]).sum().item()

        if __name__ == "__main__":
            (rg.ones(1000, 1000) @ rg.ones(1000, 1000)).sum()
            data = [np.ones(100_000) for _ in range(4)]
            loader = DataLoader(data, batch_size=4, num_workers=1, timeout=2, collate_fn=collate,
                                multiprocessing_context="fork")
            it = iter(loader)
            try:
                print(next(it))
            except RuntimeError as e:
                print(e)
            for w in it._workers:  # a hung worker would not exit by itself
                w.kill()
    """, timeout=60)
    assert result.stdout.strip() == "400000.0", result.stdout + result.stderr
