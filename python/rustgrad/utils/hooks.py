"""``torch.utils.hooks``: the handle that removes a hook registered in a
Python dict (modules' and optimizers' hooks)."""

import itertools
import weakref

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Removes the hook stored under ``self.id`` in ``hooks_dict`` (held by
    weak reference, so the handle does not keep its owner alive) and in each
    of ``extra_dict``; also a context manager that removes it on exit."""

    _ids = itertools.count()

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        extra = extra_dict if isinstance(extra_dict, (list, tuple)) else ([extra_dict] if extra_dict is not None else [])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra)

    def remove(self):
        for ref in (self.hooks_dict_ref,) + self.extra_dict_ref:
            table = ref()
            if table is not None and self.id in table:
                del table[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
