"""Draws the pictures in docs/ with rustgrad.viz (needs the graphviz
package and Graphviz's `dot`): python3 docs/make_pictures.py

- seed_ex1_graph.svg: the graph of the seed article's first example
  (x @ w + b, binary cross-entropy with logits), leaves named.
- seed_ex3_freed.svg: the seed's retain_graph lesson. After
  `loss1.backward()` without retain_graph, the tensors the nodes saved are
  freed (dashed boxes): the graph is still there, so `loss2.backward()`
  walks it and fails for want of them.
"""

import pathlib

import rustgrad as torch

HERE = pathlib.Path(__file__).resolve().parent


def seed_ex1_graph():
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    return torch.viz.graph(loss, params={"w": w, "b": b, "loss": loss})


def seed_ex3_freed():
    x = torch.randn((1, 4), dtype=torch.float32, requires_grad=True)
    y = x ** 2
    z = y * 4
    loss1 = z.mean()
    loss2 = z.sum()
    loss1.backward()
    return torch.viz.graph(loss1, loss2, params={"x": x, "loss1": loss1, "loss2": loss2}, show_saved=True)


if __name__ == "__main__":
    for make in (seed_ex1_graph, seed_ex3_freed):
        print(make().render(HERE / f"{make.__name__}.svg"))
