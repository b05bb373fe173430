"""`torch.Generator`, `generator=` and the default generator's state. The
streams are rustgrad's own (xoshiro256**), so tests compare rustgrad with
itself: same seed, same numbers; other generators unaffected."""

import pytest

import rustgrad as rg
from conftest import REFERENCE

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="rustgrad's own random streams")


def test_a_seeded_generator_repeats_its_stream():
    a = rg.rand(5, generator=rg.Generator().manual_seed(7))
    b = rg.rand(5, generator=rg.Generator().manual_seed(7))
    assert a.tolist() == b.tolist()
    assert rg.Generator().manual_seed(7).initial_seed() == 7


def test_a_generator_leaves_the_default_stream_alone():
    rg.manual_seed(3)
    first = rg.rand(3).tolist()
    rg.manual_seed(3)
    rg.randn(4, generator=rg.Generator().manual_seed(1))
    assert rg.rand(3).tolist() == first


@pytest.mark.parametrize("draw", [
    lambda g: rg.rand(4, generator=g),
    lambda g: rg.randn(4, generator=g),
    lambda g: rg.randint(0, 100, (4,), generator=g),
    lambda g: rg.randperm(6, generator=g),
    lambda g: rg.normal(0.0, 1.0, (4,), generator=g),
    lambda g: rg.multinomial(rg.tensor([0.2, 0.3, 0.5]), 2, generator=g),
    lambda g: rg.bernoulli(rg.full((6,), 0.5), generator=g),
    lambda g: rg.empty(4).uniform_(generator=g),
    lambda g: rg.empty(4).normal_(generator=g),
    lambda g: rg.empty(4).exponential_(generator=g),
    lambda g: rg.empty(4).random_(0, 10, generator=g),
])
def test_every_sampler_takes_a_generator(draw):
    assert draw(rg.Generator().manual_seed(5)).tolist() == draw(rg.Generator().manual_seed(5)).tolist()


def test_state_round_trips():
    g = rg.Generator().manual_seed(11)
    state = g.get_state()
    assert state.dtype == rg.uint8 and state.shape == (40,)
    first = rg.rand(3, generator=g).tolist()
    g.set_state(state)
    assert rg.rand(3, generator=g).tolist() == first
    saved = rg.get_rng_state()
    x = rg.rand(3).tolist()
    rg.set_rng_state(saved)
    assert rg.rand(3).tolist() == x
    rg.manual_seed(4)
    assert rg.default_generator.initial_seed() == 4


def test_bad_states_and_arguments_raise():
    with pytest.raises(TypeError):
        rg.set_rng_state(rg.zeros(40))
    with pytest.raises(RuntimeError):
        rg.set_rng_state(rg.zeros(3, dtype=rg.uint8))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        rg.rand(2, generator=5)
    assert str(rg.Generator().device) == "cpu"
