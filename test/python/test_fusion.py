"""Elementwise neighbours fused into norm.kernel by norm-fuse: a residual
add (prologue) and an activation or cast (epilogue), run through every
strategy against a float64 NumPy reference."""

import subprocess

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


@pytest.mark.parametrize("case", ["ln_bf16", "bn_nhwc", "bn_nchw"])
def test_returned_residual_sum(rng, tmp_path, schedule, case):
    """h = a + r returned beside norm(h): the kernel takes the add as its
    prologue and writes h itself (norm.kernel's C10), under every strategy
    (rows; BatchNorm NHWC and NCHW: the column and segment forms); h is
    bitwise the rounded sum."""
    if case == "ln_bf16":
        shape, dt, elt = (6, 1100), "bf16", "bf16"
    else:
        shape, dt, elt = ((2, 5, 40, 8) if case == "bn_nhwc"
                          else (3, 8, 5, 40)), "f32", "f32"
    rank = len(shape)
    dims = ", ".join(f"d{i}" for i in range(rank))
    mp = f"affine_map<({dims}) -> ({dims})>"
    iters = ", ".join(['"parallel"'] * rank)
    t = f"tensor<{'x'.join(map(str, shape))}x{elt}>"
    body = ("%s = arith.addf %p, %q : f32\n    linalg.yield %s : f32"
            if elt == "f32" else
            f"%pw = arith.extf %p : {elt} to f32\n"
            f"    %qw = arith.extf %q : {elt} to f32\n"
            f"    %s0 = arith.addf %pw, %qw : f32\n"
            f"    %s = arith.truncf %s0 : f32 to {elt}\n"
            f"    linalg.yield %s : {elt}")
    if case == "ln_bf16":
        n = shape[-1]
        norm = (f"%y, %m, %v = norm.layer_norm %h {{normalized_shape = "
                f"array<i64: {n}>}} : ({t}) -> ({t}, tensor<{shape[0]}x1xf32>, "
                f"tensor<{shape[0]}x1xf32>)")
    elif case == "bn_nhwc":
        norm = (f"%y, %m, %v = norm.batch_norm %h {{training, "
                f"channel_axis = 3 : i64}} : ({t}) -> ({t}, tensor<8xf32>, "
                f"tensor<8xf32>)")
    else:
        norm = (f"%y, %m, %v = norm.batch_norm %h {{training}} : ({t}) -> "
                f"({t}, tensor<8xf32>, tensor<8xf32>)")
    text = f"""
func.func @f(%a: {t}, %r: {t}) -> ({t}, {t}) {{
  %e = tensor.empty() : {t}
  %h = linalg.generic {{indexing_maps = [{mp}, {mp}, {mp}], iterator_types = [{iters}]}}
      ins(%a, %r : {t}, {t}) outs(%e : {t}) {{
  ^bb0(%p: {elt}, %q: {elt}, %o: {elt}):
    {body}
  }} -> {t}
  {norm}
  return %y, %h : {t}, {t}
}}"""
    opt = nt.normlir_run_path().parent / "normlir-opt"
    path = tmp_path / "fused.mlir"
    path.write_text(text)
    p = subprocess.run([str(opt), str(path), "-norm-expand",
                        "-norm-fuse=returned-prologue"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "prologue" in p.stdout and "linalg.generic {" not in \
        p.stdout.split("norm.kernel")[0], p.stdout
    a = nt.quantize(rng.standard_normal(shape) + 1, dt)
    r = nt.quantize(rng.standard_normal(shape), dt)
    y, h = nt.run_spec(text, "f", [nt.to_input(a, dt), nt.to_input(r, dt)],
                       tmp_path)
    h_ref = nt.quantize(a.astype(np.float64) + r, dt)
    np.testing.assert_array_equal(h, h_ref)
    hh = h_ref.astype(np.float64)
    if case == "ln_bf16":
        ref = (hh - hh.mean(1, keepdims=True)) / np.sqrt(
            hh.var(1, keepdims=True) + 1e-5)
        nt.assert_close_lowp(y, ref, "bf16")
        return
    if case == "bn_nhwc":
        ref = (hh - hh.mean((0, 1, 2), keepdims=True)) / np.sqrt(
            hh.var((0, 1, 2), keepdims=True) + 1e-5)
    else:
        ref = (hh - hh.mean((0, 2, 3), keepdims=True)) / np.sqrt(
            hh.var((0, 2, 3), keepdims=True) + 1e-5)
    nt.assert_close(y, ref)
