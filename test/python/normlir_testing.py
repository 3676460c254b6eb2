"""Helpers for NormLIR's execution tests.

* locating and running ``normlir-run`` (:func:`run_spec`, :func:`run_normlir`;
  ``$NORMLIR_DEVICE`` and ``$NORMLIR_SCHEDULE`` pick the device and force a
  schedule for every :func:`run_spec`; :func:`cuda_available` tells whether
  a CUDA GPU can run them);
* bf16 <-> f32 conversion by bit operations (bf16 travels in .npy files as
  ``uint16`` bit patterns, ``'<u2'``);
* spec generators emitting the MLIR text of one ``func.func`` around one named
  norm op (:func:`layer_norm_spec`, :func:`rms_norm_spec`,
  :func:`batch_norm_spec`, :func:`instance_norm_spec`,
  :func:`group_norm_spec`), with the exact result types the verifier wants;
* a float64 NumPy reference of /work/shared/SEMANTICS.md (``ref_*``);
* comparison helpers with dtype-aware tolerances.

Only numpy is needed here; torch is used by the tests that import it.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

# Element types of the dialect and their NumPy storage.
FLOAT_DTYPES = ("f32", "f16", "bf16")

# The RMSNorm default epsilon (eps=None): PyTorch computes f16/bf16 RMSNorm
# in float and uses std::numeric_limits<float>::epsilon() for every dtype
# (ATen rms_norm_composite), not torch.finfo(dtype).eps.
FINFO_EPS = {"f32": float(np.finfo(np.float32).eps),
             "f16": float(np.finfo(np.float32).eps),
             "bf16": float(np.finfo(np.float32).eps)}
# finfo(dtype).eps: the reading of SEMANTICS.md that PyTorch no longer follows.
DTYPE_FINFO_EPS = {"f32": float(np.finfo(np.float32).eps),
                   "f16": 0.0009765625, "bf16": 0.0078125}


# ----------------------------------------------------------------------------
# Locating and running normlir-run
# ----------------------------------------------------------------------------

def normlir_run_path() -> Path:
    """$NORMLIR_RUN, else <$NORMLIR_BUILD_DIR or <repo>/build>/bin/normlir-run
    (the same build the Python package is taken from)."""
    env = os.environ.get("NORMLIR_RUN")
    if env:
        return Path(env)
    build = os.environ.get("NORMLIR_BUILD_DIR")
    return (Path(build) if build else REPO_ROOT / "build") / "bin" / "normlir-run"


class NormlirError(RuntimeError):
    """normlir-run exited non-zero."""

    def __init__(self, cmd, returncode, stdout, stderr):
        self.cmd, self.returncode = cmd, returncode
        self.stdout, self.stderr = stdout, stderr
        super().__init__(
            f"normlir-run failed (rc={returncode}): {' '.join(map(str, cmd))}\n"
            f"stderr:\n{stderr}\nstdout:\n{stdout[:2000]}")


def run_normlir(args: Sequence[str], timeout: float = 300):
    """Runs normlir-run with `args`; returns the CompletedProcess."""
    exe = normlir_run_path()
    if not exe.exists():
        raise FileNotFoundError(
            f"normlir-run not found at {exe}; build NormLIR or set NORMLIR_RUN")
    cmd = [str(exe), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


_counter = itertools.count()


def _unique(tmp_path: Path, stem: str) -> Path:
    return Path(tmp_path) / f"{stem}_{os.getpid()}_{next(_counter)}"


def num_results(spec_text: str, func: str) -> int:
    """Number of results of `func.func @func` in `spec_text`."""
    m = re.search(r"func\.func\s+(?:\w+\s+)?@" + re.escape(func) + r"\s*\(",
                  spec_text)
    if not m:
        raise ValueError(f"no func.func @{func} in spec")
    depth, i = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(spec_text[i], 0)
        i += 1
    rest = spec_text[i:]
    arrow = re.match(r"\s*->\s*", rest)
    if not arrow:
        return 0
    rest = rest[arrow.end():]
    if rest.startswith("("):
        depth, j = 1, 1
        while depth:
            depth += {"(": 1, ")": -1}.get(rest[j], 0)
            j += 1
        region = rest[:j]
    else:
        region = rest[: rest.index("{")]
    return region.count("tensor<")


def save_input(path: Path, value) -> None:
    """Writes one input: an ndarray, or ('bf16', uint16 bits)."""
    if isinstance(value, tuple):
        kind, arr = value
        if kind != "bf16":
            raise ValueError(f"unknown tagged input kind {kind!r}")
        arr = np.array(arr, dtype="<u2", order="C")
    else:
        arr = np.asarray(value)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        # (np.ascontiguousarray would turn a 0-d array into shape (1,).)
        arr = np.array(arr, order="C")
    np.save(path, arr, allow_pickle=False)


DEVICES = ("cpu", "cuda")


def device_arguments(device: str | None = None,
                     schedule: str | None = None) -> list[str]:
    """The normlir-run flags selecting the device and forcing a schedule.

    device: 'cpu' or 'cuda'; None: $NORMLIR_DEVICE, else 'cpu'.
    schedule: norm-select-schedule's options ('strategy=row threads=64'); None:
    $NORMLIR_SCHEDULE, else none; '' forces none (the heuristic's choice).
    """
    if device is None:
        device = os.environ.get("NORMLIR_DEVICE") or "cpu"
    if device not in DEVICES:
        raise ValueError(f"device (or $NORMLIR_DEVICE) must be one of "
                         f"{', '.join(DEVICES)}, got {device!r}")
    if schedule is None:
        schedule = os.environ.get("NORMLIR_SCHEDULE", "")
    args = []
    if device != "cpu":
        args.append(f"--device={device}")
    if schedule:
        args.append(f"--schedule={schedule}")
    return args


@functools.lru_cache(maxsize=None)
def _cuda_available(exe: str) -> bool:
    try:
        proc = subprocess.run([exe, "--device=cuda", "--device-info"],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def cuda_available() -> bool:
    """True iff `normlir-run --device=cuda --device-info` succeeds: a CUDA
    driver and GPU are there (cached per normlir-run path)."""
    exe = normlir_run_path()
    return exe.exists() and _cuda_available(str(exe))


def run_spec(spec_text: str, func: str, inputs: list, tmp_path,
             n_results: int | None = None, *, device: str | None = None,
             schedule: str | None = None) -> list[np.ndarray]:
    """JIT-runs `func` of `spec_text` on `inputs` and returns its results.

    inputs: in argument order; each an np.ndarray (float32 / float16 / int64)
    or ('bf16', uint16 bit array). Results come back as arrays; bf16 results
    (uint16 bit patterns in the .npy) are converted to float32. Raises
    NormlirError when normlir-run fails.

    device ('cpu' or 'cuda') and schedule (norm-select-schedule's options) override
    $NORMLIR_DEVICE and $NORMLIR_SCHEDULE for this call (see
    :func:`device_arguments`; schedule='' runs the heuristic's choice).
    """
    if n_results is None:
        n_results = num_results(spec_text, func)
    base = _unique(tmp_path, func)
    spec_path = base.with_suffix(".mlir")
    spec_path.write_text(spec_text)
    args = [spec_path, f"--function={func}"]
    for i, value in enumerate(inputs):
        p = Path(f"{base}_in{i}.npy")
        save_input(p, value)
        args.append(f"--input=@{p}")
    out_paths = [Path(f"{base}_out{i}.npy") for i in range(n_results)]
    args += [f"--output=@{p}" for p in out_paths]
    # NORMLIR_SCHEDULE forces a schedule (norm-select-schedule's options) on every run,
    # so that the same cases check each code path of the vector lowering;
    # NORMLIR_DEVICE=cuda runs them all on the GPU.
    args += device_arguments(device, schedule)
    proc = run_normlir(args)
    if proc.returncode != 0:
        raise NormlirError(args, proc.returncode, proc.stdout, proc.stderr)
    results = []
    for p in out_paths:
        arr = np.load(p, allow_pickle=False)
        if arr.dtype == np.uint16:
            arr = bf16_bits_to_f32(arr)
        results.append(arr)
    return results


# ----------------------------------------------------------------------------
# bf16 and dtype rounding
# ----------------------------------------------------------------------------

def f32_to_bf16_bits(a) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), round to nearest even."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    out = rounded.astype(np.uint16)
    nan = np.isnan(a)
    out[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)  # quiet NaN
    return out


def bf16_bits_to_f32(b) -> np.ndarray:
    b = np.ascontiguousarray(b, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def bf16(a) -> tuple:
    """A bf16 input for run_spec from float values (rounded RNE)."""
    return ("bf16", f32_to_bf16_bits(a))


def quantize(a, dtype: str) -> np.ndarray:
    """Rounds `a` to `dtype` and returns the values as float32."""
    a32 = np.asarray(a, dtype=np.float64).astype(np.float32)
    if dtype == "f32":
        return a32
    if dtype == "f16":
        return a32.astype(np.float16).astype(np.float32)
    if dtype == "bf16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a32))
    raise ValueError(dtype)


def to_input(value, dtype: str):
    """An input for run_spec holding `value` as `dtype` (f32/f16/bf16/i64)."""
    if dtype == "f32":
        return np.asarray(value, dtype=np.float32)
    if dtype == "f16":
        return np.asarray(value, dtype=np.float32).astype(np.float16)
    if dtype == "bf16":
        return bf16(value)
    if dtype == "i64":
        return np.asarray(value, dtype=np.int64)
    raise ValueError(dtype)


_MANT = {"f16": 10, "bf16": 7, "f32": 23}
_EMIN = {"f16": -14, "bf16": -126, "f32": -126}


def ulp(v, dtype: str) -> np.ndarray:
    """Spacing of `dtype` values at magnitude |v| (subnormal spacing near 0)."""
    v = np.abs(np.asarray(v, dtype=np.float64))
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(v > 0, v, 1.0)))
    e = np.where(v > 0, e, _EMIN[dtype])
    e = np.maximum(e, _EMIN[dtype])
    return np.exp2(e - _MANT[dtype])


# ----------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------

def _check_nan_inf(got, ref, what):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    gn, rn = np.isnan(got), np.isnan(ref)
    assert np.array_equal(gn, rn), (
        f"{what}: NaN mismatch at {np.argwhere(gn != rn)[:5].tolist()} "
        f"(got NaNs {int(gn.sum())}, expected {int(rn.sum())})")
    gi, ri = np.isinf(got), np.isinf(ref)
    assert np.array_equal(gi, ri) and np.array_equal(got[gi], ref[ri]), (
        f"{what}: Inf mismatch")
    fin = ~(gn | gi)
    return got[fin], ref[fin]


def assert_close(got, ref, rtol=1e-5, atol=None, what="result"):
    """f32-style check: |got - ref| <= atol + rtol * |ref|.

    atol defaults to rtol * max(1, max|ref|) (values of order 1 are the norm).
    """
    g, r = _check_nan_inf(got, ref, what)
    if g.size == 0:
        return
    if atol is None:
        atol = rtol * max(1.0, float(np.max(np.abs(r))))
    err = np.abs(g - r)
    tol = atol + rtol * np.abs(r)
    bad = err > tol
    if bad.any():
        i = int(np.argmax(err - tol))
        raise AssertionError(
            f"{what}: {int(bad.sum())}/{err.size} elements out of tolerance "
            f"(rtol={rtol}, atol={atol:.3g}); worst: got {g[i]!r}, expected "
            f"{r[i]!r}, |diff| {err[i]:.3g}")


def assert_close_lowp(got, ref64, dtype, ulps=1.0, atol=None, what="result"):
    """f16/bf16 check: `got` (already in `dtype`) against the float64
    reference rounded to `dtype`: equal, except near a rounding boundary,
    where `ulps` ulps of the dtype plus a small absolute term for the f32
    computation's error (1e-5 * max(1, max|ref|)) are allowed."""
    ref_r = quantize(ref64, dtype)
    g, r = _check_nan_inf(got, ref_r, what)
    if g.size == 0:
        return
    r64 = np.asarray(ref64, np.float64)[np.isfinite(ref_r)]
    if atol is None:
        atol = 1e-5 * max(1.0, float(np.max(np.abs(r))))
    err = np.abs(g - r)
    tol = ulps * ulp(np.maximum(np.abs(g), np.abs(r)), dtype) + atol
    # One rounding of the f32 result (round to nearest even): where the exact
    # value is not within the f32 computation's error (atol + 1e-5 relative)
    # of a rounding boundary, the result must be exactly the rounded reference
    # (this catches truncation or double rounding, which stay within 1 ulp).
    margin = atol + 1e-5 * np.abs(r64)
    unambiguous = ((quantize(r64 - margin, dtype) == r)
                   & (quantize(r64 + margin, dtype) == r))
    tol = np.where(unambiguous, 0.0, tol)
    bad = err > tol
    if bad.any():
        i = int(np.argmax(err - tol))
        raise AssertionError(
            f"{what} ({dtype}): {int(bad.sum())}/{err.size} elements beyond "
            f"{ulps} ulp + {atol:.3g}; worst: got {g[i]!r}, expected "
            f"{r[i]!r} (f64 {r64.ravel()[i]!r}, "
            f"{'exact rounding required' if unambiguous.ravel()[i] else 'near a tie'})")


def assert_result(got, ref, dtype, what="result", rtol=1e-5, ulps=1.0):
    """Compares one result of element type `dtype` ('f32', 'f16', 'bf16',
    'i64') with its float64 (or int) reference."""
    if dtype == "i64":
        got = np.asarray(got)
        assert got.dtype == np.int64, f"{what}: dtype {got.dtype}"
        assert np.array_equal(got, np.asarray(ref, np.int64)), (
            f"{what}: got {got}, expected {ref}")
    elif dtype == "f32":
        assert np.asarray(got).dtype == np.float32, f"{what}: dtype {got.dtype}"
        assert_close(got, ref, rtol=rtol, what=what)
    else:
        expect = np.float16 if dtype == "f16" else np.float32  # bf16 -> f32
        assert np.asarray(got).dtype == expect, f"{what}: dtype {got.dtype}"
        assert_close_lowp(got, ref, dtype, ulps=ulps, what=what)


# ----------------------------------------------------------------------------
# Spec generation
# ----------------------------------------------------------------------------

def ttype(shape, dtype: str) -> str:
    shape = tuple(shape)
    if not shape:
        return f"tensor<{dtype}>"
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{dtype}>"


def fmt_f64(v: float) -> str:
    return f"{float(v):.17e} : f64"


@dataclass
class Spec:
    """One func.func wrapping one norm op."""
    func: str
    args: list  # [(name, shape, dtype)]
    results: list  # [(name, shape, dtype)]
    text: str = ""
    options: dict = field(default_factory=dict)

    @property
    def arg_names(self):
        return [a[0] for a in self.args]

    @property
    def result_names(self):
        return [r[0] for r in self.results]

    def dtype_of(self, name):
        for n, _, dt in self.args + self.results:
            if n == name:
                return dt
        raise KeyError(name)

    def inputs(self, **values) -> list:
        """run_spec inputs in argument order from name=value arrays."""
        missing = set(self.arg_names) - set(values)
        extra = set(values) - set(self.arg_names)
        assert not missing and not extra, (missing, extra)
        out = []
        for name, shape, dt in self.args:
            v = to_input(values[name], dt)
            arr = v[1] if isinstance(v, tuple) else v
            assert tuple(arr.shape) == tuple(shape), (name, arr.shape, shape)
            out.append(v)
        return out

    def run(self, tmp_path, *, device=None, schedule=None, **values) -> dict:
        """Runs the spec; returns {result name: array}. device/schedule: as
        run_spec's."""
        res = run_spec(self.text, self.func, self.inputs(**values), tmp_path,
                       n_results=len(self.results), device=device,
                       schedule=schedule)
        return dict(zip(self.result_names, res))


def _build(func, op, args, results, attrs) -> Spec:
    """args: [(keyword or '', name, shape, dtype)], results: [(name, shape,
    dtype)]. Keyword 'running' takes two operands (running mean, var)."""
    sig = ", ".join(f"%{n}: {ttype(s, d)}" for _, n, s, d in args)
    argtypes = ", ".join(ttype(s, d) for _, n, s, d in args)
    restypes = ", ".join(ttype(s, d) for _, s, d in results)
    operands = []
    i = 0
    while i < len(args):
        kw, name = args[i][0], args[i][1]
        if kw == "running":
            operands.append(f"running(%{name}, %{args[i + 1][1]})")
            i += 2
            continue
        operands.append(f"{kw} %{name}" if kw else f"%{name}")
        i += 1
    attr_text = (" {" + ", ".join(attrs) + "}") if attrs else ""
    n = len(results)
    lhs = "%r" if n == 1 else f"%r:{n}"
    rets = "%r" if n == 1 else ", ".join(f"%r#{k}" for k in range(n))
    text = (f"func.func @{func}({sig}) -> ({restypes}) {{\n"
            f"  {lhs} = {op} {' '.join(operands)}{attr_text} : "
            f"({argtypes}) -> ({restypes})\n"
            f"  return {rets} : {restypes}\n"
            f"}}\n")
    return Spec(func=func, args=[(n_, s, d) for _, n_, s, d in args],
                results=list(results), text=text)


def _row_stat_shape(x_shape, k):
    return tuple(x_shape[: len(x_shape) - k]) + (1,) * k


def layer_norm_spec(x_shape, normalized_shape, dtype="f32", weight=None,
                    bias=None, eps=None, func="ln") -> Spec:
    """weight/bias: element type of the parameter ('f32' or the input's), or
    None for absent. eps=None leaves the attribute at its default (1e-5)."""
    x_shape, ns = tuple(x_shape), tuple(normalized_shape)
    args = [("", "x", x_shape, dtype)]
    if weight:
        args.append(("weight", "w", ns, weight))
    if bias:
        args.append(("bias", "b", ns, bias))
    attrs = ["normalized_shape = array<i64: " + ", ".join(map(str, ns)) + ">"]
    if eps is not None:
        attrs.append(f"epsilon = {fmt_f64(eps)}")
    st = _row_stat_shape(x_shape, len(ns))
    results = [("y", x_shape, dtype), ("mean", st, "f32"), ("rstd", st, "f32")]
    spec = _build(func, "norm.layer_norm", args, results, attrs)
    spec.options = dict(normalized_shape=ns, eps=1e-5 if eps is None else eps)
    return spec


def rms_norm_spec(x_shape, normalized_shape, dtype="f32", weight=None,
                  eps=None, func="rms") -> Spec:
    """eps=None: no attribute, i.e. the epsilon of float (see FINFO_EPS)."""
    x_shape, ns = tuple(x_shape), tuple(normalized_shape)
    args = [("", "x", x_shape, dtype)]
    if weight:
        args.append(("weight", "w", ns, weight))
    attrs = ["normalized_shape = array<i64: " + ", ".join(map(str, ns)) + ">"]
    if eps is not None:
        attrs.append(f"epsilon = {fmt_f64(eps)}")
    st = _row_stat_shape(x_shape, len(ns))
    results = [("y", x_shape, dtype), ("rstd", st, "f32")]
    spec = _build(func, "norm.rms_norm", args, results, attrs)
    spec.options = dict(normalized_shape=ns,
                        eps=FINFO_EPS[dtype] if eps is None else eps)
    return spec


def _channel_args(x_shape, dtype, channel_axis, weight, bias):
    """(shape, non-negative channel axis, C, [x, weight?, bias?] args) of a
    channel norm's spec."""
    x_shape = tuple(x_shape)
    if channel_axis < 0:
        channel_axis += len(x_shape)
    c = x_shape[channel_axis]
    args = [("", "x", x_shape, dtype)]
    if weight:
        args.append(("weight", "w", (c,), weight))
    if bias:
        args.append(("bias", "b", (c,), bias))
    return x_shape, channel_axis, c, args


def _running_stats_spec(op, x_shape, dtype, weight, bias, running, nbt,
                        training, momentum, cumulative, eps, channel_axis,
                        func, is_bn):
    x_shape, channel_axis, c, args = _channel_args(x_shape, dtype,
                                                   channel_axis, weight, bias)
    if running:
        args.append(("running", "rm", (c,), running))
        args.append(("running", "rv", (c,), running))
    if nbt:
        args.append(("batches_tracked", "nbt", (), "i64"))
    attrs = []
    if training:
        attrs.append("training")
    if cumulative:
        attrs.append("cumulative_average")
    if momentum is not None:
        attrs.append(f"momentum = {fmt_f64(momentum)}")
    if eps is not None:
        attrs.append(f"epsilon = {fmt_f64(eps)}")
    if channel_axis != 1:
        attrs.append(f"channel_axis = {channel_axis} : i64")
    results = [("y", x_shape, dtype)]
    if is_bn and training:
        results += [("save_mean", (c,), "f32"), ("save_rstd", (c,), "f32")]
    if running and training:
        results += [("running_mean", (c,), running),
                    ("running_var", (c,), running)]
    if is_bn and nbt:
        results.append(("num_batches_tracked", (), "i64"))
    spec = _build(func, op, args, results, attrs)
    spec.options = dict(
        training=training, channel_axis=channel_axis,
        momentum=None if cumulative else (0.1 if momentum is None else momentum),
        eps=1e-5 if eps is None else eps)
    return spec


def batch_norm_spec(x_shape, dtype="f32", weight=None, bias=None,
                    running=None, nbt=False, training=True, momentum=None,
                    cumulative=False, eps=None, channel_axis=1,
                    func="bn") -> Spec:
    """running: element type of running_mean/var, or None for none.
    channel_axis: 1 or rank-1 (-1 accepted); the attribute is emitted only
    when it is not the default 1. momentum/eps None: attribute left out."""
    return _running_stats_spec("norm.batch_norm", x_shape, dtype, weight, bias,
                               running, nbt, training, momentum, cumulative,
                               eps, channel_axis, func, True)


def instance_norm_spec(x_shape, dtype="f32", weight=None, bias=None,
                       running=None, training=True, momentum=None, eps=None,
                       channel_axis=1, func="inorm") -> Spec:
    """training=True with running stats: PyTorch's train mode with
    track_running_stats; training=False with running: eval with the running
    statistics; no running: instance statistics either way."""
    return _running_stats_spec("norm.instance_norm", x_shape, dtype, weight,
                               bias, running, False, training, momentum,
                               False, eps, channel_axis, func, False)


def group_norm_spec(x_shape, num_groups, dtype="f32", weight=None, bias=None,
                    eps=None, channel_axis=1, func="gn") -> Spec:
    x_shape, channel_axis, c, args = _channel_args(x_shape, dtype,
                                                   channel_axis, weight, bias)
    attrs = [f"num_groups = {num_groups} : i64"]
    if eps is not None:
        attrs.append(f"epsilon = {fmt_f64(eps)}")
    if channel_axis != 1:
        attrs.append(f"channel_axis = {channel_axis} : i64")
    st = (x_shape[0], num_groups)
    results = [("y", x_shape, dtype), ("mean", st, "f32"), ("rstd", st, "f32")]
    spec = _build(func, "norm.group_norm", args, results, attrs)
    spec.options = dict(num_groups=num_groups, channel_axis=channel_axis,
                        eps=1e-5 if eps is None else eps)
    return spec


# ----------------------------------------------------------------------------
# float64 reference (SEMANTICS.md)
# ----------------------------------------------------------------------------

def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def _quiet(fn):
    """NaN/Inf inputs propagate silently (as in PyTorch)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return fn(*args, **kwargs)
    return wrapper


def _welford_reported_mean(mean, var):
    """PyTorch's LayerNorm/GroupNorm kernels use Welford moments: a slice
    holding +-inf reports a NaN mean (inf - inf), exactly where the variance
    is NaN. BatchNorm sums and reports +-inf."""
    return np.where(np.isnan(var), np.nan, mean)


@_quiet
def ref_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = _f64(x)
    k = len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    y = (x - mean) * rstd
    if weight is not None:
        y = y * _f64(weight)
    if bias is not None:
        y = y + _f64(bias)
    return {"y": y, "mean": _welford_reported_mean(mean, var), "rstd": rstd}


@_quiet
def ref_rms_norm(x, normalized_shape, weight=None, eps=None, dtype="f32"):
    x = _f64(x)
    if eps is None:
        eps = FINFO_EPS[dtype]
    k = len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    rstd = 1.0 / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    y = x * rstd
    if weight is not None:
        y = y * _f64(weight)
    return {"y": y, "rstd": rstd}


def _to_cf(x, channel_axis):
    """Channels-last -> channels-first view."""
    return np.moveaxis(x, channel_axis, 1) if channel_axis != 1 else x


def _from_cf(x, channel_axis):
    return np.moveaxis(x, 1, channel_axis) if channel_axis != 1 else x


def _bcast_c(v, ndim):
    """(C) -> (1, C, 1, ..., 1)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _affine_cf(y, weight, bias):
    if weight is not None:
        y = y * _bcast_c(_f64(weight), y.ndim)
    if bias is not None:
        y = y + _bcast_c(_f64(bias), y.ndim)
    return y


@_quiet
def ref_batch_norm(x, weight=None, bias=None, running_mean=None,
                   running_var=None, num_batches_tracked=None, training=True,
                   momentum=0.1, eps=1e-5, channel_axis=1):
    """momentum=None: cumulative moving average (m = 1/num_batches_tracked
    after the increment). Returns the results in the op's order, by name."""
    x = _to_cf(_f64(x), channel_axis % np.ndim(x))
    out = {}
    axes = tuple(d for d in range(x.ndim) if d != 1)
    if training:
        mean = x.mean(axis=axes)
        var = ((x - _bcast_c(mean, x.ndim)) ** 2).mean(axis=axes)
        rstd = 1.0 / np.sqrt(var + eps)
        y = (x - _bcast_c(mean, x.ndim)) * _bcast_c(rstd, x.ndim)
        out_stats = {"save_mean": mean, "save_rstd": rstd}
        if running_mean is not None:
            n = x.size / x.shape[1]
            uvar = var * n / (n - 1)
            nbt = None
            if num_batches_tracked is not None:
                nbt = int(num_batches_tracked) + 1
            m = (1.0 / nbt) if momentum is None else momentum
            out_stats["running_mean"] = (1 - m) * _f64(running_mean) + m * mean
            out_stats["running_var"] = (1 - m) * _f64(running_var) + m * uvar
        if num_batches_tracked is not None:
            out_stats["num_batches_tracked"] = np.int64(
                int(num_batches_tracked) + 1)
    else:
        rm, rv = _f64(running_mean), _f64(running_var)
        y = (x - _bcast_c(rm, x.ndim)) / np.sqrt(_bcast_c(rv, x.ndim) + eps)
        out_stats = {}
    y = _affine_cf(y, weight, bias)
    out["y"] = _from_cf(y, channel_axis % np.ndim(x))
    out.update(out_stats)
    return out


@_quiet
def ref_instance_norm(x, weight=None, bias=None, running_mean=None,
                      running_var=None, training=True, momentum=0.1, eps=1e-5,
                      channel_axis=1):
    """PyTorch's use_input_stats = training or running stats absent."""
    x = _to_cf(_f64(x), channel_axis % np.ndim(x))
    out = {}
    extra = {}
    if running_mean is not None and not training:
        rm, rv = _f64(running_mean), _f64(running_var)
        y = (x - _bcast_c(rm, x.ndim)) / np.sqrt(_bcast_c(rv, x.ndim) + eps)
    else:
        axes = tuple(range(2, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mean) / np.sqrt(var + eps)
        if running_mean is not None:
            s = int(np.prod(x.shape[2:]))
            m = momentum
            nc_mean = mean.reshape(x.shape[0], x.shape[1])
            nc_uvar = var.reshape(x.shape[0], x.shape[1]) * s / (s - 1)
            extra["running_mean"] = ((1 - m) * _f64(running_mean)
                                     + m * nc_mean.mean(axis=0))
            extra["running_var"] = ((1 - m) * _f64(running_var)
                                    + m * nc_uvar.mean(axis=0))
    y = _affine_cf(y, weight, bias)
    out["y"] = _from_cf(y, channel_axis % np.ndim(x))
    out.update(extra)
    return out


@_quiet
def ref_group_norm(x, num_groups, weight=None, bias=None, eps=1e-5,
                   channel_axis=1):
    x = _to_cf(_f64(x), channel_axis % np.ndim(x))
    n, c = x.shape[0], x.shape[1]
    g = num_groups
    xg = x.reshape((n, g, c // g) + x.shape[2:])
    axes = tuple(range(2, xg.ndim))
    mean = xg.mean(axis=axes, keepdims=True)
    var = ((xg - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    y = ((xg - mean) * rstd).reshape(x.shape)
    y = _affine_cf(y, weight, bias)
    return {"y": _from_cf(y, channel_axis % np.ndim(x)),
            "mean": _welford_reported_mean(mean, var).reshape(n, g),
            "rstd": rstd.reshape(n, g)}


def check_all(spec: Spec, got: dict, ref: dict, rtol=1e-5, ulps=1.0,
              skip=()):
    """Compares every result of `spec` with the reference dict."""
    assert set(got) == set(spec.result_names)
    for name, shape, dt in spec.results:
        if name in skip:
            continue
        assert name in ref, f"reference lacks {name}"
        g = got[name]
        assert tuple(np.shape(g)) == tuple(shape), (name, np.shape(g), shape)
        assert_result(g, ref[name], dt, what=f"{spec.func}:{name}", rtol=rtol,
                      ulps=ulps)


# ----------------------------------------------------------------------------
# The normlir Python package under test
# ----------------------------------------------------------------------------

def normlir_package_dir() -> str:
    """$NORMLIR_PYTHONPATH, else <$NORMLIR_BUILD_DIR or build>/python_packages."""
    env = os.environ.get("NORMLIR_PYTHONPATH")
    if env:
        return env
    build = os.environ.get("NORMLIR_BUILD_DIR") or str(REPO_ROOT / "build")
    return str(Path(build).resolve() / "python_packages")


def run_package_python(code: str, cwd, **env) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh Python (this interpreter, warnings always
    shown) that imports this build's normlir package, with ``env`` added to
    the environment; returns the finished process (stdout, stderr text)."""
    import sys
    full = dict(os.environ, PYTHONPATH=normlir_package_dir(), **env)
    return subprocess.run([sys.executable, "-W", "always", "-c", code],
                          env=full, capture_output=True, text=True, cwd=cwd)


def import_normlir():
    """Imports the normlir package of this build (skipping the module when it
    is absent), with a disk cache private to the pytest process: one
    temporary directory, set before the package loads and removed at exit."""
    import atexit
    import shutil
    import sys
    import tempfile

    import pytest

    pkg = normlir_package_dir()
    if pkg not in sys.path:
        sys.path.insert(0, pkg)
    if not os.environ.get("_NORMLIR_PYTEST_CACHE_DIR"):
        cache_dir = tempfile.mkdtemp(prefix="normlir-pytest-cache-")
        atexit.register(shutil.rmtree, cache_dir, True)
        os.environ["_NORMLIR_PYTEST_CACHE_DIR"] = cache_dir
    os.environ["NORMLIR_CACHE_DIR"] = os.environ["_NORMLIR_PYTEST_CACHE_DIR"]
    normlir = pytest.importorskip("normlir")
    normlir.set_cache_dir(os.environ["NORMLIR_CACHE_DIR"])
    return normlir
