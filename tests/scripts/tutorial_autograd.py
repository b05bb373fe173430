# "Learning PyTorch with Examples": PyTorch: Tensors and autograd.
# The coefficients require grad; loss.backward() fills their .grad and the
# update runs under no_grad, clearing the gradients after each step.
import math

import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # a 0-d tensor; loss.item() is its value
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    loss.backward()

    # the update itself must not be recorded by autograd
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(type(loss.grad_fn).__name__, [type(f).__name__ for f, _ in loss.grad_fn.next_functions])
print(a.is_leaf, a.grad, y_pred.requires_grad)
print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
