#!/usr/bin/env python3
"""Per-call cost of the normlir Python package against PyTorch eager.

The tutorial's 8x6x3x4 f32 LayerNorm (normalized over (3, 4), weight and
bias), its kernel compiled and cached: the time per call of
``normlir.functional.layer_norm`` and of a compiled ``normlir.Kernel`` with
preallocated outputs, on torch tensors and NumPy arrays, next to
``torch.nn.functional.layer_norm`` and a ``torch.Tensor.copy_`` of the same
bytes, all measured in this one run (best of --repeat timings of --number
calls each). Also the first-call time of a new process with a warm disk
cache.

    PYTHONPATH=build/python_packages /usr/bin/python3 bench/overhead/python-overhead.py
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np
import torch

import normlir
import normlir.functional as NF

FIRST_RESULT = """
import time, sys
t0 = time.perf_counter()
import numpy as np, normlir.functional as NF
x = np.arange(576, dtype=np.float32).reshape(8, 6, 3, 4) % 13
y = NF.layer_norm(x, (3, 4), np.ones((3, 4), np.float32), np.zeros((3, 4), np.float32))
assert np.isfinite(y).all()
print((time.perf_counter() - t0) * 1e3)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)

    x = torch.randn(8, 6, 3, 4)
    w, b = torch.randn(3, 4), torch.randn(3, 4)
    out = torch.empty_like(x)
    xn, wn, bn = x.numpy(), w.numpy(), b.numpy()
    on = np.empty_like(xn)
    kernel = normlir.compile(normlir.Spec(
        "layer_norm", "f32", (8, 6, 3, 4), normalized_shape=(3, 4),
        weight=True, bias=True))
    NF.layer_norm(x, (3, 4), w, b)
    NF.layer_norm(xn, (3, 4), wn, bn)
    ref = torch.nn.functional.layer_norm(x, (3, 4), w, b)
    assert torch.allclose(NF.layer_norm(x, (3, 4), w, b), ref, atol=1e-5)

    cases = [
        ("normlir.functional.layer_norm (torch)", lambda: NF.layer_norm(x, (3, 4), w, b)),
        ("normlir.functional.layer_norm (numpy)", lambda: NF.layer_norm(xn, (3, 4), wn, bn)),
        ("normlir Kernel, out= given (torch)", lambda: kernel(x, w, b, out=(out,))),
        ("normlir Kernel, out= given (numpy)", lambda: kernel(xn, wn, bn, out=(on,))),
        ("torch.nn.functional.layer_norm", lambda: torch.nn.functional.layer_norm(x, (3, 4), w, b)),
        ("torch copy_ of the same bytes", lambda: out.copy_(x)),
    ]
    print(f"tutorial LayerNorm 8x6x3x4 f32 (best of {args.repeat} x "
          f"{args.number} calls, torch {torch.__version__}, 1 thread)")
    for name, fn in cases:
        t = min(timeit.repeat(fn, number=args.number, repeat=args.repeat))
        print(f"  {name:42s} {t / args.number * 1e6:7.2f} us")

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NORMLIR_CACHE_DIR=cache)
        times = []
        for _ in range(4):
            start = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", FIRST_RESULT], env=env,
                               check=True, capture_output=True, text=True)
            times.append(((time.perf_counter() - start) * 1e3, float(r.stdout)))
    print("new Python process, functional.layer_norm first result "
          "(whole process / from the first import):")
    print(f"  cold (empty disk cache): {times[0][0]:7.1f} ms / {times[0][1]:6.1f} ms")
    warm = sorted(times[1:])[1]
    print(f"  warm (disk-cache hit):   {warm[0]:7.1f} ms / {warm[1]:6.1f} ms")


if __name__ == "__main__":
    main()
