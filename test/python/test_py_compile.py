"""normlir.compile, normlir.Spec and Kernel.

* compiling MLIR text (the spec of examples/layer_norm.mlir, a two-function
  module with function=) and Specs of every op; Kernel.inputs / .results;
  calls with NumPy arrays and torch tensors, with and without out=;
* argument errors (InvalidArgumentError, a ValueError) with clear messages,
  and nothing written to the outputs when a call fails;
* compile errors (CompileError) located as name:line:col;
* the in-memory cache, the disk cache across two processes, and 16 threads
  compiling one new spec at once (exactly one compile).

The float64 NumPy references are normlir_testing's (SEMANTICS.md).
"""

import json
import os
import re
import subprocess
import sys
import threading
import uuid

import numpy as np
import pytest

import normlir_testing as nt

normlir = nt.import_normlir()

try:
    import torch
except ImportError:  # the NumPy tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

# The spec of examples/layer_norm.mlir: torch.nn.LayerNorm([16, 16]) on
# 4x8x16x16 with weight and bias; results y, mean, rstd.
LN_TEXT = """\
func.func @layer_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<16x16xf32>,
                      %b: tensor<16x16xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>) {
  %y, %mean, %rstd = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 16, 16>, epsilon = 1.0e-05 : f64}
      : (tensor<4x8x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>)
  return %y, %mean, %rstd
      : tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>
}
"""

# Two functions: @ln (LayerNorm over 7) and @rms (RMSNorm over 7, weight).
TWO_FUNCS = """\
func.func @ln(%x: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 7>}
      : (tensor<3x7xf32>)
      -> (tensor<3x7xf32>, tensor<3x1xf32>, tensor<3x1xf32>)
  return %y : tensor<3x7xf32>
}
func.func @rms(%x: tensor<3x7xf32>, %w: tensor<7xf32>) -> tensor<3x7xf32> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 7>}
      : (tensor<3x7xf32>, tensor<7xf32>) -> (tensor<3x7xf32>, tensor<3x1xf32>)
  return %y : tensor<3x7xf32>
}
"""


def sig(entries):
    """Kernel.inputs / .results as [(shape tuple, dtype str)]."""
    return [(tuple(int(d) for d in shape), str(dt)) for shape, dt in entries]


def stats():
    s = normlir.cache_stats()
    return {k: int(s[k]) for k in ("compiles", "memory_hits", "disk_hits")}


def delta(after, before):
    return {k: after[k] - before[k] for k in after}


# What outputs are filled with before a call that must not write them.
SENTINEL = 7.25


def unique_name(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def randn(rng, shape, dtype=np.float32, scale=1.5, offset=0.3):
    return (rng.standard_normal(shape) * scale + offset).astype(dtype)


def param(rng, shape):
    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return v.astype(np.float32)


def ln_spec(n=4, c=33, **kw):
    """Spec of LayerNorm([c]) on (n, c) with weight and bias."""
    return normlir.Spec("layer_norm", "f32", (n, c), normalized_shape=(c,),
                        weight=True, bias=True, **kw)


def ln_args(rng, n=4, c=33):
    return randn(rng, (n, c)), param(rng, (c,)), param(rng, (c,))


def ln_ref(x, w, b, eps=1e-5):
    return nt.ref_layer_norm(x, (x.shape[-1],), w, b, eps)["y"]


# ----------------------------------------------------------------------------
# Compiling MLIR text
# ----------------------------------------------------------------------------

def test_compile_mlir_text(rng):
    k = normlir.compile(LN_TEXT)
    assert sig(k.inputs) == [((4, 8, 16, 16), "f32"), ((16, 16), "f32"),
                             ((16, 16), "f32")]
    assert sig(k.results) == [((4, 8, 16, 16), "f32"), ((4, 8, 1, 1), "f32"),
                              ((4, 8, 1, 1), "f32")]
    x = randn(rng, (4, 8, 16, 16))
    w, b = param(rng, (16, 16)), param(rng, (16, 16))
    copies = [a.copy() for a in (x, w, b)]
    res = k(x, w, b)
    assert isinstance(res, tuple) and len(res) == 3
    ref = nt.ref_layer_norm(x, (16, 16), w, b, 1e-5)
    for got, name in zip(res, ("y", "mean", "rstd")):
        assert isinstance(got, np.ndarray) and got.dtype == np.float32
        nt.assert_close(got, ref[name], rtol=1e-5, what=name)
    for a, c in zip((x, w, b), copies):
        assert np.array_equal(a, c), "an input was modified"


def test_compile_mlir_text_out(rng):
    k = normlir.compile(LN_TEXT, target="cpu")
    x = randn(rng, (4, 8, 16, 16))
    w, b = param(rng, (16, 16)), param(rng, (16, 16))
    outs = (np.full((4, 8, 16, 16), np.nan, np.float32),
            np.full((4, 8, 1, 1), np.nan, np.float32),
            np.full((4, 8, 1, 1), np.nan, np.float32))
    res = k(x, w, b, out=outs)
    assert len(res) == 3
    for r, o in zip(res, outs):
        assert np.shares_memory(r, o), "out= buffers not used"
    ref = nt.ref_layer_norm(x, (16, 16), w, b, 1e-5)
    for got, name in zip(outs, ("y", "mean", "rstd")):
        nt.assert_close(got, ref[name], rtol=1e-5, what=name)


def test_compile_function_argument(rng):
    k_rms = normlir.compile(TWO_FUNCS, function="rms")
    k_ln = normlir.compile(TWO_FUNCS, function="ln")
    assert sig(k_rms.inputs) == [((3, 7), "f32"), ((7,), "f32")]
    assert sig(k_ln.inputs) == [((3, 7), "f32")]
    x, w = randn(rng, (3, 7)), param(rng, (7,))
    nt.assert_close(k_rms(x, w), nt.ref_rms_norm(x, (7,), w)["y"], what="rms")
    nt.assert_close(k_ln(x), nt.ref_layer_norm(x, (7,))["y"], what="ln")


def test_compile_unknown_function():
    with pytest.raises((normlir.NormLIRError, ValueError, KeyError)) as e:
        normlir.compile(TWO_FUNCS, function="nope")
    assert "nope" in str(e.value)


@pytest.mark.parametrize("kw", [dict(opt_level=0), dict(opt_level=2),
                                dict(schedule="vector-width=4 unroll=1")],
                         ids=["O0", "O2", "schedule"])
def test_compile_options(rng, kw):
    k = normlir.compile(ln_spec(5, 129), **kw)
    x, w, b = ln_args(rng, 5, 129)
    nt.assert_close(k(x, w, b), ln_ref(x, w, b), what="y")


def test_compile_bad_options():
    with pytest.raises((ValueError, normlir.NormLIRError)):
        normlir.compile(ln_spec(), target="no-such-target")
    with pytest.raises((ValueError, normlir.NormLIRError)):
        normlir.compile(ln_spec(), opt_level=7)


# ----------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------

def test_spec_mlir_text():
    spec = ln_spec(4, 33, eps=1e-4, name="my_layer_norm")
    text = spec.mlir()
    assert isinstance(text, str)
    assert "norm.layer_norm" in text and "@my_layer_norm" in text
    # The text is MLIR compile() accepts, and gives the same kernel type.
    k = normlir.compile(text, function="my_layer_norm")
    assert sig(k.inputs) == [((4, 33), "f32"), ((33,), "f32"), ((33,), "f32")]


def test_spec_layer_norm(rng):
    k = normlir.compile(ln_spec(4, 33, eps=1e-4))
    assert sig(k.inputs) == [((4, 33), "f32"), ((33,), "f32"), ((33,), "f32")]
    assert sig(k.results) == [((4, 33), "f32")]
    x, w, b = ln_args(rng)
    y = k(x, w, b)
    assert isinstance(y, np.ndarray), "one result: not a tuple"
    nt.assert_close(y, ln_ref(x, w, b, 1e-4), what="y")


def test_spec_save_stats(rng):
    k = normlir.compile(ln_spec(4, 33, save_stats=True))
    assert sig(k.results) == [((4, 33), "f32"), ((4, 1), "f32"),
                              ((4, 1), "f32")]
    x, w, b = ln_args(rng)
    y, mean, rstd = k(x, w, b)
    ref = nt.ref_layer_norm(x, (33,), w, b, 1e-5)
    nt.assert_close(y, ref["y"], what="y")
    nt.assert_close(mean, ref["mean"], what="mean")
    nt.assert_close(rstd, ref["rstd"], what="rstd")


@pytest.mark.parametrize("cumulative", [False, True],
                         ids=["momentum", "cumulative"])
def test_spec_batch_norm_training(rng, cumulative):
    """Every operand and result: y, save_mean, save_rstd, the new running
    statistics and num_batches_tracked + 1 (an i64 scalar)."""
    shape, c = (4, 3, 5), 3
    kw = dict(cumulative_average=True) if cumulative else dict(momentum=0.2)
    k = normlir.compile(normlir.Spec(
        "batch_norm", "f32", shape, weight=True, bias=True,
        running_stats=True, batches_tracked=True, training=True,
        save_stats=True, **kw))
    assert sig(k.inputs) == [(shape, "f32"), ((c,), "f32"), ((c,), "f32"),
                             ((c,), "f32"), ((c,), "f32"), ((), "i64")]
    assert sig(k.results) == [(shape, "f32")] + [((c,), "f32")] * 4 + \
        [((), "i64")]
    x, w, b = randn(rng, shape), param(rng, (c,)), param(rng, (c,))
    rm = rng.uniform(-1, 1, c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    nbt = np.array(5, dtype=np.int64)
    rm0, rv0 = rm.copy(), rv.copy()
    res = k(x, w, b, rm, rv, nbt)
    assert len(res) == 6
    ref = nt.ref_batch_norm(x, w, b, rm, rv, 5, training=True,
                            momentum=None if cumulative else 0.2)
    for got, name in zip(res, ("y", "save_mean", "save_rstd", "running_mean",
                               "running_var")):
        nt.assert_close(got, ref[name], what=name)
    assert res[5].dtype == np.int64 and res[5].shape == ()
    assert int(res[5]) == 6
    # The inputs (running statistics included) are not modified.
    assert int(nbt) == 5
    assert np.array_equal(rm, rm0) and np.array_equal(rv, rv0)


def test_spec_channels_last_group_norm(rng):
    """channels_last: the shape in memory order (N, H, W, C)."""
    shape, c = (2, 5, 3, 6), 6
    k = normlir.compile(normlir.Spec("group_norm", "f32", shape, num_groups=3,
                                     weight=True, bias=True,
                                     channels_last=True))
    x, w, b = randn(rng, shape), param(rng, (c,)), param(rng, (c,))
    ref = nt.ref_group_norm(x, 3, w, b, channel_axis=3)
    nt.assert_close(k(x, w, b), ref["y"], what="y")
    if torch is not None:
        # A channels-last NCHW tensor, passed in memory order.
        xt = torch.from_numpy(np.moveaxis(x, 3, 1).copy()).contiguous(
            memory_format=torch.channels_last)
        y = k(xt.permute(0, 2, 3, 1), torch.from_numpy(w), torch.from_numpy(b))
        assert isinstance(y, torch.Tensor)
        nt.assert_close(y.numpy(), ref["y"], what="y (torch)")


def test_spec_instance_norm_f16_numpy_mixed_params(rng):
    shape, c = (2, 3, 33), 3
    k = normlir.compile(normlir.Spec("instance_norm", "f16", shape,
                                     weight=True, bias=True,
                                     param_dtype="f32"))
    assert sig(k.inputs) == [(shape, "f16"), ((c,), "f32"), ((c,), "f32")]
    assert sig(k.results) == [(shape, "f16")]
    x = randn(rng, shape, np.float16)
    w, b = param(rng, (c,)), param(rng, (c,))
    y = k(x, w, b)
    assert isinstance(y, np.ndarray) and y.dtype == np.float16
    ref = nt.ref_instance_norm(x, w, b)["y"]
    nt.assert_close_lowp(y.astype(np.float32), ref, "f16", ulps=2.0)


@needs_torch
def test_spec_rms_norm_bf16_torch(rng):
    k = normlir.compile(normlir.Spec("rms_norm", "bf16", (3, 33),
                                     normalized_shape=(33,), weight=True,
                                     param_dtype="f32"))
    assert sig(k.inputs) == [((3, 33), "bf16"), ((33,), "f32")]
    assert sig(k.results) == [((3, 33), "bf16")]
    x = torch.from_numpy(randn(rng, (3, 33))).to(torch.bfloat16)
    w = torch.from_numpy(param(rng, (33,)))
    y = k(x, w)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.bfloat16
    ref = nt.ref_rms_norm(x.float().numpy(), (33,), w.numpy())["y"]
    nt.assert_close_lowp(y.float().numpy(), ref, "bf16", ulps=2.0)


def test_spec_errors():
    bad = [
        dict(op="layer_norm", shape=(4, 8), normalized_shape=(7,)),
        dict(op="group_norm", shape=(2, 6, 4), num_groups=4),
        dict(op="rms_norm", shape=(4, 8), normalized_shape=(8,), bias=True),
        dict(op="layer_norm", shape=(4, 8), normalized_shape=(8,),
             name="not an identifier"),
    ]
    for kw in bad:
        op, shape = kw.pop("op"), kw.pop("shape")
        with pytest.raises((normlir.NormLIRError, ValueError)):
            normlir.compile(normlir.Spec(op, "f32", shape, **kw))
    with pytest.raises((normlir.NormLIRError, ValueError)):
        normlir.Spec("layer_norm", "f32", (4, 8), normalized_shape=(7,)).mlir()


# ----------------------------------------------------------------------------
# Calling kernels: torch, out=, argument errors
# ----------------------------------------------------------------------------

@needs_torch
def test_kernel_torch_in_torch_out(rng):
    k = normlir.compile(ln_spec())
    x, w, b = (torch.from_numpy(a) for a in ln_args(rng))
    y = k(x, w, b)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert y.shape == (4, 33)
    nt.assert_close(y.numpy(), ln_ref(x.numpy(), w.numpy(), b.numpy()))


@needs_torch
def test_kernel_torch_out_filled_in_place(rng):
    k = normlir.compile(ln_spec())
    x, w, b = (torch.from_numpy(a) for a in ln_args(rng))
    x0, x_ptr = x.clone(), x.data_ptr()
    out = torch.full((4, 33), float("nan"))
    out_ptr = out.data_ptr()
    res = k(x, w, b, out=(out,))
    got = res[0] if isinstance(res, tuple) else res
    assert got is out or got.data_ptr() == out_ptr, "out= not used"
    assert out.data_ptr() == out_ptr
    nt.assert_close(out.numpy(), ln_ref(x.numpy(), w.numpy(), b.numpy()))
    assert x.data_ptr() == x_ptr and torch.equal(x, x0)


def test_kernel_numpy_out_filled_in_place(rng):
    k = normlir.compile(ln_spec())
    x, w, b = ln_args(rng)
    out = np.full((4, 33), np.nan, np.float32)
    res = k(x, w, b, out=(out,))
    got = res[0] if isinstance(res, tuple) else res
    assert np.shares_memory(got, out)
    nt.assert_close(out, ln_ref(x, w, b))


def test_kernel_bf16_numpy_bits(rng):
    """NumPy has no bfloat16: bf16 buffers are uint16 bit patterns."""
    k = normlir.compile(normlir.Spec("rms_norm", "bf16", (3, 33),
                                     normalized_shape=(33,), weight=True,
                                     param_dtype="f32"))
    x = nt.quantize(randn(rng, (3, 33)), "bf16")
    w = param(rng, (33,))
    y = k(nt.f32_to_bf16_bits(x), w)
    assert isinstance(y, np.ndarray) and y.dtype == np.uint16
    nt.assert_close_lowp(nt.bf16_bits_to_f32(y),
                         nt.ref_rms_norm(x, (33,), w)["y"], "bf16", ulps=2.0)


def test_kernel_rejects_non_contiguous_numpy(rng):
    """A Kernel copies nothing: a strided view is an error, not a copy."""
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng)
    view = np.ascontiguousarray(x.T).T  # (4, 33), column-major
    assert not view.flags.c_contiguous
    _expect_invalid(lambda: k(view, w, b))
    out = np.full((4, 66), SENTINEL, np.float32)
    _expect_invalid(lambda: k(x, w, b, out=(out[:, ::2],)))
    assert np.all(out == SENTINEL)


@needs_torch
def test_kernel_rejects_non_contiguous_torch(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = (torch.from_numpy(a) for a in ln_args(rng))
    _expect_invalid(lambda: k(x.t().contiguous().t(), w, b), r"contiguous")


def test_kernel_read_only_inputs(rng):
    k = normlir.compile(ln_spec())
    x, w, b = ln_args(rng)
    for a in (x, w, b):
        a.flags.writeable = False
    nt.assert_close(k(x, w, b), ln_ref(x, w, b))


def test_error_classes():
    assert issubclass(normlir.NormLIRError, RuntimeError)
    assert issubclass(normlir.CompileError, normlir.NormLIRError)
    assert issubclass(normlir.InvalidArgumentError, normlir.NormLIRError)
    assert issubclass(normlir.InvalidArgumentError, ValueError)


def num(n):
    """A regex for the number n standing alone (4x33xf32, (4, 33), 33)."""
    return rf"(?<!\d){n}(?!\d)"


def _expect_invalid(fn, *patterns):
    with pytest.raises(normlir.InvalidArgumentError) as e:
        fn()
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert isinstance(e.value, normlir.NormLIRError)
    for p in patterns:
        assert re.search(p, msg, re.I), f"/{p}/ not in: {msg}"
    return msg


def test_wrong_input_shape(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng, 4, 32)
    _expect_invalid(lambda: k(x, param(rng, (33,)), param(rng, (33,))),
                    r"input", num(33), num(32))
    x, w, b = ln_args(rng, 4, 33)
    _expect_invalid(lambda: k(x, w, param(rng, (34,))), num(33), num(34))
    _expect_invalid(lambda: k(x.reshape(4, 33, 1), w, b))


# The dtype a message reports for a NumPy buffer: its name, or its
# buffer-protocol format character ('d' float64, 'e' float16).
F64_GOT = r"f(loat)?64|'d'"
F16_GOT = r"f(loat)?16|'e'"


def test_wrong_input_dtype(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng)
    _expect_invalid(lambda: k(x.astype(np.float64), w, b),
                    r"input", F64_GOT, r"f(loat)?32")
    _expect_invalid(lambda: k(x.astype(np.float16), w, b),
                    F16_GOT, r"f(loat)?32")
    _expect_invalid(lambda: k(x, w.astype(np.int64), b))


@needs_torch
def test_wrong_input_dtype_torch(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = (torch.from_numpy(a) for a in ln_args(rng))
    _expect_invalid(lambda: k(x.double(), w, b), r"f(loat)?64", r"f(loat)?32")
    _expect_invalid(lambda: k(x.to(torch.bfloat16), w, b), r"bf(loat)?16")


def test_wrong_input_count(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng)
    _expect_invalid(lambda: k(x, w), num(3), num(2))
    _expect_invalid(lambda: k(x, w, b, b), num(3), num(4))
    _expect_invalid(lambda: k())


def test_wrong_out(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng)
    _expect_invalid(lambda: k(x, w, b, out=(np.empty((4, 32), np.float32),)),
                    num(33), num(32))
    _expect_invalid(lambda: k(x, w, b, out=(np.empty((4, 33), np.float64),)),
                    F64_GOT)
    _expect_invalid(lambda: k(x, w, b, out=(np.empty((4, 33), np.float32),
                                            np.empty((4, 33), np.float32))))


def test_nothing_written_on_error(rng):
    """A call that fails its checks writes no output: a bad input after good
    ones, or a bad out buffer after good ones."""
    k = normlir.compile(LN_TEXT)
    x = randn(rng, (4, 8, 16, 16))
    w, b = param(rng, (16, 16)), param(rng, (16, 16))
    outs = (np.full((4, 8, 16, 16), SENTINEL, np.float32),
            np.full((4, 8, 1, 1), SENTINEL, np.float32),
            np.full((4, 8, 1, 1), SENTINEL, np.float32))
    _expect_invalid(lambda: k(x, w, param(rng, (16, 15)), out=outs))
    _expect_invalid(lambda: k(x, w, b.astype(np.float64), out=outs))
    bad_outs = outs[:2] + (np.full((4, 8, 1), SENTINEL, np.float32),)
    _expect_invalid(lambda: k(x, w, b, out=bad_outs))
    bad_outs = outs[:2] + (np.full((4, 8, 1, 1), SENTINEL, np.float64),)
    _expect_invalid(lambda: k(x, w, b, out=bad_outs))
    for o in outs:
        assert np.all(o == SENTINEL), "an output was written by a failed call"
    # And then a good call fills them.
    k(x, w, b, out=outs)
    nt.assert_close(outs[0], nt.ref_layer_norm(x, (16, 16), w, b)["y"])


@needs_torch
def test_nothing_written_on_error_torch(rng):
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = (torch.from_numpy(a) for a in ln_args(rng))
    out = torch.full((4, 33), SENTINEL)
    _expect_invalid(lambda: k(x, w, b[:32], out=(out,)))
    _expect_invalid(lambda: k(x, w.half(), b, out=(out,)))
    assert bool((out == SENTINEL).all())


def test_out_aliasing_an_input_is_rejected(rng):
    """Results may not overlap inputs: x is left as it was."""
    k = normlir.compile(ln_spec(4, 33))
    x, w, b = ln_args(rng)
    x0 = x.copy()
    _expect_invalid(lambda: k(x, w, b, out=(x,)))
    assert np.array_equal(x, x0)


# ----------------------------------------------------------------------------
# Compile errors
# ----------------------------------------------------------------------------

UNKNOWN_OP = """\
// A spec with an unknown op on line 3.
func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = norm.no_such_op %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""

BAD_NORMALIZED_SHAPE = """\
// normalized_shape does not match the input's trailing dimension.
func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 5>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}
"""


@pytest.mark.parametrize("text,line,phrase", [
    (UNKNOWN_OP, 3, "no_such_op"),
    (BAD_NORMALIZED_SHAPE, 3, "normalized_shape"),
    ("this is not MLIR\n", 1, None),
    # The ')' closing the arguments dropped: "expected ')'" at the end of
    # line 2 (MLIR places it after the last token).
    (LN_TEXT.replace("tensor<16x16xf32>)\n", "tensor<16x16xf32>\n", 1),
     2, "expected ')'"),
], ids=["unknown-op", "verifier", "not-mlir", "syntax"])
def test_compile_error_located(text, line, phrase):
    before = stats()
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(text)
    msg = str(e.value)
    assert isinstance(e.value, normlir.NormLIRError)
    assert isinstance(e.value, RuntimeError)
    assert re.search(rf"[^\s:]+:{line}:\d+", msg), (
        f"no name:{line}:col location in: {msg}")
    assert "error" in msg.lower()
    if phrase:
        assert phrase in msg, msg
    assert stats()["compiles"] == before["compiles"]


def test_compile_path(tmp_path):
    """A pathlib.Path is read, and its diagnostics name the file."""
    good = tmp_path / "ln.mlir"
    good.write_text(LN_TEXT)
    k = normlir.compile(good)
    assert sig(k.inputs)[0] == ((4, 8, 16, 16), "f32")
    bad = tmp_path / "bad.mlir"
    bad.write_text(UNKNOWN_OP)
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(bad)
    assert re.search(re.escape(str(bad)) + r":3:\d+", str(e.value)), (
        str(e.value))


# ----------------------------------------------------------------------------
# Caches
# ----------------------------------------------------------------------------

def test_cache_stats_keys():
    s = normlir.cache_stats()
    assert isinstance(s, dict)
    for key in ("compiles", "memory_hits", "disk_hits"):
        assert isinstance(s[key], int) and s[key] >= 0


def test_memory_cache(rng):
    spec = ln_spec(3, 17, name=unique_name("memcache"))
    s0 = stats()
    k1 = normlir.compile(spec)
    s1 = stats()
    assert delta(s1, s0) == {"compiles": 1, "memory_hits": 0, "disk_hits": 0}
    k2 = normlir.compile(spec)
    s2 = stats()
    assert delta(s2, s1) == {"compiles": 0, "memory_hits": 1, "disk_hits": 0}
    x, w, b = ln_args(rng, 3, 17)
    np.testing.assert_array_equal(k1(x, w, b), k2(x, w, b))
    # A different option is a different kernel.
    normlir.compile(spec, opt_level=1)
    assert delta(stats(), s2)["compiles"] == 1


_DISK_SCRIPT = r"""
import json
import numpy as np
import normlir
spec = normlir.Spec("layer_norm", "f32", (3, 17), normalized_shape=(17,),
                    weight=True, bias=True, name="disk_cache_probe")
k = normlir.compile(spec)
x = np.linspace(-2.0, 3.0, 51, dtype=np.float32).reshape(3, 17)
w = np.full(17, 2.0, np.float32)
b = np.full(17, 0.5, np.float32)
y = k(x, w, b)
s = normlir.cache_stats()
print(json.dumps({"stats": {key: int(v) for key, v in s.items()},
                  "y": np.asarray(y, np.float64).tolist()}))
"""


def _disk_cache_process(cache):
    """A function that runs _DISK_SCRIPT in a new process with `cache` as its
    disk cache and returns what it printed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [nt.normlir_package_dir()] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["NORMLIR_CACHE_DIR"] = str(cache)

    def run():
        proc = subprocess.run([sys.executable, "-c", _DISK_SCRIPT], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (proc.returncode,
                                      proc.stderr + proc.stdout)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return run


def test_disk_cache_across_processes(tmp_path):
    cache = tmp_path / "cache"
    run = _disk_cache_process(cache)
    first = run()
    assert first["stats"]["compiles"] >= 1, first["stats"]
    assert first["stats"]["disk_hits"] == 0, first["stats"]
    assert cache.is_dir() and any(cache.iterdir()), "nothing written to disk"
    second = run()
    assert second["stats"]["compiles"] == 0, second["stats"]
    assert second["stats"]["disk_hits"] >= 1, second["stats"]
    x = np.linspace(-2.0, 3.0, 51, dtype=np.float32).reshape(3, 17)
    ref = nt.ref_layer_norm(x, (17,), np.full(17, 2.0), np.full(17, 0.5))["y"]
    for run_ in (first, second):
        nt.assert_close(np.array(run_["y"]), ref, what="y")


def _fill_code_sections(path, byte=0xCC):
    """Overwrites the bytes of every executable section of an ELF64 object
    (.text, .ltext) with `byte` (int3), keeping its headers and size: the
    object still links."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"\x7fELF" and data[4] == 2, "an ELF64 object"
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize = int.from_bytes(data[0x3A:0x3C], "little")
    shnum = int.from_bytes(data[0x3C:0x3E], "little")

    def section(i):
        h = shoff + i * shentsize
        return (int.from_bytes(data[h + 0x08:h + 0x10], "little"),  # flags
                int.from_bytes(data[h + 0x18:h + 0x20], "little"),  # offset
                int.from_bytes(data[h + 0x20:h + 0x28], "little"))  # size

    shf_execinstr = 0x4
    filled = 0
    for i in range(shnum):
        flags, offset, size = section(i)
        if flags & shf_execinstr and size:
            data[offset:offset + size] = bytes([byte]) * size
            filled += size
    assert filled, "no code section found"
    path.write_bytes(bytes(data))


def test_damaged_disk_cache_object_is_recompiled(tmp_path):
    """A cached object whose code was overwritten (headers intact, so it still
    links) is detected by its checksum and compiled again, instead of killing
    the next process with SIGTRAP."""
    cache = tmp_path / "cache"
    run = _disk_cache_process(cache)
    first = run()
    objects = list(cache.glob("*.o"))
    assert len(objects) == 1, objects
    _fill_code_sections(objects[0])
    second = run()
    assert second["stats"]["compiles"] == 1, second["stats"]
    assert second["stats"]["disk_hits"] == 0, second["stats"]
    assert second["y"] == first["y"]
    # The entry was written again: the next process loads it.
    third = run()
    assert third["stats"]["disk_hits"] >= 1, third["stats"]
    assert third["y"] == first["y"]


def test_damaged_disk_cache_metadata_is_recompiled(tmp_path):
    """The checksum covers the metadata too: a signature edited on disk
    (smaller shapes, so that calls would pass smaller buffers than the kernel
    writes) makes the entry compile again."""
    cache = tmp_path / "cache"
    run = _disk_cache_process(cache)
    first = run()
    (meta,) = cache.glob("*.json")
    text = meta.read_text()
    assert "[3,17]" in text
    meta.write_text(text.replace("[3,17]", "[1,17]"))
    second = run()
    assert second["stats"]["compiles"] == 1, second["stats"]
    assert second["stats"]["disk_hits"] == 0, second["stats"]
    assert second["y"] == first["y"]


def test_concurrent_compiles_of_one_new_spec(rng):
    """16 threads compile the same new spec at once: one compile, and every
    thread gets a working kernel."""
    n_threads = 16
    text = normlir.Spec("group_norm", "f32", (2, 6, 5), num_groups=3,
                        weight=True, bias=True,
                        name=unique_name("concurrent")).mlir()
    x, w, b = randn(rng, (2, 6, 5)), param(rng, (6,)), param(rng, (6,))
    ref = nt.ref_group_norm(x, 3, w, b)["y"]
    barrier = threading.Barrier(n_threads)
    results, errors = [None] * n_threads, []

    def worker(i):
        try:
            barrier.wait(timeout=60)
            k = normlir.compile(text)
            results[i] = k(x, w, b)
        except BaseException as e:  # reported below
            errors.append(e)

    before = stats()
    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a compile hung"
    assert not errors, errors
    d = delta(stats(), before)
    assert d["compiles"] == 1, d
    assert d["disk_hits"] == 0, d
    for i, y in enumerate(results):
        nt.assert_close(y, ref, what=f"thread {i}")


def test_one_kernel_called_from_many_threads(rng):
    k = normlir.compile(normlir.Spec("rms_norm", "f32", (8, 129),
                                     normalized_shape=(129,), weight=True))
    data = [(randn(rng, (8, 129)), param(rng, (129,))) for _ in range(8)]
    refs = [nt.ref_rms_norm(x, (129,), w)["y"] for x, w in data]
    errors = []

    def worker(i):
        try:
            x, w = data[i]
            for _ in range(25):
                nt.assert_close(k(x, w), refs[i], what=f"thread {i}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
