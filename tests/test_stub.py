"""The type stub of ``rustgrad._core`` lists everything the compiled module
exports: each function, class, and each public Tensor member; and each of
those public names has a docstring (issue 6)."""

import ast
import pathlib

import pytest

import rustgrad as rg
from conftest import REFERENCE

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="checks rustgrad's own stub")

STUB = pathlib.Path(rg.__file__).with_name("_core.pyi")


def stub_names():
    tree = ast.parse(STUB.read_text())
    top, classes = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            top.add(node.target.id)
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {
                n.name if isinstance(n, ast.FunctionDef) else n.target.id
                for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
            }
    return top, classes


def test_every_export_has_a_stub_entry():
    top, _ = stub_names()
    exported = {n for n in dir(rg._core) if not n.startswith("__")}
    assert exported - top == set()


def test_every_tensor_member_has_a_stub_entry():
    _, classes = stub_names()
    members = {n for n in vars(rg._core.Tensor) if not n.startswith("__") or n in ("__getitem__", "__setitem__")}
    assert members - classes["Tensor"] == set()


def undocumented(members):
    """The public (not underscore-prefixed) names among ``(name, object)``
    pairs whose ``__doc__`` is missing or blank (for a property, the
    getter's docstring)."""
    return sorted(n for n, v in members if not n.startswith("_") and not (getattr(v, "__doc__", None) or "").strip())


def test_every_public_callable_has_a_docstring():
    callables = [(n, v) for n, v in vars(rg._core).items() if callable(v)]
    assert undocumented(callables) == []


def test_every_public_tensor_member_has_a_docstring():
    assert undocumented(vars(rg._core.Tensor).items()) == []


@pytest.mark.parametrize("cls", ["dtype", "device"])
def test_every_public_dtype_and_device_member_has_a_docstring(cls):
    assert undocumented(vars(getattr(rg._core, cls)).items()) == []
