"""Narrow dtypes: promotion, wrapping casts, half-float kernels, gradients, NumPy."""
import torch, numpy as np
D = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32, torch.float64]
for a in D:
    print([str(torch.promote_types(a, b)) for b in D])
x = torch.tensor([300, -7, 5], dtype=torch.int16)
print(x, x.to(torch.int8), x.to(torch.uint8), x * 200, x // 3, x / 2, x.sum(), x.cumsum(0), x.float().half())
h = torch.tensor([0.1, 1/3, 10, 1e-5], dtype=torch.float16)
print(h, h * 2, h.sum(), h.exp(), h.sqrt(), h.bfloat16(), h.double(), (h + 1).dtype, h.mean())
print(torch.tensor([0.1, 1/3], dtype=torch.bfloat16) * 3)
i8 = torch.tensor([1, 2], dtype=torch.int8); u8 = torch.tensor([200, 3], dtype=torch.uint8)
print(i8 + u8, (i8 + 1.5), i8 + torch.tensor(3), u8 * 2, -i8, i8.abs(), i8.sin(), torch.iinfo(torch.int8).max, torch.finfo(torch.float16).eps)
print(torch.tensor([1.5, -2.5]).int(), torch.tensor([1.5]).short(), torch.tensor([3]).char(), torch.tensor([-1]).byte())
w = torch.tensor([1., 2., 3.], dtype=torch.float16, requires_grad=True)
(w * w).sum().backward(); print(w.grad)
a = torch.arange(6, dtype=torch.float16).reshape(2, 3); print(a @ a.T, a.max(), a.argmax(), a.softmax(1), a.cumprod(1))
print(torch.arange(6, dtype=torch.int32).reshape(2, 3) @ torch.arange(6, dtype=torch.int32).reshape(3, 2))
print(np.asarray(h), h.numpy().dtype, torch.from_numpy(np.array([1, 2], dtype=np.int32)) if hasattr(torch, 'from_numpy') else torch.tensor(np.array([1, 2], dtype=np.int32)))
print(torch.tensor([1, 2], dtype=torch.int8)[torch.tensor([1], dtype=torch.int32)], x.element_size(), h.element_size(), torch.zeros(2, dtype=torch.bfloat16))
print(torch.tensor([1, 2, 3])[torch.tensor([1, 0, 1], dtype=torch.uint8).bool()])
