"""The PyTorch peers, eager and torch.compile (inductor, CPU), for one case at
one thread count. Started by normlir-bench, it builds the tensors once, then
answers one request per stdin line with one JSON line on stdout:
  request  "eager WARMUP REPEAT" | "compile WARMUP REPEAT"
           | "normlir WARMUP REPEAT" (OP_step only)
  reply    {"median_ms": ..., "compile_ms": ...} or {"error": "..."}
The first line it prints is {"torch": VERSION} once the tensors are ready.

Usage: torch_peer.py OP DTYPE LAYOUT SHAPE EXTRA THREADS  (as the C++ peers)

Each call is the torch.nn.functional call a model makes (it allocates its
outputs; BatchNorm training updates the running stats in place). For
OP_bwd (normlir-bench --backward) a call is the backward pass alone:
torch.autograd.grad of one forward's output (eager, or compiled by
torch.compile, whose AOTAutograd compiles the backward too) with respect to
x, weight and bias, the graph kept between calls. For OP_step
(normlir-bench --step) a call is a training step's norm: the forward, then
torch.autograd.grad of its output (x, weight and bias), with torch
(eager, or torch.compile) or with normlir.functional (the NormLIR forward
and the backward kernel the compiler derives, through autograd), imported
from the build tree.
"""
import json
import os
import statistics
import sys
import time


def main():
    op, dtype, layout, shape, extra, threads = sys.argv[1:7]
    backward = op.endswith("_bwd")
    step = op.endswith("_step")
    op = op.removesuffix("_bwd").removesuffix("_step")
    # addln/addrms (steps): h = x + r, then the norm; both returned.
    residual = op in ("addln", "addrms")
    op = op.removeprefix("add") if residual else op
    shape = [int(d) for d in shape.split("x")]
    extra, threads = int(extra), int(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dt = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype]

    x = torch.randn(shape, dtype=torch.float32).to(dt)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    if op in ("ln", "rms"):
        norm_shape = shape[len(shape) - extra:]
        w = torch.randn(norm_shape).to(dt)
        b = torch.randn(norm_shape).to(dt)
    else:
        C = shape[1]
        w, b = torch.randn(C), torch.randn(C)
        rm, rv = torch.randn(C), torch.rand(C) + 0.5

    def rms_norm(x, s, w, eps):
        if hasattr(F, "rms_norm"):
            return F.rms_norm(x, s, w, eps)
        dims = tuple(range(-len(s), 0))  # torch < 2.4
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(dims, keepdim=True) + eps)
                * w.float()).to(x.dtype)

    if residual:
        r = torch.randn(shape, dtype=torch.float32).to(dt)

        def add_then(norm):
            def f(x):
                h = x + r
                return norm(h), h
            return f
    if residual and op == "ln":
        fn = add_then(lambda h: F.layer_norm(h, norm_shape, w, b, 1e-5))
    elif residual:
        fn = add_then(lambda h: rms_norm(h, norm_shape, w, 1e-6))
    elif op == "ln":
        fn = lambda x: F.layer_norm(x, norm_shape, w, b, 1e-5)
    elif op == "rms":
        fn = lambda x: rms_norm(x, norm_shape, w, 1e-6)
    elif op == "bn_train":
        fn = lambda x: F.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
    elif op == "bn_eval":
        fn = lambda x: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5)
    elif op == "in":
        fn = lambda x: F.instance_norm(x, weight=w, bias=b, eps=1e-5)
    elif op == "gn":
        fn = lambda x: F.group_norm(x, extra, w, b, 1e-5)
    else:
        raise SystemExit(f"unknown op {op}")

    normlir_fn = None
    if step:
        # normlir.functional from the build tree (the extension is built
        # for this Python's version).
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        sys.path.insert(0, os.path.join(root, "build", "python_packages"))
        try:
            import normlir.functional as NF
        except ImportError as e:
            NF = None
            normlir_error = f"cannot import normlir: {e}"
        if NF is not None:
            normlir_fn = {
                "addln": lambda x: NF.add_layer_norm(x, r, norm_shape, w, b,
                                                     1e-5),
                "addrms": lambda x: NF.add_rms_norm(x, r, norm_shape, w,
                                                    1e-6),
                "ln": lambda x: NF.layer_norm(x, norm_shape, w, b, 1e-5),
                "rms": lambda x: NF.rms_norm(x, norm_shape, w, 1e-6),
                "bn_train": lambda x: NF.batch_norm(x, rm, rv, w, b, True, 0.1,
                                                    1e-5),
                "bn_eval": lambda x: NF.batch_norm(x, rm, rv, w, b, False, 0.1,
                                                   1e-5),
                "in": lambda x: NF.instance_norm(x, weight=w, bias=b,
                                                 eps=1e-5),
                "gn": lambda x: NF.group_norm(x, extra, w, b, 1e-5),
            }["add" + op if residual else op]

    if backward or step:
        x.requires_grad_(True)
        w.requires_grad_(True)
        b.requires_grad_(True)
        wrt = [x, w] if op == "rms" else [x, w, b]
        dy = torch.randn(shape, dtype=torch.float32).to(dt)
        if layout == "nhwc":
            dy = dy.contiguous(memory_format=torch.channels_last)
        graphs = {}
        if residual:
            r.requires_grad_(True)
            wrt.insert(1, r)
            dh = torch.randn(shape, dtype=torch.float32).to(dt)

        def step_of(f):
            """One forward of f and its backward (of both results, y and h,
            with a residual)."""
            if residual:
                return lambda x: torch.autograd.grad(f(x), wrt, (dy, dh))
            return lambda x: torch.autograd.grad(f(x), wrt, dy)

        def backward_of(f, kind):
            """The backward of one forward of f (built once per kind)."""
            if kind not in graphs:
                graphs[kind] = f(x)
            y = graphs[kind]
            return lambda _x: torch.autograd.grad(y, wrt, dy,
                                                  retain_graph=True)

    compiled = None
    compile_ms = None
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        kind, warmup, repeat = parts[0], int(parts[1]), int(parts[2])
        try:
            with torch.set_grad_enabled(backward or step):
                if kind == "normlir":
                    if not step:
                        raise RuntimeError("the normlir kind is a step's")
                    if normlir_fn is None:
                        raise RuntimeError(normlir_error)
                    f = normlir_fn
                elif kind == "compile":
                    if not hasattr(torch, "compile"):
                        raise RuntimeError(f"torch {torch.__version__} has no torch.compile")
                    if compiled is None:
                        compiled = torch.compile(fn)
                        t0 = time.perf_counter()
                        if backward:
                            backward_of(compiled, kind)(x)
                        elif step:
                            step_of(compiled)(x)
                        else:
                            compiled(x)
                        compile_ms = (time.perf_counter() - t0) * 1e3
                    f = compiled
                else:
                    f = fn
                if backward:
                    f = backward_of(f, kind)
                elif step:
                    f = step_of(f)
                for _ in range(warmup):
                    f(x)
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    f(x)
                    times.append((time.perf_counter() - t0) * 1e3)
            reply = {"median_ms": statistics.median(times)}
            if kind == "compile":
                reply["compile_ms"] = compile_ms
        except Exception as e:  # reported as n/a by the driver
            reply = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
