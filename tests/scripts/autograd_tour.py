# The autograd API a PyTorch user reaches for, printed so that the output can
# be compared with PyTorch's (tests/test_tutorial_scripts.py).
import warnings

import torch

warnings.simplefilter("ignore")
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x ** 3
(dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
(d2y,) = torch.autograd.grad(dy.sum(), x)
print(dy, d2y)

h = x * 1
h.retain_grad()
h[0] = 0
h[1:].mul_(2)
print(h, h.grad_fn.name(), type(h.grad_fn).__name__)
h.sum().backward()
print(x.grad, h.grad)

out = x.sigmoid()
out.detach().zero_()
try:
    out.sum().backward()
except RuntimeError as e:
    print("RuntimeError:", e)

w = torch.ones(3, requires_grad=True)
try:
    w[1:].mul_(2)
except RuntimeError as e:
    print("RuntimeError:", e)
w.data = torch.tensor([4.0, 5.0])
print(w, w.requires_grad, w.is_leaf)

z = x * 2
print(z.grad_fn.next_functions[0][0].variable is x, z.grad_fn.next_functions[1])
hx = torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), x.detach())
print(hx)
print(torch.autograd.gradcheck(lambda t: (t.sin() * t).sum(), torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)))
with torch.inference_mode():
    i = x * 2
print(i.requires_grad, i.is_inference())
