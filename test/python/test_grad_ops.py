"""Execution tests of the core gradient ops (norm.grad_moments,
norm.apply_grad, norm.param_grad) on the linalg path: each norm's backward,
written at the core level after its forward statistics, against PyTorch's
float64 autograd of the generic forward (x - E_A[x]) / sqrt(Var_A[x] + eps)
* w + b (or x / sqrt(E_A[x^2] + eps) * w), which every named norm is an
instance of."""

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")


def shape_str(shape, dtype):
    return nt.ttype(shape, dtype)


def backward_spec(shape, axes, param_axes, dtype, centered=True, weight=True,
                  eps=1e-5, zero_degenerate=False, stats_from_input=True):
    """@bwd(x, dy[, w][, mean, var]) -> (dx[, dw, db]): the forward's
    statistics over `axes` (from x, or given as running statistics when not
    `stats_from_input`), then the gradient ops."""
    rank = len(shape)
    stat = [1 if d in axes else s for d, s in enumerate(shape)]
    pshape = [shape[a] for a in param_axes]
    xt, st = shape_str(shape, dtype), shape_str(stat, "f32")
    pt = shape_str(pshape, "f32")
    args = [f"%x: {xt}", f"%dy: {xt}"]
    if weight:
        args.append(f"%w: {pt}")
    if not stats_from_input:
        args += [f"%rm: {st}", f"%rv: {st}"]
    ax = ", ".join(map(str, axes))
    pa = ", ".join(map(str, param_axes))
    body = []
    zd = " {zero_degenerate}" if zero_degenerate else ""
    if not stats_from_input:
        mean, var = "%rm", "%rv"
    elif centered:
        body.append(f"%m, %v = norm.moments %x axes = [{ax}] : {xt} -> {st}, {st}")
        mean, var = "%m", "%v"
    else:
        body.append(f"%v = norm.mean_square %x axes = [{ax}] : {xt} -> {st}")
        mean, var = None, "%v"
    body.append(f"%r = norm.rstd {var} epsilon = {nt.fmt_f64(eps).split()[0]}{zd} : {st} -> {st}")
    mean_op = f" mean {mean}" if mean else ""
    mean_t = [st] if mean else []
    w_op = " weight %w" if weight else ""
    w_t = [pt] if weight else []
    w_attr = f" {{param_axes = array<i64: {pa}>}}" if weight else ""
    grads = ""
    grads_t = []
    if stats_from_input:
        ins = ", ".join([xt, xt] + mean_t + [st] + w_t)
        body.append(f"%mg, %mgx = norm.grad_moments %x, %dy{mean_op} rstd %r{w_op} "
                    f"axes = [{ax}]{w_attr} : ({ins}) -> ({st}, {st})")
        grads = (" mean_g %mg" if centered else "") + " mean_gxhat %mgx"
        grads_t = [st, st] if centered else [st]
    ins = ", ".join([xt, xt] + mean_t + [st] + w_t + grads_t)
    body.append(f"%dx = norm.apply_grad %x, %dy{mean_op} rstd %r{w_op}{grads}{w_attr} "
                f": ({ins}) -> {xt}")
    results, rtypes = ["%dx"], [xt]
    if weight:
        ins = ", ".join([xt, xt] + mean_t + [st])
        body.append(f"%dw, %db = norm.param_grad %x, %dy{mean_op} rstd %r "
                    f"param_axes = [{pa}] : ({ins}) -> ({pt}, {pt})")
        results += ["%dw", "%db"]
        rtypes += [pt, pt]
    text = (f"func.func @bwd({', '.join(args)}) -> ({', '.join(rtypes)}) {{\n  "
            + "\n  ".join(body)
            + f"\n  return {', '.join(results)} : {', '.join(rtypes)}\n}}\n")
    return text


def reference(x, dy, w, axes, param_axes, centered=True, eps=1e-5,
              running=None):
    """float64 autograd of the generic forward; returns dx, dw, db."""
    shape = x.shape
    bshape = [shape[d] if d in param_axes else 1 for d in range(len(shape))]
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    wt = (torch.tensor(np.asarray(w, np.float64).reshape(bshape),
                       requires_grad=True) if w is not None else None)
    bt = (torch.zeros(bshape, dtype=torch.float64, requires_grad=True)
          if w is not None else None)
    if running is not None:
        m = torch.tensor(running[0], dtype=torch.float64)
        v = torch.tensor(running[1], dtype=torch.float64)
        xh = (xt - m) / torch.sqrt(v + eps)
    elif centered:
        m = xt.mean(dim=axes, keepdim=True)
        v = ((xt - m) ** 2).mean(dim=axes, keepdim=True)
        xh = (xt - m) / torch.sqrt(v + eps)
    else:
        xh = xt / torch.sqrt((xt * xt).mean(dim=axes, keepdim=True) + eps)
    y = xh * wt + bt if w is not None else xh
    y.backward(torch.tensor(np.asarray(dy, np.float64)))
    dw = wt.grad.numpy().reshape([shape[a] for a in param_axes]) if w is not None else None
    db = bt.grad.numpy().reshape([shape[a] for a in param_axes]) if w is not None else None
    return xt.grad.numpy(), dw, db


CASES = {
    # name: (shape, stat axes, param axes, centered)
    "layer_norm": ((6, 40), (1,), (1,), True),
    "layer_norm_2d_normalized": ((3, 4, 5, 6), (2, 3), (2, 3), True),
    "rms_norm": ((6, 40), (1,), (1,), False),
    "batch_norm_nchw": ((4, 3, 5, 6), (0, 2, 3), (1,), True),
    "batch_norm_channels_last": ((4, 5, 6, 3), (0, 1, 2), (3,), True),
    "instance_norm": ((2, 3, 5, 7), (2, 3), (1,), True),
    # GroupNorm, channels (6) split into (G=3, C/G=2): (N, G, C/G, H*W).
    "group_norm": ((2, 3, 2, 20), (2, 3), (1, 2), True),
    "group_norm_channels_last": ((2, 20, 3, 2), (1, 3), (2, 3), True),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("weight", [True, False])
def test_backward_f32(rng, tmp_path, name, weight):
    shape, axes, param_axes, centered = CASES[name]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    w = (rng.uniform(0.5, 1.5, [shape[a] for a in param_axes]).astype(np.float32)
         if weight else None)
    text = backward_spec(shape, axes, param_axes, "f32", centered, weight)
    got = nt.run_spec(text, "bwd", [x, dy] + ([w] if weight else []), tmp_path)
    dx, dw, db = reference(x, dy, w, axes, param_axes, centered)
    nt.assert_close(got[0], dx, what="dx")
    if weight:
        nt.assert_close(got[1], dw, what="dweight")
        nt.assert_close(got[2], db, what="dbias")


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("name", ["layer_norm", "rms_norm", "group_norm"])
def test_backward_16_bit(rng, tmp_path, dtype, name):
    """16-bit x and dy, f32 statistics and parameters: dx rounded once from
    f32, the parameter gradients f32 sums of the 16-bit values."""
    shape, axes, param_axes, centered = CASES[name]
    x = nt.quantize(rng.standard_normal(shape) * 2 + 0.5, dtype)
    dy = nt.quantize(rng.standard_normal(shape), dtype)
    w = rng.uniform(0.5, 1.5, [shape[a] for a in param_axes]).astype(np.float32)
    text = backward_spec(shape, axes, param_axes, dtype, centered)
    got = nt.run_spec(text, "bwd", [nt.to_input(x, dtype), nt.to_input(dy, dtype), w],
                      tmp_path)
    dx, dw, db = reference(x, dy, w, axes, param_axes, centered)
    nt.assert_close_lowp(got[0], dx, dtype, ulps=1.0, what="dx")
    nt.assert_close(got[1], dw, what="dweight")
    nt.assert_close(got[2], db, what="dbias")


def assert_large_mean(got, ref, what):
    """The forward's large-mean standard (test_execution.py): 1e-3 of
    float64. The saved f32 mean is off by up to half an ulp of 1e4 (5e-4,
    0.2% of the spread of U(0, 1)); every xhat, forward and backward, moves
    with it."""
    nt.assert_close(got, ref, rtol=1e-3, atol=1e-3 * np.max(np.abs(ref)),
                    what=what)


def assert_dweight_to_mean_rounding(got, ref, x, dy, axes, param_axes):
    """dweight = sum(dy * xhat) over the other axes is exact to the saved
    f32 mean: rounding the mean by delta (at most half its ulp) moves each
    term by dy * rstd * delta, so the error is held to the sum of those
    bounds plus 1e-5 of float64."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(((x64 - mean) ** 2).mean(axis=axes, keepdims=True) + 1e-5)
    half_ulp = np.spacing(mean.astype(np.float32)).astype(np.float64) / 2
    other = tuple(d for d in range(x.ndim) if d not in param_axes)
    bound = (np.abs(dy.astype(np.float64)) * rstd * half_ulp).sum(axis=other)
    err = np.abs(got.astype(np.float64) - ref)
    tol = bound.reshape(ref.shape) + 1e-5 * np.max(np.abs(ref))
    assert np.all(err <= tol), f"dweight: error {err.max():.3g}, bound {tol.max():.3g}"


def test_backward_large_mean(rng, tmp_path):
    """1e4 + U(0, 1) rows: the statistics are centred, so the gradients keep
    the forward's accuracy (a one-pass E[x^2] - E[x]^2 would lose all
    digits)."""
    shape, axes, param_axes, _ = CASES["layer_norm"]
    x = (1e4 + rng.uniform(0, 1, shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
    text = backward_spec(shape, axes, param_axes, "f32")
    got = nt.run_spec(text, "bwd", [x, dy, w], tmp_path)
    dx, dw, db = reference(x, dy, w, axes, param_axes)
    assert_large_mean(got[0], dx, "dx")
    assert_dweight_to_mean_rounding(got[1], dw, x, dy, axes, param_axes)
    nt.assert_close(got[2], db, what="dbias")


def test_backward_group_norm_channels_last_large_mean(rng, tmp_path):
    """The case PyTorch's own channels-last GroupNorm backward gets 10^3
    times wrong (mean 1e3, f32). The fused channel backward recomputes the
    mean in f64 and subtracts it as two floats, so every gradient is within
    1e-5 of float64 (better than the forward's large-mean standard, which
    the saved f32 mean limits)."""
    shape, axes, param_axes, _ = CASES["group_norm_channels_last"]
    x = (1e3 + rng.standard_normal(shape)).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, [shape[a] for a in param_axes]).astype(np.float32)
    text = backward_spec(shape, axes, param_axes, "f32")
    got = nt.run_spec(text, "bwd", [x, dy, w], tmp_path)
    for g, r, what in zip(got, reference(x, dy, w, axes, param_axes),
                          ["dx", "dweight", "dbias"]):
        nt.assert_close(g, r, what=what)


def test_backward_running_statistics(rng, tmp_path):
    """BatchNorm eval: the statistics are constants, dx = rstd * dy * w."""
    shape, axes, param_axes = (4, 3, 5, 6), (0, 2, 3), (1,)
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    rm = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    rv = rng.uniform(0.5, 2, (1, 3, 1, 1)).astype(np.float32)
    text = backward_spec(shape, axes, param_axes, "f32", stats_from_input=False)
    got = nt.run_spec(text, "bwd", [x, dy, w, rm, rv], tmp_path)
    dx, dw, db = reference(x, dy, w, axes, param_axes, running=(rm, rv))
    nt.assert_close(got[0], dx, what="dx")
    nt.assert_close(got[1], dw, what="dweight")
    nt.assert_close(got[2], db, what="dbias")


def test_backward_long_reduction(rng, tmp_path):
    """2^20 elements per statistic (BatchNorm over 16 maps of 256x256), a
    mean of 3.5 and dy > 0: the fused channel backward's f64 partials keep
    all three gradients within 1e-5 of float64 (dweight included: its
    statistics are recomputed in f64, not taken from a rounded f32 mean)."""
    shape, axes, param_axes = (16, 2, 256, 256), (0, 2, 3), (1,)
    x = (rng.uniform(0, 1, shape) + 3).astype(np.float32)
    dy = rng.uniform(0, 1, shape).astype(np.float32)
    w = np.array([0.75, 1.25], np.float32)
    text = backward_spec(shape, axes, param_axes, "f32")
    got = nt.run_spec(text, "bwd", [x, dy, w], tmp_path)
    for g, r, what in zip(got, reference(x, dy, w, axes, param_axes),
                          ["dx", "dweight", "dbias"]):
        nt.assert_close(g, r, what=what)


@pytest.mark.parametrize("shape,axes,stat", [
    ((4, 37), [1], (4, 1)),            # the row form
    ((6, 5, 40), [0, 2], (1, 5, 1)),   # the segment form
    ((9, 3, 4), [0, 1], (1, 1, 4)),    # the column form
])
def test_given_statistics_are_used_as_given(rng, tmp_path, shape, axes,
                                            stat):
    """Core gradient ops with statistics given as arguments that are not the
    input's own (no input_statistics): the fused kernel (norm-fuse-grad in
    the CPU pipeline) computes exactly the ops' semantics with that mean and
    rstd, not a mean refined from x."""
    st, xt = nt.ttype(stat, "f32"), nt.ttype(shape, "f32")
    ax = ", ".join(map(str, axes))
    text = f"""
func.func @g(%x: {xt}, %dy: {xt}, %m: {st}, %r: {st}) -> {xt} {{
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r axes = [{ax}]
      : ({xt}, {xt}, {st}, {st}) -> ({st}, {st})
  %dx = norm.apply_grad %x, %dy mean %m rstd %r mean_g %mg mean_gxhat %mgx
      : ({xt}, {xt}, {st}, {st}, {st}, {st}) -> {xt}
  return %dx : {xt}
}}"""
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    m = (x.mean(tuple(axes), keepdims=True) + 1.0).astype(np.float32)
    r = rng.uniform(1.5, 2.5, stat).astype(np.float32)
    (got,) = nt.run_spec(text, "g", [x, dy, m, r], tmp_path)
    xd, dyd = x.astype(np.float64), dy.astype(np.float64)
    xh = (xd - m) * r
    ref = r * (dyd - dyd.mean(tuple(axes), keepdims=True)
               - xh * (dyd * xh).mean(tuple(axes), keepdims=True))
    nt.assert_close(got, ref, what="dx")
