"""A tour of rustgrad through the five examples of the autograd article.

Run it with ``python -m rustgrad.demo seeds``. Each section prints what PyTorch
would print for the same values (the random ones are seeded here).
"""

import math

import rustgrad as torch


def section(title):
    print(f"\n=== {title} ===")


def logistic_regression_step():
    section("1. One step of a tiny logistic regression")
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    print("loss:", loss)
    print("dloss/dw:\n", w.grad, sep="")
    print("dloss/db:", b.grad)


def fit_polynomial(steps=2000):
    section("2. Fitting sin(x) with a cubic, by hand-written gradient descent")
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    a, b, c, d = (torch.randn((), requires_grad=True) for _ in range(4))
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 500 == 499:
            print(f"step {t + 1}: loss {loss.item():.4f}")
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    print(f"y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")


def retained_graphs():
    section("3. A graph is freed after backward unless retain_graph=True")
    x = torch.randn((1, 4), requires_grad=True)
    z = (x ** 2) * 4
    print("z =", z)
    loss1, loss2 = z.mean(), z.sum()
    loss1.backward()
    try:
        loss2.backward()
    except RuntimeError as e:
        print("second backward without retain_graph:", str(e).split(".")[0] + ".")
    x = torch.randn((1, 4), requires_grad=True)
    z = (x ** 2) * 4
    z.mean().backward(retain_graph=True)
    z.sum().backward()
    print("with retain_graph, both gradients add up:", x.grad)


def vector_output():
    section("4. Backward from a vector needs an explicit gradient")
    x = torch.tensor([2, 3, 4], dtype=torch.float, requires_grad=True)
    y = x * 2
    while y.norm() < 1000:
        y = y * 2
    print("y =", y)
    try:
        y.backward()
    except RuntimeError as e:
        print("implicit gradient:", e)
    y.backward(torch.ones_like(y))
    print("x.grad =", x.grad)


def accumulation():
    section("5. Gradients accumulate until you zero them")
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"first call\n{inp.grad}")
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"second call (accumulated)\n{inp.grad}")
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"after zero_()\n{inp.grad}")


def main():
    torch.manual_seed(0)
    logistic_regression_step()
    fit_polynomial()
    retained_graphs()
    vector_output()
    accumulation()


if __name__ == "__main__":
    main()
