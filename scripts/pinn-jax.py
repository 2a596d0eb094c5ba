"""P1 and P2 of the README's operator benchmarks in JAX (`jit`, forward-over-reverse
Laplacian), f32 on the CPU, one thread (run it pinned: `taskset -c 1 python3
scripts/pinn-jax.py`). Prints the median of each. Optional and never needed to build or test.
"""

import os

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

key = jax.random.PRNGKey(0)
widths = [2, 32, 32, 32, 1]
params = []
for n_in, n_out in zip(widths, widths[1:]):
    key, k = jax.random.split(key)
    params.append((jax.random.normal(k, (n_out, n_in)) / math.sqrt(n_in), jnp.zeros(n_out)))


def u(params, x):
    h = x
    for i, (w, b) in enumerate(params):
        h = w @ h + b
        if i < len(params) - 1:
            h = jnp.tanh(h)
    return h[0]


def laplacian(params, x):
    g = lambda x: jax.grad(u, argnums=1)(params, x)
    hess_diag = [jax.jvp(g, (x,), (jnp.eye(2)[d],))[1][d] for d in range(2)]
    return hess_diag[0] + hess_diag[1]


key, k1, k2 = jax.random.split(key, 3)
inside = jax.random.uniform(k1, (256, 2))
edge = jax.random.uniform(k2, (64, 2)).at[:, 1].set(0.0)
f = 2 * math.pi**2 * jnp.sin(math.pi * inside[:, 0]) * jnp.sin(math.pi * inside[:, 1])


@jax.jit
def p1(params):
    y = jax.vmap(lambda x: u(params, x))(inside)
    lap = jax.vmap(lambda x: laplacian(params, x))(inside)
    return y, lap


def loss(params):
    lap = jax.vmap(lambda x: laplacian(params, x))(inside)
    ub = jax.vmap(lambda x: u(params, x))(edge)
    return jnp.mean((lap + f) ** 2) + jnp.mean(ub**2)


@jax.jit
def p2(params):
    g = jax.grad(loss)(params)
    return jax.tree_util.tree_map(lambda p, d: p - 1e-4 * d, params, g)


for name, fn in [("P1: y and Δy at 256 points", p1), ("P2: one Poisson SGD step", p2)]:
    for _ in range(20):
        jax.block_until_ready(fn(params))
    times = []
    for _ in range(300):
        t = time.perf_counter()
        jax.block_until_ready(fn(params))
        times.append(time.perf_counter() - t)
    print(f"{name}: median {statistics.median(times) * 1e3:.3f} ms (jax {jax.__version__})")
