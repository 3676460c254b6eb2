"""norm-differentiate: the backward function the compiler derives from each
named norm's forward, run on the CPU against PyTorch's float64 autograd of
torch.nn.functional (NCHW and channels-last, with and without parameters,
train and eval)."""

import re
import subprocess

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional


def differentiate(spec_text, tmp_path, recompute=False):
    """The module with the backward functions normlir-opt derives."""
    opt = nt.normlir_run_path().parent / "normlir-opt"
    path = tmp_path / "forward.mlir"
    path.write_text(spec_text)
    flag = "-norm-differentiate" + ("=recompute-statistics" if recompute
                                    else "")
    p = subprocess.run([str(opt), str(path), flag],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def saved_results(text, func):
    """The forward results the backward of `func` takes (norm.saved)."""
    m = re.search(r"func\.func @" + func + r"_backward\([^{]*\{[^}]*"
                  r"norm\.saved = array<i64: ([0-9, ]+)>", text)
    return [int(j) for j in m.group(1).split(",")] if m else []


def run_backward(spec, inputs, dy, tmp_path, recompute=False):
    """The gradients from `spec`'s backward function: with the statistics
    its forward returns (saved, from a forward run on the same inputs), or,
    with `recompute` or a forward that returns none, recomputed."""
    text = differentiate(spec.text, tmp_path, recompute)
    saved = saved_results(text, spec.func)
    assert not (recompute and saved)
    stats = []
    if saved:
        outs = nt.run_spec(text, spec.func, inputs, tmp_path)
        stats = [outs[j] for j in saved]
    return nt.run_spec(text, spec.func + "_backward", inputs + stats + [dy],
                       tmp_path)


def torch_grads(fn, inputs, dy, wrt):
    """float64 gradients of fn(*inputs) (its first output) for the inputs
    whose indices are in `wrt`."""
    ts = [torch.tensor(np.asarray(a, np.float64), requires_grad=i in wrt)
          if a is not None else None for i, a in enumerate(inputs)]
    out = fn(*ts)
    out.backward(torch.tensor(np.asarray(dy, np.float64)))
    return [ts[i].grad.numpy() for i in wrt]


def channels_last(fn):
    """fn on NCHW tensors, applied to channels-last ones."""
    def wrapped(x, *rest):
        perm = [0, x.dim() - 1] + list(range(1, x.dim() - 1))
        inv = [0] + list(range(2, x.dim())) + [1]
        return fn(x.permute(perm), *rest).permute(inv)
    return wrapped


def check(got, ref):
    assert len(got) == len(ref)
    for k, (g, r) in enumerate(zip(got, ref)):
        nt.assert_close(g, r, what=f"gradient {k}")


@pytest.mark.parametrize("params", [True, False])
def test_layer_norm(rng, tmp_path, params):
    shape, ns = (5, 3, 24), (3, 24)
    spec = nt.layer_norm_spec(shape, ns, weight="f32" if params else None,
                              bias="f32" if params else None)
    x = rng.standard_normal(shape).astype(np.float32) * 2 + 1
    w = rng.uniform(0.5, 1.5, ns).astype(np.float32)
    b = rng.standard_normal(ns).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    inputs = [x, w, b] if params else [x]
    got = run_backward(spec, inputs, dy, tmp_path)
    ref = torch_grads(
        lambda x, w=None, b=None: F.layer_norm(x, ns, w, b, 1e-5),
        inputs, dy, range(len(inputs)))
    check(got, ref)


def test_rms_norm(rng, tmp_path):
    shape, ns = (6, 40), (40,)
    spec = nt.rms_norm_spec(shape, ns, weight="f32", eps=1e-6)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, ns).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = run_backward(spec, [x, w], dy, tmp_path)

    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6) * w
    check(got, torch_grads(rms, [x, w], dy, [0, 1]))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(rng, tmp_path, layout, training):
    nchw = (4, 3, 5, 6)
    shape = nchw if layout == "nchw" else (4, 5, 6, 3)
    axis = 1 if layout == "nchw" else 3
    spec = nt.batch_norm_spec(shape, weight="f32", bias="f32", running="f32",
                              training=training, channel_axis=axis)
    x = rng.standard_normal(shape).astype(np.float32) + 2
    w = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    rm = rng.standard_normal(3).astype(np.float32)
    rv = rng.uniform(0.5, 2, 3).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = run_backward(spec, [x, w, b, rm, rv], dy, tmp_path)

    def bn(x, w, b, rm, rv):
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training, 0.1,
                            1e-5)
    fn = bn if layout == "nchw" else channels_last(bn)
    # Running statistics are buffers: no gradient.
    check(got, torch_grads(fn, [x, w, b, rm, rv], dy, [0, 1, 2]))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_instance_norm(rng, tmp_path, layout):
    shape = (2, 3, 5, 7) if layout == "nchw" else (2, 5, 7, 3)
    spec = nt.instance_norm_spec(shape, weight="f32", bias="f32",
                                 channel_axis=1 if layout == "nchw" else 3)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = run_backward(spec, [x, w, b], dy, tmp_path)

    def inorm(x, w, b):
        return F.instance_norm(x, weight=w, bias=b, eps=1e-5)
    fn = inorm if layout == "nchw" else channels_last(inorm)
    check(got, torch_grads(fn, [x, w, b], dy, [0, 1, 2]))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_group_norm(rng, tmp_path, layout):
    shape = (2, 6, 4, 5) if layout == "nchw" else (2, 4, 5, 6)
    spec = nt.group_norm_spec(shape, 3, weight="f32", bias="f32",
                              channel_axis=1 if layout == "nchw" else 3)
    x = rng.standard_normal(shape).astype(np.float32) * 3
    w = rng.uniform(0.5, 1.5, 6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = run_backward(spec, [x, w, b], dy, tmp_path)

    def gn(x, w, b):
        return F.group_norm(x, 3, w, b, 1e-5)
    fn = gn if layout == "nchw" else channels_last(gn)
    check(got, torch_grads(fn, [x, w, b], dy, [0, 1, 2]))


def test_group_norm_channels_last_large_mean(rng, tmp_path):
    """The issue's regression case: PyTorch's own channels-last GroupNorm
    backward (f32, mean 1e3) is off by orders of magnitude; the derived
    backward (the fused channel kernel) is within 1e-5 of float64."""
    shape = (2, 8, 8, 16)
    spec = nt.group_norm_spec(shape, 4, weight="f32", bias="f32",
                              channel_axis=3)
    x = (1e3 + rng.standard_normal(shape)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 16).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = run_backward(spec, [x, w, b], dy, tmp_path)
    ref = torch_grads(channels_last(lambda x, w, b: F.group_norm(x, 4, w, b)),
                      [x, w, b], dy, [0, 1, 2])
    for g, r, what in zip(got, ref, ["dx", "dweight", "dbias"]):
        nt.assert_close(g, r, what=what)


def test_bf16_layer_norm(rng, tmp_path):
    """bf16 x and dy: dx rounded once to bf16, parameter gradients in the
    parameters' f32."""
    shape, ns = (8, 64), (64,)
    spec = nt.layer_norm_spec(shape, ns, "bf16", weight="f32", bias="f32")
    x = nt.quantize(rng.standard_normal(shape) + 0.5, "bf16")
    dy = nt.quantize(rng.standard_normal(shape), "bf16")
    w = rng.uniform(0.5, 1.5, ns).astype(np.float32)
    b = rng.standard_normal(ns).astype(np.float32)
    got = run_backward(spec, [nt.to_input(x, "bf16"), w, b],
                       nt.to_input(dy, "bf16"), tmp_path)
    ref = torch_grads(lambda x, w, b: F.layer_norm(x, ns, w, b, 1e-5),
                      [x, w, b], dy, [0, 1, 2])
    nt.assert_close_lowp(got[0], ref[0], "bf16", what="dx")
    nt.assert_close(got[1], ref[1], what="dweight")
    nt.assert_close(got[2], ref[2], what="dbias")


@pytest.mark.parametrize("shape", [(300, 257), (5, 3), (17, 64), (37, 2100)])
@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_fused_row_backward_odd_shapes_and_threads(rng, tmp_path, monkeypatch,
                                                  shape, dtype):
    """The fused row backward (norm-fuse-grad, norm.grad_kernel): rows that
    are not a whole number of vectors (masked tails), fewer rows than tasks,
    f16; and dweight/dbias bitwise the same at 1 and 2 threads (partials per
    fixed row range, summed in range order)."""
    ns = shape[-1:]
    spec = nt.layer_norm_spec(shape, ns, dtype, weight=dtype, bias=dtype)
    x = nt.quantize(rng.standard_normal(shape) * 2 + 1, dtype)
    w = nt.quantize(rng.uniform(0.5, 1.5, ns), dtype)
    b = nt.quantize(rng.standard_normal(ns), dtype)
    dy = nt.quantize(rng.standard_normal(shape), dtype)
    inputs = [nt.to_input(a, dtype) for a in (x, w, b)]
    results = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        results[threads] = run_backward(spec, inputs, nt.to_input(dy, dtype),
                                        tmp_path)
    for k in range(3):
        assert np.array_equal(results["1"][k], results["2"][k]), k
    ref = torch_grads(lambda x, w, b: F.layer_norm(x, ns, w, b, 1e-5),
                      [x, w, b], dy, [0, 1, 2])
    if dtype == "f32":
        check(results["1"], ref)
    else:
        for g, r, what in zip(results["1"], ref, ["dx", "dweight", "dbias"]):
            # dweight and dbias sum up to 300 rows before their one rounding.
            nt.assert_close_lowp(g, r, dtype, ulps=1.0,
                                 atol=1e-4 * max(1.0, np.max(np.abs(r))),
                                 what=what)


# The channel forms of the fused backward (GradChannel.cpp): NCHW runs of
# at least 16 elements take the segment form; short runs and channels-last
# the column form (lanes across the contiguous channels).
CHANNEL_CASES = {
    # name: (NCHW shape, groups or None for BatchNorm/"in" for InstanceNorm)
    "bn_segment": ((8, 6, 17, 19), None),
    "bn_short_runs": ((9, 5, 2, 3), None),
    "in_segment": ((4, 7, 13, 11), "in"),
    "gn_segment": ((4, 12, 11, 13), 4),
    "gn_one_channel_per_group": ((3, 5, 9, 8), 5),
    # Large enough for threads (the NCHW ones take the fused per-segment
    # form: sums, combine and dx per statistic, in cache).
    "in_threads": ((4, 16, 29, 31), "in"),
    "gn_threads": ((4, 16, 29, 31), 4),
}


def _channel_case(name, layout):
    nchw, kind = CHANNEL_CASES[name]
    cl = layout == "channels_last"
    shape = (nchw[0], *nchw[2:], nchw[1]) if cl else nchw
    axis = 3 if cl else 1
    c = nchw[1]
    if kind is None:
        spec = nt.batch_norm_spec(shape, weight="f32", bias="f32",
                                  channel_axis=axis)

        def fn(x, w, b):
            return F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)
    elif kind == "in":
        spec = nt.instance_norm_spec(shape, weight="f32", bias="f32",
                                     channel_axis=axis)

        def fn(x, w, b):
            return F.instance_norm(x, weight=w, bias=b, eps=1e-5)
    else:
        spec = nt.group_norm_spec(shape, kind, weight="f32", bias="f32",
                                  channel_axis=axis)

        def fn(x, w, b):
            return F.group_norm(x, kind, w, b, 1e-5)
    return spec, shape, c, channels_last(fn) if cl else fn


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("name", sorted(CHANNEL_CASES))
def test_fused_channel_backward_shapes_and_threads(rng, tmp_path, monkeypatch,
                                                   name, layout):
    """Every channel norm's fused backward against float64, including runs
    and channel counts that are not whole vectors; all three gradients
    bitwise the same at 1 and 2 threads (partials per fixed run or chunk,
    combined in order on one thread)."""
    spec, shape, c, fn = _channel_case(name, layout)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    results = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        results[threads] = run_backward(spec, [x, w, b], dy, tmp_path)
    for k in range(3):
        assert np.array_equal(results["1"][k], results["2"][k]), k
    check(results["1"], torch_grads(fn, [x, w, b], dy, [0, 1, 2]))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_fused_channel_backward_large_mean(rng, tmp_path, layout):
    """1e4 + U(0, 1) inputs: the per-run shifts and the mean split in two
    floats keep every gradient within 1e-5 of float64 (dweight included:
    the f64 mean leaves no rounding to carry)."""
    spec, shape, c, fn = _channel_case("bn_segment", layout)
    x = (1e4 + rng.uniform(0, 1, shape)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    check(run_backward(spec, [x, w, b], dy, tmp_path),
          torch_grads(fn, [x, w, b], dy, [0, 1, 2]))


def test_fused_channel_backward_bf16(rng, tmp_path):
    """bf16 x and dy, channels-last BatchNorm: dx rounded once to bf16,
    parameter gradients in f32."""
    shape = (6, 5, 7, 24)
    spec = nt.batch_norm_spec(shape, "bf16", weight="f32", bias="f32",
                              channel_axis=3)
    x = nt.quantize(rng.standard_normal(shape) + 0.5, "bf16")
    dy = nt.quantize(rng.standard_normal(shape), "bf16")
    w = rng.uniform(0.5, 1.5, 24).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    got = run_backward(spec, [nt.to_input(x, "bf16"), w, b],
                       nt.to_input(dy, "bf16"), tmp_path)
    ref = torch_grads(channels_last(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)),
        [x, w, b], dy, [0, 1, 2])
    nt.assert_close_lowp(got[0], ref[0], "bf16", what="dx")
    nt.assert_close(got[1], ref[1], what="dweight")
    nt.assert_close(got[2], ref[2], what="dbias")


@pytest.mark.parametrize("recompute", [False, True],
                         ids=["saved", "recomputed"])
@pytest.mark.parametrize("case", ["ln", "rms", "bn_nchw", "gn_cl", "gn_nchw",
                                  "in_nchw"])
def test_large_mean_saved_and_recomputed(rng, tmp_path, case, recompute):
    """1e4 + U(0, 1) inputs, with the statistics the forward saved (an f32
    mean rounded at 1e4 is off by up to 5e-4, 2e-3 of the spread; the
    kernel corrects it in its sum pass) and recomputed (shifted sums and the
    mean split in two floats): every gradient within 1e-5 of float64."""
    if case in ("ln", "rms"):
        shape, ns = (37, 300), (300,)
        if case == "ln":
            spec = nt.layer_norm_spec(shape, ns, weight="f32", bias="f32")

            def fn(x, w, b):
                return F.layer_norm(x, ns, w, b, 1e-5)
        else:
            spec = nt.rms_norm_spec(shape, ns, weight="f32", eps=1e-6)

            def fn(x, w):
                return x * torch.rsqrt((x * x).mean(-1, keepdim=True)
                                       + 1e-6) * w
        c = ns
    else:
        name = {"bn_nchw": "bn_segment", "in_nchw": "in_threads"}.get(
            case, "gn_segment")
        spec, shape, c, fn = _channel_case(
            name, "channels_last" if case.endswith("_cl") else "nchw")
    x = (1e4 + rng.uniform(0, 1, shape)).astype(np.float32)
    params = [rng.uniform(0.5, 1.5, c).astype(np.float32)]
    if case != "rms":
        params.append(rng.standard_normal(c).astype(np.float32))
    dy = rng.standard_normal(shape).astype(np.float32)
    inputs = [x, *params]
    text = differentiate(spec.text, tmp_path, recompute)
    # InstanceNorm returns no statistics: its backward always recomputes.
    assert bool(saved_results(text, spec.func)) == (
        not recompute and case != "in_nchw")
    check(run_backward(spec, inputs, dy, tmp_path, recompute),
          torch_grads(fn, inputs, dy, range(len(inputs))))


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("training", [True, False])
def test_channel_backward_half_parameters(rng, tmp_path, dtype, training):
    """BatchNorm (training, and eval: the constant-statistics kernel) with
    f16/bf16 input and parameters: the parameter gradients are summed in
    f64 and rounded through f32 (a direct f64 -> f16/bf16 rounding would
    call a compiler-rt helper the JIT cannot resolve)."""
    shape = (4, 3, 5, 6)
    spec = nt.batch_norm_spec(shape, dtype, weight=dtype, bias=dtype,
                              running=dtype, training=training)
    x = nt.quantize(rng.standard_normal(shape) + 0.5, dtype)
    dy = nt.quantize(rng.standard_normal(shape), dtype)
    w = nt.quantize(rng.uniform(0.5, 1.5, 3), dtype)
    b = nt.quantize(rng.standard_normal(3), dtype)
    rm = nt.quantize(rng.standard_normal(3), dtype)
    rv = nt.quantize(rng.uniform(0.5, 1.5, 3), dtype)
    inputs = [nt.to_input(a, dtype) for a in (x, w, b, rm, rv)]
    got = run_backward(spec, inputs, nt.to_input(dy, dtype), tmp_path)
    stats = ((None, None) if training else
             (torch.tensor(rm, dtype=torch.float64),
              torch.tensor(rv, dtype=torch.float64)))
    ref = torch_grads(
        lambda x, w, b: F.batch_norm(x, *stats, w, b, training, 0.1, 1e-5),
        [x, w, b], dy, [0, 1, 2])
    for g, r, what in zip(got, ref, ["dx", "dweight", "dbias"]):
        nt.assert_close_lowp(g, r, dtype, ulps=1.0,
                             atol=1e-3 * max(1.0, np.max(np.abs(r))),
                             what=what)
