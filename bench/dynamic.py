#!/usr/bin/env python3
"""Issue 16: each forward case of normlir-bench compiled twice, for its
static shape and with its dimensions dynamic (LayerNorm/RMSNorm: the
leading ones; BatchNorm, GroupNorm, InstanceNorm: all but the channels'),
timed in the same process, interleaved.

  OMP_NUM_THREADS=t python3 bench/dynamic.py [--rounds 7] [--repeat 20]
      [--cases ln:f32:65536x1024,...] [--device cuda]

Both kernels are called through the extension's call_ptrs on the same NumPy
buffers (the dynamic one with the buffers' shapes, which its entry point
checks). Each round times --repeat calls of each kernel, in alternating
order; the report gives the median of the rounds' medians of each kernel
and the dynamic kernel's time over the static one's (median and range over
the rounds: 1.00 is as fast). With --device cuda both are compiled for the
GPU and called on the same device buffers (PyTorch's) on PyTorch's current
stream; a measurement is the mean of --repeat back-to-back calls between
two CUDA events. Case names: ln, rms, gn (32 groups),
bn_train, bn_eval, in; "_nhwc" for channels-last. Run with the build's
python_packages on the path (as the tests do; $NORMLIR_PYTHONPATH names
another).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("NORMLIR_PYTHONPATH") or
                os.path.join(HERE, "..", "build", "python_packages"))
import normlir  # noqa: E402

# normlir-bench's LayerNorm/RMSNorm cases (all_cases): op, dtype, shape,
# normalized dimensions.
CASES = [(op, dt, s, 1) for op in ("ln", "rms") for dt in ("f32", "bf16")
         for s in ((4096, 1024), (65536, 1024), (16384, 4096), (256, 65536))]
CASES += [(op, "f32", (8, 6, 3, 4), 2) for op in ("ln", "rms")]
# Its channel norms (NCHW shapes; k: channels-last).
CASES += [("gn", "f32", s, False) for s in ((32, 64, 56, 56),
                                            (8, 512, 64, 64))]
CASES += [(op, "f32", s, cl) for op in ("bn_train", "bn_eval")
          for cl in (False, True) for s in ((32, 64, 56, 56),
                                            (256, 256, 14, 14))]
CASES += [("in", "f32", (32, 64, 56, 56), False)]


def parse_cases(text):
    out = []
    for item in text.split(","):
        op, dt, shape = item.split(":")
        dims = tuple(int(d) for d in shape.split("x"))
        out.append((op, dt, dims, 1))
    return out


def kernel(op, dtype, shape, k, target="cpu"):
    """k: the normalized dimensions (ln, rms), channels-last (the others);
    `shape` in memory order."""
    if op in ("ln", "rms"):
        spec = normlir.Spec("layer_norm" if op == "ln" else "rms_norm", dtype,
                            shape, normalized_shape=shape[len(shape) - k:],
                            weight=True, bias=op == "ln")
    else:
        kw = dict(weight=True, bias=True, channels_last=k)
        if op == "gn":
            spec = normlir.Spec("group_norm", dtype, shape, num_groups=32,
                                **kw)
        elif op == "in":
            spec = normlir.Spec("instance_norm", dtype, shape, **kw)
        else:
            spec = normlir.Spec("batch_norm", dtype, shape,
                                training=op == "bn_train",
                                running_stats=True, **kw)
    return normlir.compile(spec, target=target).function


def dynamic_shape(op, shape, k):
    if op in ("ln", "rms"):
        return (-1,) * (len(shape) - k) + shape[len(shape) - k:]
    c = len(shape) - 1 if k else 1
    return tuple(d if i == c else -1 for i, d in enumerate(shape))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--cases", default="")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--only", default="",
                    help="comma-separated ops: run only their cases "
                         "(e.g. gn,bn_train,bn_eval,in)")
    a = ap.parse_args()
    cases = parse_cases(a.cases) if a.cases else CASES
    if a.only:
        cases = [c for c in cases if c[0] in a.only.split(",")]
    threads = os.environ.get("OMP_NUM_THREADS", "(all)")
    cuda = a.device == "cuda"
    if cuda:
        import torch
        threads = torch.cuda.get_device_name()
    print(f"dynamic vs static kernels, "
          f"{'GPU ' if cuda else 'OMP_NUM_THREADS='}{threads}, "
          f"{a.rounds} rounds x {a.repeat} calls")
    print(f"{'case':28s} {'static ms':>10s} {'dynamic ms':>11s} "
          f"{'dyn/static':>10s} {'range':>13s}")
    rng = np.random.default_rng(0)
    for op, dt, shape, k in cases:
        if op not in ("ln", "rms") and k:
            shape = (shape[0], *shape[2:], shape[1])  # memory order
        static = kernel(op, dt, shape, k, a.device)
        dynamic = kernel(op, dt, dynamic_shape(op, shape, k), k, a.device)
        np_dt = np.float32 if dt == "f32" else np.uint16
        x = rng.standard_normal(shape).astype(np.float32)
        if dt != "f32":
            x = (x.view(np.uint32) >> 16).astype(np.uint16)
        if op in ("ln", "rms"):
            params = [np.ones(shape[len(shape) - k:], np_dt)
                      for _ in range(2 if op == "ln" else 1)]
        else:
            c = shape[-1] if k else shape[1]
            params = [np.ones(c, np_dt) for _ in range(2)]
            if op.startswith("bn"):
                params += [np.zeros(c, np_dt), np.ones(c, np_dt)]
        outs = static.result_shapes([p.shape for p in (x, *params)])
        y = np.empty(shape, np_dt)
        stats = [np.empty(r, np.float32 if len(r) != len(shape) else np_dt)
                 for r in outs[1:]]
        buffers = [x, *params, y, *stats]
        shapes = [b.shape for b in buffers]
        stream = None
        if cuda:
            # bf16 bits travel as int16 (torch has no uint16 here).
            buffers = [torch.from_numpy(b.view(np.int16) if b.dtype ==
                                        np.uint16 else b).cuda()
                       for b in buffers]
            ptrs = [b.data_ptr() for b in buffers]
            stream = torch.cuda.current_stream().cuda_stream
        else:
            ptrs = [b.ctypes.data for b in buffers]

        def run_static():
            static.call_ptrs(ptrs, stream)

        def run_dynamic():
            dynamic.call_ptrs(ptrs, stream, shapes)

        def measure(fn):
            """Seconds per call: the median of --repeat calls (CPU), the
            mean of --repeat queued calls between CUDA events (GPU)."""
            if cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(a.repeat):
                    fn()
                end.record()
                end.synchronize()
                return start.elapsed_time(end) * 1e-3 / a.repeat
            times = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return statistics.median(times)

        for fn in (run_static, run_dynamic):  # warm up
            for _ in range(3):
                fn()
        meds = {run_static: [], run_dynamic: []}
        for r in range(a.rounds):
            order = (run_static, run_dynamic) if r % 2 == 0 else (
                run_dynamic, run_static)
            for fn in order:
                meds[fn].append(measure(fn))
        s = statistics.median(meds[run_static])
        d = statistics.median(meds[run_dynamic])
        ratios = [dm / sm for sm, dm in zip(meds[run_static],
                                            meds[run_dynamic])]
        name = (f"{op}{'_nhwc' if op not in ('ln', 'rms') and k else ''} "
                f"{dt} {'x'.join(map(str, shape))}")
        print(f"{name:28s} {s * 1e3:10.4f} {d * 1e3:11.4f} {d / s:10.2f} "
              f"{min(ratios):6.2f}-{max(ratios):.2f}", flush=True)


if __name__ == "__main__":
    main()
