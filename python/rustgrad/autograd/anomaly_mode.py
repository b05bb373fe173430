"""Anomaly detection: a backward rule that returns NaN raises an error
naming its node, and errors in backward are reported with the traceback of
the forward call that created the failing node (as a UserWarning, then the
error), as in PyTorch. The mode is global."""

from __future__ import annotations

import warnings

from .. import _core
from .._arg_parser import parsed

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]


def is_anomaly_enabled():
    return _core._is_anomaly_enabled()


def is_anomaly_check_nan_enabled():
    return _core._is_anomaly_check_nan_enabled()


@parsed
def set_anomaly_enabled(enabled: bool, check_nan: bool = True):
    """``torch.set_anomaly_enabled``: switches anomaly detection.
    TypeError for a non-bool, as PyTorch."""
    _core._set_anomaly_enabled(enabled, check_nan)


class detect_anomaly:
    """Context manager and decorator that turns anomaly detection on."""

    def __init__(self, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime "
            "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        _core._set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args):
        _core._set_anomaly_enabled(self.prev, self.prev_check_nan)

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Sets anomaly detection on or off: a plain call sets it; as a context
    manager it restores the previous setting on exit."""

    def __init__(self, mode, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        _core._set_anomaly_enabled(bool(mode), check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *args):
        _core._set_anomaly_enabled(self.prev, self.prev_check_nan)
