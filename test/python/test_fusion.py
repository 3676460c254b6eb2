"""Elementwise neighbours fused into norm.kernel by norm-fuse: a residual
add (prologue) and an activation or cast (epilogue), run through every
strategy against a float64 NumPy reference."""

import numpy as np
import pytest

import normlir_testing as nt

SCHEDULES = [None, "strategy=segment", "strategy=column chunks=3",
             "vector-width=8 unroll=1 nontemporal=on"]

MAP2 = "affine_map<(d0, d1) -> (d0, d1)>"
MAP4 = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"


@pytest.fixture(params=SCHEDULES, ids=lambda s: s or "default")
def schedule(request, monkeypatch):
    if request.param:
        monkeypatch.setenv("NORMLIR_SCHEDULE", request.param)
    return request.param


def test_add_layer_norm_relu_bf16(rng, tmp_path, schedule):
    """h = a + r (f16 + f32); y = relu(LayerNorm(h)) rounded to bf16."""
    m, n = 6, 1100
    text = f"""
func.func @f(%a: tensor<{m}x{n}xf16>, %r: tensor<{m}x{n}xf32>, %w: tensor<{n}xf32>, %b: tensor<{n}xf32>) -> tensor<{m}x{n}xbf16> {{
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %h = linalg.generic {{indexing_maps = [{MAP2}, {MAP2}, {MAP2}], iterator_types = ["parallel", "parallel"]}}
      ins(%a, %r : tensor<{m}x{n}xf16>, tensor<{m}x{n}xf32>) outs(%e : tensor<{m}x{n}xf32>) {{
  ^bb0(%p: f16, %q: f32, %o: f32):
    %pw = arith.extf %p : f16 to f32
    %s = arith.addf %pw, %q : f32
    linalg.yield %s : f32
  }} -> tensor<{m}x{n}xf32>
  %y, %mean, %rstd = norm.layer_norm %h weight %w bias %b {{normalized_shape = array<i64: {n}>}}
      : (tensor<{m}x{n}xf32>, tensor<{n}xf32>, tensor<{n}xf32>) -> (tensor<{m}x{n}xf32>, tensor<{m}x1xf32>, tensor<{m}x1xf32>)
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<{m}x{n}xbf16>
  %o = linalg.generic {{indexing_maps = [{MAP2}, {MAP2}], iterator_types = ["parallel", "parallel"]}}
      ins(%y : tensor<{m}x{n}xf32>) outs(%e2 : tensor<{m}x{n}xbf16>) {{
  ^bb0(%t: f32, %u: bf16):
    %relu = arith.maximumf %t, %zero : f32
    %c = arith.truncf %relu : f32 to bf16
    linalg.yield %c : bf16
  }} -> tensor<{m}x{n}xbf16>
  return %o : tensor<{m}x{n}xbf16>
}}"""
    a = rng.standard_normal((m, n)).astype(np.float16)
    r = (rng.standard_normal((m, n)) + 2).astype(np.float32)
    w = rng.uniform(0.5, 1.5, n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    (y,) = nt.run_spec(text, "f", [a, r, w, b], tmp_path)
    h = a.astype(np.float64) + r
    mean = h.mean(1, keepdims=True)
    var = h.var(1, keepdims=True)
    ref = np.maximum((h - mean) / np.sqrt(var + 1e-5) * w + b, 0)
    nt.assert_close_lowp(y, ref, "bf16")


@pytest.mark.parametrize("axis", [1, 3], ids=["NCHW", "NHWC"])
def test_group_norm_silu(rng, tmp_path, schedule, axis):
    """SiLU after GroupNorm: math.exp in the epilogue, on vectors."""
    shape = (2, 8, 5, 40) if axis == 1 else (2, 5, 40, 8)
    ts = "x".join(map(str, shape)) + "xf32"
    text = f"""
func.func @f(%x: tensor<{ts}>) -> tensor<{ts}> {{
  %y, %m, %r = norm.group_norm %x {{num_groups = 4 : i64, channel_axis = {axis} : i64}}
      : (tensor<{ts}>) -> (tensor<{ts}>, tensor<2x4xf32>, tensor<2x4xf32>)
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<{ts}>
  %o = linalg.generic {{indexing_maps = [{MAP4}, {MAP4}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%y : tensor<{ts}>) outs(%e : tensor<{ts}>) {{
  ^bb0(%t: f32, %u: f32):
    %n = arith.negf %t : f32
    %x1 = math.exp %n : f32
    %d = arith.addf %x1, %one : f32
    %s = arith.divf %t, %d : f32
    linalg.yield %s : f32
  }} -> tensor<{ts}>
  return %o : tensor<{ts}>
}}"""
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    (y,) = nt.run_spec(text, "f", [x], tmp_path)
    xc = np.moveaxis(x.astype(np.float64), axis, 1).reshape(2, 4, -1)
    z = (xc - xc.mean(2, keepdims=True)) / np.sqrt(xc.var(2, keepdims=True) + 1e-5)
    z = np.moveaxis(z.reshape(np.moveaxis(x, axis, 1).shape), 1, axis)
    nt.assert_close(y, z / (1 + np.exp(-z)))


def test_batch_norm_eval_relu_channels_last(rng, tmp_path, schedule):
    """An apply-only kernel (BatchNorm eval) with a ReLU epilogue."""
    shape = (3, 7, 9, 20)
    ts = "x".join(map(str, shape)) + "xf32"
    text = f"""
func.func @f(%x: tensor<{ts}>, %rm: tensor<20xf32>, %rv: tensor<20xf32>) -> tensor<{ts}> {{
  %y = norm.batch_norm %x running(%rm, %rv) {{channel_axis = 3 : i64}}
      : (tensor<{ts}>, tensor<20xf32>, tensor<20xf32>) -> tensor<{ts}>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{ts}>
  %o = linalg.generic {{indexing_maps = [{MAP4}, {MAP4}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%y : tensor<{ts}>) outs(%e : tensor<{ts}>) {{
  ^bb0(%t: f32, %u: f32):
    %r = arith.maximumf %t, %zero : f32
    linalg.yield %r : f32
  }} -> tensor<{ts}>
  return %o : tensor<{ts}>
}}"""
    x = rng.standard_normal(shape).astype(np.float32)
    rm = rng.standard_normal(20).astype(np.float32)
    rv = rng.uniform(0.5, 2, 20).astype(np.float32)
    (y,) = nt.run_spec(text, "f", [x, rm, rv], tmp_path)
    nt.assert_close(y, np.maximum((x - rm) / np.sqrt(rv.astype(np.float64) + 1e-5), 0))
