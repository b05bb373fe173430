"""Bitwise ops on integers and bools (&, |, ^, ~ and the bitwise_* names),
with numbers on either side, narrow dtypes, and the float error."""
import torch

a, b = torch.tensor([5, 6, -7]), torch.tensor([3, 10, 2])
print(a & b, a | b, a ^ b, ~a, a & 3, 12 | a, 1 ^ a)
print(torch.bitwise_and(a, b), a.bitwise_or(b), torch.bitwise_not(a))
m, n = torch.tensor([True, False, True]), torch.tensor([True, True, False])
print(m & n, m | n, m ^ n, ~m, m & True)
u = torch.tensor([200, 15], dtype=torch.uint8)
print(u & 0x0F, ~u, u ^ torch.tensor([1, 1], dtype=torch.int8))
for bad in [lambda: torch.tensor([0.5]) & torch.tensor([0.5]), lambda: ~torch.tensor([1.5])]:
    try:
        print(bad())
    except (RuntimeError, NotImplementedError, TypeError) as e:
        print(type(e).__name__, e)
