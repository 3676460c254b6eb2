"""normlir.functional against torch.nn.functional.

Every op and option on deterministic shapes, odd row sizes included (1, 3,
7, 33, 129 elements), f32 / f16 / bf16 inputs (low precision also with f32
parameters), with and without weight/bias, several eps values; BatchNorm
train/eval with and without running statistics (updated in place and compared
with torch's after the same call); InstanceNorm with and without running
statistics and use_input_stats; GroupNorm group variants; channels-last 4-D
and 5-D inputs (values and the output's memory format); NumPy in -> NumPy out;
inputs never modified; zero-copy evidence; non-contiguous views.

References: torch.nn.functional computed in float64 on the very same values
(torch 1.13's CPU bf16 kernels round intermediates, and reject mixed
bf16/f32 parameters). Tolerances: f32 within rtol 1e-5 plus 2e-5 * max(1,
max|ref|); f16/bf16 within 2 ulps of the low-precision type plus 1e-5 *
max(1, max|ref|) (one rounding of an f32 computation).
"""

import tracemalloc

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional

normlir = nt.import_normlir()

from normlir import functional as NF  # noqa: E402

TDT = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
NPDT = {"f32": np.float32, "f16": np.float16}
F32_EPS = float(torch.finfo(torch.float32).eps)


# ----------------------------------------------------------------------------
# Data and comparisons
# ----------------------------------------------------------------------------

def tensor(rng, shape, dtype="f32", scale=1.5, offset=0.3):
    a = rng.standard_normal(shape) * scale + offset
    return torch.from_numpy(np.asarray(a, np.float32)).to(TDT[dtype])


def param(rng, shape, dtype="f32"):
    """Weight/bias-like values of both signs, magnitude in [0.5, 1.5]."""
    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return torch.from_numpy(np.asarray(v, np.float32)).to(TDT[dtype])


def running(rng, c, dtype="f32"):
    rm = torch.from_numpy(rng.uniform(-1, 1, c).astype(np.float32))
    rv = torch.from_numpy(rng.uniform(0.5, 2, c).astype(np.float32))
    return rm.to(TDT[dtype]), rv.to(TDT[dtype])


def d(t):
    """A float64 copy of `t` (None stays None)."""
    return None if t is None else t.detach().to(torch.float64).clone()


def clone(t):
    return None if t is None else t.detach().clone()


def as64(a):
    if isinstance(a, torch.Tensor):
        return a.detach().to(torch.float64).cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def check(got, ref, dtype, what="y", ulps=2.0):
    """`got` (values of `dtype`) against the float64 reference `ref`."""
    g, r = as64(got), as64(ref)
    assert g.shape == r.shape, f"{what}: shape {g.shape} != {r.shape}"
    assert np.array_equal(np.isnan(g), np.isnan(r)), f"{what}: NaN mismatch"
    if g.size == 0:
        return
    scale = max(1.0, float(np.max(np.abs(r))))
    err = np.abs(g - r)
    if dtype == "f32":
        tol = 2e-5 * scale + 1e-5 * np.abs(r)
    else:
        tol = ulps * nt.ulp(np.maximum(np.abs(g), np.abs(r)), dtype) \
            + 1e-5 * scale
    bad = err > tol
    if bad.any():
        i = np.unravel_index(int(np.argmax(err - tol)), err.shape)
        raise AssertionError(
            f"{what} ({dtype}): {int(bad.sum())}/{err.size} elements out of "
            f"tolerance; worst at {tuple(int(k) for k in i)}: got {g[i]!r}, "
            f"expected {r[i]!r}, |diff| {err[i]:.3g} > {tol[i]:.3g}")


def check_result_tensor(y, x, dtype=None):
    """A new torch tensor of x's shape and dtype (or `dtype`), not x."""
    assert isinstance(y, torch.Tensor), type(y)
    assert y.shape == x.shape, (y.shape, x.shape)
    assert y.dtype == (x.dtype if dtype is None else dtype), y.dtype
    assert y.device == x.device
    if x.numel():
        assert y.data_ptr() != x.data_ptr(), "output aliases the input"


def assert_unchanged(pairs):
    """pairs: [(name, tensor or array, its copy from before the call)]."""
    for name, now, before in pairs:
        if now is None:
            continue
        if isinstance(now, torch.Tensor):
            assert torch.equal(now, before), f"{name} was modified"
        else:
            assert np.array_equal(now, before), f"{name} was modified"


def affine(rng, spec, shape, pdtype):
    """spec: 'wb', 'w', 'b' or '' -> (weight or None, bias or None)."""
    w = param(rng, shape, pdtype) if "w" in spec else None
    b = param(rng, shape, pdtype) if "b" in spec else None
    return w, b


def _id(v):
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    if v is None or v == "":
        return "none"
    return str(v)


# Deterministically sampled extra shapes (fixed seed: stable test ids).
_CASE_RNG = np.random.default_rng(0x6E6F726D)
ODD = (1, 3, 7, 33, 129)


def _sampled_row_cases(n):
    cases = []
    for _ in range(n):
        k = int(_CASE_RNG.integers(1, 3))
        ns = tuple(int(v) for v in _CASE_RNG.choice(ODD, k))
        if k == 2 and ns[0] * ns[1] > 1200:
            ns = (ns[0], 7)
        n_batch = int(_CASE_RNG.integers(0, 3))
        batch = tuple(int(v) for v in _CASE_RNG.choice((1, 2, 3, 5), n_batch))
        cases.append((batch + ns, ns))
    return cases


# ----------------------------------------------------------------------------
# LayerNorm
# ----------------------------------------------------------------------------

# (shape, normalized_shape, dtype, affine, param dtype, eps (None: default))
LN_CASES = [
    ((7, 1), (1,), "f32", "wb", "f32", None),
    ((5, 3), (3,), "f32", "w", "f32", 1e-3),
    ((3, 7), (7,), "f32", "", "f32", None),
    ((2, 3, 33), (33,), "f32", "b", "f32", 1e-6),
    ((4, 129), (129,), "f32", "wb", "f32", None),
    ((2, 5, 6, 7), (6, 7), "f32", "wb", "f32", 0.1),
    ((2, 3, 4, 5), (3, 4, 5), "f32", "", "f32", None),
    ((3, 1000), (1000,), "f32", "wb", "f32", None),
    ((3, 33), (33,), "f16", "wb", "f16", None),
    ((3, 33), (33,), "f16", "wb", "f32", None),
    ((2, 129), (129,), "bf16", "wb", "bf16", None),
    ((2, 129), (129,), "bf16", "wb", "f32", 1e-4),
    ((4, 7), (7,), "bf16", "", "bf16", None),
    ((2, 3, 4, 5), (4, 5), "f16", "w", "f32", None),
] + [(s, ns, "f32", "wb", "f32", None) for s, ns in _sampled_row_cases(2)]


@pytest.mark.parametrize("shape,ns,dtype,aff,pdtype,eps", LN_CASES,
                         ids=lambda v: _id(v))
def test_layer_norm(rng, shape, ns, dtype, aff, pdtype, eps):
    x = tensor(rng, shape, dtype)
    w, b = affine(rng, aff, ns, pdtype)
    before = [("x", x, clone(x)), ("weight", w, clone(w)),
              ("bias", b, clone(b))]
    ptr = x.data_ptr()
    kw = {} if eps is None else {"eps": eps}
    y = NF.layer_norm(x, list(ns), w, b, **kw)
    ref = F.layer_norm(d(x), list(ns), d(w), d(b),
                       1e-5 if eps is None else eps)
    check_result_tensor(y, x)
    check(y, ref, dtype)
    assert x.data_ptr() == ptr
    assert_unchanged(before)


def test_layer_norm_normalized_shape_types(rng):
    x = tensor(rng, (3, 5, 33))
    ref = F.layer_norm(d(x), [33], None, None, 1e-5)
    check(NF.layer_norm(x, (33,)), ref, "f32", "tuple")
    check(NF.layer_norm(x, [33]), ref, "f32", "list")
    check(NF.layer_norm(x, torch.Size([33])), ref, "f32", "torch.Size")


def test_layer_norm_constant_rows_give_bias(rng):
    """SEMANTICS.md: a constant row gives y = bias exactly."""
    x = torch.arange(1, 9, dtype=torch.float32).reshape(8, 1).repeat(1, 33)
    w, b = param(rng, (33,)), param(rng, (33,))
    y = NF.layer_norm(x, [33], w, b)
    assert torch.equal(y, b.expand(8, 33))


def test_layer_norm_wrong_normalized_shape(rng):
    x = tensor(rng, (3, 7))
    with pytest.raises((ValueError, RuntimeError)):
        NF.layer_norm(x, [6])


# ----------------------------------------------------------------------------
# RMSNorm
# ----------------------------------------------------------------------------

def rms_ref(x64, ns, w64, eps):
    """x * rsqrt(mean(x^2) + eps) * w; eps=None: float32's epsilon for every
    dtype (ATen's rms_norm upcasts f16/bf16 to float)."""
    dims = tuple(range(-len(ns), 0))
    e = F32_EPS if eps is None else eps
    y = x64 * torch.rsqrt(x64.pow(2).mean(dims, keepdim=True) + e)
    return y if w64 is None else y * w64


# (shape, normalized_shape, dtype, weight?, param dtype, eps, input scale)
RMS_CASES = [
    ((7, 1), (1,), "f32", True, "f32", None, 1.5),
    ((5, 3), (3,), "f32", False, "f32", None, 1.5),
    ((3, 33), (33,), "f32", True, "f32", 1e-6, 1.5),
    ((2, 3, 129), (129,), "f32", True, "f32", None, 1.5),
    ((2, 4, 7, 3), (7, 3), "f32", True, "f32", 1e-3, 1.5),
    ((3, 4, 16), (4, 16), "f32", False, "f32", None, 0.01),
    ((3, 33), (33,), "f16", True, "f16", None, 1.5),
    ((3, 33), (33,), "f16", True, "f32", 1e-5, 1.5),
    ((2, 129), (129,), "bf16", True, "bf16", None, 0.1),
    ((2, 129), (129,), "bf16", True, "f32", None, 1.5),
    ((4, 7), (7,), "bf16", False, "bf16", 1e-4, 1.5),
] + [(s, ns, "f32", True, "f32", None, 1.5) for s, ns in _sampled_row_cases(2)]


@pytest.mark.parametrize("shape,ns,dtype,weight,pdtype,eps,scale", RMS_CASES,
                         ids=lambda v: _id(v))
def test_rms_norm(rng, shape, ns, dtype, weight, pdtype, eps, scale):
    x = tensor(rng, shape, dtype, scale=scale, offset=0.1 * scale)
    w = param(rng, ns, pdtype) if weight else None
    before = [("x", x, clone(x)), ("weight", w, clone(w))]
    if eps is None:
        y = NF.rms_norm(x, list(ns), w)
    else:
        y = NF.rms_norm(x, list(ns), w, eps=eps)
    check_result_tensor(y, x)
    check(y, rms_ref(d(x), ns, d(w), eps), dtype)
    assert_unchanged(before)


def test_rms_norm_eps_none_is_float_epsilon(rng):
    """eps=None adds float32's epsilon (not finfo(bf16).eps) for bf16 too:
    with tiny inputs the two differ visibly."""
    x = tensor(rng, (4, 33), "bf16", scale=1e-3, offset=0.0)
    y = NF.rms_norm(x, [33], None, eps=None)
    check(y, rms_ref(d(x), (33,), None, None), "bf16")
    wrong = rms_ref(d(x), (33,), None, 0.0078125)
    assert not np.allclose(as64(y), as64(wrong), rtol=0.05)


# ----------------------------------------------------------------------------
# BatchNorm
# ----------------------------------------------------------------------------

# (shape, dtype, param dtype, training, running?, affine, momentum, eps)
BN_CASES = [
    ((16, 5), "f32", "f32", True, True, "wb", None, None),
    ((4, 3, 7), "f32", "f32", True, False, "", None, None),
    ((2, 3, 4, 5), "f32", "f32", False, True, "wb", None, 1e-3),
    ((3, 4, 1), "f32", "f32", True, True, "wb", 0.3, None),
    ((2, 33, 3, 3), "f32", "f32", True, True, "wb", 1.0, None),
    ((2, 3, 2, 3, 4), "f32", "f32", True, True, "wb", None, None),
    ((129, 2), "f32", "f32", True, True, "", 0.1, 1e-4),
    ((2, 5, 3, 3), "f32", "f32", True, True, "w", None, None),
    ((2, 7, 9), "f32", "f32", False, True, "b", None, None),
    ((3, 1, 129), "f32", "f32", True, False, "wb", None, None),
    ((4, 8, 5), "f16", "f32", True, True, "wb", None, None),
    ((4, 8, 5), "f16", "f16", False, True, "wb", None, None),
    ((4, 8, 5), "bf16", "bf16", True, True, "wb", None, None),
    ((4, 3, 6, 6), "bf16", "f32", False, True, "wb", None, None),
    ((2, 3, 2, 3, 4), "bf16", "f32", True, True, "wb", 0.2, None),
]


@pytest.mark.parametrize(
    "shape,dtype,pdtype,training,has_running,aff,momentum,eps", BN_CASES,
    ids=lambda v: _id(v))
def test_batch_norm(rng, shape, dtype, pdtype, training, has_running, aff,
                    momentum, eps):
    c = shape[1]
    x = tensor(rng, shape, dtype)
    w, b = affine(rng, aff, (c,), pdtype)
    rm, rv = running(rng, c, pdtype) if has_running else (None, None)
    ref_rm, ref_rv = d(rm), d(rv)
    before = [("x", x, clone(x)), ("weight", w, clone(w)),
              ("bias", b, clone(b))]
    if not training:
        before += [("running_mean", rm, clone(rm)),
                   ("running_var", rv, clone(rv))]
    ptrs = [t.data_ptr() for t in (rm, rv) if t is not None]
    kw = {}
    if momentum is not None:
        kw["momentum"] = momentum
    if eps is not None:
        kw["eps"] = eps
    y = NF.batch_norm(x, rm, rv, w, b, training=training, **kw)
    ref = F.batch_norm(d(x), ref_rm, ref_rv, d(w), d(b), training,
                       0.1 if momentum is None else momentum,
                       1e-5 if eps is None else eps)
    check_result_tensor(y, x)
    check(y, ref, dtype)
    assert_unchanged(before)
    if has_running:
        assert [t.data_ptr() for t in (rm, rv)] == ptrs
        assert rm.dtype == rv.dtype == TDT[pdtype]
        check(rm, ref_rm, pdtype, "running_mean")
        check(rv, ref_rv, pdtype, "running_var")


def test_batch_norm_running_stats_over_several_calls(rng):
    """Three training calls then an eval call on the same running tensors,
    in place, as torch's."""
    c = 6
    rm, rv = running(rng, c)
    ref_rm, ref_rv = d(rm), d(rv)
    w, b = param(rng, (c,)), param(rng, (c,))
    for step in range(3):
        x = tensor(rng, (5, c, 7), scale=1 + step, offset=step - 1.0)
        y = NF.batch_norm(x, rm, rv, w, b, training=True, momentum=0.25)
        ref = F.batch_norm(d(x), ref_rm, ref_rv, d(w), d(b), True, 0.25, 1e-5)
        check(y, ref, "f32", f"y[{step}]")
        check(rm, ref_rm, "f32", f"running_mean[{step}]")
        check(rv, ref_rv, "f32", f"running_var[{step}]")
    x = tensor(rng, (5, c, 7))
    rm0, rv0 = rm.clone(), rv.clone()
    y = NF.batch_norm(x, rm, rv, w, b, training=False)
    check(y, F.batch_norm(d(x), ref_rm, ref_rv, d(w), d(b), False, 0.1,
                          1e-5), "f32", "eval y")
    assert torch.equal(rm, rm0) and torch.equal(rv, rv0)


def test_batch_norm_one_value_per_channel_is_an_error(rng):
    x = tensor(rng, (1, 4))
    rm, rv = running(rng, 4)
    rm0, rv0 = rm.clone(), rv.clone()
    with pytest.raises((ValueError, RuntimeError),
                       match=r"(?i)more than 1 value per channel"):
        NF.batch_norm(x, rm, rv, training=True)
    assert torch.equal(rm, rm0) and torch.equal(rv, rv0)


def test_batch_norm_eval_without_running_stats_is_an_error(rng):
    x = tensor(rng, (4, 3))
    with pytest.raises((ValueError, RuntimeError, TypeError)):
        NF.batch_norm(x, None, None, training=False)


# ----------------------------------------------------------------------------
# InstanceNorm
# ----------------------------------------------------------------------------

# (shape, dtype, param dtype, affine, running?, use_input_stats, momentum)
IN_CASES = [
    ((3, 4, 9), "f32", "f32", "", False, True, None),
    ((2, 3, 4, 5), "f32", "f32", "wb", False, True, None),
    ((2, 3, 7, 1), "f32", "f32", "w", False, True, None),
    ((1, 3, 129), "f32", "f32", "wb", False, True, None),
    ((2, 3, 2, 3, 4), "f32", "f32", "wb", True, True, 0.2),
    ((3, 4, 33), "f32", "f32", "", True, True, None),
    ((2, 5, 33), "f32", "f32", "wb", True, False, None),
    ((2, 4, 5, 3), "f16", "f32", "wb", False, True, None),
    ((2, 4, 5, 3), "f16", "f16", "wb", True, True, 0.5),
    ((2, 3, 8, 8), "bf16", "bf16", "wb", True, True, None),
    ((2, 3, 8, 8), "bf16", "f32", "b", True, False, None),
]


@pytest.mark.parametrize(
    "shape,dtype,pdtype,aff,has_running,use_input_stats,momentum", IN_CASES,
    ids=lambda v: _id(v))
def test_instance_norm(rng, shape, dtype, pdtype, aff, has_running,
                       use_input_stats, momentum):
    c = shape[1]
    x = tensor(rng, shape, dtype)
    w, b = affine(rng, aff, (c,), pdtype)
    rm, rv = running(rng, c, pdtype) if has_running else (None, None)
    ref_rm, ref_rv = d(rm), d(rv)
    before = [("x", x, clone(x)), ("weight", w, clone(w)),
              ("bias", b, clone(b))]
    if not use_input_stats:
        before += [("running_mean", rm, clone(rm)),
                   ("running_var", rv, clone(rv))]
    kw = {} if momentum is None else {"momentum": momentum}
    y = NF.instance_norm(x, rm, rv, w, b, use_input_stats=use_input_stats,
                         **kw)
    ref = F.instance_norm(d(x), ref_rm, ref_rv, d(w), d(b), use_input_stats,
                          0.1 if momentum is None else momentum, 1e-5)
    check_result_tensor(y, x)
    check(y, ref, dtype)
    assert_unchanged(before)
    if has_running:
        check(rm, ref_rm, pdtype, "running_mean")
        check(rv, ref_rv, pdtype, "running_var")


def test_instance_norm_eps(rng):
    x = tensor(rng, (2, 3, 7), scale=0.01)
    y = NF.instance_norm(x, eps=1e-2)
    check(y, F.instance_norm(d(x), eps=1e-2), "f32")


# ----------------------------------------------------------------------------
# GroupNorm
# ----------------------------------------------------------------------------

# (shape, groups, dtype, param dtype, affine, eps)
GN_CASES = [
    ((2, 4, 3, 3), 1, "f32", "f32", "wb", None),
    ((2, 4, 3, 3), 2, "f32", "f32", "wb", None),
    ((2, 4, 3, 3), 4, "f32", "f32", "wb", 1e-3),
    ((3, 6, 7), 3, "f32", "f32", "", None),
    ((2, 6, 2, 3, 2), 2, "f32", "f32", "wb", None),
    ((5, 6), 2, "f32", "f32", "w", None),
    ((2, 33, 5), 3, "f32", "f32", "wb", None),
    ((1, 8, 129), 8, "f32", "f32", "b", 1e-6),
    ((2, 7, 3, 3), 7, "f32", "f32", "wb", None),
    ((2, 8, 4, 4), 4, "f16", "f32", "wb", None),
    ((2, 8, 4, 4), 2, "f16", "f16", "wb", None),
    ((2, 8, 4, 4), 2, "bf16", "bf16", "wb", None),
    ((3, 6, 33), 3, "bf16", "f32", "wb", None),
]


@pytest.mark.parametrize("shape,groups,dtype,pdtype,aff,eps", GN_CASES,
                         ids=lambda v: _id(v))
def test_group_norm(rng, shape, groups, dtype, pdtype, aff, eps):
    c = shape[1]
    x = tensor(rng, shape, dtype)
    w, b = affine(rng, aff, (c,), pdtype)
    before = [("x", x, clone(x)), ("weight", w, clone(w)),
              ("bias", b, clone(b))]
    kw = {} if eps is None else {"eps": eps}
    y = NF.group_norm(x, groups, w, b, **kw)
    ref = F.group_norm(d(x), groups, d(w), d(b), 1e-5 if eps is None else eps)
    check_result_tensor(y, x)
    check(y, ref, dtype)
    assert_unchanged(before)


def test_group_norm_groups_must_divide_channels(rng):
    x = tensor(rng, (2, 6, 4))
    with pytest.raises((ValueError, RuntimeError)):
        NF.group_norm(x, 4)


def test_group_norm_tutorial_example():
    """SEMANTICS.md: GroupNorm(2, 4) on channel c of sample b all (c+1)(b+1)
    gives -1, 1, -1, 1 per channel (+-0.99998 with eps)."""
    x = torch.stack([torch.stack([torch.full((2, 2), (c + 1.0) * (b + 1))
                                  for c in range(4)]) for b in range(2)])
    y = NF.group_norm(x, 2, torch.ones(4), torch.zeros(4))
    check(y, F.group_norm(d(x), 2, None, None, 1e-5), "f32")
    assert torch.allclose(y[:, :, 0, 0],
                          torch.tensor([-1.0, 1.0, -1.0, 1.0]).expand(2, 4),
                          atol=1e-4)


# ----------------------------------------------------------------------------
# Channels-last inputs
# ----------------------------------------------------------------------------

CL_SHAPES = {4: (2, 6, 5, 3), 5: (2, 6, 3, 4, 3)}
CL_FORMATS = {4: torch.channels_last, 5: torch.channels_last_3d}


@pytest.mark.parametrize("rank", [4, 5])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm", "group_norm"])
def test_channels_last(rng, op, rank):
    shape, mf = CL_SHAPES[rank], CL_FORMATS[rank]
    c = shape[1]
    x = tensor(rng, shape).contiguous(memory_format=mf)
    assert x.is_contiguous(memory_format=mf) and not x.is_contiguous()
    w, b = param(rng, (c,)), param(rng, (c,))
    rm, rv = running(rng, c)
    ref_rm, ref_rv = d(rm), d(rv)
    x0, ptr = x.clone(memory_format=torch.preserve_format), x.data_ptr()
    if op == "batch_norm":
        y = NF.batch_norm(x, rm, rv, w, b, training=True)
        ref = F.batch_norm(d(x), ref_rm, ref_rv, d(w), d(b), True, 0.1, 1e-5)
    elif op == "instance_norm":
        y = NF.instance_norm(x, rm, rv, w, b, use_input_stats=True,
                             momentum=0.3)
        ref = F.instance_norm(d(x), ref_rm, ref_rv, d(w), d(b), True, 0.3,
                              1e-5)
    else:
        y = NF.group_norm(x, 3, w, b)
        ref = F.group_norm(d(x), 3, d(w), d(b), 1e-5)
    check_result_tensor(y, x)
    check(y, ref, "f32")
    assert y.is_contiguous(memory_format=mf), (
        f"output lost the channels-last layout: strides {y.stride()}")
    if op != "group_norm":
        check(rm, ref_rm, "f32", "running_mean")
        check(rv, ref_rv, "f32", "running_var")
    assert x.data_ptr() == ptr and torch.equal(x, x0)
    assert x.is_contiguous(memory_format=mf)


@pytest.mark.parametrize("op", ["batch_norm_eval", "group_norm"])
def test_channels_last_bf16_mixed(rng, op):
    shape, mf = (2, 8, 3, 5), torch.channels_last
    x = tensor(rng, shape, "bf16").contiguous(memory_format=mf)
    w, b = param(rng, (8,)), param(rng, (8,))
    if op == "group_norm":
        y = NF.group_norm(x, 4, w, b)
        ref = F.group_norm(d(x), 4, d(w), d(b), 1e-5)
    else:
        rm, rv = running(rng, 8)
        y = NF.batch_norm(x, rm, rv, w, b, training=False)
        ref = F.batch_norm(d(x), d(rm), d(rv), d(w), d(b), False, 0.1, 1e-5)
    check_result_tensor(y, x)
    check(y, ref, "bf16")
    assert y.is_contiguous(memory_format=mf)


# ----------------------------------------------------------------------------
# NumPy in, NumPy out
# ----------------------------------------------------------------------------

def npa(rng, shape, scale=1.5, offset=0.3, dtype=np.float32):
    return (rng.standard_normal(shape) * scale + offset).astype(dtype)


def npp(rng, shape):
    v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return v.astype(np.float32)


def t64(a):
    return None if a is None else torch.from_numpy(
        np.asarray(a, dtype=np.float64).copy())


def check_numpy_result(y, x):
    assert isinstance(y, np.ndarray), type(y)
    assert y.shape == x.shape and y.dtype == x.dtype, (y.shape, y.dtype)
    assert not np.shares_memory(y, x)


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_numpy_layer_norm(rng, dtype):
    x = npa(rng, (3, 5, 33), dtype=NPDT[dtype])
    w, b = npp(rng, (33,)), npp(rng, (33,))  # f32 (mixed for f16)
    copies = [(n, a, a.copy()) for n, a in (("x", x), ("w", w), ("b", b))]
    y = NF.layer_norm(x, (33,), w, b, eps=1e-4)
    check_numpy_result(y, x)
    check(y, F.layer_norm(t64(x), [33], t64(w), t64(b), 1e-4), dtype)
    assert_unchanged(copies)


def test_numpy_rms_norm(rng):
    x, w = npa(rng, (4, 7, 3)), npp(rng, (7, 3))
    copies = [("x", x, x.copy()), ("w", w, w.copy())]
    y = NF.rms_norm(x, [7, 3], w)
    check_numpy_result(y, x)
    check(y, rms_ref(t64(x), (7, 3), t64(w), None), "f32")
    assert_unchanged(copies)


@pytest.mark.parametrize("training", [True, False])
def test_numpy_batch_norm_running_stats_in_place(rng, training):
    c = 5
    x, w, b = npa(rng, (4, c, 3, 3)), npp(rng, (c,)), npp(rng, (c,))
    rm = rng.uniform(-1, 1, c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    ref_rm, ref_rv = t64(rm), t64(rv)
    copies = [("x", x, x.copy()), ("w", w, w.copy()), ("b", b, b.copy())]
    rm0 = rm.copy()
    y = NF.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2)
    check_numpy_result(y, x)
    ref = F.batch_norm(t64(x), ref_rm, ref_rv, t64(w), t64(b), training, 0.2,
                       1e-5)
    check(y, ref, "f32")
    assert rm.dtype == rv.dtype == np.float32
    check(rm, ref_rm, "f32", "running_mean")
    check(rv, ref_rv, "f32", "running_var")
    if training:
        assert not np.array_equal(rm, rm0), "running_mean not updated"
    else:
        assert np.array_equal(rm, rm0)
    assert_unchanged(copies)


def test_numpy_instance_norm(rng):
    c = 3
    x, w, b = npa(rng, (2, c, 33)), npp(rng, (c,)), npp(rng, (c,))
    rm = rng.uniform(-1, 1, c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    ref_rm, ref_rv = t64(rm), t64(rv)
    x0 = x.copy()
    y = NF.instance_norm(x, rm, rv, w, b, use_input_stats=True)
    check_numpy_result(y, x)
    check(y, F.instance_norm(t64(x), ref_rm, ref_rv, t64(w), t64(b), True,
                             0.1, 1e-5), "f32")
    check(rm, ref_rm, "f32", "running_mean")
    check(rv, ref_rv, "f32", "running_var")
    assert np.array_equal(x, x0)


def test_numpy_group_norm_read_only_inputs(rng):
    """Inputs are never written: read-only arrays are accepted."""
    x, w, b = npa(rng, (2, 6, 7)), npp(rng, (6,)), npp(rng, (6,))
    for a in (x, w, b):
        a.flags.writeable = False
    y = NF.group_norm(x, 3, w, b)
    check_numpy_result(y, x)
    check(y, F.group_norm(t64(x), 3, t64(w), t64(b), 1e-5), "f32")


def test_numpy_read_only_layer_norm(rng):
    x = npa(rng, (4, 33))
    x.flags.writeable = False
    y = NF.layer_norm(x, [33])
    check_numpy_result(y, x)
    check(y, F.layer_norm(t64(x), [33], None, None, 1e-5), "f32")


@pytest.mark.parametrize("rank", [4, 5])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm", "group_norm"])
def test_numpy_channels_last_view(rng, op, rank):
    """An (N, C, *S) view of a dense (N, *S, C) array: the right values, and
    the output in the input's layout."""
    shape = CL_SHAPES[rank]
    c = shape[1]
    dense = npa(rng, (shape[0], *shape[2:], c))
    x = np.moveaxis(dense, -1, 1)
    assert x.shape == shape and not x.flags.c_contiguous
    dense0 = dense.copy()
    w, b = npp(rng, (c,)), npp(rng, (c,))
    rm = rng.uniform(-1, 1, c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    ref_rm, ref_rv = t64(rm), t64(rv)
    x64 = t64(x)
    if op == "batch_norm":
        y = NF.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
        ref = F.batch_norm(x64, ref_rm, ref_rv, t64(w), t64(b), True, 0.3,
                           1e-5)
    elif op == "instance_norm":
        y = NF.instance_norm(x, rm, rv, w, b)
        ref = F.instance_norm(x64, ref_rm, ref_rv, t64(w), t64(b), True, 0.1,
                              1e-5)
    else:
        y = NF.group_norm(x, 2, w, b, eps=1e-4)
        ref = F.group_norm(x64, 2, t64(w), t64(b), 1e-4)
    assert isinstance(y, np.ndarray) and y.shape == shape
    assert y.dtype == np.float32 and not np.shares_memory(y, x)
    check(y, ref, "f32")
    assert np.moveaxis(y, 1, -1).flags.c_contiguous, (
        f"output not channels-last: strides {y.strides}")
    if op != "group_norm":
        check(rm, ref_rm, "f32", "running_mean")
        check(rv, ref_rv, "f32", "running_var")
    assert np.array_equal(dense, dense0)


# ----------------------------------------------------------------------------
# Non-contiguous views
# ----------------------------------------------------------------------------

def test_layer_norm_transposed_view(rng):
    base = tensor(rng, (33, 5, 7))
    x = base.transpose(0, 2)  # (7, 5, 33), the normalized dim strided
    assert not x.is_contiguous()
    base0 = base.clone()
    w = param(rng, (33,))
    y = NF.layer_norm(x, [33], w, None)
    assert y.shape == x.shape
    check(y, F.layer_norm(d(x), [33], d(w), None, 1e-5), "f32")
    assert torch.equal(base, base0)


def test_group_norm_sliced_view(rng):
    base = tensor(rng, (2, 6, 14))
    x = base[:, :, ::2]
    assert not x.is_contiguous()
    y = NF.group_norm(x, 2)
    check(y, F.group_norm(d(x), 2, None, None, 1e-5), "f32")


def test_rms_norm_transposed_view(rng):
    x = tensor(rng, (7, 4)).t()  # (4, 7)
    y = NF.rms_norm(x, [7])
    check(y, rms_ref(d(x), (7,), None, None), "f32")


def test_batch_norm_transposed_3d_view(rng):
    """(N, L, C).transpose(1, 2): an (N, C, L) view with C innermost."""
    x = tensor(rng, (3, 9, 4)).transpose(1, 2)
    rm, rv = running(rng, 4)
    ref_rm, ref_rv = d(rm), d(rv)
    y = NF.batch_norm(x, rm, rv, training=True)
    check(y, F.batch_norm(d(x), ref_rm, ref_rv, None, None, True, 0.1, 1e-5),
          "f32")
    check(rm, ref_rm, "f32", "running_mean")
    check(rv, ref_rv, "f32", "running_var")


# ----------------------------------------------------------------------------
# Zero-copy evidence
# ----------------------------------------------------------------------------

def _allocated_bytes(fn):
    """(result, bytes allocated while fn runs): torch's CPU allocator as seen
    by the profiler, plus the peak of traced (NumPy / Python) memory in a
    second call (apart: torch 2.x's profiler allocates tens of MB of Python
    memory of its own), plus the host cache's blocks handed out."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        fn()
    torch_bytes = sum(e.self_cpu_memory_usage for e in prof.events()
                      if e.self_cpu_memory_usage > 0)
    cached = normlir.host_cache_info().in_use_bytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cached = normlir.host_cache_info().in_use_bytes - cached
    return result, torch_bytes + max(0, peak - base) + max(0, cached)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_torch_inputs_are_not_copied(rng, layout):
    """Input of 4 MiB: the call allocates the output (4 MiB) and small
    statistics, never a copy of the input."""
    if layout == "contiguous":
        x = tensor(rng, (256, 4096))
        w, b = param(rng, (4096,)), param(rng, (4096,))

        def call():
            return NF.layer_norm(x, [4096], w, b)
    else:
        x = tensor(rng, (16, 64, 32, 32)).contiguous(
            memory_format=torch.channels_last)
        w, b = param(rng, (64,)), param(rng, (64,))
        rm, rv = running(rng, 64)

        def call():
            return NF.batch_norm(x, rm, rv, w, b, training=True)
    call()  # compiles and warms every cache
    y, nbytes = _allocated_bytes(call)
    x_bytes = x.numel() * x.element_size()
    assert nbytes <= x_bytes + x_bytes // 2, (
        f"{nbytes} bytes allocated for a {x_bytes}-byte input and output: "
        f"the input was copied")
    assert y.data_ptr() != x.data_ptr()


def test_numpy_inputs_are_not_copied(rng):
    x = npa(rng, (256, 4096))
    w = npp(rng, (4096,))

    def call():
        return NF.rms_norm(x, [4096], w)
    call()
    y, nbytes = _allocated_bytes(call)
    assert nbytes <= x.nbytes + x.nbytes // 2, (
        f"{nbytes} bytes allocated for a {x.nbytes}-byte input and output: "
        f"the input was copied")
    check(y, rms_ref(t64(x), (4096,), t64(w), None), "f32")


def test_each_call_returns_a_fresh_output(rng):
    x = tensor(rng, (3, 33))
    y1 = NF.layer_norm(x, [33])
    y2 = NF.layer_norm(x, [33])
    assert y1.data_ptr() != y2.data_ptr()
    assert torch.equal(y1, y2)
