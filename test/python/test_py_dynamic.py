"""Dynamic shapes (issue 16): one compiled kernel for every batch size and
sequence length.

* a LayerNorm/RMSNorm spec over ``?xN`` (and ``?x?xN``, and ``?x?`` with
  dynamic normalized dimensions) compiled once and called with many shapes (0 and 1 rows, odd counts, the counts where the
  kernel switches variant) against the float64 reference, f32 and bf16;
* BatchNorm, GroupNorm and InstanceNorm over ``?xCx?x?`` (NCHW and
  channels-last; training with running statistics, eval; f32, f16, bf16)
  for sizes 0 and 1 along each dynamic dimension, and the runtime forms of
  their verifiers' checks;
* the statistics results and a residual add, whose dynamic sizes must
  agree: mismatches are errors with the check's message, nothing written
  out of bounds (the kernels run under ASan in the sanitizer job);
* ``result_shapes``, ``call_ptrs`` with shapes, Kernel on NumPy and torch;
* the checks and result sizes after a disk-cache hit (another process);
* normlir.functional's policy (``set_dynamic``, torch.compile's
  ``dynamic=None``): a kernel for the first shape, one dynamic kernel from
  the second shape on;
* a fuzz-style run of random shapes through one kernel.
"""

import textwrap

import numpy as np
import pytest

import normlir_testing as nt

normlir = nt.import_normlir()

try:
    import torch
except ImportError:  # the NumPy tests still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

LN = """\
func.func @ln(%x: tensor<?x{n}x{t}>, %w: tensor<{n}x{t}>, %b: tensor<{n}x{t}>)
    -> (tensor<?x{n}x{t}>, tensor<?x1xf32>, tensor<?x1xf32>) {{
  %y, %m, %r = norm.layer_norm %x weight %w bias %b
      {{normalized_shape = array<i64: {n}>}}
      : (tensor<?x{n}x{t}>, tensor<{n}x{t}>, tensor<{n}x{t}>)
      -> (tensor<?x{n}x{t}>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y, %m, %r : tensor<?x{n}x{t}>, tensor<?x1xf32>, tensor<?x1xf32>
}}
"""

RESIDUAL_RMS = """\
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @res(%x: tensor<?x?x32xf32>, %h: tensor<?x?x32xf32>,
               %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x?x32xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x32xf32>
  %e = tensor.empty(%n, %s) : tensor<?x?x32xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %h : tensor<?x?x32xf32>, tensor<?x?x32xf32>)
      outs(%e : tensor<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x?x32xf32>
  %y, %r = norm.rms_norm %sum weight %w {normalized_shape = array<i64: 32>}
      : (tensor<?x?x32xf32>, tensor<32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x1xf32>)
  return %y : tensor<?x?x32xf32>
}
"""


def _ln_function(n=256, dtype="f32"):
    module = normlir._normlir.compile(LN.format(n=n, t=dtype))
    return module.function("ln")


# Row counts: empty, one, odd, and the variant boundaries of a 1 KiB row
# (64 rows: threads; 512 and up: prefetch), either side.
ROWS = [0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 511, 512, 513, 1500]


def test_one_kernel_every_row_count(rng):
    f = _ln_function()
    assert f.inputs[0] == ((-1, 256), "f32")
    assert [s for s, _ in f.results] == [(-1, 256), (-1, 1), (-1, 1)]
    w = rng.uniform(0.5, 1.5, 256).astype(np.float32)
    b = rng.standard_normal(256).astype(np.float32)
    for rows in ROWS:
        x = (rng.standard_normal((rows, 256)) * 3 + 5).astype(np.float32)
        shapes = f.result_shapes([x.shape, w.shape, b.shape])
        assert shapes == [(rows, 256), (rows, 1), (rows, 1)]
        y, mean, rstd = (np.full(s, np.nan, np.float32) for s in shapes)
        f.call([x, w, b], [y, mean, rstd])
        ref = nt.ref_layer_norm(x, (256,), w, b)
        nt.assert_close(y, ref["y"], what=f"y ({rows} rows)")
        nt.assert_close(mean, ref["mean"], what=f"mean ({rows} rows)")
        nt.assert_close(rstd, ref["rstd"], what=f"rstd ({rows} rows)")


def test_bf16_rows(rng):
    f = _ln_function(n=100, dtype="bf16")
    w = rng.uniform(0.5, 1.5, 100).astype(np.float32)
    b = rng.standard_normal(100).astype(np.float32)
    for rows in (1, 7, 70):
        x = rng.standard_normal((rows, 100)).astype(np.float32)
        y = np.empty((rows, 100), np.uint16)
        stats = [np.empty((rows, 1), np.float32) for _ in range(2)]
        f.call([nt.f32_to_bf16_bits(a) for a in (x, w, b)], [y, *stats])
        xq, wq, bq = (nt.quantize(a, "bf16") for a in (x, w, b))
        ref = nt.ref_layer_norm(xq, (100,), wq, bq)
        nt.assert_close_lowp(nt.bf16_bits_to_f32(y), ref["y"], "bf16")


def test_mismatched_sizes_are_errors(rng):
    f = _ln_function()
    w = np.ones(256, np.float32)
    x = rng.standard_normal((4, 256)).astype(np.float32)
    for shapes in [((5, 256), (4, 1), (4, 1)), ((4, 256), (3, 1), (4, 1)),
                   ((4, 256), (4, 1), (5, 1))]:
        outs = [np.full(s, 7.0, np.float32) for s in shapes]
        with pytest.raises(normlir.InvalidArgumentError,
                           match=r"dimension 0 of result\d \(a result "
                                 r"buffer\) is not the size the inputs give "
                                 "it"):
            f.call([x, w, w], outs)
        # The check runs before the kernel: nothing was written.
        for o in outs:
            assert (o == 7.0).all()
    # A static dimension that does not fit is refused before the call.
    with pytest.raises(normlir.InvalidArgumentError,
                       match=r"input 0 of 'ln' must be \?x256xf32, got "
                             r"4x255xf32"):
        f.call([np.zeros((4, 255), np.float32), w, w],
               [np.zeros((4, 255), np.float32), np.zeros((4, 1), np.float32),
                np.zeros((4, 1), np.float32)])


def test_residual_sizes_are_checked(rng):
    f = normlir._normlir.compile(RESIDUAL_RMS).function("res")
    w = rng.uniform(0.5, 1.5, 32).astype(np.float32)
    for shape in [(0, 5, 32), (1, 1, 32), (3, 7, 32), (2, 129, 32)]:
        x = rng.standard_normal(shape).astype(np.float32)
        h = rng.standard_normal(shape).astype(np.float32)
        y = np.empty(shape, np.float32)
        f.call([x, h, w], [y])
        ref = nt.ref_rms_norm(x.astype(np.float64) + h, (32,), w)
        nt.assert_close(y, ref["y"], what=f"y {shape}")
    x = np.zeros((3, 5, 32), np.float32)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="linalg.generic: input1 dimension 1 does "
                             "not match input0 dimension 1"):
        f.call([x, np.zeros((3, 4, 32), np.float32), w],
               [np.zeros((3, 5, 32), np.float32)])


# Hand-written specs whose inits are not the input's size (found in
# review): a size-mismatch error, never a write past the init's end.
EMPTY_INIT = """\
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%x: tensor<?x8xf32>, %r: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %r, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}
"""

KERNEL_EMPTY_OUTS = """\
func.func @f(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %y = tensor.empty() : tensor<2x256xf32>
  %s = tensor.empty() : tensor<2x1xf32>
  %yc = tensor.cast %y : tensor<2x256xf32> to tensor<?x256xf32>
  %sc = tensor.cast %s : tensor<2x1xf32> to tensor<?x1xf32>
  %r:3 = norm.kernel mean_square %x outs(%yc, %sc, %sc) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64} : (tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %r#0 : tensor<?x256xf32>
}
"""


def test_inits_of_another_size_are_errors():
    f = normlir._normlir.compile(EMPTY_INIT).function("f")
    x = np.ones((1000, 8), np.float32)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="linalg.generic: operand 1 dimension 0 does not "
                             "match input0 dimension 0"):
        f.call([x, np.ones((1, 8), np.float32)], [np.empty((1, 8),
                                                          np.float32)])
    y = np.empty((3, 8), np.float32)
    f.call([x[:3], np.ones((3, 8), np.float32)], [y])
    assert (y == 2).all()
    k = normlir._normlir.compile(KERNEL_EMPTY_OUTS).function("f")
    with pytest.raises(normlir.InvalidArgumentError,
                       match="out 0 dimension 0 does not match the input's"):
        k.call([np.ones((10000, 256), np.float32)],
               [np.empty((10000, 256), np.float32)])


def test_call_ptrs_needs_shapes():
    f = _ln_function(n=8)
    x = np.ones((3, 8), np.float32)
    w = np.ones(8, np.float32)
    outs = [np.empty((3, 8), np.float32), np.empty((3, 1), np.float32),
            np.empty((3, 1), np.float32)]
    ptrs = [a.ctypes.data for a in (x, w, w, *outs)]
    with pytest.raises(normlir.InvalidArgumentError,
                       match="has dynamic dimensions: call_ptrs needs the "
                             "buffers' shapes"):
        f.call_ptrs(ptrs)
    with pytest.raises(normlir.InvalidArgumentError,
                       match=r"buffer 0 of 'ln' is \?x8xf32: its shape must "
                             "be given"):
        f.call_ptrs(ptrs, None, [None] * 6)
    f.call_ptrs(ptrs, None, [a.shape for a in (x, w, w, *outs)])
    # y = (x - mean) * rstd * w + b with x, w and b all ones.
    assert (outs[0] == 1).all() and (outs[1] == 1).all()


def test_kernel_on_numpy_and_torch(rng):
    k = normlir.compile(normlir.Spec("rms_norm", "f32", (-1, -1, 64),
                                     normalized_shape=(64,), weight=True))
    assert k.inputs[0] == ((-1, -1, 64), "f32")
    assert "tensor<?x?x64xf32>" in repr(k)
    w = rng.uniform(0.5, 1.5, 64).astype(np.float32)
    for shape in [(1, 1, 64), (2, 9, 64), (0, 3, 64)]:
        x = rng.standard_normal(shape).astype(np.float32)
        y = k(x, w)
        assert y.shape == shape
        nt.assert_close(y, nt.ref_rms_norm(x, (64,), w)["y"])
        if torch is not None:
            yt = k(torch.from_numpy(x), torch.from_numpy(w))
            assert tuple(yt.shape) == shape
            nt.assert_close(yt.numpy(), y, rtol=0, atol=0)


def test_channel_norms_dynamic_batch(rng):
    """GroupNorm and InstanceNorm (NCHW) with a dynamic batch: one kernel,
    the statistics and running statistics right for every batch size."""
    gn = normlir.compile(normlir.Spec("group_norm", "f32", (-1, 6, 5, 7),
                                      num_groups=3, weight=True, bias=True,
                                      save_stats=True))
    inorm = normlir.compile(normlir.Spec("instance_norm", "f32", (-1, 4, 9),
                                         running_stats=True, training=True))
    w = rng.uniform(0.5, 1.5, 6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    rm = rng.standard_normal(4).astype(np.float32)
    rv = rng.uniform(0.5, 2, 4).astype(np.float32)
    for n in (1, 2, 9):
        x = (rng.standard_normal((n, 6, 5, 7)) * 2 + 3).astype(np.float32)
        y, mean, rstd = gn(x, w, b)
        assert mean.shape == (n, 3)
        ref = nt.ref_group_norm(x, 3, w, b)
        nt.assert_close(y, ref["y"], what=f"group_norm y, batch {n}")
        nt.assert_close(rstd, ref["rstd"], what=f"group_norm rstd, batch {n}")
        x = rng.standard_normal((n, 4, 9)).astype(np.float32)
        y, new_rm, new_rv = inorm(x, rm, rv)
        ref = nt.ref_instance_norm(x, running_mean=rm, running_var=rv,
                                   training=True)
        nt.assert_close(y, ref["y"], what=f"instance_norm y, batch {n}")
        nt.assert_close(new_rm, ref["running_mean"])
        nt.assert_close(new_rv, ref["running_var"])


# (N, H, W): empty, one element, odd, short and long rows, a spatial size
# of 0, and sizes past the variants' thresholds (threads, prefetch).
CHANNEL_SHAPES = [(1, 1, 2), (2, 5, 7), (3, 1, 40), (2, 33, 17), (1, 64, 64),
                  (4, 90, 100), (0, 3, 3), (2, 0, 5)]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("channels,groups", [(6, 3), (128, 4)])
def test_channel_norms_every_dimension(rng, channels_last, channels, groups):
    """BatchNorm, GroupNorm and InstanceNorm over ``?xCx?x?`` (NCHW and
    channels-last): one kernel each (the row, segment or column strategy
    with runtime sizes) for every tested shape, with the saved and running
    statistics; BatchNorm's empty batch keeps the running statistics."""
    c = channels
    order = (lambda s: (s[0], s[2], s[3], s[1])) if channels_last else tuple
    kw = dict(weight=True, bias=True, channels_last=channels_last)
    gn = normlir.compile(normlir.Spec("group_norm", "f32", order((-1, c, -1,
                                                                  -1)),
                                      num_groups=groups, save_stats=True,
                                      **kw))
    inorm = normlir.compile(normlir.Spec("instance_norm", "f32",
                                         order((-1, c, -1, -1)),
                                         running_stats=True, training=True,
                                         **kw))
    bn = normlir.compile(normlir.Spec("batch_norm", "f32",
                                      order((-1, c, -1, -1)), training=True,
                                      running_stats=True, batches_tracked=True,
                                      save_stats=True, **kw))
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    rm = rng.standard_normal(c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    nbt = np.array(3, np.int64)
    to_nchw = ((lambda a: np.ascontiguousarray(np.moveaxis(a, -1, 1)))
               if channels_last else (lambda a: a))
    for n, h, wd in CHANNEL_SHAPES:
        xc = (rng.standard_normal((n, c, h, wd)) * 2 + 3).astype(np.float32)
        x = (np.ascontiguousarray(np.moveaxis(xc, 1, -1)) if channels_last
             else xc)
        what = f"{(n, c, h, wd)}, channels_last={channels_last}"
        y, mean, rstd = gn(x, w, b)
        assert mean.shape == (n, groups)
        if xc.size:
            ref = nt.ref_group_norm(xc, groups, w, b)
            nt.assert_close(to_nchw(y), ref["y"], what=f"group_norm {what}")
            nt.assert_close(rstd, ref["rstd"], what=f"group_norm rstd {what}")
        if xc.size and h * wd > 1:
            y, new_rm, new_rv = inorm(x, w, b, rm, rv)
            ref = nt.ref_instance_norm(xc, w, b, running_mean=rm,
                                       running_var=rv, training=True)
            nt.assert_close(to_nchw(y), ref["y"],
                            what=f"instance_norm {what}")
            nt.assert_close(new_rm, ref["running_mean"])
            nt.assert_close(new_rv, ref["running_var"])
        y, save_mean, save_rstd, new_rm, new_rv, new_nbt = bn(x, w, b, rm, rv,
                                                              nbt)
        assert new_nbt == 4
        if not xc.size:
            # PyTorch: the running statistics stay, zeros are saved.
            assert y.shape == x.shape
            np.testing.assert_array_equal(new_rm, rm)
            np.testing.assert_array_equal(new_rv, rv)
            np.testing.assert_array_equal(save_mean, 0)
            np.testing.assert_array_equal(save_rstd, 0)
            continue
        ref = nt.ref_batch_norm(xc, w, b, rm, rv, nbt, training=True)
        nt.assert_close(to_nchw(y), ref["y"], what=f"batch_norm {what}")
        for name, got in (("save_mean", save_mean), ("save_rstd", save_rstd),
                          ("running_mean", new_rm),
                          ("running_var", new_rv)):
            nt.assert_close(got, ref[name], what=f"batch_norm {name} {what}")
    # One value per channel: PyTorch's error, as a status, nothing written.
    x = np.ones(order((1, c, 1, 1)), np.float32)
    y = np.full_like(x, 7.0)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="norm.batch_norm: expected more than 1 value per "
                             "channel when training"):
        bn.function.call([x, w, b, rm, rv, nbt],
                         [y] + [np.empty(c, np.float32) for _ in range(4)]
                         + [np.empty((), np.int64)])
    np.testing.assert_array_equal(y, 7.0)


def test_channel_norm_checks_and_zero_channels(rng):
    """What PyTorch rejects and the static verifiers refuse is a runtime
    error of the dynamic kernel (one spatial element of InstanceNorm with
    input statistics), nothing written; zero channels compile and run."""
    for cl in (False, True):
        shape = (-1, -1, -1, 3) if cl else (-1, 3, -1, -1)
        k = normlir.compile(normlir.Spec("instance_norm", "f32", shape,
                                         running_stats=True, training=True,
                                         channels_last=cl))
        x = np.ones((4, 1, 1, 3) if cl else (4, 3, 1, 1), np.float32)
        rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
        y, nrm, nrv = (np.full_like(x, 7.0), np.full(3, 7.0, np.float32),
                       np.full(3, 7.0, np.float32))
        with pytest.raises(normlir.InvalidArgumentError,
                           match="expected more than 1 spatial element"):
            k.function.call([x, rm, rv], [y, nrm, nrv])
        for out in (y, nrm, nrv):
            np.testing.assert_array_equal(out, 7.0)
    # No spatial values (N > 0): the running statistics stay, as PyTorch's.
    k = normlir.compile(normlir.Spec("instance_norm", "f32", (-1, 3, -1),
                                     running_stats=True, training=True))
    rm, rv = np.array([1, 2, 3], np.float32), np.array([4, 5, 6], np.float32)
    _, nrm, nrv = k(np.zeros((2, 3, 0), np.float32), rm, rv)
    np.testing.assert_array_equal(nrm, rm)
    np.testing.assert_array_equal(nrv, rv)
    for spec, x in (
            (normlir.Spec("batch_norm", "f32", (-1, 0, 3), training=True),
             np.zeros((2, 0, 3), np.float32)),
            (normlir.Spec("batch_norm", "f32", (-1, -1, 0), training=True,
                          channels_last=True), np.zeros((2, 5, 0), np.float32)),
            (normlir.Spec("instance_norm", "f32", (-1, -1, 0),
                          channels_last=True), np.zeros((2, 5, 0), np.float32)),
            (normlir.Spec("group_norm", "f32", (-1, 0, -1), num_groups=1),
             np.zeros((2, 0, 4), np.float32))):
        y = normlir.compile(spec)(x)
        y = y[0] if isinstance(y, tuple) else y
        assert y.shape == x.shape


# Statistics returned without an apply (convert-norm-to-linalg): results
# sized from the input, through statistics of statistics.
STATS_ONLY = [
    ("""func.func @f(%x: tensor<?x?xf32>) -> (tensor<?x1xf32>, tensor<?x1xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<?x?xf32> -> tensor<?x1xf32>, tensor<?x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<?x1xf32> -> tensor<?x1xf32>
  return %m, %r : tensor<?x1xf32>, tensor<?x1xf32>
}""", (3, 4), [(3, 1), (3, 1)]),
    ("""func.func @f(%x: tensor<?x?x?xf32>) -> tensor<?x1x1xf32> {
  %m, %v = norm.moments %x axes = [2] : tensor<?x?x?xf32> -> tensor<?x?x1xf32>, tensor<?x?x1xf32>
  %q = norm.mean_square %v axes = [1] : tensor<?x?x1xf32> -> tensor<?x1x1xf32>
  return %q : tensor<?x1x1xf32>
}""", (2, 3, 4), [(2, 1, 1)]),
]


@pytest.mark.parametrize("src,shape,want", STATS_ONLY)
def test_statistics_without_apply(rng, src, shape, want):
    f = normlir._normlir.compile(src).function("f")
    assert [tuple(s) for s in f.result_shapes([shape])] == want
    x = (rng.standard_normal(shape) * 2 + 5).astype(np.float32)
    outs = [np.empty(s, np.float32) for s in want]
    f.call([x], outs)
    x64 = x.astype(np.float64)
    if len(want) == 2:
        nt.assert_close(outs[0], x64.mean(1, keepdims=True))
        nt.assert_close(outs[1], 1 / np.sqrt(x64.var(1, keepdims=True)
                                             + 1e-5))
    else:
        v = x64.var(2, keepdims=True)
        nt.assert_close(outs[0], (v ** 2).mean(1, keepdims=True))
    # A result buffer of another size is an error, nothing written.
    bad = [np.full((s[0] + 1,) + tuple(s[1:]), 7.0, np.float32) for s in want]
    with pytest.raises(normlir.InvalidArgumentError, match="result"):
        f.call([x], bad)
    for b in bad:
        np.testing.assert_array_equal(b, 7.0)


def test_channel_norms_16_bit_and_eval(rng):
    """bf16 and f16 BatchNorm/GroupNorm over dynamic spatial dimensions,
    and BatchNorm/InstanceNorm in eval (from running statistics)."""
    c = 32
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    for dtype, to, back, tol in (
            ("bf16", nt.f32_to_bf16_bits, nt.bf16_bits_to_f32, 0.02),
            ("f16", lambda a: a.astype(np.float16),
             lambda a: a.astype(np.float32), 0.003)):
        bn = normlir.compile(normlir.Spec("batch_norm", dtype, (-1, c, -1),
                                          training=True, weight=True,
                                          bias=True))
        gn = normlir.compile(normlir.Spec("group_norm", dtype, (-1, c, -1),
                                          num_groups=4, weight=True,
                                          bias=True))
        for shape in ((2, c, 5), (3, c, 77), (4, c, 1000)):
            x = to((rng.standard_normal(shape) * 2 + 3).astype(np.float32))
            xw, ww, bw = back(x), back(to(w)), back(to(b))
            y = bn(x, to(w), to(b))
            ref = nt.ref_batch_norm(xw, ww, bw, training=True)["y"]
            assert np.abs(back(y) - ref).max() < tol, (dtype, shape)
            y = gn(x, to(w), to(b))
            ref = nt.ref_group_norm(xw, 4, ww, bw)["y"]
            assert np.abs(back(y) - ref).max() < tol, (dtype, shape)
    rm = rng.standard_normal(c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    bn = normlir.compile(normlir.Spec("batch_norm", "f32", (-1, c, -1, -1),
                                      running_stats=True, weight=True))
    inorm = normlir.compile(normlir.Spec("instance_norm", "f32", (-1, c, -1),
                                         running_stats=True))
    for shape in ((1, c, 1, 1), (3, c, 5, 9), (0, c, 2, 2)):
        x = rng.standard_normal(shape).astype(np.float32)
        nt.assert_close(bn(x, w, rm, rv),
                        nt.ref_batch_norm(x, w, None, rm, rv,
                                          training=False)["y"])
        x = x.reshape(shape[0], c, shape[2] * shape[3])
        nt.assert_close(inorm(x, rm, rv),
                        nt.ref_instance_norm(x, running_mean=rm,
                                             running_var=rv,
                                             training=False)["y"])


# (rows, normalized length): empty rows and rows of no elements, one
# element, odd lengths, lengths around the row strategy's vector and
# variant sizes, long rows.
NORMALIZED_SHAPES = [(3, 5), (0, 7), (4, 0), (1, 1), (2, 8), (5, 31),
                     (3, 256), (2, 1000), (17, 4096), (1, 70000)]


@pytest.mark.parametrize("dtype", ["f32", pytest.param(
    "bf16", marks=needs_torch)])
def test_dynamic_normalized_dims(rng, dtype):
    """LayerNorm and RMSNorm whose normalized dimensions are dynamic
    (``?x?``, normalized_shape ``(-1,)``; ``?x?x?`` over the last two): one
    kernel for every row length, parameters of the input's length; a
    weight or bias of another length is an error with its message, nothing
    written (it would be read past its end)."""
    ln = normlir.compile(normlir.Spec("layer_norm", dtype, (-1, -1),
                                      normalized_shape=(-1,), weight=True,
                                      bias=True, save_stats=True))
    rms = normlir.compile(normlir.Spec("rms_norm", dtype, (-1, -1, -1),
                                       normalized_shape=(-1, -1),
                                       weight=True, eps=1e-6))
    bf16 = dtype == "bf16"
    # bf16 through torch tensors (results as f32 NumPy arrays).
    q = (lambda a: nt.quantize(a, "bf16")) if bf16 else (lambda a: a)
    arg = ((lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))
            .to(torch.bfloat16)) if bf16 else (lambda a: a))
    back = ((lambda t: t.float().numpy() if t.dtype == torch.bfloat16
             else t.numpy()) if bf16 else (lambda a: a))
    check = ((lambda got, ref, what: nt.assert_close_lowp(
        back(got), ref, "bf16", what=what)) if bf16 else
        (lambda got, ref, what: nt.assert_close(got, ref, what=what)))
    for rows, n in NORMALIZED_SHAPES:
        x = q((rng.standard_normal((rows, n)) * 3 + 1).astype(np.float32))
        w = q(rng.uniform(0.5, 1.5, n).astype(np.float32))
        b = q(rng.standard_normal(n).astype(np.float32))
        y, mean, rstd = ln(arg(x), arg(w), arg(b))
        mean, rstd = back(mean), back(rstd)
        assert y.shape == (rows, n) and mean.shape == (rows, 1)
        ref = nt.ref_layer_norm(x, (n,), w, b)
        what = f"layer_norm {(rows, n)} {dtype}"
        if x.size:
            check(y, ref["y"], what)
        nt.assert_close(mean, ref["mean"], what=what + " mean")
        nt.assert_close(rstd, ref["rstd"], what=what + " rstd")
        x3 = x.reshape(rows, 1, n) if n % 2 else x.reshape(rows, 2, n // 2)
        w3 = w.reshape(x3.shape[1:])
        y = rms(arg(x3), arg(w3))
        if x.size:
            check(y, nt.ref_rms_norm(x3, x3.shape[1:], w3, eps=1e-6)["y"],
                  f"rms_norm {x3.shape} {dtype}")
    x = arg(np.ones((2, 5), np.float32))
    stat = ((lambda: torch.empty(2, 1)) if bf16
            else (lambda: np.empty((2, 1), np.float32)))
    ones = lambda n: np.ones(n, np.float32)  # noqa: E731
    for w, b, name in ((ones(4), ones(5), "weight"),
                       (ones(5), ones(6), "bias")):
        out = [arg(np.full((2, 5), 7.0, np.float32)), stat(), stat()]
        with pytest.raises(normlir.InvalidArgumentError,
                           match=f"norm.layer_norm: {name} dimension 0 does "
                                 "not match the input's dimension 1"):
            ln(x, arg(w), arg(b), out=out)
        np.testing.assert_array_equal(back(out[0]), 7.0)


def test_allocation_failure_is_an_error():
    """An internal buffer sized from the input's dimensions that cannot be
    allocated (InstanceNorm statistics for a batch of 2**40 with no
    spatial values: 12 TiB) is an error with its message, not a crash; the
    running statistics are untouched and the kernel still serves other
    shapes. (ASan runs this with allocator_may_return_null=1: a failed
    malloc returns null, as libc's does.)"""
    k = normlir.compile(normlir.Spec("instance_norm", "f32", (-1, 3, -1),
                                     running_stats=True, training=True,
                                     weight=True, bias=True))
    w = np.ones(3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="out of memory: a buffer sized from the inputs' "
                             "dimensions could not be allocated"):
        k(np.empty((2 ** 40, 3, 0), np.float32), w, w, rm, rv)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    y, new_rm, new_rv = k(np.ones((2, 3, 4), np.float32), w, w, rm, rv)
    np.testing.assert_array_equal(y, 1)


@needs_torch
def test_allocation_size_overflow_is_an_error():
    """Sizes whose byte count wraps past 2**64 (2**62 empty rows: 2**62
    statistics of 4 bytes) would get a small allocation that the kernel
    then writes past: an error instead, as for a failed allocation. NumPy
    cannot make such arrays; torch's empty tensors can."""
    ln = normlir.compile(normlir.Spec("layer_norm", "f32", (-1, -1),
                                      normalized_shape=(-1,)))
    gn = normlir.compile(normlir.Spec("group_norm", "f32", (-1, 4, -1),
                                      num_groups=2))
    match = "out of memory: a buffer sized from the inputs' dimensions"
    for n in (2 ** 61, 2 ** 62, 2 ** 63 - 1):
        with pytest.raises(normlir.InvalidArgumentError, match=match):
            ln(torch.empty((n, 0)))
    with pytest.raises(normlir.InvalidArgumentError, match=match):
        gn(torch.empty((2 ** 61, 4, 0)))
    x = torch.ones(2, 3)
    assert torch.equal(ln(x), torch.zeros(2, 3))


def test_spec_refuses_dynamic_normalized_and_channel_dims():
    with pytest.raises(normlir.InvalidArgumentError,
                       match="normalized_shape must be a non-empty suffix"):
        normlir.Spec("layer_norm", "f32", (4, -1),
                     normalized_shape=(8,)).mlir()
    with pytest.raises(normlir.InvalidArgumentError,
                       match="the channel dimension must be static"):
        normlir.Spec("group_norm", "f32", (4, -1, 8), num_groups=2).mlir()
    with pytest.raises(normlir.InvalidArgumentError,
                       match="negative dimension -2"):
        normlir.Spec("layer_norm", "f32", (-2, 8),
                     normalized_shape=(8,)).mlir()
    from normlir import functional as F
    rm, rv = np.zeros(4, np.float32), np.ones(4, np.float32)
    for n in (2, 3):
        x = np.ones((n, 4, 3, 5), np.float32)
        y = F.instance_norm(x, rm, rv, use_input_stats=False)
        nt.assert_close(y, x / np.sqrt(1 + 1e-5))


def test_checks_survive_the_disk_cache(tmp_path):
    """A second process loads the kernel from the disk cache: its check
    messages and result sizes come with it."""
    code = textwrap.dedent(f"""
        import numpy as np
        import normlir
        normlir.set_cache_dir({str(tmp_path)!r})
        m = normlir._normlir.compile({LN.format(n=16, t="f32")!r})
        f = m.function("ln")
        print("disk" if m.from_disk_cache else "compiled")
        print(f.result_shapes([(5, 16), (16,), (16,)]))
        try:
            f.call([np.zeros((4, 16), np.float32), np.ones(16, np.float32),
                    np.ones(16, np.float32)],
                   [np.zeros((5, 16), np.float32),
                    np.zeros((4, 1), np.float32),
                    np.zeros((4, 1), np.float32)])
        except normlir.InvalidArgumentError as e:
            print(e)
    """)
    outs = [nt.run_package_python(code, tmp_path) for _ in range(2)]
    for o in outs:
        assert o.returncode == 0, o.stderr
    first, second = (o.stdout.splitlines() for o in outs)
    assert first[0] == "compiled" and second[0] == "disk"
    assert first[1:] == second[1:]
    assert second[1] == "[(5, 16), (5, 1), (5, 1)]"
    assert "dimension 0 of result0 (a result buffer)" in second[2]


def test_random_shapes_through_one_kernel(rng):
    """Fuzz-style: random rank-3 shapes through one ?x?x48 kernel."""
    k = normlir.compile(normlir.Spec("layer_norm", "f32", (-1, -1, 48),
                                     normalized_shape=(48,), weight=True,
                                     bias=True))
    w = rng.uniform(0.5, 1.5, 48).astype(np.float32)
    b = rng.standard_normal(48).astype(np.float32)
    for _ in range(40):
        shape = (int(rng.integers(0, 9)), int(rng.integers(0, 70)), 48)
        x = (rng.standard_normal(shape) * rng.uniform(0.1, 100)
             + rng.uniform(-1e3, 1e3)).astype(np.float32)
        nt.assert_close(k(x, w, b), nt.ref_layer_norm(x, (48,), w, b)["y"],
                        rtol=2e-5, what=f"y {shape}")


@needs_torch
def test_functional_policy(rng):
    """torch.compile's dynamic=None: a kernel for the first shape, then one
    dynamic kernel for every further shape of the signature."""
    from normlir import functional as F

    F.clear_cache()
    w = torch.rand(96) + 0.5
    b = torch.rand(96)
    try:
        before = normlir.cache_info().misses
        for rows in (5, 6, 7, 8, 300, 5):
            x = torch.randn(rows, 96)
            y = F.layer_norm(x, (96,), w, b)
            ref = torch.nn.functional.layer_norm(x.double(), (96,),
                                                 w.double(), b.double())
            nt.assert_close(y.numpy(), ref.numpy())
        # 5 rows specialized, then the dynamic kernel (once).
        assert normlir.cache_info().misses - before == 2

        # GroupNorm: a dynamic batch.
        gw = torch.rand(8) + 0.5
        before = normlir.cache_info().misses
        for n in (2, 3, 4):
            x = torch.randn(n, 8, 6)
            y = F.group_norm(x, 4, gw)
            ref = torch.nn.functional.group_norm(x.double(), 4, gw.double())
            nt.assert_close(y.numpy(), ref.numpy())
        assert normlir.cache_info().misses - before == 2

        # BatchNorm (channels-last too) and InstanceNorm: every dimension
        # but the channels'; one value per channel is PyTorch's error.
        rm, rv = torch.zeros(8), torch.ones(8)
        for fmt in (torch.contiguous_format, torch.channels_last):
            before = normlir.cache_info().misses
            for shape in ((2, 8, 3, 5), (3, 8, 4, 4), (1, 8, 7, 2)):
                x = torch.randn(shape).to(memory_format=fmt)
                a, c = rm.clone(), rv.clone()
                y = F.batch_norm(x, a, c, gw, None, training=True)
                ra, rc = rm.clone(), rv.clone()
                ref = torch.nn.functional.batch_norm(x, ra, rc, gw, None,
                                                     training=True)
                torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)
                torch.testing.assert_close(a, ra)
                torch.testing.assert_close(c, rc)
            assert normlir.cache_info().misses - before == 2
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            F.batch_norm(torch.randn(1, 8, 1, 1), rm, rv, training=True)
        before = normlir.cache_info().misses
        for shape in ((2, 8, 9), (2, 8, 10), (5, 8, 3)):
            x = torch.randn(shape)
            y = F.instance_norm(x)
            ref = torch.nn.functional.instance_norm(x.double())
            nt.assert_close(y.numpy(), ref.numpy())
        assert normlir.cache_info().misses - before == 2

        # Every rank: each shape is validated as the static path would
        # (not the dynamic kernel's -1 dimensions), from the first call on.
        normlir.set_dynamic(True)
        for shape in ((4, 16, 8), (3, 16, 9), (2, 16, 2, 3, 4)):
            x = torch.randn(shape)
            a, c = torch.zeros(16), torch.ones(16)
            y = F.batch_norm(x, a, c, training=True)
            ref = torch.nn.functional.batch_norm(x, torch.zeros(16),
                                                 torch.ones(16),
                                                 training=True)
            torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)
        for shape in ((2, 16, 5, 5), (3, 16, 6, 7)):
            x = torch.randn(shape)
            torch.testing.assert_close(
                F.instance_norm(x), torch.nn.functional.instance_norm(x),
                rtol=1e-4, atol=1e-5)
        for shape in ((2, 16, 10), (3, 16, 11)):
            x = torch.randn(shape)
            torch.testing.assert_close(
                F.group_norm(x, 16), torch.nn.functional.group_norm(x, 16),
                rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            F.group_norm(torch.randn(1, 4, 1, 1), 4)
        with pytest.raises(ValueError, match="more than 1 spatial element"):
            F.instance_norm(torch.randn(2, 4, 1, 1))
        normlir.set_dynamic(None)

        # The residual norms' inference kernel: the same policy.
        before = normlir.cache_info().misses
        for rows in (3, 4, 9):
            x, r = torch.randn(rows, 96), torch.randn(rows, 96)
            y, h = F.add_rms_norm(x, r, (96,), w)
            torch.testing.assert_close(h, x + r)
            ms = h.double().pow(2).mean(-1, keepdim=True)
            ref = h.double() * torch.rsqrt(ms + torch.finfo(torch.float32).eps)
            nt.assert_close(y.numpy(), (ref * w.double()).numpy())
        assert normlir.cache_info().misses - before == 2

        normlir.set_dynamic(False)
        F.clear_cache()
        before = normlir.cache_info().misses
        for rows in (5, 6, 7):
            F.rms_norm(torch.randn(rows, 96), (96,), w)
        assert normlir.cache_info().misses - before == 3

        normlir.set_dynamic(True)
        F.clear_cache()
        before = normlir.cache_info().misses
        for rows in (5, 6, 7):
            x = np.asarray(rng.standard_normal((rows, 2, 96)), np.float32)
            y = F.rms_norm(x, (96,), w.numpy())
            nt.assert_close(y, nt.ref_rms_norm(x, (96,), w.numpy())["y"])
        assert normlir.cache_info().misses - before == 1
        with pytest.raises(ValueError, match="mode must be None, True or "
                                             "False"):
            normlir.set_dynamic("yes")
    finally:
        normlir.set_dynamic(None)
        F.clear_cache()
