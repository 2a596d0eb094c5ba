#!/usr/bin/env python3
"""Times one training recipe in mlp, PyTorch and scikit-learn, on one thread and on two.

The recipe: the bundled digits (data/digits_train.csv, 1437 images of 64 pixels), features
standardised with the training mean and standard deviation, a 64-64-10 network (64 tanh
units, softmax cross-entropy), Xavier-uniform weights and zero biases, plain SGD (no momentum,
no weight decay) with lr 0.1, batches of 32 reshuffled every epoch, 100 epochs. Each run is
timed in its own process, from reading the CSV to the end of training (interpreter start-up and
imports excluded); the test accuracy is printed as a check that every framework learned.

Optional: needed neither to build nor to test mlp. Needs `pip install torch scikit-learn`
(CPU wheels) and cargo. Run from the repository root:

    python3 scripts/compare-recipe.py [--runs 5]

mlp runs `cargo bench -p mlp-benches --bench recipe`; its two-thread row is built with the
`parallel` feature and `RAYON_NUM_THREADS=2`. The thread count of PyTorch is set with
`torch.set_num_threads`, that of scikit-learn's BLAS with threadpoolctl, and both with
`OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS` and `MKL_NUM_THREADS`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
EPOCHS, BATCH, LR, HIDDEN, SEED = 100, 32, 0.1, 64, 0


def load():
    """The standardised training and test sets (zero-variance pixels left unscaled)."""
    import numpy as np

    train = np.loadtxt(os.path.join(DATA, "digits_train.csv"), delimiter=",", skiprows=1)
    test = np.loadtxt(os.path.join(DATA, "digits_test.csv"), delimiter=",", skiprows=1)
    x, y = train[:, :64].astype(np.float32), train[:, 64].astype(np.int64)
    xt, yt = test[:, :64].astype(np.float32), test[:, 64].astype(np.int64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, y, (xt - mean) / std, yt


def torch_run(threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    start = time.perf_counter()
    x, y, xt, yt = load()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 10)
    )
    for layer in (net[0], net[2]):
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x))
        for i in range(0, len(x), BATCH):
            rows = order[i : i + BATCH]
            opt.zero_grad()
            loss_fn(net(x[rows]), y[rows]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (net(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean()
    return seconds, accuracy


def sklearn_run(threads):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        x, y, xt, yt = load()
        net = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,),
            activation="tanh",
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=LR,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=BATCH,
            max_iter=EPOCHS,
            shuffle=True,
            tol=0.0,
            n_iter_no_change=EPOCHS + 1,
            random_state=SEED,
        )
        net.fit(x, y)
        seconds = time.perf_counter() - start
        accuracy = (net.predict(xt) == yt).mean()
    return seconds, accuracy


def mlp_run(threads):
    features = ["--features", "parallel"] if threads > 1 else []
    cmd = ["cargo", "bench", "-q", "-p", "mlp-benches", *features, "--bench", "recipe"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    words = out.split()
    return float(words[words.index("seconds") + 1]), float(words[words.index("test_accuracy") + 1])


def child(framework, threads):
    seconds, accuracy = {"torch": torch_run, "sklearn": sklearn_run, "mlp": mlp_run}[framework](
        threads
    )
    print(f"{seconds:.4f} {accuracy:.4f}")


def measure(framework, threads, runs):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[var] = str(threads)
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", framework, str(threads)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        results.append((float(out[0]), float(out[1])))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per cell (default 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frameworks", nargs="+", default=["mlp", "torch", "sklearn"])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    # Build mlp's runs first, so that no timed run includes compiling.
    for features in ([], ["--features", "parallel"]):
        subprocess.run(
            ["cargo", "bench", "-q", "-p", "mlp-benches", *features, "--bench", "recipe", "--no-run"],
            cwd=ROOT,
            check=True,
        )
    print("| framework | threads | median (s) | range (s) | test accuracy |")
    print("| --- | --- | --- | --- | --- |")
    for framework in args.frameworks:
        for threads in args.threads:
            results = measure(framework, threads, args.runs)
            times = [s for s, _ in results]
            accuracy = statistics.median(a for _, a in results)
            print(
                f"| {framework} | {threads} | {statistics.median(times):.3f} | "
                f"{min(times):.3f}–{max(times):.3f} | {accuracy:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
