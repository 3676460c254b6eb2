"""Regression tests of the fused-kernel path found in review: statistics
results that are unused, outlier rows in channels-last statistics, empty
dimensions, extreme schedule values, parameters along a reduced run."""

import numpy as np
import pytest

import normlir_testing as nt


def run(tmp_path, text, func, inputs, schedule=None, monkeypatch=None):
    if schedule is not None:
        monkeypatch.setenv("NORMLIR_SCHEDULE", schedule)
    return nt.run_spec(text, func, inputs, tmp_path)


def np_norm(x, axes, eps=1e-5):
    xd = x.astype(np.float64)
    m = xd.mean(axis=axes, keepdims=True)
    v = xd.var(axis=axes, keepdims=True)
    return (xd - m) / np.sqrt(v + eps), m, v


@pytest.mark.parametrize("schedule", [None, "strategy=segment",
                                      "strategy=column"])
def test_unused_statistics(rng, tmp_path, monkeypatch, schedule):
    """Only y is returned: the statistics outs may share one buffer, which
    the apply must not read back."""
    x = rng.standard_normal((2, 3, 128)).astype(np.float32) * 3 + 1
    text = """func.func @gn(%x: tensor<2x3x128xf32>) -> tensor<2x3x128xf32> {
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 2 : i64}
      : (tensor<2x3x128xf32>) -> (tensor<2x3x128xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  return %y : tensor<2x3x128xf32>
}"""
    (y,) = run(tmp_path, text, "gn", [x], schedule, monkeypatch)
    ref, _, _ = np_norm(x.reshape(2, 3, 2, 64), (1, 3))
    nt.assert_close(y, ref.reshape(x.shape))
    text = """func.func @bn(%x: tensor<2x2x40xf32>) -> tensor<2x2x40xf32> {
  %y, %m, %r = norm.batch_norm %x {training} : (tensor<2x2x40xf32>) -> (tensor<2x2x40xf32>, tensor<2xf32>, tensor<2xf32>)
  return %y : tensor<2x2x40xf32>
}"""
    x = rng.standard_normal((2, 2, 40)).astype(np.float32) + 2
    (y,) = run(tmp_path, text, "bn", [x], schedule, monkeypatch)
    nt.assert_close(y, np_norm(x, (0, 2))[0])


@pytest.mark.parametrize("schedule", [None, "chunks=1", "chunks=7"])
def test_channels_last_outlier_row(rng, tmp_path, monkeypatch, schedule):
    """A first row far from the rest must not cost accuracy (the column
    strategy's statistics are two-pass per chunk)."""
    x = rng.uniform(0, 1, (65536, 2)).astype(np.float32)
    x[0, :] = 1000
    text = """func.func @bn(%x: tensor<65536x2xf32>) -> (tensor<65536x2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %y, %m, %r = norm.batch_norm %x {training} : (tensor<65536x2xf32>) -> (tensor<65536x2xf32>, tensor<2xf32>, tensor<2xf32>)
  return %y, %m, %r : tensor<65536x2xf32>, tensor<2xf32>, tensor<2xf32>
}"""
    _, m, r = run(tmp_path, text, "bn", [x], schedule, monkeypatch)
    _, mr, vr = np_norm(x, (0,))
    nt.assert_close(m, mr.ravel())
    nt.assert_close(r, 1 / np.sqrt(vr.ravel() + 1e-5))


@pytest.mark.parametrize("shape,axis", [((0, 4, 3), 2), ((2, 0, 6), 2),
                                        ((0, 3, 4, 4), 1), ((2, 3, 0), 1)])
def test_empty_dims_instance_and_group_norm(tmp_path, shape, axis):
    """Zero-size dimensions compile and run without touching memory."""
    c = shape[axis]
    ts = "x".join(map(str, shape)) + "xf32"
    text = f"""func.func @gn(%x: tensor<{ts}>) -> tensor<{ts}> {{
  %y, %m, %r = norm.group_norm %x {{num_groups = 1 : i64, channel_axis = {axis} : i64}}
      : (tensor<{ts}>) -> (tensor<{ts}>, tensor<{shape[0]}x1xf32>, tensor<{shape[0]}x1xf32>)
  return %y : tensor<{ts}>
}}"""
    (y,) = nt.run_spec(text, "gn", [np.zeros(shape, np.float32)], tmp_path)
    assert y.shape == shape


def test_huge_row_tasks(rng, tmp_path, monkeypatch):
    x = rng.standard_normal((2, 32)).astype(np.float32)
    text = """func.func @ln(%x: tensor<2x32xf32>) -> (tensor<2x32xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 32>}
      : (tensor<2x32xf32>) -> (tensor<2x32xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m : tensor<2x32xf32>, tensor<2x1xf32>
}"""
    y, m = run(tmp_path, text, "ln", [x], "row-tasks=1073741824", monkeypatch)
    ref, mr, _ = np_norm(x, (1,))
    nt.assert_close(y, ref)
    nt.assert_close(m, mr)


def test_params_along_reduced_run(rng, tmp_path):
    """A core-op program whose weight varies along R1 (not a named op's
    layout): norm-select-schedule must not pick the column strategy."""
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    text = """func.func @f(%x: tensor<4x3x5xf32>, %w: tensor<4xf32>) -> tensor<4x3x5xf32> {
  %m, %v = norm.moments %x axes = [0, 2] : tensor<4x3x5xf32> -> tensor<1x3x1xf32>, tensor<1x3x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<1x3x1xf32> -> tensor<1x3x1xf32>
  %y = norm.apply %x mean %m rstd %r weight %w {param_axes = array<i64: 0>} : (tensor<4x3x5xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>, tensor<4xf32>) -> tensor<4x3x5xf32>
  return %y : tensor<4x3x5xf32>
}"""
    (y,) = nt.run_spec(text, "f", [x, w], tmp_path)
    nt.assert_close(y, np_norm(x, (0, 2))[0] * w[:, None, None])


def test_unfused_moments_outlier(rng, tmp_path):
    """Statistics whose output is unused stay on the linalg path (nothing to
    fuse them with): an outlier first row must not cost accuracy there
    either."""
    x = rng.uniform(0, 1, (65536, 2)).astype(np.float32)
    x[0, :] = 1000
    text = """func.func @bn(%x: tensor<65536x2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %y, %m, %r = norm.batch_norm %x {training} : (tensor<65536x2xf32>) -> (tensor<65536x2xf32>, tensor<2xf32>, tensor<2xf32>)
  return %m, %r : tensor<2xf32>, tensor<2xf32>
}"""
    m, r = nt.run_spec(text, "bn", [x], tmp_path)
    _, mr, vr = np_norm(x, (0,))
    nt.assert_close(m, mr.ravel())
    nt.assert_close(r, 1 / np.sqrt(vr.ravel() + 1e-5))


def test_unfusable_layout_large_mean(rng, tmp_path):
    """Reduced dimensions in three runs have no vector lowering: the linalg
    path keeps 1e4 + U(0, 1) accurate."""
    x = (1e4 + rng.uniform(0, 1, (2, 3, 4, 5, 6))).astype(np.float32)
    text = """func.func @f(%x: tensor<2x3x4x5x6xf32>) -> (tensor<2x3x4x5x6xf32>, tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>) {
  %m, %v = norm.moments %x axes = [0, 2, 4] : tensor<2x3x4x5x6xf32> -> tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<1x3x1x5x1xf32> -> tensor<1x3x1x5x1xf32>
  %y = norm.apply %x mean %m rstd %r : (tensor<2x3x4x5x6xf32>, tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>) -> tensor<2x3x4x5x6xf32>
  return %y, %m, %v : tensor<2x3x4x5x6xf32>, tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>
}"""
    y, m, v = nt.run_spec(text, "f", [x], tmp_path)
    ref, mr, vr = np_norm(x, (0, 2, 4))
    nt.assert_close(m, mr)
    nt.assert_close(v, vr, rtol=1e-4)
    nt.assert_close(y, ref, rtol=1e-3, atol=2e-3)


@pytest.mark.parametrize("schedule", [None, "unroll=1 vector-width=4"])
def test_row_moments_one_pass_and_fallback(rng, tmp_path, monkeypatch,
                                           schedule):
    """The row strategy sums each row about the mean of its first vector in
    one pass, and falls back to the two passes where that shift is far from
    the mean. Row 0 needs the fallback: its first 8 values lie 50 above the
    rest of 1e4 + U(0, 1), so the shift is ~80 standard deviations from the
    mean and one pass would put the mean 0.013 off. Row 1 (1e4 +
    U(0, 1)) keeps the one pass, row 2 is constant."""
    n = 65536
    x = np.empty((3, n), np.float32)
    x[0] = 1e4 + rng.uniform(0, 1, n)
    x[0, :8] += 50
    x[1] = 1e4 + rng.uniform(0, 1, n)
    x[2] = 3.0
    spec = nt.layer_norm_spec(x.shape, (n,))
    y, m, r = run(tmp_path, spec.text, "ln", [x], schedule, monkeypatch)
    yr, mr, vr = np_norm(x, (1,))
    # Two f32 ulps of 1e4 (one pass about the far shift: 0.013 off).
    nt.assert_close(m.ravel(), mr.ravel(), atol=2e-3)
    nt.assert_close(r.ravel(), 1 / np.sqrt(vr.ravel() + 1e-5))
    # y = (x - mean) * rstd from the f32 mean: x near 1e4 and its f32
    # rounding (5e-4) times rstd (up to 3.5) bound the error, as torch's.
    nt.assert_close(y, yr, atol=4e-3)


@pytest.mark.parametrize("schedule", [None, "nontemporal=on",
                                      "nontemporal=on vector-width=4",
                                      "vector-width=16 parallel=off"])
@pytest.mark.parametrize("n", [16, 1069, 2048])
def test_bf16_rows_in_pairs(rng, tmp_path, monkeypatch, schedule, n):
    """bf16 rows on a CPU without bf16 conversions are applied two vectors
    at a time, each i32 lane holding a pair of elements (applyPair): whole
    pairs, then a vector and a masked tail (n = 1069), streaming stores on
    rows aligned to a vector and rows that are not (a row of 1069 elements
    is 2138 bytes: those take the vector loop with its masked head),
    parameters deinterleaved (bf16 and f32) or absent, and the NaN rule: a
    row holding a NaN or an inf is NaN, stored as bf16 0x7fc0 (torch's)."""
    from test_execution import ln_case, rms_case
    if schedule is not None:
        monkeypatch.setenv("NORMLIR_SCHEDULE", schedule)
    ln_case(rng, tmp_path, (5, n), (n,), "bf16", "bf16", "bf16")
    ln_case(rng, tmp_path, (5, n), (n,), "bf16", "f32", None)
    rms_case(rng, tmp_path, (5, n), (n,), "bf16", "bf16")
    x = rng.standard_normal((3, n)).astype(np.float32)
    x[1, n // 2] = np.nan
    x[2, n - 1] = np.inf
    spec = nt.layer_norm_spec(x.shape, (n,), "bf16", "bf16", "bf16")
    w = rng.uniform(0.5, 1.5, n).astype(np.float32)
    y = spec.run(tmp_path, x=x, w=w, b=w)["y"]
    assert np.isfinite(y[0]).all()
    for row in (1, 2):
        assert (y[row].view(np.uint32) == 0x7fc00000).all()


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_mean_square_of_16_bit_rows_in_f32(rng, tmp_path, dtype):
    """16-bit rows sum their squares in f32 lanes (exact squares, rounded
    additions), in blocks added into f64 totals: a long row's mean square
    stays within 1e-6 of the float64 one."""
    from test_execution import rms_case
    got, ref, _ = rms_case(rng, tmp_path, (2, 65536), (65536,), dtype)
    nt.assert_close(got["rstd"], ref["rstd"], rtol=1e-6)


@pytest.mark.parametrize("schedule", ["vector-width=4 unroll=1",
                                      "vector-width=8 unroll=1"])
def test_mean_square_f32_blocks_bound_the_rounding(tmp_path, monkeypatch,
                                                   schedule):
    """The adversarial row for f32 sums of squares (found in review): a
    first vector of 1.0, then 8191 values whose squares are each just under
    half an ulp of 1.0, so that every addition to a lane holding 1.0 loses
    its term. With one accumulator set, a block of 1024 vectors put rstd
    3e-5 off; blocks of 64 vectors (kSquareBlockVectors) keep it within
    4e-6."""
    from test_execution import rms_case
    monkeypatch.setenv("NORMLIR_SCHEDULE", schedule)
    n = 8192
    x = np.full((1, n), 2.0**-12 * (1 - 2.0**-8))
    x[0, :8] = 1.0
    got, ref, _ = rms_case(None, tmp_path, x.shape, (n,), "bf16", x=x)
    nt.assert_close(got["rstd"], ref["rstd"], rtol=5e-6)
