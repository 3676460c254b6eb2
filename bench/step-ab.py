#!/usr/bin/env python3
"""A per-call A/B of one training step: NormLIR against torch eager.

normlir-bench times each system in blocks of calls; on a noisy machine a
slow period can fall on one system's block. This alternates the two steps
call by call (a forward through `normlir.functional` or
`torch.nn.functional`, then `torch.autograd.grad` of x, weight and bias)
and reports each system's median and the median of the per-pair ratios.
Alternating also changes what the allocator hands out (each system's
freed outputs become the other's), which the report says nothing about:
compare with normlir-bench --step.

  OMP_NUM_THREADS=1 bench/.venv/bin/python bench/step-ab.py ln [CALLS]
  OMP_NUM_THREADS=1 bench/.venv/bin/python bench/step-ab.py ln [CALLS] --split

Cases: ln (LayerNorm 4096x1024), gn (GroupNorm 32x64x56x56, 32 groups),
bn / bnl (BatchNorm training, NCHW / channels-last), bneval; all f32.

--split times each system alone (NormLIR's calls, then torch's), the
forward and the backward apart, with the minor page faults of each (the
process's ru_minflt): where a step's time goes outside the kernels.
"""
import os
import resource
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "python_packages"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import normlir.functional as NF  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    case = args[0] if args else "ln"
    calls = int(args[1]) if len(args) > 1 else 100
    torch.manual_seed(0)
    if case == "ln":
        x, c = torch.randn(4096, 1024), 1024
        nl = lambda x, w, b: NF.layer_norm(x, (c,), w, b, 1e-5)  # noqa: E731
        tf = lambda x, w, b: F.layer_norm(x, (c,), w, b, 1e-5)  # noqa: E731
    elif case in ("gn", "bn", "bnl", "bneval"):
        x, c = torch.randn(32, 64, 56, 56), 64
        if case == "bnl":
            x = x.contiguous(memory_format=torch.channels_last)
        rm, rv = torch.zeros(c), torch.ones(c)
        if case == "gn":
            nl = lambda x, w, b: NF.group_norm(x, 32, w, b, 1e-5)  # noqa: E731
            tf = lambda x, w, b: F.group_norm(x, 32, w, b, 1e-5)  # noqa: E731
        else:
            train = case != "bneval"
            nl = lambda x, w, b: NF.batch_norm(  # noqa: E731
                x, rm, rv, w, b, train, 0.1, 1e-5)
            tf = lambda x, w, b: F.batch_norm(  # noqa: E731
                x, rm, rv, w, b, train, 0.1, 1e-5)
    else:
        raise SystemExit(f"unknown case {case!r} (ln, gn, bn, bnl, bneval)")
    x.requires_grad_(True)
    w = torch.rand(c, requires_grad=True)
    b = torch.randn(c, requires_grad=True)
    dy = torch.randn_like(x)

    def step(f):
        return torch.autograd.grad(f(x, w, b), [x, w, b], dy)

    if "--split" in sys.argv:
        def faults():
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for name, f in (("normlir", nl), ("torch", tf)):
            for _ in range(3):
                step(f)
            fwd, bwd, pf, pb = [], [], [], []
            for _ in range(calls):
                p0, t0 = faults(), time.perf_counter()
                y = f(x, w, b)
                t1, p1 = time.perf_counter(), faults()
                g = torch.autograd.grad(y, [x, w, b], dy)
                t2, p2 = time.perf_counter(), faults()
                del y, g
                fwd.append((t1 - t0) * 1e3)
                bwd.append((t2 - t1) * 1e3)
                pf.append(p1 - p0)
                pb.append(p2 - p1)
            print(f"{case} threads={torch.get_num_threads()} {name}: "
                  f"forward median {statistics.median(fwd):.3f} ms "
                  f"({statistics.median(pf):.0f} faults), backward "
                  f"{statistics.median(bwd):.3f} ms "
                  f"({statistics.median(pb):.0f} faults)")
        return
    for _ in range(5):
        step(nl)
        step(tf)
    a, t, r = [], [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        step(nl)
        t1 = time.perf_counter()
        step(tf)
        t2 = time.perf_counter()
        a.append((t1 - t0) * 1e3)
        t.append((t2 - t1) * 1e3)
        r.append((t2 - t1) / (t1 - t0))
    q = statistics.quantiles(r, n=4)
    print(f"{case} threads={torch.get_num_threads()}: normlir median "
          f"{statistics.median(a):.3f} ms, torch {statistics.median(t):.3f} "
          f"ms; per-pair torch/normlir median {statistics.median(r):.2f}x "
          f"(quartiles {q[0]:.2f}-{q[2]:.2f})")


if __name__ == "__main__":
    main()
