"""P1 and P2 of the README's operator benchmarks in PyTorch (nested autograd), one thread,
f32, on the CPU: `y` and `Δy` of a 2-32-32-32-1 tanh network at 256 points, and one SGD step
of the Poisson problem (256 interior and 64 boundary points,
`loss = mean (Δu + f)² + mean u_b²`). Prints the median of each.

Optional and never needed to build or test: `python3 scripts/pinn-pytorch.py`.
"""

import math
import statistics
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Linear(2, 32), torch.nn.Tanh(),
    torch.nn.Linear(32, 32), torch.nn.Tanh(),
    torch.nn.Linear(32, 32), torch.nn.Tanh(),
    torch.nn.Linear(32, 1),
)
inside = torch.rand(256, 2)
edge = torch.rand(64, 2)
edge[:, 1] = 0.0
f = 2 * math.pi**2 * torch.sin(math.pi * inside[:, 0]) * torch.sin(math.pi * inside[:, 1])
opt = torch.optim.SGD(net.parameters(), lr=1e-4)


def laplacian(x, create_graph):
    x = x.clone().requires_grad_()
    u = net(x)
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = 0
    for d in range(2):
        (h,) = torch.autograd.grad(g[:, d].sum(), x, create_graph=create_graph, retain_graph=True)
        lap = lap + h[:, d]
    return u, lap


def p1():
    u, lap = laplacian(inside, False)
    return u.sum().item() + lap.sum().item()


def p2():
    opt.zero_grad()
    _, lap = laplacian(inside, True)
    loss = ((lap + f) ** 2).mean() + (net(edge) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.item()


for name, fn in [("P1: y and Δy at 256 points", p1), ("P2: one Poisson SGD step", p2)]:
    for _ in range(20):
        fn()
    times = []
    for _ in range(200):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    print(f"{name}: median {statistics.median(times) * 1e3:.3f} ms (torch {torch.__version__})")
