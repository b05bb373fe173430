# "Learning PyTorch with Examples": PyTorch: nn.
# The polynomial as a Linear(3, 1) layer over the features (x, x^2, x^3),
# flattened to a vector; MSELoss(reduction='sum') and a hand-written update
# under no_grad.
import math

import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# (2000,) -> (2000, 3): column i holds x ** (i + 1), by broadcasting
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
# nn.Linear draws its initial weights from its own random stream; these
# come from torch.rand_like so seedcheck can feed both runs the same ones.
with torch.no_grad():
    for param in model.parameters():
        param.copy_(torch.rand_like(param) - 0.5)

loss_fn = torch.nn.MSELoss(reduction='sum')
print(model)
print(loss_fn, xx.shape, xx.dtype)

learning_rate = 1e-6
for t in range(2000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

print(y_pred.shape, y_pred.requires_grad)
linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
