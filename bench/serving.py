#!/usr/bin/env python3
"""Issue 16's serving case: LayerNorm over (L, 4096) float32 for 150
distinct sequence lengths L, as a language-model server sees them, each
length called --calls times; the total time including NormLIR's compiles,
against PyTorch eager on the same tensors.

  OMP_NUM_THREADS=t python3 bench/serving.py [--lengths 150] [--calls 4]
      [--width 4096] [--seed 0] [--dynamic auto,off]

For each dynamic-shape policy (normlir.set_dynamic: auto = torch.compile's
dynamic=None, a kernel for the first length and one dynamic kernel for the
rest; on = the dynamic kernel only; off = a kernel per length, as before
issue 16), three NormLIR passes in one process, each over all lengths in
the same shuffled order:
  cold:   a fresh, empty disk cache: what the policy compiles;
  warm:   the in-memory cache forgotten, the disk cache kept: the objects
          load from disk (a restarted server);
  cached: everything in memory (steady state).
Before them, one unmeasured pass (dynamic kernel, its own cache) warms
what every policy shares: the host cache's blocks for the outputs (fresh
pages fault on first write), the OpenMP threads, libMLIR's load.
PyTorch eager runs the same calls before and after each policy (its median
is reported). Prints the seconds of each pass, the compiles counted by
normlir.cache_info(), and the ratio to PyTorch's time.
Run with PYTHONPATH set to the build's python_packages (as the tests do).
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "build", "python_packages"))
import normlir  # noqa: E402
from normlir import functional as NF  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lengths", type=int, default=150)
    ap.add_argument("--calls", type=int, default=4)
    ap.add_argument("--width", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dynamic", default="auto,off",
                    help="policies to run: auto, on, off (comma-separated)")
    a = ap.parse_args()
    policies = {"auto": None, "on": True, "off": False}
    modes = a.dynamic.split(",")
    for m in modes:
        if m not in policies:
            ap.error(f"--dynamic: unknown policy {m!r}")
    threads = int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    torch.set_num_threads(threads)
    rng = random.Random(a.seed)
    lengths = rng.sample(range(1, 2049), a.lengths)
    w = torch.rand(a.width) + 0.5
    b = torch.rand(a.width) - 0.5
    inputs = {n: torch.randn(n, a.width) for n in lengths}
    order = [n for n in lengths for _ in range(a.calls)]
    rng.shuffle(order)

    def run(fn):
        start = time.perf_counter()
        for n in order:
            fn(inputs[n], (a.width,), w, b)
        return time.perf_counter() - start

    torch_times = [run(torch.nn.functional.layer_norm)]
    warm = tempfile.mkdtemp(prefix="normlir-serving-warmup-")
    try:
        normlir.set_cache_dir(warm)
        normlir.set_dynamic(True)
        run(NF.layer_norm)
    finally:
        shutil.rmtree(warm, ignore_errors=True)
    passes = {}
    for mode in modes:
        cache = tempfile.mkdtemp(prefix="normlir-serving-")
        try:
            normlir.set_cache_dir(cache)
            normlir.set_dynamic(policies[mode])
            NF.clear_cache()
            normlir.clear_memory_cache()
            for name in ("cold", "warm", "cached"):
                if name == "warm":
                    NF.clear_cache()
                    normlir.clear_memory_cache()
                before = normlir.cache_info()
                seconds = run(NF.layer_norm)
                after = normlir.cache_info()
                passes[f"{mode} {name}"] = (
                    seconds, after.misses - before.misses,
                    after.compile_seconds - before.compile_seconds)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        torch_times.append(run(torch.nn.functional.layer_norm))
    normlir.set_dynamic(None)
    t = statistics.median(torch_times)
    print(f"LayerNorm (L, {a.width}) f32, {a.lengths} lengths in [1, 2048] x "
          f"{a.calls} calls, {threads} thread(s); torch {torch.__version__}")
    print(f"torch eager: {t:.3f} s "
          f"({min(torch_times):.3f}-{max(torch_times):.3f})")
    for name, (seconds, misses, compile_s) in passes.items():
        print(f"normlir {name:11s}: {seconds:7.3f} s, {misses:3d} "
              f"specializations ({compile_s:.3f} s of compiling or loading); "
              f"vs torch {t / seconds:.2f}x")


if __name__ == "__main__":
    main()
