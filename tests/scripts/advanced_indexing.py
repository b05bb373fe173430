"""Indexing with several tensor indices, masks, Python bools; reads, writes and gradients."""
import torch
x = torch.arange(24.).reshape(2, 3, 4)
print(x[torch.tensor([0, 1]), torch.tensor([2, 0])])
print(x[[0, 1], :, [3, 1]])
print(x[:, [0, 2], [1, 3]])
print(x[[[0], [1]], [0, 2]])
print(x[x > 10])
m = torch.tensor([[True, False, True], [False, True, False]])
print(x[m, 1:3])
print(x[1, [0, 2], [1, -1]])
print(x[True].shape, x[False].shape, x[..., [1, 2], None].shape)
y = torch.zeros(3, 4)
y[[0, 2], [1, 3]] = torch.tensor([5., 6.])
y[:, [0, 0]] = 1.0
print(y)
z = torch.zeros(2, 3, 4)
z[[0, 1], :, [3, 1]] = torch.arange(6.).reshape(2, 3)
print(z)
w = torch.arange(12., requires_grad=True)
v = w.reshape(3, 4)[[0, 0, 2], [1, 1, 3]]
v.sum().backward(); print(w.grad, v.grad_fn.name())
try: x[[0, 1], [0, 1, 2]]
except Exception as e: print(type(e).__name__, e)
