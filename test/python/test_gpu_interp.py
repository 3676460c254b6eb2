"""The GPU lowering's results, checked without a GPU.

Each case is a bufferized ``norm.kernel`` with a ``#norm.gpu_schedule``,
lowered by ``normlir-opt --convert-norm-to-gpu --mlir-print-op-generic``
and run by the interpreter of gpu_interp.py on concrete shapes. A case
passes when the interpreter reports no hazard (out-of-bounds, misaligned,
uninitialized or racy access, division by zero, divergent barrier or
shuffle, bad launch, leak), every output element is written exactly once
and no scratch element twice, the statistics match float64 NumPy ones
within 1e-5 relative (SEMANTICS.md), and y the float64 apply of those
statistics: within 1e-5 relative for f32, the rounding of it to the dtype
for f16/bf16 (nt.assert_close_lowp).

The last tests show that the harness fails where it should: on lowered IR
corrupted on purpose, and on small kernels with one hazard each.

normlir-opt is $NORMLIR_OPT, else the one next to normlir-run
($NORMLIR_BUILD_DIR/bin, else build/bin); without it the tests skip.
"""

import dataclasses
import functools
import os
import subprocess
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
def generic(src: str, lower_to_gpu: bool = True) -> str:
    """`src` in generic form, after --convert-norm-to-gpu if asked."""
    opt = normlir_opt_path()
    if not opt.exists():
        pytest.skip(f"no normlir-opt at {opt}")
    passes = ["--convert-norm-to-gpu"] if lower_to_gpu else []
    proc = subprocess.run(
        [str(opt), "-", *passes, "--mlir-print-op-generic"],
        input=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"normlir-opt failed:\n{proc.stderr}\n{src}"
    return proc.stdout


@functools.lru_cache(maxsize=None)
def compiled(text: str):
    return gi.parse(text)


# ---------------------------------------------------------------------------
# Kernels, and what they compute
# ---------------------------------------------------------------------------

def schedule(strategy, threads, vector_width, chunks, rows=1):
    return (f"#norm.gpu_schedule<strategy = {strategy}, threads = {threads},"
            f" rows = {rows}, vectorWidth = {vector_width},"
            f" chunks = {chunks}>")


def memref(dims, elt):
    return "memref<" + "".join(
        ("?" if d is None else str(d)) + "x" for d in dims) + elt + ">"


@dataclasses.dataclass(frozen=True)
class Kernel:
    """A norm.kernel: kind (moments, mean_square or apply), the input's
    dims (None where dynamic), reduced axes, schedule, element type of x, y
    and the parameters, parameter axes, weight and bias."""
    kind: str
    dims: tuple
    axes: tuple
    schedule: str
    dtype: str = "f32"
    param_axes: tuple = ()
    weight: bool = False
    bias: bool = False
    eps: float = 1e-5

    @property
    def stat_names(self):
        return {"moments": ["mean", "var", "rstd"],
                "mean_square": ["mean_square", "rstd"],
                "apply": []}[self.kind]

    def args(self, dims):
        """(name, dims, element type) of the function's arguments, for the
        input's `dims` (static or concrete)."""
        stats = tuple(1 if a in self.axes else d for a, d in enumerate(dims))
        params = tuple(dims[a] for a in self.param_axes)
        args = [("x", dims, self.dtype)]
        if self.kind == "apply":
            args += [("mean", stats, "f32"), ("rstd", stats, "f32")]
        if self.weight:
            args.append(("w", params, self.dtype))
        if self.bias:
            args.append(("b", params, self.dtype))
        args.append(("y", dims, self.dtype))
        return args + [(s, stats, "f32") for s in self.stat_names]

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
        op += " outs(" + ", ".join(
            f"%{n}" for n in ["y"] + self.stat_names) + ")"
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


def statistics(kernel, x):
    """float64 statistics of `kernel` over x: NaN over no values."""
    x = x.astype(np.float64)
    count = np.prod([x.shape[a] for a in kernel.axes])

    def average(v):
        return v.sum(axis=kernel.axes, keepdims=True) / count

    with np.errstate(invalid="ignore", divide="ignore"):
        if kernel.kind == "mean_square":
            ms = average(x * x)
            return {"mean_square": ms, "rstd": 1 / np.sqrt(ms + kernel.eps)}
        mean = average(x)
        var = average((x - mean) ** 2)
        return {"mean": mean, "var": var,
                "rstd": 1 / np.sqrt(var + kernel.eps)}


def apply(kernel, inputs, mean, rstd):
    """float64 y of `kernel` for the given statistics."""
    y = (inputs["x"].astype(np.float64) - mean) * rstd
    # The parameters broadcast along their axes of x.
    shape = [y.shape[a] if a in kernel.param_axes else 1
             for a in range(y.ndim)]
    if kernel.weight:
        y = y * inputs["w"].astype(np.float64).reshape(shape)
    if kernel.bias:
        y = y + inputs["b"].astype(np.float64).reshape(shape)
    return y


# Ranges of the inputs: x's mean is away from 0, which is what the shifted
# sums of the lowering are for.
RANGES = {"x": (1, 5), "mean": (2, 4), "rstd": (0.5, 2), "w": (0.5, 1.5),
          "b": (-1, 1)}


def run_kernel(kernel, shape, rng, text=None):
    """Runs `kernel` (or `text`, lowered IR given for it) on inputs of
    `shape`; returns the Machine, the Buffers by name and the inputs."""
    if text is None:
        text = generic(kernel.ir())
    buffers, inputs = {}, {}
    for name, dims, elt in kernel.args(shape):
        if name in RANGES:
            inputs[name] = nt.quantize(rng.uniform(*RANGES[name], dims), elt)
        buffers[name] = gi.Buffer(name, dims, elt, inputs.get(name))
    machine = gi.run_function(compiled(text), "k", list(buffers.values()))
    return machine, buffers, inputs


def check_kernel(kernel, shape, rng, text=None):
    """What is wrong with `kernel` on `shape` (empty when all is right),
    and the Machine that ran it."""
    machine, buffers, inputs = run_kernel(kernel, shape, rng, text)
    problems = list(machine.hazards)
    outs = ["y"] + kernel.stat_names
    for name in outs:
        writes = buffers[name].writes
        if (writes != 1).any():
            problems.append(f"{name}: {np.count_nonzero(writes != 1)} of "
                            f"{writes.size} elements not written once "
                            f"(counts {sorted(set(writes.tolist()))})")
    # Scratch (partials, private statistics) may be larger than a shape
    # uses (at least one element); what is read was written (no
    # uninitialized read), and written once.
    for buf in machine.allocations:
        if (buf.writes > 1).any():
            problems.append(f"{buf.name}: {np.count_nonzero(buf.writes > 1)}"
                            f" of {buf.writes.size} elements written twice")
    if problems:
        return problems, machine
    got = {name: buffers[name].array().astype(np.float64) for name in outs}
    ref = statistics(kernel, inputs["x"]) if kernel.stat_names else {}
    # y against the apply of the kernel's own statistics, themselves
    # checked against the float64 ones: rounding the mean to f32 moves y by
    # up to half an ulp of the mean times rstd (4e-5 for values near 3 that
    # hardly vary, with eps = 1e-5), which is not the apply's error.
    if kernel.kind == "apply":
        ref["y"] = apply(kernel, inputs, inputs["mean"], inputs["rstd"])
    else:
        ref["y"] = apply(kernel, inputs, got.get("mean", 0.0), got["rstd"])
    for name in outs:
        try:
            if name == "y" and kernel.dtype != "f32":
                nt.assert_close_lowp(buffers[name].array(), ref[name],
                                     kernel.dtype, what=name)
            else:
                nt.assert_close(got[name], ref[name], rtol=1e-5, what=name)
        except AssertionError as e:
            problems.append(str(e))
    return problems, machine


def assert_kernel(kernel, shape, rng):
    """Asserts that `kernel` runs right on `shape`; returns its Machine."""
    problems, machine = check_kernel(kernel, shape, rng)
    assert not problems, (
        f"{kernel.kind} {kernel.dims} axes {kernel.axes} {kernel.dtype} on "
        f"{shape}:\n" + "\n".join(problems))
    return machine


# ---------------------------------------------------------------------------
# Static shapes: each strategy
# ---------------------------------------------------------------------------

# The shapes give every thread values, run the 4-row unrolled loops and
# leave remainders.
STATIC = {
    # A team of 16 threads per row, 16 rows per block, warp shuffles.
    "row": Kernel("moments", (32, 256), (1,),
                  schedule("row", 16, 4, 1, rows=16),
                  param_axes=(1,), weight=True),
    # A block per bf16 row: warp sums through workgroup memory.
    "row-block-bf16": Kernel("mean_square", (4, 1000), (1,),
                             schedule("row", 128, 8, 1), dtype="bf16"),
    # NCHW BatchNorm, each run of 2100 split into 2 chunks.
    "segment-chunks": Kernel("moments", (5, 4, 2100), (0, 2),
                             schedule("segment", 64, 4, 2), param_axes=(1,),
                             weight=True, bias=True),
    # Short runs (R2 = 8): 4 R1 segments of a statistic per block.
    "segment-rows": Kernel("moments", (130, 4, 8), (0, 2),
                           schedule("segment", 32, 4, 1, rows=4),
                           param_axes=(1,), weight=True, bias=True),
    # Groups of 4 R1 segments long enough to unroll, the last one short.
    "segment-rows-long": Kernel("moments", (9, 4, 132), (0, 2),
                                schedule("segment", 32, 4, 1, rows=4),
                                param_axes=(1,), weight=True, bias=True),
    "segment-f16": Kernel("moments", (9, 4, 196), (0, 2),
                          schedule("segment", 32, 4, 3), dtype="f16",
                          param_axes=(1,), weight=True, bias=True),
    # Channels-last BatchNorm: threads along the channels.
    "column": Kernel("moments", (4, 17, 16, 16), (0, 1, 2),
                     schedule("column", 256, 4, 4), param_axes=(3,),
                     weight=True),
    "apply-column": Kernel("apply", (33, 8, 4, 4), (0, 2, 3),
                           schedule("column", 256, 4, 1), param_axes=(1,),
                           weight=True, bias=True),
}


@pytest.mark.parametrize("name", STATIC)
def test_static(name, rng):
    kernel = STATIC[name]
    assert_kernel(kernel, kernel.dims, rng)


# ---------------------------------------------------------------------------
# Dynamic shapes: sizes 0 and 1 along each dynamic dimension, odd sizes,
# and sizes that give every thread values (several per thread, more than a
# warp of partials per statistic, unrolled loops)
# ---------------------------------------------------------------------------

# NCHW BatchNorm over [?, 3, ?]: runs of runtime length split at run time.
BN_NCHW = Kernel("moments", (None, 3, None), (0, 2),
                 schedule("segment", 64, 1, 4), param_axes=(1,),
                 weight=True, bias=True)
# GroupNorm over [?, G = 2, C/G = 3, ?]: the parameters along the static
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
RMS_ROWS = Kernel("mean_square", (None, 256), (1,),
                  schedule("row", 16, 4, 1, rows=16), eps=1e-6,
                  param_axes=(1,), weight=True)
# LayerNorm over [?, ?] with a weight of the rows' runtime length.
LN_DYN = Kernel("moments", (None, None), (1,), schedule("segment", 64, 1, 4),
                param_axes=(1,), weight=True)

DYNAMIC = {
    "bn-nchw": (BN_NCHW, [(0, 3, 5), (2, 3, 0), (0, 3, 0), (1, 3, 1),
                          (2, 3, 1), (3, 3, 7), (2, 3, 33), (1, 3, 85),
                          (2, 3, 1000), (40, 3, 5), (9, 3, 100)]),
    "bn-nchw-bf16": (dataclasses.replace(BN_NCHW, dtype="bf16"),
                     [(0, 3, 5), (1, 3, 1), (3, 3, 7), (2, 3, 1000)]),
    "gn-nchw": (GN_NCHW, [(0, 2, 3, 4), (1, 2, 3, 0), (1, 2, 3, 1),
                          (2, 2, 3, 5), (1, 2, 3, 41), (1, 2, 3, 2101),
                          (9, 2, 3, 7)]),
    "in-nhwc": (IN_NHWC, [(0, 3, 8), (1, 0, 8), (1, 1, 8), (2, 5, 8),
                          (3, 41, 8), (1, 300, 8), (2, 1001, 8)]),
    "in-nhwc-v4": (IN_NHWC_V4, [(0, 3, 8), (1, 1, 8), (3, 41, 8),
                                (2, 129, 8), (1, 2500, 8)]),
    "apply-nchw": (APPLY_NCHW, [(0, 3, 5), (2, 3, 0), (1, 3, 1), (3, 3, 7),
                                (2, 3, 300), (9, 3, 100), (40, 3, 5)]),
    "rms-rows": (RMS_ROWS, [(0, 256), (1, 256), (17, 256), (33, 256)]),
    "ln-dynamic-weight": (LN_DYN, [(0, 5), (3, 0), (1, 1), (2, 37),
                                   (3, 100), (1, 1101), (9, 300)]),
    "ln-dynamic-weight-f16": (dataclasses.replace(LN_DYN, dtype="f16",
                                                  bias=True),
                              [(0, 5), (1, 1), (3, 37), (2, 1101)]),
}


@pytest.mark.parametrize("name,shape", [
    pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
    for name, (_, shapes) in DYNAMIC.items() for shape in shapes])
def test_dynamic(name, shape, rng):
    assert_kernel(DYNAMIC[name][0], shape, rng)


def test_dynamic_long_runs(rng):
    """NCHW runs of 16389, longer than a piece's 16384 elements: with
    chunks = 1 each is still cut in two, 4 blocks for the 2 runs."""
    kernel = dataclasses.replace(BN_NCHW, dims=(None, 2, None),
                                 schedule=schedule("segment", 256, 1, 1))
    machine = assert_kernel(kernel, (1, 2, 16389), rng)
    assert machine.launches[0][1] == (4, 1, 1), machine.launches


def test_dynamic_empty_launches_only_the_combine(rng):
    """No values (N = 0): no partials and no apply launch; the combine gives
    the statistics of no values (NaN)."""
    machine = assert_kernel(BN_NCHW, (0, 3, 7), rng)
    assert len(machine.launches) == 1, machine.launches


# ---------------------------------------------------------------------------
# The harness fails where it should
# ---------------------------------------------------------------------------

def corrupt(text, old, new, count=-1):
    assert old in text, f"{old!r} not in the lowered IR"
    return text.replace(old, new, count)


CORRUPTIONS = {
    # The block reduction's barriers dropped: workgroup memory races.
    "no-barrier": (STATIC["row-block-bf16"], (4, 1000),
                   '"gpu.barrier"() : () -> ()\n', "", -1, "race"),
    # The apply's column bound `ult` made `ule`: one column too many.
    "column-bound": (APPLY_NCHW, (2, 3, 300), "predicate = 6 : i64",
                     "predicate = 7 : i64", 1, "out of bounds"),
    # An index constant changed: 2 instead of 3 f64 per partial moments.
    "partial-stride": (LN_DYN, (3, 100), "<{value = 3 : index}>",
                       "<{value = 2 : index}>", -1, "written twice"),
    # Alignment claimed beyond what the vector accesses have.
    "alignment": (STATIC["row"], (32, 256), "alignment = 16 : i64",
                  "alignment = 32 : i64", -1, "misaligned"),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corrupted_ir_is_caught(name, rng):
    kernel, shape, old, new, count, expected = CORRUPTIONS[name]
    text = generic(kernel.ir())
    assert not check_kernel(kernel, shape, rng, text)[0]
    problems, _ = check_kernel(kernel, shape, rng,
                               corrupt(text, old, new, count))
    assert any(expected in p for p in problems), problems


# One hazard each, in a launch of GRID blocks of BLOCK threads over x
# (64 f32 given) and y (64 f32 never written). HOST runs before the launch.
SNIPPET = """
func.func @k(%x: memref<64xf32>, %y: memref<64xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %grid = arith.constant {grid} : index
  %block = arith.constant {block} : index
  {host}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %grid, %gy = %c1, %gz = %c1)
      threads(%tx, %ty, %tz) in (%sx = %block, %sy = %c1, %sz = %c1)
      workgroup(%s : memref<32xf32, #gpu.address_space<workgroup>>) {{
    %f = arith.constant 1.0 : f32
    %first = arith.cmpi ult, %tx, %c1 : index
    {body}
    gpu.terminator
  }}
  return
}}
"""
STORE = """
    memref.store %f, %s[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
"""
LOAD_NEXT = """
    %c32 = arith.constant 32 : index
    %t1 = arith.addi %tx, %c1 : index
    %next = arith.remui %t1, %c32 : index
    %v = memref.load %s[%next]
        : memref<32xf32, #gpu.address_space<workgroup>>
"""
# Test id: (the hazard's kind, the snippet's parts).
HAZARDS = {
    "out-of-bounds": ("out of bounds", dict(block=65, body="""
    %v = memref.load %x[%tx] : memref<64xf32>""")),
    "uninitialized": ("uninitialized read", dict(body="""
    %v = memref.load %y[%tx] : memref<64xf32>""")),
    "misaligned": ("misaligned", dict(body="""
    %v = vector.load %x[%c1] {alignment = 16 : i64}
        : memref<64xf32>, vector<4xf32>""")),
    # Each thread reads what the next one wrote, with no barrier between;
    # then overwrites what the previous one read.
    "read-after-write": ("race", dict(body=STORE + LOAD_NEXT)),
    "write-after-read": ("race", dict(
        body=STORE + "    gpu.barrier\n" + LOAD_NEXT + STORE)),
    "two-stores": ("race", dict(block=2, body="""
    memref.store %f, %y[%c0] : memref<64xf32>""")),
    "division-by-zero": ("division by zero", dict(body="""
    %q = arith.divui %c1, %tx : index""")),
    "divergent-barrier": ("divergent barrier", dict(body="""
    scf.if %first {
      gpu.barrier
    }""")),
    "divergent-shuffle": ("divergent shuffle", dict(body="""
    scf.if %first {
      %o = arith.constant 1 : i32
      %w = arith.constant 32 : i32
      %r, %ok = gpu.shuffle xor %f, %o, %w : f32
    }""")),
    "empty-grid": ("empty grid", dict(grid=0)),
    "grid-too-large": ("grid too large", dict(grid=2 ** 31)),
    "leak": ("leak", dict(host="%a = gpu.alloc () : memref<4xf32>")),
}


def run_snippet(grid=1, block=32, host="", body=""):
    text = generic(SNIPPET.format(grid=grid, block=block, host=host,
                                  body=body), lower_to_gpu=False)
    x = gi.Buffer("x", (64,), "f32", np.arange(64))
    y = gi.Buffer("y", (64,), "f32")
    return gi.run_function(compiled(text), "k", [x, y])


@pytest.mark.parametrize("name", HAZARDS)
def test_hazard_is_reported(name):
    kind, parts = HAZARDS[name]
    hazards = run_snippet(**parts).hazards
    assert len(hazards) == 1 and f": {kind}: " in hazards[0], hazards


def test_barrier_orders_workgroup_memory():
    """The race snippet with a barrier between the store and the load."""
    body = STORE + "    gpu.barrier\n" + LOAD_NEXT
    assert run_snippet(body=body).hazards == []


def test_unsupported_op_is_an_error():
    with pytest.raises(gi.Unsupported, match="math.exp"):
        run_snippet(body="%e = math.exp %f : f32")
