# "Learning PyTorch with Examples": PyTorch: Control Flow + Weight Sharing.
# Each forward pass adds a random number (0, 1 or 2) of higher-order terms
# that all reuse the parameter e: the graph is rebuilt on every call.
import math
import random

import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

# Python's own random module picks the number of terms; seeded so that the
# rustgrad run and the PyTorch run take the same path.
random.seed(0)


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """Five scalar parameters: a + b x + c x^2 + d x^3 and the shared e."""
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """A cubic plus e x^4 and maybe e x^5: ordinary Python control flow,
        with e reused by every extra term."""
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + '
                f'{self.e.item()} x^4 ? + {self.e.item()} x^5 ?')


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = DynamicNet()

# A very small learning rate: the x^5 term makes plain SGD unstable; the
# momentum keeps it moving.
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(30000):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 2000 == 1999:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
