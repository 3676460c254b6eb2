"""NormLIR's Python API on CUDA tensors (PyTorch with a GPU): results
against PyTorch's, the caller's stream honoured (kernels queued on
PyTorch's current stream, the call returning without waiting for them),
CUDA graph capture and replay, the device taken from the tensor, and the
torch.library custom ops (opcheck, torch.compile(fullgraph=True)) on the
GPU. Skipped where PyTorch sees no GPU; run on a GPU machine with
``NORMLIR_PYTHONPATH`` naming the package built for its Python."""

import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("PyTorch sees no CUDA GPU", allow_module_level=True)

normlir = nt.import_normlir()

import normlir.nn as nnl  # noqa: E402
from normlir import _normlir  # noqa: E402
from normlir import functional as NF  # noqa: E402

F = torch.nn.functional
DEV = torch.device("cuda", torch.cuda.current_device())


def rand(*shape, lo=0.5, hi=1.5, dtype=torch.float32):
    return (torch.rand(*shape, device=DEV) * (hi - lo) + lo).to(dtype)


def close(actual, expected, dtype=torch.float32):
    """f32 within 1e-5 of PyTorch's result; bf16/f16 within 2 ulp."""
    tol = {torch.float32: 1e-5, torch.bfloat16: 2 ** -7,
           torch.float16: 2 ** -10}[dtype]
    torch.testing.assert_close(actual.float(), expected.float(), rtol=tol,
                               atol=tol)


# ----------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_layer_and_rms_norm(dtype):
    torch.manual_seed(0)
    x = torch.randn(64, 1024, device=DEV).to(dtype)
    w, b = rand(1024, dtype=dtype), rand(1024, dtype=dtype)
    ref = F.layer_norm(x.float(), (1024,), w.float(), b.float()).to(dtype)
    close(NF.layer_norm(x, (1024,), w, b), ref, dtype)
    ms = x.float().pow(2).mean(-1, keepdim=True)
    ref = (x.float() * torch.rsqrt(ms + 1e-6) * w.float()).to(dtype)
    close(NF.rms_norm(x, (1024,), w, eps=1e-6), ref, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dynamic_rows(dtype):
    """One GPU kernel for any number of rows (issue 16): 0, 1, odd counts,
    counts past a block's rows; results shaped from the input; a result of
    the wrong size is an error before anything runs."""
    dt = "f32" if dtype == torch.float32 else "bf16"
    k = normlir.compile(normlir.Spec("layer_norm", dt, (-1, 256),
                                     normalized_shape=(256,), weight=True,
                                     bias=True), target="cuda")
    w, b = rand(256, dtype=dtype), rand(256, dtype=dtype)
    for rows in (0, 1, 3, 17, 1000):
        x = torch.randn(rows, 256, device=DEV).to(dtype)
        y = k(x, w, b)
        assert y.shape == (rows, 256)
        ref = F.layer_norm(x.float(), (256,), w.float(), b.float()).to(dtype)
        close(y, ref, dtype)
    x = torch.randn(4, 256, device=DEV).to(dtype)
    out = torch.full((5, 256), 7.0, device=DEV).to(dtype)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="is not the size the inputs give it"):
        k(x, w, b, out=out)
    assert (out.float() == 7.0).all()


# (N, H, W) through one kernel: empty batch, one element, odd sizes, runs
# shorter than a warp and longer than a segment piece (16384 elements).
DYNAMIC_CHANNEL_SHAPES = [(2, 1, 2), (3, 5, 7), (1, 1, 40), (2, 33, 17),
                          (4, 130, 140), (0, 3, 3), (2, 0, 5)]


def test_functional_dynamic_policy():
    """normlir.functional on CUDA tensors: LayerNorm and RMSNorm specialize
    the first shape, then one dynamic kernel serves every further one
    (torch.compile's dynamic=None); GroupNorm stays a kernel per shape."""
    torch.manual_seed(0)
    NF.clear_cache()
    w, b = rand(96), rand(96)
    before = normlir.cache_info().misses
    for rows in (5, 6, 7, 300, 5):
        x = torch.randn(rows, 96, device=DEV)
        close(NF.layer_norm(x, (96,), w, b), F.layer_norm(x, (96,), w, b))
        close(NF.rms_norm(x, (96,), w, eps=1e-6),
              x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w)
    assert normlir.cache_info().misses - before == 4
    gw = rand(8)
    before = normlir.cache_info().misses
    for n in (2, 3, 4):
        x = torch.randn(n, 8, 6, device=DEV)
        close(NF.group_norm(x, 4, gw), F.group_norm(x, 4, gw))
    assert normlir.cache_info().misses - before == 3


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dynamic_normalized_dims(dtype):
    """LayerNorm over ?x? on the GPU (the segment strategy with runtime
    chunks, parameters of a runtime length): one kernel for every row
    length; a weight of another length is an error, nothing written."""
    torch.manual_seed(0)
    dt = "f32" if dtype == torch.float32 else "bf16"
    k = normlir.compile(normlir.Spec("layer_norm", dt, (-1, -1),
                                     normalized_shape=(-1,), weight=True,
                                     bias=True), target="cuda")
    for rows, n in ((3, 5), (0, 7), (2, 1), (5, 31), (17, 4096),
                    (2, 70000)):
        x = torch.randn(rows, n, device=DEV).to(dtype)
        w, b = rand(n, dtype=dtype), rand(n, lo=-1, dtype=dtype)
        ref = F.layer_norm(x.float(), (n,), w.float(), b.float()).to(dtype)
        close(k(x, w, b), ref, dtype)
    x = torch.ones(2, 5, device=DEV).to(dtype)
    out = torch.full((2, 5), 7.0, device=DEV).to(dtype)
    with pytest.raises(normlir.InvalidArgumentError,
                       match="weight dimension 0 does not match"):
        k(x, rand(4, dtype=dtype), rand(5, dtype=dtype), out=out)
    assert (out.float() == 7.0).all()


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_dynamic_channel_norms(channels_last, dtype):
    """BatchNorm (training, running statistics), GroupNorm and InstanceNorm
    over ?xCx?x? on the GPU (issue 16): one kernel each (the segment
    strategy with runtime chunks for NCHW, the column strategy with runtime
    chunks per sample for channels-last) for every shape, against PyTorch;
    an empty batch keeps BatchNorm's running statistics."""
    torch.manual_seed(0)
    c, groups = 12, 3
    dt = {torch.float32: "f32", torch.float16: "f16"}[dtype]
    order = (lambda s: (s[0], s[2], s[3], s[1])) if channels_last else tuple
    kw = dict(weight=True, bias=True, channels_last=channels_last)
    gn = normlir.compile(normlir.Spec("group_norm", dt, order((-1, c, -1, -1)),
                                      num_groups=groups, **kw),
                         target="cuda")
    inorm = normlir.compile(normlir.Spec("instance_norm", dt,
                                         order((-1, c, -1, -1)), **kw),
                            target="cuda")
    bn = normlir.compile(normlir.Spec("batch_norm", dt, order((-1, c, -1, -1)),
                                      training=True, running_stats=True,
                                      batches_tracked=True, **kw),
                         target="cuda")
    w, b = rand(c, dtype=dtype), rand(c, lo=-1, dtype=dtype)
    rm = torch.randn(c, device=DEV).to(dtype)
    rv = rand(c, dtype=dtype)
    nbt = torch.tensor(3, device=DEV)
    for n, h, wd in DYNAMIC_CHANNEL_SHAPES:
        xc = (torch.randn(n, c, h, wd, device=DEV) * 2 + 3).to(dtype)
        x = xc.permute(0, 2, 3, 1).contiguous() if channels_last else xc
        as_nchw = ((lambda a: a.permute(0, 3, 1, 2)) if channels_last
                   else (lambda a: a))
        if xc.numel():
            close(as_nchw(gn(x, w, b)),
                  F.group_norm(xc.float(), groups, w.float(),
                               b.float()).to(dtype), dtype)
        if xc.numel() and h * wd > 1:
            close(as_nchw(inorm(x, w, b)),
                  F.instance_norm(xc.float(), weight=w.float(),
                                  bias=b.float()).to(dtype), dtype)
        y, new_rm, new_rv, new_nbt = bn(x, w, b, rm, rv, nbt)
        assert int(new_nbt) == 4
        assert tuple(y.shape) == tuple(x.shape)
        if not xc.numel():
            assert torch.equal(new_rm, rm) and torch.equal(new_rv, rv)
            continue
        ref_rm, ref_rv = rm.float().clone(), rv.float().clone()
        ref = F.batch_norm(xc.float(), ref_rm, ref_rv, w.float(), b.float(),
                           True, 0.1, 1e-5)
        close(as_nchw(y), ref.to(dtype), dtype)
        close(new_rm, ref_rm.to(dtype), dtype)
        close(new_rv, ref_rv.to(dtype), dtype)


@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm_training_updates_running_stats(channels_last):
    torch.manual_seed(0)
    x = torch.randn(8, 32, 14, 14, device=DEV) * 3 + 2
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    w, b = rand(32), rand(32)
    rm, rv = torch.zeros(32, device=DEV), torch.ones(32, device=DEV)
    ref_rm, ref_rv = rm.clone(), rv.clone()
    y = NF.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
    ref = F.batch_norm(x, ref_rm, ref_rv, w, b, True, 0.1, 1e-5)
    close(y, ref)
    close(rm, ref_rm)
    close(rv, ref_rv)
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_group_and_instance_norm():
    torch.manual_seed(0)
    x = torch.randn(4, 16, 10, 12, device=DEV)
    w, b = rand(16), rand(16)
    close(NF.group_norm(x, 4, w, b), F.group_norm(x, 4, w, b))
    close(NF.instance_norm(x, weight=w, bias=b),
          F.instance_norm(x, weight=w, bias=b))


# ----------------------------------------------------------------------------
# Streams, graphs, devices
# ----------------------------------------------------------------------------


def test_call_is_queued_on_the_current_stream_without_waiting():
    """On a side stream busy for ~0.1 s (torch.cuda._sleep) that then
    writes the input: the result is that of the written input (the kernels
    ran after the write, on the stream), and the stream is still busy when
    the call returns (the call did not wait for it)."""
    torch.manual_seed(0)
    n = 1024
    x = torch.zeros(256, n, device=DEV)
    src = torch.randn(256, n, device=DEV)
    w, b = rand(n), rand(n)
    NF.layer_norm(x, (n,), w, b)  # compiled and loaded before the timing
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(200_000_000)
        x.copy_(src)
        y = NF.layer_norm(x, (n,), w, b)
        busy = not side.query()
    side.synchronize()
    assert busy, "the call waited for the stream"
    close(y, F.layer_norm(src, (n,), w, b))


@pytest.mark.parametrize("case", ["layer_norm", "batch_norm_channels_last"])
def test_cuda_graph_capture_and_replay(case):
    """torch.cuda.graph records NormLIR's kernels (no host synchronization
    on the call path: a capture would fail on one); a replay on new input
    data gives the new result."""
    torch.manual_seed(0)
    if case == "layer_norm":
        x = torch.randn(128, 768, device=DEV)
        w, b = rand(768), rand(768)

        def run(t):
            return NF.layer_norm(t, (768,), w, b)

        def ref(t):
            return F.layer_norm(t, (768,), w, b)
    else:
        x = torch.randn(8, 64, 14, 14, device=DEV).to(
            memory_format=torch.channels_last)
        w, b = rand(64), rand(64)

        # Training-mode statistics without running statistics: the
        # two-stage column kernels (partials allocated inside the graph).
        def run(t):
            return NF.batch_norm(t, None, None, w, b, training=True)

        def ref(t):
            return F.batch_norm(t, None, None, w, b, True)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        run(x)  # warm-up: compile, load the module
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = run(x)
    x.copy_(torch.randn_like(x) * 2 + 1)
    graph.replay()
    torch.cuda.synchronize()
    close(y, ref(x))


def test_device_is_the_tensors():
    x = torch.randn(4, 64, device=DEV)
    NF.layer_norm(x, (64,))
    assert _normlir.cuda_device() == DEV.index


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="one GPU")
@pytest.mark.parametrize("path", ["functional", "kernel"])
def test_the_device_set_by_torch_in_a_fresh_process(path):
    """torch.cuda.set_device(last) in a fresh process (as a rank does):
    NormLIR's calls run on that device, through both Python paths."""
    code = f"""
import torch, normlir
from normlir import _normlir, functional as NF
last = torch.cuda.device_count() - 1
torch.cuda.set_device(last)
x = torch.randn(8, 64, device="cuda")
if "{path}" == "functional":
    y = NF.layer_norm(x, (64,))
else:
    k = normlir.compile(normlir.Spec("layer_norm", "f32", (8, 64),
                                     normalized_shape=(64,)), target="cuda")
    y = k(x)[0]
torch.testing.assert_close(y, torch.nn.functional.layer_norm(x, (64,)),
                           rtol=1e-5, atol=1e-5)
assert _normlir.cuda_device() == last, _normlir.cuda_device()
print("ok")
"""
    env = {"NORMLIR_CUDA_DEVICE": ""}
    proc = nt.run_package_python(code, ".", **env)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="one GPU")
def test_a_second_device_is_refused():
    other = (DEV.index + 1) % torch.cuda.device_count()
    NF.layer_norm(torch.randn(4, 64, device=DEV), (64,))
    with pytest.raises(RuntimeError, match="one GPU"):
        NF.layer_norm(torch.randn(4, 64, device=torch.device("cuda", other)),
                      (64,))


# ----------------------------------------------------------------------------
# Custom ops on the GPU
# ----------------------------------------------------------------------------

needs_custom_ops = pytest.mark.skipif(
    not hasattr(torch.library, "custom_op"),
    reason="torch.library.custom_op needs PyTorch 2.4+")


@needs_custom_ops
def test_opcheck_on_cuda():
    torch.manual_seed(0)
    ops = torch.ops.normlir
    x = torch.randn(3, 5, 64, device=DEV, requires_grad=True)
    w = rand(64).requires_grad_()
    b = rand(64).requires_grad_()
    for op, args in [
            (ops.layer_norm.default, (x, [64], w, b, 1e-5)),
            (ops.rms_norm.default, (x, [64], w, 1e-6))]:
        result = torch.library.opcheck(op, args)
        assert all(v == "SUCCESS" for v in result.values()), result
    xc = torch.randn(4, 8, 5, 5, device=DEV).to(
        memory_format=torch.channels_last).requires_grad_()
    result = torch.library.opcheck(
        ops.batch_norm.default,
        (xc, rand(8).requires_grad_(), rand(8).requires_grad_(),
         torch.zeros(8, device=DEV), torch.ones(8, device=DEV), None, True,
         0.1, 1e-5))
    assert all(v == "SUCCESS" for v in result.values()), result


@needs_custom_ops
def test_compiled_training_step_on_cuda():
    """A Linear -> LayerNorm -> Linear block under torch.compile
    (fullgraph, aot_eager: the graph is traced through the custom ops and
    run on them) against torch.nn in eager mode: loss and gradients."""
    torch.manual_seed(0)
    d = 256

    def block(norm):
        return torch.nn.Sequential(torch.nn.Linear(d, d), norm,
                                   torch.nn.Linear(d, d)).to(DEV)

    ours, theirs = block(nnl.LayerNorm(d)), block(torch.nn.LayerNorm(d))
    theirs.load_state_dict(ours.state_dict())
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    x = torch.randn(32, d, device=DEV)
    for model in (compiled, theirs):
        model(x).square().mean().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5,
                                   msg=name)
