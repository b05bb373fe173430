"""Anomaly detection: ``detect_anomaly()`` / ``set_detect_anomaly()``, the
NaN check on backward outputs naming the node, and the warning carrying
the traceback of the forward call that created the failing node."""

import warnings

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

# the forward-traceback warning of tests that expect the error
pytestmark = pytest.mark.filterwarnings("ignore:Error detected in:UserWarning")

ENABLED_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                   "only be enabled for debugging.")


def message(excinfo):
    return str(excinfo.value)


def nan_message(node, index=0):
    return f"Function '{node}' returned nan values in its {index}th output."


def recorded(f):
    """Runs ``f`` with every warning recorded; returns (exception or None, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            f()
        except RuntimeError as e:  # noqa: PERF203
            return e, caught
    return None, caught


# ---------------------------------------------------------------------------
# the switches
# ---------------------------------------------------------------------------

def test_anomaly_is_off_by_default():
    assert not rg.is_anomaly_enabled()


def test_detect_anomaly_context_manager():
    with pytest.warns(UserWarning, match="^" + ENABLED_WARNING):
        mode = rg.autograd.detect_anomaly()          # warns when constructed
    with mode:
        assert rg.is_anomaly_enabled()
        assert rg.is_anomaly_check_nan_enabled()
    assert not rg.is_anomaly_enabled()


def test_detect_anomaly_check_nan_false():
    with pytest.warns(UserWarning):
        mode = rg.autograd.detect_anomaly(check_nan=False)
    with mode:
        assert rg.is_anomaly_enabled() and not rg.is_anomaly_check_nan_enabled()
    assert not rg.is_anomaly_enabled()


def test_set_detect_anomaly_function_and_context_manager():
    try:
        rg.autograd.set_detect_anomaly(True)
        assert rg.is_anomaly_enabled()
    finally:
        rg.autograd.set_detect_anomaly(False)
    assert not rg.is_anomaly_enabled()
    with rg.autograd.set_detect_anomaly(True):
        assert rg.is_anomaly_enabled()
    assert not rg.is_anomaly_enabled()


def test_anomaly_modes_nest():
    with pytest.warns(UserWarning):
        mode = rg.autograd.detect_anomaly()
    with mode:
        with rg.autograd.set_detect_anomaly(False):
            assert not rg.is_anomaly_enabled()
        assert rg.is_anomaly_enabled()
    assert not rg.is_anomaly_enabled()


def test_anomaly_restored_on_exception():
    with pytest.raises(KeyError):
        with rg.autograd.set_detect_anomaly(True):
            raise KeyError("x")
    assert not rg.is_anomaly_enabled()


# ---------------------------------------------------------------------------
# NaN detection
# ---------------------------------------------------------------------------

def test_nan_gradient_without_anomaly_mode_is_silent():
    x = rg.tensor([0.0], requires_grad=True)
    y = x.sqrt() * 0
    y.sum().backward()
    assert np.isnan(N(x.grad)).all()


def test_nan_gradient_raises_naming_the_node():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = x.sqrt() * 0                          # 0 * inf = nan in SqrtBackward0
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    assert message(e) == nan_message("SqrtBackward0")
    assert x.grad is None


def test_nan_message_names_the_output_index():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = x / x
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    assert message(e) == nan_message("DivBackward0", 1)


def test_nan_from_a_negative_sqrt():
    x = rg.tensor([-1.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = x.sqrt()                              # forward nan is not checked
        assert np.isnan(N(y)).all()
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    assert message(e) == nan_message("SqrtBackward0")


def test_nan_from_the_given_gradient():
    x = rg.tensor([1.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError) as e:
            (x * 2).backward(rg.tensor([float("nan")]))
    assert message(e) == nan_message("MulBackward0")


def test_nan_check_in_autograd_grad():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError) as e:
            rg.autograd.grad((x.sqrt() * 0).sum(), x)
    assert message(e) == nan_message("SqrtBackward0")


def test_inf_is_not_an_anomaly():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        x.sqrt().sum().backward()
    assert N(x.grad).tolist() == [float("inf")]


def test_check_nan_false_does_not_raise():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True, check_nan=False):
        assert not rg.is_anomaly_check_nan_enabled()
        (x.sqrt() * 0).sum().backward()
    assert np.isnan(N(x.grad)).all()


def test_nan_from_a_custom_function():
    class Bad(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = rg.tensor([1.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError) as e:
            Bad.apply(x).sum().backward()
    assert message(e) == nan_message("BadBackward")


# ---------------------------------------------------------------------------
# the forward traceback
# ---------------------------------------------------------------------------

def forward_that_makes_nan(x):
    return x.sqrt() * 0  # the forward line anomaly mode reports


def test_warning_carries_the_forward_traceback():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = forward_that_makes_nan(x)
        err, caught = recorded(lambda: y.sum().backward())
    assert err is not None and str(err) == nan_message("SqrtBackward0")
    texts = [str(w.message) for w in caught if "Error detected in" in str(w.message)]
    assert len(texts) == 1
    text = texts[0]
    assert text.startswith("Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n")
    assert f'File "{__file__}"' in text
    assert "in forward_that_makes_nan" in text
    assert "return x.sqrt() * 0  # the forward line anomaly mode reports" in text
    assert "in test_warning_carries_the_forward_traceback" in text
    assert "y = forward_that_makes_nan(x)" in text
    assert [w.category for w in caught if "Error detected in" in str(w.message)] == [UserWarning]


def test_forward_traceback_names_the_failing_node():
    x = rg.tensor([0.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = x / x
        err, caught = recorded(lambda: y.sum().backward())
    texts = [str(w.message) for w in caught if "Error detected in" in str(w.message)]
    assert texts and texts[0].startswith("Error detected in DivBackward0. Traceback of forward call")
    assert "y = x / x" in texts[0]


def test_no_traceback_warning_without_anomaly_mode():
    x = rg.tensor([0.0], requires_grad=True)
    y = forward_that_makes_nan(x)
    err, caught = recorded(lambda: y.sum().backward())
    assert err is None
    assert not [w for w in caught if "Error detected in" in str(w.message)]


def test_freed_graph_error_in_anomaly_mode_reports_the_forward():
    x = rg.tensor([1.0], requires_grad=True)
    with rg.autograd.set_detect_anomaly(True):
        y = (x * x).sum()
        y.backward()
        err, caught = recorded(lambda: y.backward())
    assert err is not None and str(err).startswith("Trying to backward through the graph a second time")
    texts = [str(w.message) for w in caught if "Error detected in" in str(w.message)]
    assert texts and texts[0].startswith("Error detected in MulBackward0. Traceback of forward call")
    assert "y = (x * x).sum()" in texts[0]
