# "Learning PyTorch with Examples": Warm-up: numpy.
# A third-order polynomial fitted to sin(x) with NumPy alone: the forward
# pass, the loss and the gradients are all written by hand. Only the initial
# weights come from torch (so seedcheck feeds both runs the same ones), and
# they reach NumPy through Tensor.numpy().
import math

import numpy as np
import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

x = np.linspace(-math.pi, math.pi, 2000)
y = np.sin(x)

a, b, c, d = torch.randn(4, dtype=torch.float64).numpy()

learning_rate = 1e-6
for t in range(2000):
    # y = a + b x + c x^2 + d x^3
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    loss = np.square(y_pred - y).sum()
    if t % 100 == 99:
        print(t, loss)

    # d loss / d y_pred, then the chain rule for each coefficient
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f'Result: y = {a} + {b} x + {c} x^2 + {d} x^3')
