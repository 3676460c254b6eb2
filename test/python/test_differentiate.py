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


def differentiate(spec_text, tmp_path, recompute=False, functions=None):
    """The module with the backward functions normlir-opt derives (of
    `functions`, a comma-separated list, else of those it picks)."""
    opt = nt.normlir_run_path().parent / "normlir-opt"
    path = tmp_path / "forward.mlir"
    path.write_text(spec_text)
    options = (["recompute-statistics"] if recompute else []) + (
        [f"functions={functions}"] if functions else [])
    flag = "-norm-differentiate" + (f"={' '.join(options)}" if options
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


def run_backward(spec, inputs, dy, tmp_path, recompute=False, schedule=None):
    """The gradients from `spec`'s backward function: with the statistics
    its forward returns (saved, from a forward run on the same inputs), or,
    with `recompute` or a forward that returns none, recomputed. `schedule`:
    norm-select-schedule's options for the backward's run."""
    text = differentiate(spec.text, tmp_path, recompute)
    saved = saved_results(text, spec.func)
    assert not (recompute and saved)
    stats = []
    if saved:
        outs = nt.run_spec(text, spec.func, inputs, tmp_path)
        stats = [outs[j] for j in saved]
    return nt.run_spec(text, spec.func + "_backward", inputs + stats + [dy],
                       tmp_path, schedule=schedule)


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


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_eval_channel_backward(rng, tmp_path, monkeypatch, layout):
    """BatchNorm evaluating with running statistics (constant statistics:
    in the segment form, each segment's sums and dx in one pass) on
    1e4 + U(0, 1) inputs: within 1e-5 of float64, all three gradients
    bitwise the same at 1 and 2 threads."""
    shape = (8, 6, 17, 19) if layout == "nchw" else (8, 17, 19, 6)
    axis = 1 if layout == "nchw" else 3
    spec = nt.batch_norm_spec(shape, weight="f32", bias="f32",
                              running="f32", training=False,
                              channel_axis=axis)
    x = (1e4 + rng.uniform(0, 1, shape)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    rm = (1e4 + rng.uniform(0, 1, 6)).astype(np.float32)
    rv = rng.uniform(0.05, 0.15, 6).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    results = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        results[threads] = run_backward(spec, [x, w, b, rm, rv], dy,
                                        tmp_path)
    for k in range(3):
        assert np.array_equal(results["1"][k], results["2"][k]), k
    stats = (torch.tensor(rm, dtype=torch.float64),
             torch.tensor(rv, dtype=torch.float64))

    def fn(x, w, b):
        if layout != "nchw":
            x = x.permute(0, 3, 1, 2)
        y = F.batch_norm(x, *stats, w, b, False, 0.1, 1e-5)
        return y if layout == "nchw" else y.permute(0, 2, 3, 1)
    check(results["1"], torch_grads(fn, [x, w, b], dy, [0, 1, 2]))


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


def _large_mean_case(rng, case, rows):
    """A norm of 1e4 + U(0, 1) inputs: its spec, float64 reference function,
    x, parameters and dy. Row norms (ln, rms) take `rows` rows of 300."""
    if case in ("ln", "rms"):
        shape, ns = (rows, 300), (300,)
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
    return spec, fn, x, params, dy


@pytest.mark.parametrize("recompute", [False, True],
                         ids=["saved", "recomputed"])
@pytest.mark.parametrize("case", ["ln", "rms", "bn_nchw", "gn_cl", "gn_nchw",
                                  "in_nchw"])
def test_large_mean_saved_and_recomputed(rng, tmp_path, case, recompute):
    """1e4 + U(0, 1) inputs, with the statistics the forward saved (an f32
    mean rounded at 1e4 is off by up to 5e-4, 2e-3 of the spread; the
    kernel corrects it in its sum pass) and recomputed (shifted sums and the
    mean split in two floats): every gradient within 1e-5 of float64."""
    spec, fn, x, params, dy = _large_mean_case(rng, case, rows=37)
    inputs = [x, *params]
    text = differentiate(spec.text, tmp_path, recompute)
    # InstanceNorm returns no statistics: its backward always recomputes.
    assert bool(saved_results(text, spec.func)) == (
        not recompute and case != "in_nchw")
    check(run_backward(spec, inputs, dy, tmp_path, recompute),
          torch_grads(fn, inputs, dy, range(len(inputs))))


@pytest.mark.parametrize("case", ["ln", "rms", "bn_nchw", "gn_cl"])
def test_grad_schedules(rng, tmp_path, case):
    """The backward kernel's #norm.grad_schedule: the statistics the forward
    saved read or recomputed (grad-statistics), prefetching (row backward)
    and threads. 1e4 + U(0, 1) inputs, every schedule within 1e-5 of
    float64; prefetching and threads change no bit of any gradient."""
    spec, fn, x, params, dy = _large_mean_case(rng, case, rows=67)
    inputs = [x, *params]
    ref = torch_grads(fn, inputs, dy, range(len(inputs)))
    got = {}
    for schedule in ["grad-statistics=saved parallel=on",
                     "grad-statistics=saved prefetch=1 parallel=on",
                     "grad-statistics=saved prefetch=3 parallel=off",
                     "grad-statistics=recomputed parallel=on",
                     "grad-statistics=recomputed prefetch=2 parallel=off"]:
        got[schedule] = run_backward(spec, inputs, dy, tmp_path,
                                     schedule=schedule)
        check(got[schedule], ref)
    for statistics in ("saved", "recomputed"):
        same = [g for s, g in got.items() if statistics in s]
        for g in same[1:]:
            for a, b in zip(same[0], g):
                assert np.array_equal(a, b), statistics


@pytest.mark.parametrize("case", ["ln_f32", "ln_bf16", "bn_nchw", "gn_nchw"])
def test_streamed_dx(rng, tmp_path, case):
    """dx streamed (#norm.grad_schedule's nontemporal) in runs of 1029 or
    1030 elements, so that the rows and runs start at every alignment: a
    masked head, aligned streaming stores, a masked tail. The gradients are
    bitwise those of plain stores, on threads or not, and within 1e-5 of
    float64 (f32)."""
    dtype = "bf16" if case == "ln_bf16" else "f32"
    if case.startswith("ln"):
        shape, c = (9, 1029), (1029,)
        spec = nt.layer_norm_spec(shape, c, dtype=dtype, weight="f32",
                                  bias="f32")

        def fn(x, w, b):
            return F.layer_norm(x, c, w, b, 1e-5)
    elif case == "bn_nchw":
        shape, c = (3, 4, 1030), 4
        spec = nt.batch_norm_spec(shape, weight="f32", bias="f32")

        def fn(x, w, b):
            return F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)
    else:
        shape, c = (3, 4, 1030), 4
        spec = nt.group_norm_spec(shape, 2, weight="f32", bias="f32")

        def fn(x, w, b):
            return F.group_norm(x, 2, w, b, 1e-5)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    params = [rng.uniform(0.5, 1.5, c).astype(np.float32),
              rng.standard_normal(c).astype(np.float32)]
    dy = rng.standard_normal(shape).astype(np.float32)
    if dtype == "bf16":
        # The reference and the kernel see the same bf16-rounded values.
        x = nt.bf16_bits_to_f32(nt.f32_to_bf16_bits(x))
        dy = nt.bf16_bits_to_f32(nt.f32_to_bf16_bits(dy))
    wrap = nt.bf16 if dtype == "bf16" else (lambda a: a)
    got = {s: run_backward(spec, [wrap(x), *params], wrap(dy), tmp_path,
                           schedule=s)
           for s in ("nontemporal=off parallel=on", "nontemporal=on "
                     "parallel=on", "nontemporal=on parallel=off")}
    plain, *streamed = got.values()
    for g in streamed:
        for a, b in zip(plain, g):
            assert np.array_equal(a, b)
    ref = torch_grads(fn, [x, *params], dy, range(3))
    if dtype == "f32":
        check(plain, ref)
    else:
        # bf16 dx: the f32 result rounded once; dweight, dbias in f32.
        nt.assert_close_lowp(plain[0], ref[0], "bf16", what="dx")
        check(plain[1:], ref[1:])


@pytest.mark.parametrize("case", ["ln", "bn_nchw", "gn_nchw", "in_nchw",
                                  "in_64x64"])
def test_recomputed_statistics_outlier(rng, tmp_path, case):
    """Statistics recomputed about the row's or run's first element when
    that element is an outlier (1e4 among N(0, 1) values): the variance
    E[d^2] - E[d]^2 then cancels, which f32 block sums would lose (the
    kernels sum in f64 lanes there); every gradient within 1e-5 of
    float64, the schedule's recomputation and the saved path alike."""
    if case == "ln":
        shape, ns = (16, 4096), (4096,)
        spec = nt.layer_norm_spec(shape, ns, weight="f32", bias="f32")

        def fn(x, w, b):
            return F.layer_norm(x, ns, w, b, 1e-5)
        c = ns
    elif case == "in_64x64":
        # Runs of 4096: InstanceNorm's forward returns no statistics, so
        # its backward always recomputes them.
        shape, c = (2, 3, 64, 64), 3
        spec = nt.instance_norm_spec(shape, weight="f32", bias="f32",
                                     channel_axis=1)

        def fn(x, w, b):
            return F.instance_norm(x, weight=w, bias=b, eps=1e-5)
    else:
        name = {"bn_nchw": "bn_segment", "in_nchw": "in_threads"}.get(
            case, "gn_segment")
        spec, shape, c, fn = _channel_case(name, "nchw")
    x = rng.standard_normal(shape)
    # The first element of each row, or of each (sample, channel) plane.
    x[(slice(None),) * (len(shape) - 1 if case == "ln" else 2)
      + (0,) * (1 if case == "ln" else len(shape) - 2)] = 1e4
    x = x.astype(np.float32)
    inputs = [x, rng.uniform(0.5, 1.5, c).astype(np.float32),
              rng.standard_normal(c).astype(np.float32)]
    dy = rng.standard_normal(shape).astype(np.float32)
    ref = torch_grads(fn, inputs, dy, range(3))
    for schedule in ["grad-statistics=saved", "grad-statistics=recomputed"]:
        check(run_backward(spec, inputs, dy, tmp_path, schedule=schedule),
              ref)
    check(run_backward(spec, inputs, dy, tmp_path, recompute=True), ref)


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


def with_residual(spec):
    """`spec` (one named norm of %x, results returned as %r#k) behind a
    residual add: x = x0 + res (in f32, rounded once to x's type), the sum
    returned as the forward's second result (a pre-norm residual stream)."""
    head, rest = spec.text.split("{\n", 1)
    m = re.match(r"func\.func @(\w+)\(%x: ([^,)]+)(.*)\) -> \((.*)\) $", head)
    assert m, head
    name, t, args, results = m.groups()
    elt = t[t.rindex("x") + 1:-1]
    rank = t.count("x")
    dims = ", ".join(f"d{i}" for i in range(rank))
    idmap = f"affine_map<({dims}) -> ({dims})>"
    iters = ", ".join(['"parallel"'] * rank)
    body = (f"    %s = arith.addf %p, %q : f32\n    linalg.yield %s : f32\n"
            if elt == "f32" else
            f"    %pw = arith.extf %p : {elt} to f32\n"
            f"    %qw = arith.extf %q : {elt} to f32\n"
            f"    %s = arith.addf %pw, %qw : f32\n"
            f"    %t = arith.truncf %s : f32 to {elt}\n"
            f"    linalg.yield %t : {elt}\n")
    result_types = [r.strip() for r in results.split(", tensor")]
    result_types = [result_types[0]] + ["tensor" + r for r in result_types[1:]]
    lines = rest.splitlines()
    ret = lines[-2].strip()
    rm = re.match(r"return (%r#0)((?:, %r#\d+)*) : (.*)$", ret)
    assert rm, ret
    new_ret = (f"  return %r#0, %x{rm.group(2)} : {result_types[0]}, {t}"
               + "".join(", " + r for r in result_types[1:]))
    text = (
        f"func.func @{name}(%x0: {t}, %res: {t}{args}) -> "
        f"({', '.join([result_types[0], t] + result_types[1:])}) {{\n"
        f"  %e = tensor.empty() : {t}\n"
        f"  %x = linalg.generic {{indexing_maps = [{idmap}, {idmap}, {idmap}], "
        f"iterator_types = [{iters}]}}\n"
        f"      ins(%x0, %res : {t}, {t}) outs(%e : {t}) {{\n"
        f"  ^bb0(%p: {elt}, %q: {elt}, %o: {elt}):\n{body}"
        f"  }} -> {t}\n"
        + "\n".join(lines[:-2]) + "\n" + new_ret + "\n}\n")
    return text, name


RESIDUAL_CASES = {
    # name: (the norm's spec, the norm on float64 tensors)
    "ln": lambda: (nt.layer_norm_spec((37, 300), (300,), weight="f32",
                                      bias="f32"),
                   lambda x, w, b: F.layer_norm(x, (300,), w, b, 1e-5)),
    "rms_bf16": lambda: (
        nt.rms_norm_spec((16, 256), (256,), "bf16", weight="f32", eps=1e-6),
        lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6)
        * w),
    "gn_nchw": lambda: (
        nt.group_norm_spec((2, 6, 5, 7), 2, weight="f32", bias="f32"),
        lambda x, w, b: F.group_norm(x, 2, w, b, 1e-5)),
    "bn_cl": lambda: (
        nt.batch_norm_spec((4, 5, 6, 3), weight="f32", bias="f32",
                           training=True, channel_axis=3),
        channels_last(lambda x, w, b: F.batch_norm(x, None, None, w, b, True,
                                                   0.1, 1e-5))),
}


@pytest.mark.parametrize("recompute", [False, True],
                         ids=["saved", "recomputed"])
@pytest.mark.parametrize("case", sorted(RESIDUAL_CASES))
def test_residual_stream(rng, tmp_path, case, recompute):
    """A pre-norm residual block, h = x + r, y = norm(h), returning y and h
    (the residual stream): the backward takes h from the forward and the
    cotangents dy and dh, and one fused kernel writes dx = dr = dh + the
    norm's dx (norm.grad_kernel's residual_grad), checked against float64
    autograd of the norm of the h the forward computed."""
    spec, fn = RESIDUAL_CASES[case]()
    text, func = with_residual(spec)
    dtype = "bf16" if case.endswith("bf16") else "f32"
    shape = tuple(int(d) for d in
                  re.search(r"%x0: tensor<([0-9x]+)x[a-z0-9]+>", text)
                  .group(1).split("x"))
    c = int(re.search(r"%w: tensor<(\d+)x", text).group(1))
    x0 = nt.quantize(rng.standard_normal(shape) + 1, dtype)
    res = nt.quantize(rng.standard_normal(shape), dtype)
    params = [rng.uniform(0.5, 1.5, c).astype(np.float32)]
    if "%b:" in text:
        params.append(rng.standard_normal(c).astype(np.float32))
    inputs = [nt.to_input(x0, dtype), nt.to_input(res, dtype), *params]
    back = differentiate(text, tmp_path, recompute)
    # One kernel per backward, the residual gradient fused into it.
    fused = subprocess.run(
        [str(nt.normlir_run_path().parent / "normlir-opt"), "-norm-fuse-grad",
         "-"], input=back, capture_output=True, text=True, timeout=120)
    assert fused.returncode == 0, fused.stderr
    assert fused.stdout.count("residual_grad") == 1, fused.stdout
    saved = saved_results(back, func)
    # h is always taken from the forward; the statistics unless recomputed.
    assert 1 in saved and (len(saved) == 1) == recompute, saved
    outs = nt.run_spec(back, func, inputs, tmp_path)
    h = outs[1]
    dy = nt.quantize(rng.standard_normal(shape), dtype)
    dh = nt.quantize(rng.standard_normal(shape), dtype)
    got = nt.run_spec(back, func + "_backward",
                      inputs + [nt.to_input(outs[j], dtype) if j == 1
                                else outs[j] for j in saved]
                      + [nt.to_input(dy, dtype), nt.to_input(dh, dtype)],
                      tmp_path)
    ref = torch_grads(fn, [h, *params], dy, range(1 + len(params)))
    dx_ref = ref[0] + dh.astype(np.float64)
    assert len(got) == 2 + len(params)
    np.testing.assert_array_equal(got[0], got[1])
    if dtype == "f32":
        check(got[1:], [dx_ref, *ref[1:]])
    else:
        nt.assert_close_lowp(got[0], dx_ref, dtype, what="dx")
        for g, r in zip(got[2:], ref[1:]):
            nt.assert_close(g, r, rtol=1e-4, what="dweight")


def test_elementwise_prologue_and_epilogue(rng, tmp_path):
    """Through the reverse of elementwise bodies that are not a plain add:
    h = -(a * g - r / c) on f16 a (a gate g, a divisor c), LayerNorm of h,
    out = y * y / 2 + y; gradients of all four inputs against float64
    autograd. h is not returned, so the backward recomputes it."""
    m, n = 9, 40
    mp = "affine_map<(d0, d1) -> (d0, d1)>"
    t16, t32 = f"tensor<{m}x{n}xf16>", f"tensor<{m}x{n}xf32>"
    text = f"""
func.func @f(%a: {t16}, %g: {t32}, %r: {t32}, %c: {t32}) -> {t32} {{
  %e = tensor.empty() : {t32}
  %h = linalg.generic {{indexing_maps = [{mp}, {mp}, {mp}, {mp}, {mp}], iterator_types = ["parallel", "parallel"]}}
      ins(%a, %g, %r, %c : {t16}, {t32}, {t32}, {t32}) outs(%e : {t32}) {{
  ^bb0(%p: f16, %q: f32, %s: f32, %d: f32, %o: f32):
    %pw = arith.extf %p : f16 to f32
    %pg = arith.mulf %pw, %q : f32
    %sd = arith.divf %s, %d : f32
    %u = arith.subf %pg, %sd : f32
    %v = arith.negf %u : f32
    linalg.yield %v : f32
  }} -> {t32}
  %y, %mean, %rstd = norm.layer_norm %h {{normalized_shape = array<i64: {n}>}}
      : ({t32}) -> ({t32}, tensor<{m}x1xf32>, tensor<{m}x1xf32>)
  %half = arith.constant 0.5 : f32
  %e2 = tensor.empty() : {t32}
  %o = linalg.generic {{indexing_maps = [{mp}, {mp}], iterator_types = ["parallel", "parallel"]}}
      ins(%y : {t32}) outs(%e2 : {t32}) {{
  ^bb0(%t: f32, %u: f32):
    %sq = arith.mulf %t, %t : f32
    %hs = arith.mulf %sq, %half : f32
    %z = arith.addf %hs, %t : f32
    linalg.yield %z : f32
  }} -> {t32}
  return %o : {t32}
}}"""
    a = rng.standard_normal((m, n)).astype(np.float16)
    g = rng.uniform(0.5, 1.5, (m, n)).astype(np.float32)
    r = rng.standard_normal((m, n)).astype(np.float32)
    c = rng.uniform(1, 2, (m, n)).astype(np.float32)
    do = rng.standard_normal((m, n)).astype(np.float32)
    # Named: by default the pass picks functions with a normalized output.
    back = differentiate(text, tmp_path, functions="f")
    assert saved_results(back, "f") == []
    got = nt.run_spec(back, "f_backward", [a, g, r, c, do], tmp_path)

    def fn(a, g, r, c):
        y = F.layer_norm(-(a * g - r / c), (n,), eps=1e-5)
        return y * y / 2 + y
    ref = torch_grads(fn, [a, g, r, c], do, [0, 1, 2, 3])
    # da is rounded to a's f16.
    nt.assert_close_lowp(got[0], ref[0], "f16", what="da")
    check(got[1:], ref[1:])
