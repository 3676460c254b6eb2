#!/usr/bin/env python3
"""A torch.compile'd training step with NormLIR's norms against the same step
compiled with torch.nn's norms (and both eager), interleaved, at each thread
count: issue 15's measurement.

  for t in 1 2; do OMP_NUM_THREADS=$t bench/.venv/bin/python \
      bench/compile-step.py [--rounds 5] [--steps 10] [--model block|cnn|both]
      [--backend inductor]; done

The threads are $OMP_NUM_THREADS (default 1), for NormLIR's OpenMP runtime
(read when it starts) and torch.set_num_threads alike: one process per
thread count.

Models (float32, SGD step = forward, loss, backward, update):
  block: x (8, 512, 1024) -> LayerNorm -> Linear(1024, 1024) -> RMSNorm ->
         residual; LayerNorm and RMSNorm dominate the memory traffic.
  cnn:   x (32, 64, 56, 56) -> BatchNorm2d (training) -> ReLU -> GroupNorm(32)
         -> Conv2d 1x1 (64 -> 64).

Systems: torch.compile (Inductor) of the model with torch.nn's norms and
with normlir.nn's; torch.compile(backend="normlir") of the torch.nn model
(its norms replaced by NormLIR's); both eager.

Prints, per model and thread count, the median step time of each system over
--rounds rounds (each the median of --steps steps after two warm-up steps)
and the range, and the ratio to torch.compile with torch.nn norms.
Run with PYTHONPATH set to the build's python_packages (as the tests do).
"""
import argparse
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "build", "python_packages"))
import normlir._backend  # noqa: E402,F401  (the "normlir" backend)
import normlir.nn as nnl  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, nn, d=1024):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.lin = torch.nn.Linear(d, d)
        self.rms = nn.RMSNorm(d)

    def forward(self, x):
        return x + self.rms(self.lin(self.ln(x)))


class CNN(torch.nn.Module):
    def __init__(self, nn, c=64):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.gn = nn.GroupNorm(32, c)
        self.conv = torch.nn.Conv2d(c, c, 1)

    def forward(self, x):
        return self.conv(self.gn(torch.relu(self.bn(x))))


def make(kind, nn):
    torch.manual_seed(0)
    return Block(nn) if kind == "block" else CNN(nn)


def inputs(kind):
    torch.manual_seed(1)
    shape = (8, 512, 1024) if kind == "block" else (32, 64, 56, 56)
    return torch.randn(*shape)


def step_fn(model, fn):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step(x):
        opt.zero_grad(set_to_none=True)
        loss = fn(x).square().mean()
        loss.backward()
        opt.step()
        return loss
    return step


def timed(step, x, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--model", default="both",
                    choices=("block", "cnn", "both"))
    ap.add_argument("--backend", default="inductor")
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    kinds = ("block", "cnn") if a.model == "both" else (a.model,)
    print(f"torch {torch.__version__}, backend {a.backend}, {a.rounds} rounds "
          f"x median of {a.steps} steps")
    for kind in kinds:
        x = inputs(kind)
        systems = {}
        for name, nn, backend in (
                ("torch.compile+torch.nn", torch.nn, a.backend),
                ("torch.compile+normlir", nnl, a.backend),
                ('backend="normlir"+torch.nn', torch.nn, "normlir"),
                ("eager torch.nn", torch.nn, None),
                ("eager normlir", nnl, None)):
            model = make(kind, nn)
            fn = (torch.compile(model, backend=backend, fullgraph=True)
                  if backend else model)
            systems[name] = step_fn(model, fn)
        for t in (threads,):
            for step in systems.values():
                step(x)
                step(x)  # compiles, warms up
            samples = {n: [] for n in systems}
            names = list(systems)
            for r in range(a.rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                for n in order:
                    samples[n].append(timed(systems[n], x, a.steps))
            base = statistics.median(samples["torch.compile+torch.nn"])
            print(f"\n{kind}, {t} thread(s):")
            for n in names:
                med = statistics.median(samples[n])
                print(f"  {n:28s} {med * 1e3:8.2f} ms  "
                      f"[{min(samples[n]) * 1e3:.2f}-"
                      f"{max(samples[n]) * 1e3:.2f}]  "
                      f"{base / med:5.2f}x of torch.compile+torch.nn")


if __name__ == "__main__":
    main()
