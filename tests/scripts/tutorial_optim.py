# "Learning PyTorch with Examples": PyTorch: optim.
# The nn version with the update left to torch.optim.RMSprop.
import math

import torch
torch.manual_seed(0)  # reproducible draws (see tests/test_tutorial_scripts.py)

x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
loss_fn = torch.nn.MSELoss(reduction='sum')

# Where a coefficient has converged, RMSprop's normalized steps (about lr
# each) make it hop around its optimum, and that motion is unstable: a
# rounding difference grows about 1.6x a step (PyTorch against itself with
# the weights moved by 1e-12 ends up 1e-3 apart). So that seedcheck can
# compare two libraries, this version stops before that: the weights start
# in [0.5, 1.5] (drawn with torch.rand_like, which seedcheck replays, not
# by nn.Linear's own stream) and it runs 1000 steps, not the tutorial's 2000.
# It also computes in float64 (the model converted after its float32
# weights are set, so that both runs start from the same values): float64
# losses print with all their digits, where a float32 loss of 4e5 prints
# as 459192.375 or 459192.21875, which seedcheck reads as another format.
with torch.no_grad():
    for param in model.parameters():
        param.copy_(torch.rand_like(param) + 0.5)
model = model.double()

learning_rate = 1e-3
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
for t in range(1000):
    y_pred = model(xx)

    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # gradients accumulate in .grad, so clear them before each backward
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(optimizer.state_dict()['param_groups'][0]['lr'], len(optimizer.state))
linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
