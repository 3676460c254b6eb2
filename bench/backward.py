#!/usr/bin/env python3
"""bench/backward.py: first measurements of the backward pass (issue 14),
until normlir-bench gains backward cases.

Per case (LayerNorm/RMSNorm f32 4096x1024 and 16384x4096, LayerNorm bf16
4096x1024; BatchNorm training and GroupNorm (32 groups) f32 32x64x56x56 in
NCHW and channels-last, InstanceNorm NCHW) and thread count (1, 2), ROUNDS
interleaved rounds (default 5) of:
  copy          bench/build/copy of the backward's bytes (read x and dy,
                write dx, plus the parameters), the faster of plain/nt
  normlir bwd   normlir-run --differentiate --function=F_backward (the fused
                backward kernel the compiler derives; buffers reused)
  torch bwd     PyTorch eager's backward alone (y.backward(dy))
  normlir step  normlir.functional forward + backward (autograd)
  torch step    torch.nn.functional forward + backward
Prints medians (ms) and ranges, the backward's share of the copy and the
speedups. Needs bench/setup.sh (bench/build/copy) and a build (build/).
RMSNorm's PyTorch reference is the composite x * rsqrt(mean(x^2) + eps) * w
(torch 1.13 has no fused RMSNorm).

  ROUNDS=5 /usr/bin/python3 bench/backward.py
  CASES=bn_nchw,gn_cl ROUNDS=3 /usr/bin/python3 bench/backward.py   (a subset:
      ln, rms, bn_nchw, bn_cl, gn_nchw, gn_cl, in_nchw)
"""
import os, re, subprocess, statistics, sys, tempfile, time
import numpy as np
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "python_packages"))
import torch, normlir
F = torch.nn.functional
ROUNDS = int(os.environ.get("ROUNDS", "5"))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))
import normlir_testing as nt
# (name, dtype, shape, layout); row norms: shape (rows, cols); channel norms:
# NCHW shape, the tensor channels-last when layout is "cl".
cases = [("ln", "f32", (4096, 1024), ""), ("ln", "f32", (16384, 4096), ""), ("rms", "f32", (4096, 1024), ""),
         ("rms", "f32", (16384, 4096), ""), ("ln", "bf16", (4096, 1024), ""),
         ("bn", "f32", (32, 64, 56, 56), "nchw"), ("bn", "f32", (32, 64, 56, 56), "cl"),
         ("gn", "f32", (32, 64, 56, 56), "nchw"), ("gn", "f32", (32, 64, 56, 56), "cl"),
         ("in", "f32", (32, 64, 56, 56), "nchw")]
if os.environ.get("CASES"):
    keep = os.environ["CASES"].split(",")
    cases = [c for c in cases if c[0] + ("_" + c[3] if c[3] else "") in keep]
def spec(op, dt, shape, layout):
    """The forward spec and its function name."""
    if op in ("ln", "rms"):
        r, c = shape
        t = f"tensor<{r}x{c}x{dt}>"; p = f"tensor<{c}x{dt}>"; s = f"tensor<{r}x1xf32>"
        if op == "ln":
            return (f"func.func @f(%x: {t}, %w: {p}, %b: {p}) -> {t} {{\n  %y, %m, %r = norm.layer_norm %x weight %w bias %b "
                    f"{{normalized_shape = array<i64: {c}>}} : ({t}, {p}, {p}) -> ({t}, {s}, {s})\n  return %y : {t}\n}}\n"), "f"
        return (f"func.func @f(%x: {t}, %w: {p}) -> {t} {{\n  %y, %r = norm.rms_norm %x weight %w "
                f"{{normalized_shape = array<i64: {c}>, epsilon = 1.0e-6 : f64}} : ({t}, {p}) -> ({t}, {s})\n  return %y : {t}\n}}\n"), "f"
    n, c, h, w = shape
    cl = layout == "cl"
    kshape = (n, h, w, c) if cl else shape
    axis = 3 if cl else 1
    if op == "bn":
        sp = nt.batch_norm_spec(kshape, dt, weight=dt, bias=dt, channel_axis=axis)
    elif op == "gn":
        sp = nt.group_norm_spec(kshape, 32, dt, weight=dt, bias=dt, channel_axis=axis)
    else:
        sp = nt.instance_norm_spec(kshape, dt, weight=dt, bias=dt, channel_axis=axis)
    return sp.text, sp.func
def nl(path, fn, thr):
    p = subprocess.run([os.path.join(ROOT, "build", "bin", "normlir-run"), path, "--differentiate", f"--function={fn}_backward", "--random-inputs",
                        "--warmup=2", "--repeat=10", "--discard-results"], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(thr)))
    return float(re.search(r"median ([\d.]+) ms", p.stderr).group(1))
def copy(nbytes, thr):
    o = subprocess.run([os.path.join(ROOT, "bench", "build", "copy"), str(nbytes // 2), "2", "10"], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(thr))).stdout
    m = re.search(r"plain_ms=([\d.]+) nt_ms=([\d.]+)", o); return min(float(m.group(1)), float(m.group(2)))
def med(f, n=10, warm=2):
    for _ in range(warm): f()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)
for op, dt, shape, layout in cases:
    text, fn = spec(op, dt, shape, layout)
    tag = "x".join(map(str, shape))
    path = os.path.join(tempfile.gettempdir(), f"normlir_bwd_{op}_{layout}_{dt}_{tag}.mlir"); open(path, "w").write(text)
    tdt = torch.float32 if dt == "f32" else torch.bfloat16
    eb = 4 if dt == "f32" else 2
    c = shape[-1] if op in ("ln", "rms") else shape[1]
    numel = 1
    for d in shape:
        numel *= d
    nbytes = 3 * numel * eb + 3 * c * eb
    for thr in (1, 2):
        torch.set_num_threads(thr)
        x = torch.randn(*shape, dtype=tdt)
        if layout == "cl":
            x = x.to(memory_format=torch.channels_last)
        x.requires_grad_()
        w = torch.rand(c, dtype=tdt).add_(0.5).requires_grad_()
        b = torch.randn(c, dtype=tdt, requires_grad=True); dy = torch.randn_like(x)
        NFn = normlir.functional
        if op == "ln":
            tf = lambda: F.layer_norm(x, (c,), w, b); nf = lambda: NFn.layer_norm(x, (c,), w, b)
        elif op == "rms":
            tf = lambda: x * torch.rsqrt(x.float().square().mean(-1, keepdim=True) + 1e-6).to(tdt) * w
            nf = lambda: NFn.rms_norm(x, (c,), w, eps=1e-6)
        elif op == "bn":
            tf = lambda: F.batch_norm(x, None, None, w, b, True); nf = lambda: NFn.batch_norm(x, None, None, w, b, True)
        elif op == "gn":
            tf = lambda: F.group_norm(x, 32, w, b); nf = lambda: NFn.group_norm(x, 32, w, b)
        else:
            tf = lambda: F.instance_norm(x, weight=w, bias=b); nf = lambda: NFn.instance_norm(x, weight=w, bias=b)
        def tbwd():
            y = tf(); t = time.perf_counter(); y.backward(dy); return (time.perf_counter() - t) * 1e3
        res = {k: [] for k in ("copy", "normlir bwd", "torch bwd", "normlir step", "torch step")}
        for rd in range(ROUNDS):
            res["copy"].append(copy(nbytes, thr))
            res["normlir bwd"].append(nl(path, fn, thr))
            tb = [tbwd() for _ in range(12)][2:]; res["torch bwd"].append(statistics.median(tb))
            res["normlir step"].append(med(lambda: nf().backward(dy)))
            res["torch step"].append(med(lambda: tf().backward(dy)))
        m = {k: statistics.median(v) for k, v in res.items()}
        rng = {k: (min(v), max(v)) for k, v in res.items()}
        print(f"{op} {layout} {dt} {tag} thr={thr}: " + "  ".join(f"{k} {m[k]:.2f} ({rng[k][0]:.2f}-{rng[k][1]:.2f})" for k in res)
              + f" | bwd %copy {100*m['copy']/m['normlir bwd']:.0f}, bwd speedup {m['torch bwd']/m['normlir bwd']:.2f}x, step speedup {m['torch step']/m['normlir step']:.2f}x", flush=True)
