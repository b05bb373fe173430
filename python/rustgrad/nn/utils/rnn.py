"""``torch.nn.utils.rnn``: packed and padded batches of variable-length
sequences.

A ``PackedSequence`` holds the time steps of a batch sorted by decreasing
length, interleaved time-major: ``data`` has, for each step ``t``, the
``batch_sizes[t]`` sequences still running at ``t``. Packing and unpacking
are each a single ``index_select`` (padding comes from one extra row of
``padding_value``), so gradients flow through them like any other op.
"""

from collections import namedtuple

from ... import _core
from ..._interop import as_tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def invert_permutation(permutation):
    """The inverse of a permutation tensor (None stays None)."""
    if permutation is None:
        return None
    return permutation.argsort()


_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """A packed batch of variable-length sequences (see the module
    docstring): ``data`` (sum of lengths, *), ``batch_sizes`` (int64, one
    per time step), and ``sorted_indices`` / ``unsorted_indices``, the
    permutation from the original batch order to the sorted one and back
    (None when the batch was already sorted). Build it with
    ``pack_padded_sequence`` or ``pack_sequence``, not directly."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                                 "created manually. They should be instantiated by functions like pack_sequence "
                                 "and pack_padded_sequences in nn.utils.rnn. "
                                 "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        # PyTorch also accepts a (data, batch_sizes) pair as the first argument
        data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)``, the indices moved to the same device; ``self``
        when nothing changes (as ``Tensor.to``)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (None if t is None else t.to(device=data.device)
                                            for t in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self, *args, **kwargs):
        """The sequence on the CPU."""
        return self.to(*args, device="cpu", **kwargs)

    def cuda(self, *args, **kwargs):
        """The sequence on a CUDA device (as ``Tensor.cuda``)."""
        return self.to(*args, device="cuda", **kwargs)

    def pin_memory(self):
        """As PyTorch: ``data`` and the indices pinned (``batch_sizes`` is left alone)."""
        pin = _pin if hasattr(self.data, "pin_memory") else (lambda t: t)
        return type(self)(pin(self.data), self.batch_sizes, pin(self.sorted_indices), pin(self.unsorted_indices))

    @property
    def is_cuda(self):
        """Whether ``data`` is on a CUDA device."""
        return self.data.is_cuda

    def is_pinned(self):
        """Whether ``data`` is in pinned memory."""
        return bool(getattr(self.data, "is_pinned", lambda: False)())


def _pin(t):
    return None if t is None else t.pin_memory()


def _add_dtype_method(name, dtype_name):
    def method(self):
        return self.to(dtype=getattr(_core, dtype_name))

    method.__name__ = name
    method.__doc__ = f"The sequence with ``data`` cast to ``{dtype_name}``."
    setattr(PackedSequence, name, method)


# the dtype shorthands of ``Tensor``, each a ``to(dtype=...)``
for _name, _dtype in (("double", "float64"), ("float", "float32"), ("half", "float16"), ("long", "int64"),
                      ("int", "int32"), ("short", "int16"), ("char", "int8"), ("byte", "uint8")):
    _add_dtype_method(_name, _dtype)


# ---------------------------------------------------------------------------
# index maps between a padded (T, B, *) batch and packed data
# ---------------------------------------------------------------------------


def _batch_sizes_of(lengths):
    """``batch_sizes[t]``, the number of lengths above ``t``, for lengths
    sorted in decreasing order."""
    return [sum(1 for n in lengths if n > t) for t in range(lengths[0])]


def _packed_rows(batch_sizes, batch):
    """The row of each packed element in the (T * batch) rows of a padded
    time-major batch."""
    return [t * batch + b for t, size in enumerate(batch_sizes) for b in range(size)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch ``input`` (T, B, *) (or (B, T, *) with
    ``batch_first``) of sequences with the given ``lengths`` (a list or a
    1-D tensor). With ``enforce_sorted`` the lengths must be in decreasing
    order (PyTorch's RuntimeError otherwise); else the batch is sorted and
    the permutation kept in the result, to restore the order when
    unpacking."""
    if isinstance(lengths, _core.Tensor):
        lengths = lengths.to(dtype=_core.int64)
    else:
        lengths = as_tensor(lengths, dtype=_core.int64, device="cpu")
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = lengths.sort(descending=True)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lengths.dim() != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D "
                           f"{lengths.device.type} Long tensor")
    lens = lengths.tolist()
    batch = input.size(1)
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if any(a < b for a, b in zip(lens, lens[1:])):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                           "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
                           "this requirement if you do not need ONNX exportability.")
    # steps past the padded length have nothing to take (ATen slices them away too)
    batch_sizes = _batch_sizes_of(lens)[:input.size(0)]
    rows = _core.tensor(_packed_rows(batch_sizes, batch), dtype=_core.int64, device=input.device)
    data = input.reshape(-1, *input.shape[2:]).index_select(0, rows)
    return PackedSequence(data, _core.tensor(batch_sizes, dtype=_core.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, the
    batch (T, B, *) (or (B, T, *)) in its original order, padded with
    ``padding_value`` to the longest length or to ``total_length``, and the
    int64 lengths. ValueError for a ``total_length`` below the longest."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    batch = batch_sizes[0]
    # every padded position reads row ``data.size(0)``: a row of padding_value
    index = [data.size(0)] * (steps * batch)
    for i, row in enumerate(_packed_rows(batch_sizes, batch)):
        index[row] = i
    pad = _core.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    source = _core.cat([data, pad])
    padded = source.index_select(0, _core.tensor(index, dtype=_core.int64, device=data.device))
    padded = padded.reshape(steps, batch, *data.shape[1:])
    lengths = _core.tensor([sum(1 for size in batch_sizes if size > b) for b in range(batch)], dtype=_core.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu()]
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks tensors of shape (L_i, *) into one (T, B, *) (or (B, T, *))
    batch, each padded with ``padding_value`` to the longest ``L_i`` on
    ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    try:
        sequences = tuple(sequences)
    except TypeError:
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}") from None
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.size(0) for s in sequences)
    padded = []
    for s in sequences:
        pad = _core.full((longest - s.size(0), *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
        padded.append(_core.cat([s, pad] if padding_side == "right" else [pad, s]))
    return _core.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences of a padded batch, each cut to its length.
    (Unlike PyTorch, this does not transpose ``padded_sequences`` in place
    when ``batch_first`` is False.)"""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(length)] for seq, length in zip(padded_sequences, lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of tensors (L_i, *), in decreasing order of length
    unless ``enforce_sorted`` is False."""
    lengths = as_tensor([s.size(0) for s in sequences], dtype=_core.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of the sequences of a ``PackedSequence``, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
