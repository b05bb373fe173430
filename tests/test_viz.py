"""rustgrad.viz: pictures of the backward graph (DOT text, tree text, SVG/PNG
through Graphviz, torchviz's ``make_dot``), checked on the seed examples'
graphs (and against PyTorch's own graph where it is installed)."""

import importlib.util
import math
import re
import shutil
import sys
import xml.etree.ElementTree as ET

import pytest

import rustgrad as rg
from conftest import REFERENCE

if REFERENCE:  # RUSTGRAD_TEST_REFERENCE=torch: PyTorch has no viz module
    pytest.skip("rustgrad.viz has no PyTorch counterpart", allow_module_level=True)
from rustgrad import viz  # noqa: E402

HAVE_GRAPHVIZ = importlib.util.find_spec("graphviz") is not None
needs_graphviz = pytest.mark.skipif(not HAVE_GRAPHVIZ, reason="the graphviz Python package is not installed")
needs_dot = pytest.mark.skipif(not (HAVE_GRAPHVIZ and shutil.which("dot")),
                               reason="drawing needs the graphviz package and the Graphviz 'dot' program")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KIND_OF_FILL = {"darkolivegreen1": "output", "darkolivegreen3": "base", "lightgrey": "fn",
                "lightblue": "leaf", "orange": "saved", "white": "freed"}

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

_NODE = re.compile(r'^\t(n\d+) \[label=(?:"((?:[^"\\]|\\.)*)"|([^\s\]"]+))([^\]\n]*)\]$', re.M)
_EDGE = re.compile(r"^\t(n\d+) -> (n\d+)(.*)$", re.M)


def parse_dot(source):
    """DOT text (to_dot's or graphviz's) -> ({id: (label, kind)}, [(from id, to id, edge kind)])."""
    nodes = {}
    for m in _NODE.finditer(source):
        label = m[2] if m[2] is not None else m[3]
        label = label.replace("\\n", "\n").replace('\\"', '"')
        fill = re.search(r'fillcolor="?(\w+)', m[4])[1]
        nodes[m[1]] = (label, KIND_OF_FILL[fill])
    edges = []
    for m in _EDGE.finditer(source):
        style = re.search(r'style="?(\w+)', m[3])
        edges.append((m[1], m[2], {None: "flow", "dashed": "saved", "dotted": "view"}[style and style[1]]))
    return nodes, edges


def first(label):
    return label.split("\n")[0]


def boxes(g, kind):
    """Labels of ``g``'s boxes of one kind, in order."""
    return [label for label, k in g.nodes() if k == kind]


def walk(fn):
    """The backward nodes behind ``fn`` through ``next_functions`` (the order
    viz meets them: depth first, each node once), as a list of nodes."""
    order, seen, pending = [fn], {id(fn)}, [fn]
    while pending:
        for nxt, _ in pending.pop().next_functions:
            if nxt is not None and id(nxt) not in seen:
                seen.add(id(nxt))
                order.append(nxt)
                pending.append(nxt)
    return order


def signature(fn):
    """A node's name and the (shape, dtype) of each gradient it receives."""
    return type(fn).__name__, [(list(m.shape), str(m.dtype)) for m in fn._input_metadata]


# The seed examples' graphs, built with either library (``lib`` is rustgrad or torch).

def ex1(lib):
    x, y = lib.ones(5), lib.zeros(3)
    w, b = lib.randn(5, 3, requires_grad=True), lib.randn(3, requires_grad=True)
    z = lib.matmul(x, w) + b
    return lib.nn.functional.binary_cross_entropy_with_logits(z, y), {"w": w, "b": b}


def ex2(lib):  # one iteration of the training loop
    x = lib.linspace(-math.pi, math.pi, 2000, dtype=lib.float)
    y = lib.sin(x)
    a, b, c, d = (lib.randn((), dtype=lib.float, requires_grad=True) for _ in range(4))
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    return (y_pred - y).pow(2).sum(), {"a": a, "b": b, "c": c, "d": d}


def ex3(lib):
    x = lib.randn((1, 4), dtype=lib.float32, requires_grad=True)
    return ((x ** 2) * 4).mean(), {"x": x}


def ex4(lib):
    x = lib.tensor([2, 3, 4], dtype=lib.float, requires_grad=True)
    y = x * 2
    while y.norm() < 1000:
        y = y * 2
    return y, {"x": x}


def ex5(lib):
    inp = lib.eye(4, 5, requires_grad=True)
    return (inp + 1).pow(2).t(), {"inp": inp}


ACC = "AccumulateGrad"
# builder, fn box names in walk order, root fn label, output label, leaf labels
SEEDS = {
    "ex1": (ex1, ["BinaryCrossEntropyWithLogitsBackward0", "AddBackward0", "SqueezeBackward4", ACC,
                  "MmBackward0", ACC],
            "BinaryCrossEntropyWithLogitsBackward0\n() float32", "() float32",
            {"w\n(5, 3) float32", "b\n(3,) float32"}),
    "ex2": (ex2, ["SumBackward0", "PowBackward0", "SubBackward0", "AddBackward0", "AddBackward0", "MulBackward0",
                  ACC, "AddBackward0", "MulBackward0", ACC, ACC, "MulBackward0", ACC],
            "SumBackward0\n() float32", "() float32", {f"{n}\n() float32" for n in "abcd"}),
    "ex3": (ex3, ["MeanBackward0", "MulBackward0", "PowBackward0", ACC],
            "MeanBackward0\n() float32", "() float32", {"x\n(1, 4) float32"}),
    "ex4": (ex4, ["MulBackward0"] * 8 + [ACC], "MulBackward0\n(3,) float32", "(3,) float32", {"x\n(3,) float32"}),
    "ex5": (ex5, ["TBackward0", "PowBackward0", "AddBackward0", ACC],
            "TBackward0\n(5, 4) float32", "(5, 4) float32", {"inp\n(4, 5) float32"}),
}


# ---------------------------------------------------------------------------
# the seed examples' graphs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", SEEDS)
def test_seed_dot_structure(name):
    build, fn_names, root_label, out_label, leaf_labels = SEEDS[name]
    root, params = build(rg)
    nodes, edges = parse_dot(viz.graph(root, params=params).to_dot())
    ids = {kind: [i for i, (_, k) in nodes.items() if k == kind] for kind in KIND_OF_FILL.values()}
    fn_ids = ids["fn"]
    assert [first(nodes[i][0]) for i in fn_ids] == fn_names
    assert nodes[fn_ids[0]][0] == root_label
    assert [nodes[i][0] for i in ids["output"]] == [out_label]
    assert {nodes[i][0] for i in ids["leaf"]} == leaf_labels and len(ids["leaf"]) == len(leaf_labels)
    # Flow edges between fn boxes are exactly next_functions, drawn input -> output.
    order = walk(root.grad_fn)
    index = {id(fn): k for k, fn in enumerate(order)}
    expected = sorted((fn_ids[index[id(n)]], fn_ids[k]) for k, fn in enumerate(order)
                      for n, _ in fn.next_functions if n is not None)
    assert sorted((a, b) for a, b, kind in edges if kind == "flow" and a in fn_ids and b in fn_ids) == expected
    assert (fn_ids[0], ids["output"][0], "flow") in edges
    # Each AccumulateGrad is fed by exactly one leaf.
    acc_ids = [i for i in fn_ids if nodes[i][0] == ACC]
    assert sorted(b for a, b, _ in edges if a in ids["leaf"]) == sorted(acc_ids)
    if name == "ex5":  # .t() is a view of the pow result
        (base,) = ids["base"]
        assert nodes[base][0] == "(4, 5) float32"
        assert (base, ids["output"][0], "view") in edges
        assert (fn_ids[1], base, "flow") in edges  # PowBackward0 -> the base
    else:
        assert ids["base"] == [] and all(kind == "flow" for _, _, kind in edges)
    assert len(edges) == len(expected) + 1 + len(acc_ids) + 2 * len(ids["base"])


@pytest.mark.parametrize("name", SEEDS)
def test_seed_graph_matches_torch(torch, name):
    build, fn_names = SEEDS[name][:2]
    ours, params = build(rg)
    theirs, _ = build(torch)
    assert [signature(fn) for fn in walk(ours.grad_fn)] == [signature(fn) for fn in walk(theirs.grad_fn)]
    torch_names = [type(fn).__name__ for fn in walk(theirs.grad_fn)]
    assert torch_names == fn_names
    g = viz.graph(ours, params=params)
    assert [first(label) for label in boxes(g, "fn")] == torch_names
    assert torch_names.count(ACC) == len(boxes(g, "leaf")) == len(params)


def test_ex1_show_saved_boxes_then_freed():
    loss, params = ex1(rg)
    g = viz.graph(loss, params=params, show_saved=True)
    assert boxes(g, "saved") == ["self\n(3,) float32", "target\n(3,) float32", "self\n(1, 5) float32"]
    saved_edges = [(a, first(b)) for a, b, kind in g.edges() if kind == "saved"]
    # As in PyTorch, mm saves `mat2` (the leaf w) only for `self`'s gradient,
    # which x does not need: `_saved_mat2` is None there.
    assert saved_edges == [("self\n(3,) float32", "BinaryCrossEntropyWithLogitsBackward0"),
                           ("target\n(3,) float32", "BinaryCrossEntropyWithLogitsBackward0"),
                           ("self\n(1, 5) float32", "MmBackward0")]
    assert 'label="mat2"' not in g.to_dot()
    loss.backward()
    g = viz.graph(loss, params=params, show_saved=True)
    assert boxes(g, "saved") == []
    assert sorted(boxes(g, "freed")) == ["self\nfreed", "self\nfreed", "target\nfreed"]


def _ex3_pow_node_saved(retain_graph):
    """Seed ex3: two losses over z = x**2 * 4; backward through the first."""
    x = rg.randn((1, 4), dtype=rg.float32, requires_grad=True)
    z = (x ** 2) * 4
    loss1, loss2 = z.mean(), z.sum()
    loss1.backward(retain_graph=retain_graph)
    g = viz.graph(loss2, params={"x": x}, show_saved=True)
    return [(a, kind) for a, b, kind in g.edges() if first(b) == "PowBackward0"], g, loss2


def test_ex3_saved_self_freed_after_backward():
    pow_edges, g, loss2 = _ex3_pow_node_saved(retain_graph=False)
    assert pow_edges == [(ACC, "flow"), ("self\nfreed", "saved")]
    assert ("self\nfreed", "freed") in g.nodes()
    assert "saved self freed" in g.to_text()
    assert 'label="self\\nfreed", fillcolor="white", style="filled,dashed"' in g.to_dot()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        loss2.backward()


def test_ex3_retain_graph_keeps_saved_self():
    pow_edges, g, loss2 = _ex3_pow_node_saved(retain_graph=True)
    assert pow_edges == [(ACC, "flow"), ("x\n(1, 4) float32", "saved")]  # saved self is the leaf x
    assert boxes(g, "freed") == [] and "freed" not in g.to_text()
    assert "saved self = x (1, 4) float32" in g.to_text()
    loss2.backward()
    assert boxes(viz.graph(loss2, show_saved=True), "freed") == ["self\nfreed"]


# ---------------------------------------------------------------------------
# params and argument errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["module", "dict", "pairs", "iterator"])
def test_params_name_leaves(form):
    lin = rg.nn.Linear(3, 2)
    out = lin(rg.randn(4, 3)).sum()
    params = {"module": lambda: lin, "dict": lambda: dict(lin.named_parameters()),
              "pairs": lambda: list(lin.named_parameters()), "iterator": lin.named_parameters}[form]()
    g = viz.graph(out, params=params)
    assert sorted(boxes(g, "leaf")) == ["bias\n(2,) float32", "weight\n(2, 3) float32"]
    assert "weight (2, 3) float32" in g.to_text() and 'label="bias\\n(2,) float32"' in g.to_dot()


def test_unnamed_leaf_is_labelled_by_shape():
    x = rg.randn(2, requires_grad=True)
    assert boxes(viz.graph(x * 2), "leaf") == ["(2,) float32"]


def test_params_non_tensor_raises():
    x = rg.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="params: expected a Tensor for 'lr', got float"):
        viz.graph(x * 2, params={"x": x, "lr": 0.1})


@pytest.mark.parametrize("bad", [3.0, [rg.ones(2), 3.0], None])
def test_non_tensor_root_raises(bad):
    x = rg.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="expected Tensors"):
        viz.graph(x * 2, bad)


def test_roots_may_come_in_lists_and_tuples():
    x = rg.randn(2, requires_grad=True)
    g = viz.graph([x * 2, x.exp()], (x.sin(),))
    assert sorted(boxes(g, "fn")) == ["AccumulateGrad", "ExpBackward0\n(2,) float32", "MulBackward0\n(2,) float32",
                                      "SinBackward0\n(2,) float32"]
    assert len(boxes(g, "output")) == 3


@pytest.mark.parametrize("params", [[rg.ones(2)], [("a", rg.ones(2), 1)]])
def test_params_items_must_be_pairs(params):
    with pytest.raises(TypeError, match=r"params: expected a dict of name -> Tensor, \(name, Tensor\) pairs or a Module"):
        viz.graph(rg.ones(2), params=params)


def test_leaf_view_base_is_drawn_as_a_leaf():
    x = rg.randn(3, requires_grad=True)
    g = viz.graph(x[0], params={"x": x})
    assert ("x\n(3,) float32", "leaf") in g.nodes()
    assert ("x\n(3,) float32", "() float32", "view") in g.edges()


# ---------------------------------------------------------------------------
# to_text
# ---------------------------------------------------------------------------

def test_to_text_tree_with_shared_node():
    x = rg.randn(2, requires_grad=True)
    y = x * 2
    z = y * y + y
    assert viz.graph(z, params={"x": x}).to_text() == (
        "(2,) float32\n"
        "AddBackward0 (2,) float32\n"
        "├─ MulBackward0 (2,) float32\n"
        "│  ├─ MulBackward0 (2,) float32\n"
        "│  │  AccumulateGrad\n"
        "│  │  x (2,) float32\n"
        "│  └─ MulBackward0 (2,) float32 (shown above)\n"
        "└─ MulBackward0 (2,) float32 (shown above)\n")


def test_views_joined_to_base():
    w = rg.randn(4, 3, requires_grad=True)
    v = (w * 2)[1:3]
    g = viz.graph(v, params={"w": w})
    assert g.nodes()[:3] == [("(2, 3) float32", "output"), ("SliceBackward0\n(2, 3) float32", "fn"),
                             ("(4, 3) float32", "base")]
    assert ("(4, 3) float32", "(2, 3) float32", "view") in g.edges()
    assert ("MulBackward0\n(4, 3) float32", "(4, 3) float32", "flow") in g.edges()
    assert [e for e in g.edges() if e[2] == "view"] == [("(4, 3) float32", "(2, 3) float32", "view")]
    assert "view of (4, 3) float32" in g.to_text() and 'style="dotted"' in g.to_dot()


# ---------------------------------------------------------------------------
# custom autograd.Function
# ---------------------------------------------------------------------------

class Square(rg.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return 2 * a * grad


def test_custom_function_saved_then_freed():
    x = rg.randn(3, requires_grad=True)
    out = Square.apply(x * 1.5)
    g = viz.graph(out, params={"x": x}, show_saved=True)
    assert [first(label) for label in boxes(g, "fn")] == ["SquareBackward", "MulBackward0", ACC]
    assert boxes(g, "saved") == ["saved_tensors[0]\n(3,) float32"]
    assert ("saved_tensors[0]\n(3,) float32", "saved") in [(a, k) for a, b, k in g.edges()
                                                            if first(b) == "SquareBackward"]
    out.sum().backward()
    g = viz.graph(out, params={"x": x}, show_saved=True, show_attrs=True)
    assert boxes(g, "freed") == ["saved_tensors\nfreed"]
    assert "saved_tensors: [freed]" in boxes(g, "fn")[0]
    assert "saved saved_tensors freed" in g.to_text()


def test_custom_function_box_shows_gradient_shape():
    out = Square.apply(rg.randn(3, requires_grad=True))
    assert [m.shape for m in out.grad_fn._input_metadata] == [[3]]
    assert boxes(viz.graph(out), "fn")[0] == "SquareBackward\n(3,) float32"


# ---------------------------------------------------------------------------
# big graphs, determinism
# ---------------------------------------------------------------------------

def test_deep_chain_builds_and_text_stays_narrow():
    x = rg.randn(3, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0001
    g = viz.graph(y, params={"x": x}, show_saved=True)
    assert (g.num_nodes, g.num_edges) == (2003, 2002)  # output, 2000 muls, AccumulateGrad, x
    assert [first(label) for label in boxes(g, "fn")] == ["MulBackward0"] * 2000 + [ACC]
    lines = g.to_text().splitlines()
    assert len(lines) == 2003 and lines[-1] == "x (3,) float32"
    assert max(map(len, lines)) <= 200
    assert g.to_dot().count("MulBackward0") == 2000


def test_dot_is_deterministic():
    built = [ex2(rg) for _ in range(2)]
    texts = [viz.graph(root, params=params, show_saved=True).to_dot() for root, params in built]
    assert texts[0] == texts[1]
    assert texts[0] == viz.graph(built[0][0], params=built[0][1], show_saved=True).to_dot()
    nodes, edges = parse_dot(texts[0])
    assert (len(nodes), len(edges)) == (22, 21)  # with 4 saved boxes


# ---------------------------------------------------------------------------
# drawing through Graphviz
# ---------------------------------------------------------------------------

def small_graph():
    x = rg.randn(2, requires_grad=True)
    return viz.graph((x * 2).sum(), params={"x": x})


@needs_dot
def test_render_svg(tmp_path):
    path = small_graph().render(tmp_path / "g")
    assert path == tmp_path / "g.svg"
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"SumBackward0", "MulBackward0", ACC, "x", "(2,) float32"} <= texts


@needs_dot
def test_render_png_and_format_from_suffix(tmp_path):
    g = small_graph()
    assert g.render(tmp_path / "a.png") == tmp_path / "a.png"
    assert g.render(tmp_path / "b", format="png") == tmp_path / "b.png"
    assert g.render(tmp_path / "c.svg", format="PNG") == tmp_path / "c.svg.png"
    for name in ("a.png", "b.png", "c.svg.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.svg.png"]


@needs_dot
def test_repr_svg():
    svg = small_graph()._repr_svg_()
    assert isinstance(svg, str) and "MulBackward0" in svg
    assert ET.fromstring(svg.encode()).tag.endswith("svg")


@pytest.mark.parametrize("args", [("g.jpg",), ("g", "jpg"), ("g.svg", "jpg")])
def test_render_unknown_format(tmp_path, args):
    with pytest.raises(ValueError, match="format must be one of svg, png, pdf, got 'jpg'"):
        small_graph().render(tmp_path / args[0], *args[1:])
    assert list(tmp_path.iterdir()) == []


def test_without_graphviz_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    g = small_graph()
    for draw in (lambda: g.render(tmp_path / "g.svg"), g.to_digraph, lambda: viz.make_dot(rg.ones(1))):
        with pytest.raises(ImportError, match=r"graphviz Python package \(pip install graphviz\)"):
            draw()
    with pytest.warns(UserWarning, match="pip install graphviz"):
        assert g._repr_svg_() is None
    assert "MulBackward0" in g.to_dot() and "MulBackward0" in g.to_text()
    assert list(tmp_path.iterdir()) == []


@needs_graphviz
def test_without_dot_program(monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    g = small_graph()
    with pytest.raises(RuntimeError, match="the Graphviz 'dot' program on PATH"):
        g.render(tmp_path / "g.svg")
    with pytest.warns(UserWarning, match="'dot' program"):
        assert g._repr_svg_() is None
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]


# ---------------------------------------------------------------------------
# make_dot (torchviz's signature)
# ---------------------------------------------------------------------------

@needs_graphviz
@pytest.mark.parametrize("show_saved", [False, True])
def test_make_dot_matches_to_dot(show_saved):
    import graphviz

    loss, params = ex1(rg)
    dot = viz.make_dot(loss, params=params, show_saved=show_saved)
    assert isinstance(dot, graphviz.Digraph)
    assert parse_dot(dot.source) == parse_dot(viz.graph(loss, params=params, show_saved=show_saved).to_dot())
    assert len(parse_dot(dot.source)[0]) == (12 if show_saved else 9)


@needs_graphviz
def test_make_dot_tuple_of_tensors():
    x = rg.randn(2, requires_grad=True)
    y = x * 2
    nodes, edges = parse_dot(viz.make_dot((y, y.sin()), params={"x": x}).source)
    assert [label for label, kind in nodes.values() if kind == "output"] == ["(2,) float32"] * 2
    assert [first(label) for label, kind in nodes.values() if kind == "fn"] == ["MulBackward0", "SinBackward0", ACC]
    assert len(edges) == 5
