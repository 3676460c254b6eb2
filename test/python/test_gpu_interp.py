"""The GPU lowering's results, checked without a GPU.

Each case is a bufferized ``norm.kernel`` with a ``#norm.gpu_schedule``,
lowered by ``normlir-opt --convert-norm-to-gpu --mlir-print-op-generic``
and run by the interpreter of gpu_interp.py on concrete shapes: the test
wants no hazard (out-of-bounds, misaligned, uninitialized or racy access,
division by zero, divergent barrier or shuffle, bad launch, leak), every
output element and every element of the lowering's device scratch written
exactly once, and y and the statistics equal to a float64 NumPy reference
(f32 within 1e-5 relative; f16/bf16 y within the dtype's rounding of it).

normlir-opt is $NORMLIR_OPT, else the one next to normlir-run
($NORMLIR_BUILD_DIR/bin, else build/bin); without it the tests skip.
"""

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import gpu_interp as gi
import normlir_testing as nt


def normlir_opt_path() -> Path:
    """$NORMLIR_OPT, else normlir-opt next to normlir-run."""
    env = os.environ.get("NORMLIR_OPT")
    return Path(env) if env else nt.normlir_run_path().with_name("normlir-opt")


@functools.lru_cache(maxsize=None)
def lower(src: str) -> str:
    """The generic-form output of --convert-norm-to-gpu on `src`."""
    opt = normlir_opt_path()
    if not opt.exists():
        pytest.skip(f"no normlir-opt at {opt}")
    proc = subprocess.run(
        [str(opt), "-", "--convert-norm-to-gpu", "--mlir-print-op-generic"],
        input=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"normlir-opt failed:\n{proc.stderr}\n{src}"
    return proc.stdout


@functools.lru_cache(maxsize=None)
def compiled(text: str):
    return gi.parse(text)


def schedule(strategy, threads, vector_width, chunks, rows=1):
    return (f"#norm.gpu_schedule<strategy = {strategy}, threads = {threads},"
            f" rows = {rows}, vectorWidth = {vector_width},"
            f" chunks = {chunks}>")


def memref(dims, elt):
    return "memref<" + "".join(
        ("?" if d is None else str(d)) + "x" for d in dims) + elt + ">"


@dataclass(frozen=True)
class Kernel:
    """A norm.kernel: kind (moments, mean_square or apply), the input's
    dims (None where dynamic), reduced axes, schedule, element type of x
    and y (and of the parameters), parameter axes, weight and bias."""
    kind: str
    dims: tuple
    axes: tuple
    schedule: str
    dtype: str = "f32"
    param_axes: tuple = ()
    weight: bool = False
    bias: bool = False
    eps: float = 1e-5

    def stat_dims(self, dims):
        return tuple(1 if a in self.axes else d for a, d in enumerate(dims))

    def param_dims(self, dims):
        return tuple(dims[a] for a in self.param_axes)

    @property
    def stat_names(self):
        return {"moments": ["mean", "var", "rstd"],
                "mean_square": ["mean_square", "rstd"],
                "apply": []}[self.kind]

    def args(self, dims):
        """(name, dims, element type) of the function's arguments."""
        st, pt = self.stat_dims(dims), self.param_dims(dims)
        args = [("x", dims, self.dtype)]
        if self.kind == "apply":
            args += [("mean", st, "f32"), ("rstd", st, "f32")]
        if self.weight:
            args.append(("w", pt, self.dtype))
        if self.bias:
            args.append(("b", pt, self.dtype))
        args.append(("y", dims, self.dtype))
        args += [(s, st, "f32") for s in self.stat_names]
        return args

    def ir(self):
        args = self.args(self.dims)
        sig = ", ".join(f"%{n}: {memref(d, e)}" for n, d, e in args)
        types = ", ".join(memref(d, e) for _, d, e in args)
        op = f"norm.kernel {self.kind} %x"
        if self.kind == "apply":
            op += " mean %mean rstd %rstd"
        if self.weight:
            op += " weight %w"
        if self.bias:
            op += " bias %b"
        outs = ["y"] + self.stat_names
        op += " outs(" + ", ".join(f"%{n}" for n in outs) + ")"
        attrs = ["axes = array<i64: " + ", ".join(map(str, self.axes)) + ">"]
        if self.param_axes:
            attrs.append("param_axes = array<i64: "
                         + ", ".join(map(str, self.param_axes)) + ">")
        if self.kind != "apply":
            attrs.append(f"epsilon = {self.eps:e} : f64")
        attrs.append(f"schedule = {self.schedule}")
        return (f"func.func @k({sig}) {{\n"
                f"  {op} {{{', '.join(attrs)}}} : ({types}) -> ()\n"
                "  return\n}\n")


def reference(kernel, inputs):
    """float64 y and statistics of `kernel` on `inputs` (name -> array)."""
    x = inputs["x"].astype(np.float64)
    keep = dict(axis=kernel.axes, keepdims=True)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        if kernel.kind == "apply":
            mean = inputs["mean"].astype(np.float64)
            rstd = inputs["rstd"].astype(np.float64)
        elif kernel.kind == "moments":
            mean = x.mean(**keep)
            out["mean"] = mean
            out["var"] = ((x - mean) ** 2).mean(**keep)
            rstd = out["rstd"] = 1 / np.sqrt(out["var"] + kernel.eps)
        else:
            mean = 0.0
            out["mean_square"] = (x * x).mean(**keep)
            rstd = out["rstd"] = 1 / np.sqrt(out["mean_square"] + kernel.eps)
        y = (x - mean) * rstd
        # Parameters broadcast along their axes of x.
        pshape = [x.shape[a] if a in kernel.param_axes else 1
                  for a in range(x.ndim)]
        if kernel.weight:
            y = y * inputs["w"].astype(np.float64).reshape(pshape)
        if kernel.bias:
            y = y + inputs["b"].astype(np.float64).reshape(pshape)
    out["y"] = y
    return out


def make_inputs(kernel, shape, rng):
    """Inputs with a mean away from 0 (what shifted sums are for), rounded
    to their element types."""
    inputs = {}
    for name, dims, elt in kernel.args(shape)[:-1 - len(kernel.stat_names)]:
        low, high = {"x": (1, 5), "mean": (2, 4), "rstd": (0.5, 2),
                     "w": (0.5, 1.5), "b": (-1, 1)}[name]
        inputs[name] = nt.quantize(rng.uniform(low, high, dims), elt)
    return inputs


def check_kernel(kernel, shape, rng, text=None):
    """Runs `kernel` (or the lowered `text` given for it) on `shape`;
    returns the list of what is wrong (empty when all is right)."""
    text = text if text is not None else lower(kernel.ir())
    inputs = make_inputs(kernel, shape, rng)
    buffers = {n: gi.Buffer(n, d, e, inputs.get(n))
               for n, d, e in kernel.args(shape)}
    machine = gi.run_function(compiled(text), "k", list(buffers.values()))
    problems = list(machine.hazards)
    outs = ["y"] + kernel.stat_names
    for name in outs:
        writes = buffers[name].writes
        if writes.size and not (writes == 1).all():
            problems.append(f"{name}: {np.count_nonzero(writes != 1)} of "
                            f"{writes.size} elements not written once "
                            f"(counts {sorted(set(writes.tolist()))})")
    # Scratch (partials, private statistics) may be larger than what a
    # shape uses (at least one element); what is read was written (no
    # uninitialized read), and written once.
    for buf in machine.allocations:
        if (buf.writes > 1).any():
            problems.append(f"{buf.name}: {np.count_nonzero(buf.writes > 1)}"
                            f" of {buf.writes.size} elements written twice")
    if problems:
        return problems
    ref = reference(kernel, inputs)
    for name in outs:
        got = buffers[name].array()
        try:
            if name == "y" and kernel.dtype != "f32":
                nt.assert_close_lowp(got, ref[name], kernel.dtype, what=name)
            else:
                nt.assert_close(got, ref[name], rtol=1e-5, what=name)
        except AssertionError as e:
            problems.append(str(e))
    return problems


def assert_kernel(kernel, shape, rng):
    problems = check_kernel(kernel, shape, rng)
    assert not problems, (f"{kernel.kind} {kernel.dims} axes {kernel.axes} "
                          f"on {shape}:\n" + "\n".join(problems))


# ---------------------------------------------------------------------------
# Static shapes: each strategy
# ---------------------------------------------------------------------------

STATIC = {
    # A team of 16 threads per row, 16 rows per block, warp shuffles.
    "row": Kernel("moments", (32, 256), (1,),
                  schedule("row", 16, 4, 1, rows=16),
                  param_axes=(1,), weight=True),
    # A block per bf16 row: warp sums through workgroup memory.
    "row-block-bf16": Kernel("mean_square", (4, 1000), (1,),
                             schedule("row", 128, 8, 1), dtype="bf16"),
    # NCHW BatchNorm, each run of 256 split into 2 chunks.
    "segment-chunks": Kernel("moments", (4, 8, 16, 16), (0, 2, 3),
                             schedule("segment", 64, 4, 2), param_axes=(1,),
                             weight=True, bias=True),
    # Short runs (R2 = 8): 4 R1 segments of a statistic per block.
    "segment-rows": Kernel("moments", (6, 4, 8), (0, 2),
                           schedule("segment", 32, 4, 1, rows=4),
                           param_axes=(1,), weight=True, bias=True),
    "segment-f16": Kernel("moments", (2, 4, 196), (0, 2),
                          schedule("segment", 32, 4, 3), dtype="f16",
                          param_axes=(1,), weight=True, bias=True),
    # Channels-last BatchNorm: threads along the channels.
    "column": Kernel("moments", (2, 8, 8, 16), (0, 1, 2),
                     schedule("column", 256, 4, 4), param_axes=(3,),
                     weight=True),
    "apply-column": Kernel("apply", (4, 8, 4, 4), (0, 2, 3),
                           schedule("column", 256, 4, 1), param_axes=(1,),
                           weight=True, bias=True),
}


@pytest.mark.parametrize("name", STATIC)
def test_static(name, rng):
    kernel = STATIC[name]
    assert_kernel(kernel, kernel.dims, rng)


# ---------------------------------------------------------------------------
# Dynamic shapes
# ---------------------------------------------------------------------------

def dynamic_cases(kernel, shapes):
    return [pytest.param(kernel, s, id=f"{kernel.kind}-{'x'.join(map(str, s))}")
            for s in shapes]


# NCHW BatchNorm over [?, 3, ?]: runs of runtime length split at run time.
BN_NCHW = Kernel("moments", (None, 3, None), (0, 2),
                 schedule("segment", 64, 1, 16), param_axes=(1,),
                 weight=True, bias=True)
# GroupNorm over [?, G = 2, C/G = 3, ?]: the weight along the static
# channels, outside the dynamic spatial run.
GN_NCHW = Kernel("moments", (None, 2, 3, None), (2, 3),
                 schedule("segment", 64, 1, 20), param_axes=(1, 2),
                 weight=True, bias=True)
# InstanceNorm over channels-last [?, ?, 8]: column blocks shared among a
# dynamic batch.
IN_NHWC = Kernel("moments", (None, None, 8), (1,),
                 schedule("column", 32, 1, 7), param_axes=(2,),
                 weight=True, bias=True)
IN_NHWC_V4 = Kernel("moments", (None, None, 8), (1,),
                    schedule("column", 256, 4, 5), param_axes=(2,),
                    weight=True, bias=True)
# BatchNorm eval: the apply alone over 3 x HW dynamic columns.
APPLY_NCHW = Kernel("apply", (None, 3, None), (0, 2),
                    schedule("segment", 256, 1, 264), param_axes=(1,),
                    weight=True, bias=True)
# RMSNorm over a dynamic number of rows of 256.
RMS_ROWS = Kernel("mean_square", (None, 256), (1,), schedule("row", 16, 4, 1,
                                                              rows=16),
                  eps=1e-6, param_axes=(1,), weight=True)
# LayerNorm over [?, ?] with a weight of the rows' runtime length.
LN_DYN = Kernel("moments", (None, None), (1,), schedule("segment", 64, 1, 4),
                param_axes=(1,), weight=True)

DYNAMIC = (
    dynamic_cases(BN_NCHW, [(0, 3, 5), (2, 3, 0), (0, 3, 0), (1, 3, 1),
                            (2, 3, 1), (3, 3, 7), (2, 3, 33), (1, 3, 85)])
    + dynamic_cases(GN_NCHW, [(0, 2, 3, 4), (1, 2, 3, 0), (1, 2, 3, 1),
                              (2, 2, 3, 5), (1, 2, 3, 41)])
    + dynamic_cases(IN_NHWC, [(0, 3, 8), (1, 0, 8), (1, 1, 8), (2, 5, 8),
                              (3, 41, 8)])
    + dynamic_cases(IN_NHWC_V4, [(1, 1, 8), (2, 129, 8)])
    + dynamic_cases(APPLY_NCHW, [(0, 3, 5), (2, 3, 0), (1, 3, 1), (3, 3, 7),
                                 (2, 3, 300)])
    + dynamic_cases(RMS_ROWS, [(0, 256), (1, 256), (17, 256)])
    + dynamic_cases(LN_DYN, [(0, 5), (3, 0), (1, 1), (2, 37), (3, 100)]))


@pytest.mark.parametrize("kernel,shape", DYNAMIC)
def test_dynamic(kernel, shape, rng):
    assert_kernel(kernel, shape, rng)


def test_dynamic_long_run(rng):
    """A run longer than a piece's 16384 elements: with chunks = 1, each run
    of 16389 is still cut into two pieces."""
    kernel = Kernel("mean_square", (None, 2, None), (0, 2),
                    schedule("segment", 256, 1, 1), eps=1e-6)
    assert_kernel(kernel, (1, 2, 16389), rng)


# ---------------------------------------------------------------------------
# The harness fails where it should
# ---------------------------------------------------------------------------

def corrupt(text, old, new):
    assert old in text, f"{old!r} not in the lowered IR"
    return text.replace(old, new)


@pytest.mark.parametrize("what", ["barrier", "bound"])
def test_corrupted_ir_is_caught(what, rng):
    """Dropping the barriers of a block reduction gives races; comparing
    `ule` where `ult` bounds the threads gives out-of-bounds accesses."""
    kernel = STATIC["row-block-bf16"] if what == "barrier" else APPLY_NCHW
    text = lower(kernel.ir())
    if what == "barrier":
        bad = corrupt(text, '"gpu.barrier"() : () -> ()\n', "")
        kind = "race"
        shape = kernel.dims
    else:
        bad = corrupt(text, "predicate = 6 : i64", "predicate = 7 : i64")
        kind = "out of bounds"
        shape = (2, 3, 7)
    assert not check_kernel(kernel, shape, rng, text)
    problems = check_kernel(kernel, shape, rng, bad)
    assert any(kind in p for p in problems), problems
