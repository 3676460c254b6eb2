"""Execution tests: NormLIR's named norm ops, JIT-run by normlir-run, against
a float64 NumPy reference of /work/shared/SEMANTICS.md.

Tolerances: f32 results within rtol=1e-5 (atol 1e-5 * max(1, max|ref|));
f16/bf16 results within 1 ulp of the dtype of the reference rounded to the
dtype (plus the same small absolute term); f32 side results (mean, rstd,
f32 running statistics) are always held to the f32 tolerance, also for
f16/bf16 inputs (their statistics are computed in f32).
"""

import numpy as np
import pytest

import normlir_testing as nt
from normlir_testing import quantize


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def randn(rng, shape, dtype="f32", scale=1.5, offset=0.3):
    return quantize(rng.standard_normal(shape) * scale + offset, dtype)


def param(rng, shape, dtype):
    """Weight/bias-like values, both signs, magnitude in [0.5, 1.5]."""
    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return quantize(v, dtype)


def running_stats(rng, c, dtype):
    return (quantize(rng.uniform(-1, 1, c), dtype),
            quantize(rng.uniform(0.5, 2.0, c), dtype))


def pdt(choice, dtype):
    """Parameter element type: 'f32', 'same' (the input's) or None."""
    if choice is None:
        return None
    return dtype if choice == "same" else choice


AFFINE = {"wb": (True, True), "w": (True, False), "b": (False, True),
          "none": (False, False)}


# ----------------------------------------------------------------------------
# Case runners: build the spec, make inputs, run, compare everything
# ----------------------------------------------------------------------------

def ln_case(rng, tmp_path, shape, ns, dtype="f32", weight=None, bias=None,
            eps=None, x=None, ulps=1.0):
    spec = nt.layer_norm_spec(shape, ns, dtype, weight, bias, eps)
    vals = {"x": randn(rng, shape, dtype) if x is None else x}
    if weight:
        vals["w"] = param(rng, ns, weight)
    if bias:
        vals["b"] = param(rng, ns, bias)
    ref = nt.ref_layer_norm(vals["x"], ns, vals.get("w"), vals.get("b"),
                            spec.options["eps"])
    got = spec.run(tmp_path, **vals)
    nt.check_all(spec, got, ref, ulps=ulps)
    return got, ref, vals


def rms_case(rng, tmp_path, shape, ns, dtype="f32", weight=None, eps=None,
             x=None):
    spec = nt.rms_norm_spec(shape, ns, dtype, weight, eps)
    vals = {"x": randn(rng, shape, dtype) if x is None else x}
    if weight:
        vals["w"] = param(rng, ns, weight)
    ref = nt.ref_rms_norm(vals["x"], ns, vals.get("w"), spec.options["eps"])
    got = spec.run(tmp_path, **vals)
    nt.check_all(spec, got, ref)
    return got, ref, vals


def channel_inputs(rng, shape, dtype, c, weight, bias, x=None):
    """x (random unless given) and the optional per-channel weight/bias, drawn
    in that order, as the channel norms' inputs."""
    vals = {"x": randn(rng, shape, dtype) if x is None else x}
    if weight:
        vals["w"] = param(rng, c, weight)
    if bias:
        vals["b"] = param(rng, c, bias)
    return vals


def bn_case(rng, tmp_path, shape, dtype="f32", weight=None, bias=None,
            running=None, nbt=None, training=True, momentum=None,
            cumulative=False, eps=None, channel_axis=1, x=None, rm=None,
            rv=None):
    """nbt: None for no num_batches_tracked, else its input value."""
    spec = nt.batch_norm_spec(shape, dtype, weight, bias, running,
                              nbt is not None, training, momentum, cumulative,
                              eps, channel_axis)
    c = shape[spec.options["channel_axis"]]
    vals = channel_inputs(rng, shape, dtype, c, weight, bias, x)
    if running:
        r_m, r_v = running_stats(rng, c, running)
        vals["rm"] = r_m if rm is None else rm
        vals["rv"] = r_v if rv is None else rv
    if nbt is not None:
        vals["nbt"] = np.int64(nbt)
    ref = nt.ref_batch_norm(vals["x"], vals.get("w"), vals.get("b"),
                            vals.get("rm"), vals.get("rv"), vals.get("nbt"),
                            training, spec.options["momentum"],
                            spec.options["eps"], spec.options["channel_axis"])
    got = spec.run(tmp_path, **vals)
    nt.check_all(spec, got, ref)
    return got, ref, vals


def in_case(rng, tmp_path, shape, dtype="f32", weight=None, bias=None,
            running=None, training=True, momentum=None, eps=None,
            channel_axis=1, x=None):
    spec = nt.instance_norm_spec(shape, dtype, weight, bias, running,
                                 training, momentum, eps, channel_axis)
    c = shape[spec.options["channel_axis"]]
    vals = channel_inputs(rng, shape, dtype, c, weight, bias, x)
    if running:
        vals["rm"], vals["rv"] = running_stats(rng, c, running)
    ref = nt.ref_instance_norm(vals["x"], vals.get("w"), vals.get("b"),
                               vals.get("rm"), vals.get("rv"), training,
                               spec.options["momentum"], spec.options["eps"],
                               spec.options["channel_axis"])
    got = spec.run(tmp_path, **vals)
    nt.check_all(spec, got, ref)
    return got, ref, vals


def gn_case(rng, tmp_path, shape, groups, dtype="f32", weight=None,
            bias=None, eps=None, channel_axis=1, x=None):
    spec = nt.group_norm_spec(shape, groups, dtype, weight, bias, eps,
                              channel_axis)
    c = shape[spec.options["channel_axis"]]
    vals = channel_inputs(rng, shape, dtype, c, weight, bias, x)
    ref = nt.ref_group_norm(vals["x"], groups, vals.get("w"), vals.get("b"),
                            spec.options["eps"], spec.options["channel_axis"])
    got = spec.run(tmp_path, **vals)
    nt.check_all(spec, got, ref)
    return got, ref, vals


# ----------------------------------------------------------------------------
# LayerNorm
# ----------------------------------------------------------------------------

LN_SHAPES = [((6,), (6,)), ((4, 10), (10,)), ((2, 3, 8), (8,)),
             ((2, 3, 4, 5), (4, 5)), ((3, 4, 5), (3, 4, 5)),
             ((2, 2, 3, 4, 5), (3, 4, 5))]


@pytest.mark.parametrize("affine", list(AFFINE))
@pytest.mark.parametrize("shape,ns", LN_SHAPES,
                         ids=[f"{s}-{n}" for s, n in LN_SHAPES])
def test_layer_norm_f32(rng, tmp_path, shape, ns, affine):
    w, b = AFFINE[affine]
    ln_case(rng, tmp_path, shape, ns, "f32", "f32" if w else None,
            "f32" if b else None)


LN_LOWP = [("wb", "f32"), ("wb", "same"), ("w", "same"), ("b", "f32"),
           ("none", None)]


@pytest.mark.parametrize("affine,params", LN_LOWP)
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_layer_norm_lowp(rng, tmp_path, dtype, affine, params):
    w, b = AFFINE[affine]
    p = pdt(params, dtype)
    ln_case(rng, tmp_path, (3, 5, 16), (5, 16), dtype, p if w else None,
            p if b else None)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_layer_norm_mixed_param_types(rng, tmp_path, dtype):
    """weight f32 and bias in the input's type (each independently)."""
    ln_case(rng, tmp_path, (4, 12), (12,), dtype, "f32", dtype)


@pytest.mark.parametrize("eps", [0.5, 0.0])
def test_layer_norm_epsilon(rng, tmp_path, eps):
    # Variance ~0.25: eps = 0.5 changes the result by a factor ~0.6.
    x = randn(rng, (5, 16), scale=0.5)
    _, ref, vals = ln_case(rng, tmp_path, (5, 16), (16,), "f32", "f32", "f32",
                           eps=eps, x=x)
    other = nt.ref_layer_norm(x, (16,), vals["w"], vals["b"], 1e-5)
    if eps:
        assert not np.allclose(other["y"], ref["y"], rtol=1e-3)


# ----------------------------------------------------------------------------
# RMSNorm
# ----------------------------------------------------------------------------

RMS_SHAPES = [((4, 10), (10,)), ((2, 3, 8), (8,)), ((2, 3, 4, 5), (4, 5))]


@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("shape,ns", RMS_SHAPES,
                         ids=[f"{s}-{n}" for s, n in RMS_SHAPES])
def test_rms_norm_f32(rng, tmp_path, shape, ns, weight):
    rms_case(rng, tmp_path, shape, ns, "f32", "f32" if weight else None,
             eps=1e-6)


@pytest.mark.parametrize("weight", ["f32", "same", None])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_rms_norm_lowp(rng, tmp_path, dtype, weight):
    rms_case(rng, tmp_path, (3, 4, 16), (16,), dtype, pdt(weight, dtype))


# Data scales at which the default eps (float's epsilon) matters: E[x^2] of
# the order of 1e-7.
DEFAULT_EPS_SCALE = {"f32": 3e-4, "f16": 3e-4, "bf16": 3e-4}


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_rms_norm_default_eps(rng, tmp_path, dtype):
    """No epsilon attribute: eps = float's epsilon for every dtype (PyTorch
    upcasts f16/bf16), not finfo(dtype).eps."""
    shape, ns = (6, 32), (32,)
    x = quantize(rng.standard_normal(shape) * DEFAULT_EPS_SCALE[dtype], dtype)
    got, ref, vals = rms_case(rng, tmp_path, shape, ns, dtype, dtype, x=x)
    # The test tells the default from LayerNorm's 1e-5 and from finfo of the
    # input dtype (SEMANTICS.md's older reading).
    for wrong in (1e-5, 1e-6, FINFO_OTHER[dtype]):
        bad = nt.ref_rms_norm(x, ns, vals["w"], wrong)
        assert not np.allclose(bad["rstd"], ref["rstd"], rtol=1e-3), wrong


FINFO_OTHER = {"f32": nt.DTYPE_FINFO_EPS["f16"],
               "f16": nt.DTYPE_FINFO_EPS["f16"],
               "bf16": nt.DTYPE_FINFO_EPS["bf16"]}


@pytest.mark.parametrize("dtype,eps", [("f32", 0.1), ("f32", 0.0),
                                       ("bf16", 1e-5), ("f16", 0.25)])
def test_rms_norm_explicit_eps(rng, tmp_path, dtype, eps):
    x = quantize(rng.standard_normal((4, 3, 8)) * 0.3, dtype)
    rms_case(rng, tmp_path, (4, 3, 8), (3, 8), dtype, "f32", eps=eps, x=x)


@pytest.mark.parametrize("weight", [None, "f16"])
def test_rms_norm_f16_large_values(rng, tmp_path, weight):
    """x^2 overflows f16 (max 65504): the mean square must be taken in f32."""
    shape = (4, 64)
    mag = rng.uniform(300, 60000, shape) * rng.choice([-1.0, 1.0], shape)
    x = quantize(mag, "f16")
    got, ref, _ = rms_case(rng, tmp_path, shape, (64,), "f16", weight, x=x)
    assert np.all(np.isfinite(got["y"])) and np.all(got["rstd"] > 0)


@pytest.mark.parametrize("op", ["layer_norm", "group_norm", "batch_norm",
                                "instance_norm"])
def test_f16_large_values_centred(rng, tmp_path, op):
    """f16 inputs up to 60000: (x - mean)^2 and sums overflow f16; the
    statistics must be computed in f32."""
    shape = (2, 4, 32)
    mag = rng.uniform(300, 60000, shape) * rng.choice([-1.0, 1.0], shape)
    x = quantize(mag, "f16")
    if op == "layer_norm":
        got, _, _ = ln_case(rng, tmp_path, shape, (4, 32), "f16", "f16",
                            "f16", x=x)
    elif op == "group_norm":
        got, _, _ = gn_case(rng, tmp_path, shape, 2, "f16", "f16", "f16", x=x)
    elif op == "batch_norm":
        got, _, _ = bn_case(rng, tmp_path, shape, "f16", "f16", "f16",
                            running="f32", nbt=0, x=x)
        assert np.isfinite(got["running_var"]).all()
    else:
        got, _, _ = in_case(rng, tmp_path, shape, "f16", "f16", "f16", x=x)
    assert np.isfinite(got["y"]).all()


# ----------------------------------------------------------------------------
# BatchNorm
# ----------------------------------------------------------------------------

# (shape, channel_axis): NC, NCL, NLC, NCHW, NHWC, NCDHW, NDHWC.
CHANNEL_LAYOUTS = [((8, 5), 1), ((4, 3, 7), 1), ((4, 7, 3), 2),
                   ((2, 3, 4, 5), 1), ((2, 4, 5, 3), 3),
                   ((2, 3, 2, 3, 4), 1), ((2, 2, 3, 4, 3), 4)]
LAYOUT_IDS = [f"{'x'.join(map(str, s))}-c{a}" for s, a in CHANNEL_LAYOUTS]


@pytest.mark.parametrize("shape,axis", CHANNEL_LAYOUTS, ids=LAYOUT_IDS)
def test_batch_norm_train_layouts(rng, tmp_path, shape, axis):
    bn_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32", nbt=3,
            channel_axis=axis)


BN_OPTIONS = {
    "no_affine_no_running": dict(),
    "affine_no_running": dict(weight="f32", bias="f32"),
    "weight_only": dict(weight="f32", running="f32"),
    "bias_only": dict(bias="f32", running="f32"),
    "running_no_nbt": dict(weight="f32", bias="f32", running="f32"),
    "momentum_0.3_nbt": dict(running="f32", nbt=7, momentum=0.3),
    "momentum_0": dict(running="f32", nbt=0, momentum=0.0),
    "momentum_1": dict(running="f32", momentum=1.0),
    "cumulative_first": dict(running="f32", nbt=0, cumulative=True),
    "cumulative_nbt5": dict(weight="f32", bias="f32", running="f32", nbt=5,
                            cumulative=True),
    "cumulative_channels_last": dict(running="f32", nbt=2, cumulative=True,
                                     channel_axis=3),
    "eps_0.5": dict(weight="f32", bias="f32", running="f32", eps=0.5),
    "explicit_channel_axis_1": dict(running="f32", channel_axis=1),
}


@pytest.mark.parametrize("option", list(BN_OPTIONS))
def test_batch_norm_train_options(rng, tmp_path, option):
    kw = dict(BN_OPTIONS[option])
    shape = (3, 4, 5, 6) if kw.get("channel_axis", 1) == 1 else (3, 5, 6, 4)
    got, ref, vals = bn_case(rng, tmp_path, shape, "f32", **kw)
    if option == "momentum_0":
        assert np.array_equal(got["running_mean"], vals["rm"])


def test_batch_norm_explicit_channel_axis_attr(rng, tmp_path):
    """channel_axis = 1 written out (the generators leave the default out)."""
    spec = nt.batch_norm_spec((2, 3, 4), running="f32")
    spec.text = spec.text.replace("{training}",
                                  "{training, channel_axis = 1 : i64}")
    assert "channel_axis = 1" in spec.text
    x = randn(rng, (2, 3, 4))
    rm, rv = running_stats(rng, 3, "f32")
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    nt.check_all(spec, got, nt.ref_batch_norm(x, None, None, rm, rv))


def test_batch_norm_cumulative_two_calls(rng, tmp_path):
    """momentum=None across two successive batches: the outputs (running
    stats, num_batches_tracked) of the first call feed the second."""
    shape = (4, 3, 5)
    spec = nt.batch_norm_spec(shape, "f32", "f32", "f32", running="f32",
                              nbt=True, cumulative=True)
    w, b = param(rng, 3, "f32"), param(rng, 3, "f32")
    rm = np.zeros(3, np.float32)
    rv = np.ones(3, np.float32)
    nbt = np.int64(0)
    for step in range(2):
        x = randn(rng, shape, scale=1.0 + step, offset=step)
        got = spec.run(tmp_path, x=x, w=w, b=b, rm=rm, rv=rv, nbt=nbt)
        ref = nt.ref_batch_norm(x, w, b, rm, rv, nbt, True, None)
        nt.check_all(spec, got, ref)
        rm, rv, nbt = (got["running_mean"], got["running_var"],
                       got["num_batches_tracked"])
    assert int(nbt) == 2


@pytest.mark.parametrize("shape,axis", CHANNEL_LAYOUTS, ids=LAYOUT_IDS)
def test_batch_norm_eval_layouts(rng, tmp_path, shape, axis):
    bn_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32",
            training=False, channel_axis=axis)


def test_batch_norm_eval_no_affine_eps(rng, tmp_path):
    bn_case(rng, tmp_path, (4, 6, 3), "f32", running="f32", training=False,
            eps=0.25)


BN_LOWP = [("f32", "f32"), ("same", "same"), ("same", "f32"), ("f32", "same")]


@pytest.mark.parametrize("params,running", BN_LOWP)
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_batch_norm_train_lowp(rng, tmp_path, dtype, params, running):
    p = pdt(params, dtype)
    bn_case(rng, tmp_path, (4, 3, 6), dtype, p, p, running=pdt(running, dtype),
            nbt=1)


@pytest.mark.parametrize("params,running", BN_LOWP[:2])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_batch_norm_eval_lowp(rng, tmp_path, dtype, params, running):
    p = pdt(params, dtype)
    bn_case(rng, tmp_path, (4, 5, 3), dtype, p, p, running=pdt(running, dtype),
            training=False, channel_axis=2)


def test_batch_norm_cumulative_lowp(rng, tmp_path):
    bn_case(rng, tmp_path, (2, 4, 3), "bf16", running="f32", nbt=4,
            cumulative=True, channel_axis=2)


# ----------------------------------------------------------------------------
# InstanceNorm
# ----------------------------------------------------------------------------

IN_LAYOUTS = [c for c in CHANNEL_LAYOUTS if len(c[0]) >= 3]
IN_IDS = [i for c, i in zip(CHANNEL_LAYOUTS, LAYOUT_IDS) if len(c[0]) >= 3]


@pytest.mark.parametrize("shape,axis", IN_LAYOUTS, ids=IN_IDS)
def test_instance_norm_layouts(rng, tmp_path, shape, axis):
    in_case(rng, tmp_path, shape, "f32", "f32", "f32", channel_axis=axis)


@pytest.mark.parametrize("axis", [1, 3])
def test_instance_norm_default_no_affine(rng, tmp_path, axis):
    shape = (3, 4, 5, 6) if axis == 1 else (3, 5, 6, 4)
    in_case(rng, tmp_path, shape, "f32", channel_axis=axis)


IN_TRACK = [((4, 3, 7), 1, None), ((3, 4, 5, 6), 1, 0.3),
            ((3, 5, 6, 4), 3, None), ((2, 3, 2, 3, 4), 1, 0.0)]


@pytest.mark.parametrize("shape,axis,momentum", IN_TRACK)
def test_instance_norm_track_running_train(rng, tmp_path, shape, axis,
                                           momentum):
    """track_running_stats in training: instance statistics, running stats
    updated with the batch average of per-(n, c) mean / unbiased var."""
    in_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32",
            training=True, momentum=momentum, channel_axis=axis)


@pytest.mark.parametrize("shape,axis", [((4, 3, 7), 1), ((3, 4, 5, 6), 1),
                                        ((3, 5, 6, 4), 3)])
def test_instance_norm_track_running_eval(rng, tmp_path, shape, axis):
    """track_running_stats in eval: normalize with the running stats."""
    in_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32",
            training=False, channel_axis=axis)


def test_instance_norm_eps(rng, tmp_path):
    x = randn(rng, (2, 3, 16), scale=0.4)
    in_case(rng, tmp_path, (2, 3, 16), "f32", eps=0.3, x=x)


IN_LOWP = [("f32", "f32", True), ("same", "same", True), (None, None, False),
           ("same", "same", False)]


@pytest.mark.parametrize("params,running,training", IN_LOWP)
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_instance_norm_lowp(rng, tmp_path, dtype, params, running, training):
    p = pdt(params, dtype)
    in_case(rng, tmp_path, (3, 4, 10), dtype, p, p, running=pdt(running, dtype),
            training=training)


# ----------------------------------------------------------------------------
# GroupNorm
# ----------------------------------------------------------------------------

# C = 6 in every layout: G = 1 (LayerNorm-like), 3 (between), 6 (= C,
# InstanceNorm-like).
GN_LAYOUTS = [((4, 6), 1), ((3, 6, 5), 1), ((3, 5, 6), 2), ((2, 6, 3, 4), 1),
              ((2, 3, 4, 6), 3), ((2, 6, 2, 3, 2), 1), ((2, 2, 3, 2, 6), 4)]
GN_IDS = [f"{'x'.join(map(str, s))}-c{a}" for s, a in GN_LAYOUTS]


@pytest.mark.parametrize("groups", [1, 3, 6])
@pytest.mark.parametrize("shape,axis", GN_LAYOUTS, ids=GN_IDS)
def test_group_norm_layouts(rng, tmp_path, shape, axis, groups):
    gn_case(rng, tmp_path, shape, groups, "f32", "f32", "f32",
            channel_axis=axis)


@pytest.mark.parametrize("affine", ["none", "w", "b"])
def test_group_norm_affine(rng, tmp_path, affine):
    w, b = AFFINE[affine]
    gn_case(rng, tmp_path, (2, 8, 3, 3), 4, "f32", "f32" if w else None,
            "f32" if b else None)


def test_group_norm_eps(rng, tmp_path):
    x = randn(rng, (2, 4, 10), scale=0.3)
    gn_case(rng, tmp_path, (2, 4, 10), 2, "f32", "f32", "f32", eps=0.2, x=x)


GN_LOWP = [("f32", 1), ("same", 1), ("same", 3), (None, 1)]


@pytest.mark.parametrize("params,axis", GN_LOWP)
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_group_norm_lowp(rng, tmp_path, dtype, params, axis):
    p = pdt(params, dtype)
    shape = (2, 8, 3, 4) if axis == 1 else (2, 3, 4, 8)
    gn_case(rng, tmp_path, shape, 4, dtype, p, p, channel_axis=axis)


# ----------------------------------------------------------------------------
# Numerics that must hold (SEMANTICS.md)
# ----------------------------------------------------------------------------

def large_mean_data(rng, kind, shape):
    """'1e4': 1e4 + U(0, 1); '80000': 80000 + [0, 1, 2, 3] along the last
    axis of a (…, 4)-shaped layout."""
    if kind == "1e4":
        return quantize(1e4 + rng.uniform(0, 1, shape), "f32")
    base = np.broadcast_to(np.arange(4, dtype=np.float64), shape)
    return quantize(80000 + base, "f32")


def assert_large_mean(got, ref, names):
    """Within 1e-3 relative of float64 (atol 1e-3 * max|ref| for values that
    cross zero); a one-pass E[x^2] - E[x]^2 is off by O(1) or NaN."""
    for n in names:
        r = np.asarray(ref[n], np.float64)
        g = np.asarray(got[n], np.float64)
        assert np.all(np.isfinite(g)), f"{n}: non-finite values"
        nt.assert_close(g, r, rtol=1e-3, atol=1e-3 * np.max(np.abs(r)),
                        what=f"large-mean {n}")


@pytest.mark.parametrize("kind", ["1e4", "80000"])
def test_large_mean_layer_norm(rng, tmp_path, kind):
    shape = (6, 64) if kind == "1e4" else (3, 4)
    x = large_mean_data(rng, kind, shape)
    spec = nt.layer_norm_spec(shape, shape[-1:], "f32")
    got = spec.run(tmp_path, x=x)
    assert_large_mean(got, nt.ref_layer_norm(x, shape[-1:]),
                      ["y", "mean", "rstd"])


@pytest.mark.parametrize("last", [False, True], ids=["NC", "channels_last"])
@pytest.mark.parametrize("kind", ["1e4", "80000"])
def test_large_mean_group_norm(rng, tmp_path, kind, last):
    if kind == "1e4":
        shape, g = (2, 4, 8, 8), 2
        x = large_mean_data(rng, kind, shape)
    else:  # each group: the 4 values of one channel pair's spatial dims
        shape, g = (2, 2, 2), 1
        x = large_mean_data(rng, kind, (2, 4)).reshape(shape)
    axis = x.ndim - 1 if last else 1
    x = np.ascontiguousarray(np.moveaxis(x, 1, axis))
    spec = nt.group_norm_spec(x.shape, g, "f32", channel_axis=axis)
    got = spec.run(tmp_path, x=x)
    assert_large_mean(got, nt.ref_group_norm(x, g, channel_axis=axis),
                      ["y", "mean", "rstd"])


@pytest.mark.parametrize("last", [False, True], ids=["NC", "channels_last"])
@pytest.mark.parametrize("kind", ["1e4", "80000"])
def test_large_mean_batch_norm(rng, tmp_path, kind, last):
    if kind == "1e4":
        shape = (8, 3, 6, 6)
        x = large_mean_data(rng, kind, shape)
    else:  # channel c holds 80000 + [0, 1, 2, 3] (over N = 2 and L = 2)
        shape = (2, 3, 2)
        x = large_mean_data(rng, kind, (3, 4)).reshape(3, 2, 2)
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    axis = x.ndim - 1 if last else 1
    x = np.ascontiguousarray(np.moveaxis(x, 1, axis))
    rm = np.zeros(shape[1], np.float32)
    rv = np.ones(shape[1], np.float32)
    spec = nt.batch_norm_spec(x.shape, running="f32", channel_axis=axis)
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    ref = nt.ref_batch_norm(x, None, None, rm, rv, channel_axis=axis)
    assert_large_mean(got, ref, ["y", "save_mean", "save_rstd",
                                 "running_mean", "running_var"])


@pytest.mark.parametrize("kind", ["1e4", "80000"])
def test_large_mean_instance_norm(rng, tmp_path, kind):
    shape = (2, 3, 100) if kind == "1e4" else (2, 3, 4)
    x = large_mean_data(rng, kind, shape)
    spec = nt.instance_norm_spec(shape, running="f32")
    rm = np.zeros(3, np.float32)
    rv = np.ones(3, np.float32)
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    ref = nt.ref_instance_norm(x, None, None, rm, rv)
    assert_large_mean(got, ref, ["y", "running_mean", "running_var"])


# Constant rows: var = 0 and x - mean = 0, so y = bias exactly. The constants
# are integers / dyadic, as in the tutorial, so E[x] is exact.
CONSTS = np.array([1.0, -3.0, 0.5, 7.0, 2.25, -0.75, 64.0, 1000.0])


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("n", [12, 20, 16])
def test_constant_rows_layer_norm(rng, tmp_path, n, dtype):
    rows = len(CONSTS)
    x = quantize(np.repeat(CONSTS[:, None], n, axis=1), dtype)
    spec = nt.layer_norm_spec((rows, n), (n,), dtype, "f32", "f32")
    w, b = param(rng, n, "f32"), param(rng, n, "f32")
    got = spec.run(tmp_path, x=x, w=w, b=b)
    expect = quantize(np.broadcast_to(b, (rows, n)), dtype)
    assert np.array_equal(got["y"], expect), got["y"] - expect
    assert np.array_equal(got["mean"][:, 0], CONSTS.astype(np.float32))
    assert np.allclose(got["rstd"], 1 / np.sqrt(1e-5), rtol=1e-6)


def test_constant_groups_group_norm(rng, tmp_path):
    # (N=2, C=8, 3x4), G=4: group (n, g) is all CONSTS[4n + g].
    x = np.repeat(np.repeat(CONSTS.reshape(2, 4), 2, axis=1)[:, :, None],
                  12, axis=2).reshape(2, 8, 3, 4).astype(np.float32)
    spec = nt.group_norm_spec((2, 8, 3, 4), 4, "f32", "f32", "f32")
    w, b = param(rng, 8, "f32"), param(rng, 8, "f32")
    got = spec.run(tmp_path, x=x, w=w, b=b)
    assert np.array_equal(got["y"], np.broadcast_to(b[None, :, None, None],
                                                    x.shape))
    assert np.array_equal(got["mean"], CONSTS.reshape(2, 4).astype(np.float32))


def test_constant_channels_batch_norm(rng, tmp_path):
    # Channel c is all CONSTS[c] over N = 3 and L = 5.
    x = np.broadcast_to(CONSTS[None, :, None], (3, 8, 5)).astype(np.float32)
    spec = nt.batch_norm_spec((3, 8, 5), "f32", "f32", "f32", running="f32")
    w, b = param(rng, 8, "f32"), param(rng, 8, "f32")
    rm, rv = running_stats(rng, 8, "f32")
    got = spec.run(tmp_path, x=x, w=w, b=b, rm=rm, rv=rv)
    assert np.array_equal(got["y"], np.broadcast_to(b[None, :, None], x.shape))
    nt.check_all(spec, got, nt.ref_batch_norm(x, w, b, rm, rv))


def test_constant_instances_instance_norm(rng, tmp_path):
    x = np.broadcast_to(CONSTS.reshape(2, 4)[:, :, None, None],
                        (2, 4, 3, 3)).astype(np.float32)
    spec = nt.instance_norm_spec((2, 4, 3, 3), "f32", "f32", "f32")
    w, b = param(rng, 4, "f32"), param(rng, 4, "f32")
    got = spec.run(tmp_path, x=x, w=w, b=b)
    assert np.array_equal(got["y"], np.broadcast_to(b[None, :, None, None],
                                                    x.shape))


def _poison(x, index, value=np.nan):
    x = np.array(x, copy=True)
    x[index] = value
    return x


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_inf_layer_norm(rng, tmp_path, value):
    """NaN/Inf in one row poisons that row (y, mean, rstd) and nothing else."""
    x = _poison(randn(rng, (5, 3, 8)), (2, 1, 4), value)
    got, ref, _ = ln_case(rng, tmp_path, (5, 3, 8), (8,), "f32", "f32", "f32",
                          x=x)
    assert np.all(np.isnan(got["y"][2, 1]))
    assert np.isfinite(np.delete(got["y"].reshape(15, 8), 7, axis=0)).all()


def test_nan_rms_norm(rng, tmp_path):
    x = _poison(randn(rng, (4, 16)), (1, 3))
    got, _, _ = rms_case(rng, tmp_path, (4, 16), (16,), "f32", "f32", x=x)
    assert np.isnan(got["y"][1]).all() and np.isnan(got["rstd"][1, 0])
    assert np.isfinite(got["y"][[0, 2, 3]]).all()


def test_nan_group_norm(rng, tmp_path):
    x = _poison(randn(rng, (2, 6, 4)), (1, 3, 2))
    got, _, _ = gn_case(rng, tmp_path, (2, 6, 4), 3, "f32", "f32", "f32", x=x)
    assert np.isnan(got["y"][1, 2:4]).all()
    assert np.isfinite(got["y"][0]).all() and np.isfinite(got["y"][1, :2]).all()
    assert np.isnan(got["mean"]).sum() == 1 and np.isnan(got["mean"][1, 1])


def test_nan_batch_norm(rng, tmp_path):
    x = _poison(randn(rng, (3, 4, 5)), (2, 1, 3))
    got, _, _ = bn_case(rng, tmp_path, (3, 4, 5), "f32", "f32", "f32",
                        running="f32", nbt=0, x=x)
    assert np.isnan(got["y"][:, 1]).all()
    assert np.isfinite(got["y"][:, [0, 2, 3]]).all()
    assert np.isnan(got["running_var"][1]) and np.isfinite(
        got["running_var"][[0, 2, 3]]).all()


def test_nan_instance_norm(rng, tmp_path):
    x = _poison(randn(rng, (2, 3, 6)), (0, 2, 5))
    got, _, _ = in_case(rng, tmp_path, (2, 3, 6), "f32", x=x)
    assert np.isnan(got["y"][0, 2]).all()
    assert np.isfinite(np.delete(got["y"].reshape(6, 6), 2, axis=0)).all()


# Empty tensors (a zero-size batch dim) return empty results.

def test_empty_layer_norm(rng, tmp_path):
    got, _, _ = ln_case(rng, tmp_path, (0, 8), (8,), "f32", "f32", "f32")
    assert got["y"].shape == (0, 8) and got["mean"].shape == (0, 1)


def test_empty_rms_norm(rng, tmp_path):
    got, _, _ = rms_case(rng, tmp_path, (0, 3, 8), (8,), "f32", "f32")
    assert got["y"].shape == (0, 3, 8)


def test_empty_group_norm(rng, tmp_path):
    got, _, _ = gn_case(rng, tmp_path, (0, 4, 3), 2, "f32", "f32", "f32")
    assert got["y"].shape == (0, 4, 3) and got["mean"].shape == (0, 2)


def test_empty_instance_norm(rng, tmp_path):
    got, _, _ = in_case(rng, tmp_path, (0, 3, 5), "f32", "f32", "f32")
    assert got["y"].shape == (0, 3, 5)


def test_empty_batch_norm_eval(rng, tmp_path):
    got, _, _ = bn_case(rng, tmp_path, (0, 3, 5), "f32", "f32", "f32",
                        running="f32", training=False)
    assert got["y"].shape == (0, 3, 5)


# ----------------------------------------------------------------------------
# The tutorial's printed examples (/work/shared/seed)
# ----------------------------------------------------------------------------

def test_tutorial_layer_norm(tmp_path):
    """nn.LayerNorm([3, 4]) on (8, 6, 3, 4), feature map i all i + 1:
    weight shape (3, 4); output all zeros."""
    fm = np.stack([np.full((3, 4), i + 1.0) for i in range(6)])
    x = np.stack([fm] * 8).astype(np.float32)
    spec = nt.layer_norm_spec((8, 6, 3, 4), (3, 4), "f32", "f32", "f32")
    assert spec.args[1][1] == (3, 4)
    got = spec.run(tmp_path, x=x, w=np.ones((3, 4), np.float32),
                   b=np.zeros((3, 4), np.float32))
    assert np.array_equal(got["y"], np.zeros_like(x))
    assert np.array_equal(got["mean"][0, :, 0, 0], np.arange(1, 7))


def test_tutorial_instance_norm(tmp_path):
    """nn.InstanceNorm2d(3, momentum=0.3) on (3, 3, 2, 2), channel c all
    c + 1: output all zeros."""
    fm = np.stack([np.full((2, 2), c + 1.0) for c in range(3)])
    x = np.stack([fm] * 3).astype(np.float32)
    spec = nt.instance_norm_spec((3, 3, 2, 2), momentum=0.3)
    got = spec.run(tmp_path, x=x)
    assert np.array_equal(got["y"], np.zeros_like(x))


def test_tutorial_group_norm(tmp_path):
    """nn.GroupNorm(2, 4) on (2, 4, 2, 2), channel c of sample b all
    (c + 1) * (b + 1): weight shape (4); outputs[0] prints as
    [-1, 1, -1, 1] per channel (±1.0000; eps makes it ±0.99998)."""
    fm = np.stack([np.full((2, 2), c + 1.0) for c in range(4)])
    x = np.stack([fm * (b + 1) for b in range(2)]).astype(np.float32)
    spec = nt.group_norm_spec((2, 4, 2, 2), 2, "f32", "f32", "f32")
    assert spec.args[1][1] == (4,)
    got = spec.run(tmp_path, x=x, w=np.ones(4, np.float32),
                   b=np.zeros(4, np.float32))
    printed = np.round(got["y"][0], 4)
    expect = np.array([-1.0, 1.0, -1.0, 1.0])[:, None, None]
    assert np.array_equal(printed, np.broadcast_to(expect, (4, 2, 2)))
    # -0.5 / sqrt(0.25 + 1e-5) = -0.99998
    assert np.allclose(got["y"][0, 0], -0.99998, atol=5e-6)
    nt.check_all(spec, got, nt.ref_group_norm(x, 2, np.ones(4), np.zeros(4)))


# Long reductions: the f32 accuracy contract (about 1e-5 relative of float64)
# holds for realistic reduction sizes too, e.g. BatchNorm over N*H*W = 2^20
# values per channel (a batch of 64 128x128 maps). PyTorch's cascade sums stay
# within ~3e-8 here; a plain sequential f32 accumulation drifts by ~n * eps.
LONG = 1 << 20


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "group_norm",
                                "instance_norm", "batch_norm"])
def test_long_reduction_accuracy(rng, tmp_path, op):
    if op in ("layer_norm", "rms_norm"):
        shape = (2, LONG)
    elif op == "group_norm":
        shape = (1, 4, 512, 1024)  # G = 2: 2 channels x 512K = 2^20 per group
    elif op == "instance_norm":
        shape = (1, 2, 1024, 1024)
    else:
        shape = (LONG // 64, 2, 64)
    x = quantize(rng.standard_normal(shape) + 1.0, "f32")
    if op == "layer_norm":
        ln_case(rng, tmp_path, shape, (LONG,), x=x)
    elif op == "rms_norm":
        rms_case(rng, tmp_path, shape, (LONG,), eps=1e-6, x=x)
    elif op == "group_norm":
        gn_case(rng, tmp_path, shape, 2, x=x)
    elif op == "instance_norm":
        in_case(rng, tmp_path, shape, running="f32", x=x)
    else:
        bn_case(rng, tmp_path, shape, running="f32", nbt=0, x=x)


def test_batch_norm_large_counter(rng, tmp_path):
    """num_batches_tracked is i64: 2^40 + 1 must come back exactly, and the
    cumulative momentum 1 / (2^40 + 1) barely moves the running stats."""
    got, _, vals = bn_case(rng, tmp_path, (4, 3, 5), running="f32",
                           nbt=2**40, cumulative=True)
    assert int(got["num_batches_tracked"]) == 2**40 + 1


# ----------------------------------------------------------------------------
# Spec features: constant parameters, chained ops, several functions
# ----------------------------------------------------------------------------

CONST_SPEC = """
func.func @ln_identity(%x: tensor<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %w = arith.constant dense<1.0> : tensor<8xf32>
  %b = arith.constant dense<0.0> : tensor<8xf32>
  %r:3 = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %r#0, %r#1, %r#2 : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}
func.func @ln_const(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<2.5> : tensor<8xf32>
  %b = arith.constant dense<[0.0, 1.0, 2.0, 3.0, -4.0, 5.0, 6.0, 7.5]>
      : tensor<8xf32>
  %r:3 = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %r#0 : tensor<4x8xf32>
}
func.func @ln_then_gn(%x: tensor<2x6x5xf32>, %w: tensor<6xf32>)
    -> (tensor<2x6x5xf32>, tensor<2x3xf32>) {
  %l:3 = norm.layer_norm %x {normalized_shape = array<i64: 5>,
                              epsilon = 1.0e-03 : f64}
      : (tensor<2x6x5xf32>)
      -> (tensor<2x6x5xf32>, tensor<2x6x1xf32>, tensor<2x6x1xf32>)
  %g:3 = norm.group_norm %l#0 weight %w {num_groups = 3 : i64}
      : (tensor<2x6x5xf32>, tensor<6xf32>)
      -> (tensor<2x6x5xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %g#0, %g#1 : tensor<2x6x5xf32>, tensor<2x3xf32>
}
"""


def test_constant_identity_parameters(rng, tmp_path):
    """Splat weight 1 / bias 0 constants (which the canonicalizer may drop)
    give plain normalization."""
    x = randn(rng, (4, 8))
    y, mean, rstd = nt.run_spec(CONST_SPEC, "ln_identity", [x], tmp_path)
    ref = nt.ref_layer_norm(x, (8,))
    nt.assert_close(y, ref["y"], what="y")
    nt.assert_close(mean, ref["mean"], what="mean")
    nt.assert_close(rstd, ref["rstd"], what="rstd")


def test_constant_parameters(rng, tmp_path):
    x = randn(rng, (4, 8))
    (y,) = nt.run_spec(CONST_SPEC, "ln_const", [x], tmp_path)
    b = np.array([0.0, 1.0, 2.0, 3.0, -4.0, 5.0, 6.0, 7.5])
    nt.assert_close(y, nt.ref_layer_norm(x, (8,), np.full(8, 2.5), b)["y"])


def test_chained_ops(rng, tmp_path):
    """LayerNorm feeding GroupNorm in one function of a three-function
    module (picked with --function)."""
    x, w = randn(rng, (2, 6, 5)), param(rng, 6, "f32")
    y, mean = nt.run_spec(CONST_SPEC, "ln_then_gn", [x, w], tmp_path)
    mid = nt.ref_layer_norm(x, (5,), eps=1e-3)["y"]
    ref = nt.ref_group_norm(mid, 3, w)
    nt.assert_close(y, ref["y"], what="y")
    nt.assert_close(mean, ref["mean"], what="mean")
