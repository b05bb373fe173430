"""Pictures of the dynamic computation graph.

``graph(*tensors)`` walks the backward graph behind ``tensors`` (through
``grad_fn.next_functions``, as the engine will) and returns a :class:`Graph`
that prints as an indented tree (``to_text()``, no dependencies), as Graphviz
DOT text (``to_dot()``, no dependencies), or as a picture (``render()`` and
notebooks' inline SVG, through the ``graphviz`` Python package and the
Graphviz ``dot`` program).

``make_dot`` has torchviz's signature and returns a ``graphviz.Digraph``,
so code written for torchviz works after ``import rustgrad as torch``.

What a picture shows (arrows run the way the forward pass did, from inputs
to outputs, as torchviz draws them):

- green boxes: the tensors asked about (a view's base in darker green,
  joined by a dotted line);
- grey boxes: backward nodes by PyTorch's names (``MulBackward0``) with the
  shape and dtype of the gradient each receives, and one ``AccumulateGrad``
  per leaf;
- blue boxes: leaves, named when ``params`` names them;
- with ``show_saved=True``, orange boxes: the tensors a node saved for its
  backward, joined by dashed lines; after a backward pass without
  ``retain_graph=True`` they are freed and drawn as dashed white boxes
  reading "freed": the graph is still there, what it needs to run again is
  not (PyTorch then raises "Trying to backward through the graph a second
  time").
"""

from __future__ import annotations

import pathlib
import warnings

from . import _core

__all__ = ["Graph", "graph", "make_dot"]

# Graphviz attributes per kind of box (torchviz's colours).
_BOX_STYLE = {
    "output": {"fillcolor": "darkolivegreen1"},
    "base": {"fillcolor": "darkolivegreen3"},
    "fn": {"fillcolor": "lightgrey"},
    "leaf": {"fillcolor": "lightblue"},
    "saved": {"fillcolor": "orange"},
    "freed": {"fillcolor": "white", "style": "filled,dashed", "fontcolor": "gray40"},
}
# How a child is drawn joined to its parent (the parent is the box nearer
# the outputs): gradients flow child <- parent, so the arrow runs forward.
_EDGE_STYLE = {
    "flow": {},
    "saved": {"dir": "none", "style": "dashed"},
    "view": {"style": "dotted"},
}
_NODE_ATTR = {"style": "filled", "shape": "box", "align": "left", "fontsize": "10",
              "ranksep": "0.1", "height": "0.2", "fontname": "monospace"}
_EDGE_ATTR = {"fontsize": "9", "fontname": "monospace"}
_RENDER_FORMATS = ("svg", "png", "pdf")
# Other output formats Graphviz knows: a path ending in one of these asks
# for a format render() does not make (others, "model.v2", are names).
_OTHER_FORMATS = {"jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ps", "eps", "dot", "gv", "json", "xdot"}


def _describe(shape, dtype) -> str:
    """``(2, 3) float32``: a shape as PyTorch sizes print, and a dtype's name."""
    dims = ", ".join(str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''}) {str(dtype).removeprefix('torch.')}"


def _param_names(params) -> dict[int, str]:
    """``id(tensor) -> name`` from a dict, (name, tensor) pairs, or a Module."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if hasattr(params, "items") else params
    names = {}
    for pair in items:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError("params: expected a dict of name -> Tensor, (name, Tensor) pairs or a Module, "
                            f"got an item {type(pair).__name__}")
        name, value = pair
        if not isinstance(value, _core.Tensor):
            raise TypeError(f"params: expected a Tensor for {name!r}, got {type(value).__name__}")
        names[id(value)] = str(name)
    return names


class Graph:
    """A picture of a backward graph: boxes and the lines between them.

    Made by :func:`graph`. Boxes are kept in the order the walk met them,
    and named ``n0``, ``n1``, ... in DOT, so the same graph gives the same
    text on every run.
    """

    def __init__(self):
        self._boxes: dict[object, tuple[str, str]] = {}  # key -> (label, kind)
        self._children: dict[object, list[tuple[object, str, str]]] = {}  # key -> [(child, edge kind, note)]
        self._keep = []  # the walked objects, alive so their ids stay unique
        self.roots: list[object] = []

    def _box(self, key, label: str, kind: str) -> bool:
        """Adds a box; False if ``key`` already has one."""
        if key in self._boxes:
            return False
        self._boxes[key] = (label, kind)
        self._children[key] = []
        return True

    def _join(self, parent, child, kind: str = "flow", note: str = ""):
        self._children[parent].append((child, kind, note))

    @property
    def num_nodes(self) -> int:
        """The number of boxes."""
        return len(self._boxes)

    @property
    def num_edges(self) -> int:
        """The number of lines between boxes."""
        return sum(len(c) for c in self._children.values())

    def nodes(self) -> list[tuple[str, str]]:
        """``(label, kind)`` of each box; kind is one of ``output``, ``base``,
        ``fn``, ``leaf``, ``saved``, ``freed``."""
        return list(self._boxes.values())

    def edges(self) -> list[tuple[str, str, str]]:
        """``(from label, to label, kind)`` of each line, drawn from input to
        output; kind is ``flow``, ``saved`` or ``view``."""
        return [(self._boxes[c][0], self._boxes[p][0], kind)
                for p, children in self._children.items() for c, kind, _ in children]

    def _statements(self):
        """The DOT statements: ``("node", id, label, attrs)`` and
        ``("edge", from id, to id, attrs)``."""
        ids = {key: f"n{i}" for i, key in enumerate(self._boxes)}
        for key, (label, kind) in self._boxes.items():
            yield "node", ids[key], label, _BOX_STYLE[kind]
        for parent, children in self._children.items():
            for child, kind, note in children:
                yield "edge", ids[child], ids[parent], {**_EDGE_STYLE[kind], **({"label": note} if note else {})}

    def _graph_attr(self) -> dict[str, str]:
        # Big graphs get a bigger page, as torchviz sizes them.
        side = max(12.0, 0.15 * (self.num_nodes + self.num_edges))
        return {"size": f"{side:g},{side:g}"}

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text (a ``digraph``)."""
        def attrs(d):
            return ", ".join(f"{k}={_quote(v)}" for k, v in d.items())
        lines = ["digraph {", f"\tgraph [{attrs(self._graph_attr())}]", f"\tnode [{attrs(_NODE_ATTR)}]",
                 f"\tedge [{attrs(_EDGE_ATTR)}]"]
        for statement in self._statements():
            if statement[0] == "node":
                _, name, label, style = statement
                lines.append(f"\t{name} [{attrs({'label': label, **style})}]")
            else:
                _, a, b, style = statement
                lines.append(f"\t{a} -> {b}" + (f" [{attrs(style)}]" if style else ""))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_digraph(self):
        """The graph as a ``graphviz.Digraph`` (needs the graphviz package)."""
        graphviz = _graphviz_package()
        dot = graphviz.Digraph(node_attr=_NODE_ATTR, edge_attr=_EDGE_ATTR, graph_attr=self._graph_attr())
        for statement in self._statements():
            if statement[0] == "node":
                _, name, label, style = statement
                dot.node(name, label, **style)
            else:
                _, a, b, style = statement
                dot.edge(a, b, **style)
        return dot

    def to_text(self) -> str:
        """The graph as a tree of text lines, outputs first, each box followed
        by what it came from: a box with one input is followed by it on the
        next line, a box with several by one indented branch each (so a
        chain of any length stays narrow), and a box met again reads
        "(shown above)"."""
        lines, shown = [], set()
        for root in self.roots:
            stack = [(root, "", "", "")]  # key, prefix of this line, prefix of its children, edge note
            while stack:
                key, head, indent, note = stack.pop()
                label, kind = self._boxes[key]
                text = note + " ".join(line for line in label.splitlines() if line.strip("-"))
                if key in shown and self._children[key]:
                    lines.append(f"{head}{text} (shown above)")
                    continue
                shown.add(key)
                lines.append(head + text)
                children = self._children[key]
                for i in reversed(range(len(children))):
                    child, edge, note = children[i]
                    note = {"flow": "", "saved": "saved ", "view": "view of "}[edge] + (f"{note} = " if note else "")
                    if len(children) == 1:  # no branch: same depth, so a long chain stays narrow
                        stack.append((child, indent, indent, note))
                    else:
                        last = i == len(children) - 1
                        stack.append((child, indent + ("└─ " if last else "├─ "), indent + ("   " if last else "│  "), note))
        return "\n".join(lines) + "\n"

    def render(self, path, format: str | None = None) -> pathlib.Path:
        """Draws the graph into a file and returns its path.

        ``format`` is ``"svg"``, ``"png"`` or ``"pdf"`` (default: the suffix
        of ``path`` if it is one of those, else SVG); a ``path`` without that
        suffix gets it added (``"model.v2"`` becomes ``"model.v2.svg"``), and
        missing folders are made.
        Raises ``ImportError`` without the graphviz Python package,
        ``RuntimeError`` without the Graphviz ``dot`` program, and
        ``ValueError`` for another format.
        """
        path = pathlib.Path(path)
        suffix = path.suffix.lstrip(".").lower()
        named = suffix if suffix in _RENDER_FORMATS or suffix in _OTHER_FORMATS else None
        format = (format or named or "svg").lower()
        if format not in _RENDER_FORMATS:
            raise ValueError(f"render: format must be one of {', '.join(_RENDER_FORMATS)}, got {format!r}")
        if suffix != format:
            path = path.with_name(f"{path.name}.{format}")
        data = self._pipe(format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def _pipe(self, format: str) -> bytes:
        graphviz = _graphviz_package()
        try:
            return graphviz.Source(self.to_dot()).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(
                "rustgrad.viz: drawing needs the Graphviz 'dot' program on PATH "
                "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); "
                "to_dot() and to_text() work without it") from None

    def _repr_svg_(self):
        """Inline SVG for notebooks; ``None`` (so the text repr is shown) with
        a warning naming what is missing."""
        try:
            return self._pipe("svg").decode("utf-8")
        except (ImportError, RuntimeError) as missing:
            warnings.warn(str(missing), stacklevel=2)
            return None

    def __repr__(self):
        return f"<rustgrad.viz.Graph: {self.num_nodes} nodes, {self.num_edges} edges>"


# What a saved value reads as once a backward pass freed it.
FREED = object()


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (at least 3) with an ellipsis."""
    limit = max(limit, 3)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quote(value) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _graphviz_package():
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "rustgrad.viz: drawing needs the graphviz Python package (pip install graphviz) "
            "and the Graphviz 'dot' program; to_dot() and to_text() work without them") from None
    return graphviz


class _Walk:
    """Builds a :class:`Graph` by walking from the roots towards the leaves,
    with an explicit stack (graphs of any depth, no recursion)."""

    def __init__(self, params, show_saved: bool, show_attrs: bool, max_attr_chars: int):
        self.graph = Graph()
        self.names = _param_names(params)
        self.show_saved = show_saved
        self.show_attrs = show_attrs
        self.max_attr_chars = max_attr_chars
        self.pending = []  # backward nodes met but not yet expanded

    def tensor_label(self, t, name: str | None = None) -> str:
        name = name or self.names.get(id(t), "")
        described = _describe(t.shape, t.dtype)
        return f"{name}\n{described}" if name else described

    def add_tensor(self, t, kind: str, name: str | None = None):
        """The box of tensor ``t`` (made if new)."""
        key = ("tensor", id(t))
        if self.graph._box(key, self.tensor_label(t, name), kind):
            self.graph._keep.append(t)
        return key

    def add_fn(self, fn):
        """The box of backward node ``fn``; queues it for expanding if new."""
        key = ("fn", id(fn))
        if key not in self.graph._boxes:
            self.graph._box(key, self.fn_label(fn), "fn")
            self.graph._keep.append(fn)
            self.pending.append(fn)
        return key

    def fn_label(self, fn) -> str:
        name = type(fn).__name__
        if hasattr(fn, "variable"):  # AccumulateGrad
            return name
        received = ", ".join(_describe(m.shape, m.dtype) for m in getattr(fn, "_input_metadata", ()))
        label = f"{name}\n{received}" if received else name
        if self.show_attrs:
            attrs = [f"{n}: {_cut(self.saved_summary(v), self.max_attr_chars)}" for n, v in self.saved(fn)]
            if attrs:
                label += "\n" + "-" * max(len(a) for a in attrs) + "\n" + "\n".join(attrs)
        return label

    @staticmethod
    def saved(fn):
        """``(name, value)`` for each ``_saved_<name>`` attribute of ``fn``
        and a custom Function's ``saved_tensors``: a tensor, a tuple of
        them, another value (a number a node keeps), or ``FREED``."""
        out = []
        for attr in (a for a in dir(fn) if a.startswith("_saved_")):
            try:
                value = getattr(fn, attr)
            except RuntimeError:  # freed by a backward pass
                value = FREED
            out.append((attr[len("_saved_"):], value))
        try:  # a custom Function's ctx
            value = tuple(fn.saved_tensors)
        except AttributeError:
            value = ()
        except RuntimeError:  # freed by a backward pass
            value = FREED
        if value != ():
            out.append(("saved_tensors", value))
        return out

    @staticmethod
    def saved_tensors(value):
        """The tensors in a saved value (none for a number or None)."""
        if isinstance(value, _core.Tensor):
            return (value,)
        if isinstance(value, (tuple, list)):
            return tuple(v for v in value if isinstance(v, _core.Tensor))
        return ()

    def saved_summary(self, value) -> str:
        if value is FREED:
            return "[freed]"
        if isinstance(value, _core.Tensor):
            return _describe(value.shape, value.dtype)
        if self.saved_tensors(value):
            return f"[{len(value)} saved tensors]"
        return str(value)

    def add_root(self, t):
        if not isinstance(t, _core.Tensor):
            raise TypeError(f"rustgrad.viz: expected Tensors, got {type(t).__name__}")
        key = self.add_tensor(t, "output")
        self.graph.roots.append(key)
        self.add_history(t, key)

    def add_history(self, t, key):
        """Joins tensor box ``key`` to ``t``'s ``grad_fn`` and view base."""
        if t.grad_fn is not None:
            self.graph._join(key, self.add_fn(t.grad_fn))
        if t._is_view():
            base = t._base
            leaf = base.grad_fn is None and base.requires_grad
            base_key = self.add_tensor(base, "leaf" if leaf else "base")
            self.graph._join(key, base_key, "view")
            if base.grad_fn is not None and not self.graph._children[base_key]:
                self.graph._join(base_key, self.add_fn(base.grad_fn))

    def expand(self, fn):
        key = ("fn", id(fn))
        if hasattr(fn, "variable"):  # AccumulateGrad: the leaf it accumulates into
            self.graph._join(key, self.add_tensor(fn.variable, "leaf"))
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                self.graph._join(key, self.add_fn(nxt))

    def add_saved(self, key, name: str, value):
        if value is FREED:
            freed = (key, name)
            self.graph._box(freed, f"{name}\nfreed", "freed")
            self.graph._join(key, freed, "saved")
            return
        tensors = self.saved_tensors(value)
        for i, t in enumerate(tensors):
            label = name if len(tensors) == 1 and isinstance(value, _core.Tensor) else f"{name}[{i}]"
            if ("tensor", id(t)) in self.graph._boxes:  # a leaf, an output or another node's saved tensor
                self.graph._join(key, ("tensor", id(t)), "saved", note=label)
            else:
                self.graph._join(key, self.add_tensor(t, "saved", label), "saved")

    def run(self, roots) -> Graph:
        for root in roots:
            for t in root if isinstance(root, (tuple, list)) else (root,):
                self.add_root(t)
        expanded = []
        while self.pending:
            fn = self.pending.pop()
            self.expand(fn)
            expanded.append(fn)
        if self.show_saved:
            # After the walk, so that a saved leaf or output joins its own box.
            for fn in expanded:
                for name, value in self.saved(fn):
                    self.add_saved(("fn", id(fn)), name, value)
        return self.graph


def graph(*tensors, params=None, show_saved: bool = False, show_attrs: bool = False,
          max_attr_chars: int = 50) -> Graph:
    """The backward graph behind ``tensors``, as a :class:`Graph`.

    Args:
        *tensors: the outputs to draw from (a loss, say), or lists or tuples of
            them; any dtype or shape.
        params: names for leaves: a dict ``name -> tensor`` (as
            ``dict(model.named_parameters())``), ``(name, tensor)`` pairs, or
            an ``nn.Module``, whose ``named_parameters()`` are used.
        show_saved: also draw the tensors each node saved for its backward,
            or "freed" once a backward pass without ``retain_graph=True``
            released them.
        show_attrs: list the saved tensors inside each node's box.
        max_attr_chars: cut longer ``show_attrs`` lines to this many characters.

    Raises:
        TypeError: an argument is not a Tensor, or ``params`` names a
            non-tensor.
    """
    return _Walk(params, show_saved, show_attrs, max_attr_chars).run(tensors)


def make_dot(var, params=None, show_attrs: bool = False, show_saved: bool = False, max_attr_chars: int = 50):
    """torchviz's ``make_dot``: the graph behind ``var`` (a tensor or a tuple
    of tensors) as a ``graphviz.Digraph`` (``.render()``, ``.source``, shown
    inline by notebooks). Needs the graphviz Python package (``ImportError``
    otherwise); see :func:`graph` for the arguments and what is drawn.
    """
    roots = tuple(var) if isinstance(var, (tuple, list)) else (var,)
    return graph(*roots, params=params, show_saved=show_saved, show_attrs=show_attrs,
                 max_attr_chars=max_attr_chars).to_digraph()
