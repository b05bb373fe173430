"""scatter (tensor and number sources, gradients), the in-place forms of
out-of-place ops (masked_fill_, index_add_, scatter_, pow_, ...), and their
dtype errors."""
import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

x = torch.zeros(3, 5)
idx = torch.tensor([[0, 1, 2, 0, 1], [2, 0, 0, 1, 2]])
src = torch.arange(1., 11.).reshape(2, 5)
print(x.scatter(0, idx, src))
print(torch.zeros(2, 4).scatter(1, torch.tensor([[2], [3]]), 1.23))
labels = torch.tensor([0, 2, 1])
print(torch.zeros(3, 4).scatter_(1, labels.unsqueeze(1), 1.0))
base = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
s = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
out = base.scatter(0, idx, s)
(out * torch.arange(15., dtype=torch.float64).reshape(3, 5)).sum().backward()
print(base.grad, s.grad, out.grad_fn.name())
print(torch.autograd.gradcheck(lambda b, t: b.scatter(0, idx, t), (base, s)))

m = torch.ones(2, 3)
print(m.masked_fill_(torch.tensor([[True, False, True], [False, False, True]]), -1.0), m)
print(torch.zeros(5).index_add_(0, torch.tensor([0, 4, 2, 0]), torch.tensor([1., 2., 3., 4.])))
print(torch.arange(4.).pow_(2), torch.tensor([1.5, -2.5]).round_(), torch.tensor([5., -3.]).fmod_(2))
w = torch.ones(3, requires_grad=True)
y = w * 2
y.masked_fill_(torch.tensor([False, True, False]), 0.0)
y.sum().backward()
print(w.grad, y._version)
v = torch.zeros(2, 3)
v[0].index_fill_(0, torch.tensor([1]), 7.0)
print(v)
for bad in [lambda: torch.tensor([1, 2]).pow_(0.5), lambda: torch.zeros(2).masked_fill_(torch.ones(3, 2, dtype=torch.bool), 1.0),
            lambda: torch.ones(2, requires_grad=True).masked_fill_(torch.tensor([True, False]), 0.0)]:
    try:
        print(bad())
    except RuntimeError as e:
        print("RuntimeError", str(e).split("\n")[0])
