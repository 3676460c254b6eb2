"""NormLIR's norms as torch.library custom ops (normlir/_ops.py, PyTorch
2.4+): torch.library.opcheck of every op (schema, fake implementation
against the real one, autograd registration, AOT dispatch), training under
torch.compile(fullgraph=True) against eager PyTorch (losses, gradients,
parameters and running statistics after a few SGD steps), torch.export and
a re-run of the exported program, and torch.jit.trace. These run in pip's
PyTorch 2.x stage (scripts/test-torch2.sh); Debian's torch 1.13 has no
torch.library.custom_op and skips them."""

import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
if not hasattr(torch.library, "custom_op"):
    pytest.skip("torch.library.custom_op needs PyTorch 2.4+",
                allow_module_level=True)

normlir = nt.import_normlir()

import normlir.nn as nnl  # noqa: E402
from normlir import functional as NF  # noqa: E402

ops = torch.ops.normlir
opcheck = torch.library.opcheck


def rand(*shape, lo=0.5, hi=1.5, grad=False, dtype=torch.float32):
    t = (torch.rand(*shape) * (hi - lo) + lo).to(dtype)
    return t.requires_grad_(grad)


def check(op, args):
    """opcheck's four tests, each SUCCESS."""
    result = opcheck(op, args)
    assert all(v == "SUCCESS" for v in result.values()), result


# ----------------------------------------------------------------------------
# opcheck
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_layer_norm(affine, dtype):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 16).to(dtype).requires_grad_()
    w = rand(16, grad=True, dtype=dtype) if affine else None
    b = rand(16, grad=True, dtype=dtype) if affine else None
    check(ops.layer_norm.default, (x, [16], w, b, 1e-5))
    # Two normalized dimensions, a transposed (copied) input.
    x2 = torch.randn(6, 4, 5).transpose(0, 2).requires_grad_()
    check(ops.layer_norm.default, (x2, [4, 6], None, None, 1e-5))


@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm(eps):
    torch.manual_seed(0)
    x = torch.randn(4, 2, 24, requires_grad=True)
    check(ops.rms_norm.default, (x, [24], rand(24, grad=True), eps))
    check(ops.rms_norm.default, (x, [2, 24], None, eps))


@pytest.mark.parametrize("channels_last", [False, True])
def test_group_norm(channels_last):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_()
    check(ops.group_norm.default,
          (x, 3, rand(6, grad=True), rand(6, grad=True), 1e-5))
    check(ops.group_norm.default, (x, 2, None, None, 1e-5))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm(training, channels_last):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_()
    w, b = rand(3, grad=True), rand(3, grad=True)
    rm, rv = torch.randn(3), rand(3)
    nbt = torch.tensor(2)
    check(ops.batch_norm.default, (x, w, b, rm, rv, None, training, 0.1,
                                   1e-5))
    check(ops.batch_norm.default, (x, w, b, rm, rv, nbt, training, None,
                                   1e-5))
    if training:
        check(ops.batch_norm.default, (x, None, None, None, None, None, True,
                                       0.1, 1e-5))


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm(use_input_stats):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    check(ops.instance_norm.default,
          (x, rand(3, grad=True), rand(3, grad=True), torch.randn(3), rand(3),
           use_input_stats, 0.1, 1e-5))
    if use_input_stats:
        check(ops.instance_norm.default,
              (x, None, None, None, None, True, 0.1, 1e-5))


def test_ops_do_not_touch_their_inputs():
    """The functional ops return the updated running statistics; the
    caller's tensors change only through normlir.functional."""
    x = torch.randn(4, 3, 5)
    rm, rv = torch.zeros(3), torch.ones(3)
    y, mean, rstd, new_rm, new_rv, nbt = ops.batch_norm(
        x, None, None, rm, rv, None, True, 0.5, 1e-5)
    assert torch.equal(rm, torch.zeros(3)) and torch.equal(rv, torch.ones(3))
    ref_rm, ref_rv = torch.zeros(3), torch.ones(3)
    ref = torch.nn.functional.batch_norm(x, ref_rm, ref_rv, training=True,
                                         momentum=0.5)
    torch.testing.assert_close(y, ref)
    torch.testing.assert_close(new_rm, ref_rm)
    torch.testing.assert_close(new_rv, ref_rv)
    assert nbt.numel() == 0


# ----------------------------------------------------------------------------
# torch.compile, torch.export, torch.jit.trace
# ----------------------------------------------------------------------------


class Block(torch.nn.Module):
    """A transformer-ish block: Linear, LayerNorm, Linear, RMSNorm."""

    def __init__(self, nn):
        super().__init__()
        self.l1 = torch.nn.Linear(32, 64)
        self.ln = nn.LayerNorm(64)
        self.l2 = torch.nn.Linear(64, 32)
        self.rms = nn.RMSNorm(32)

    def forward(self, x):
        return self.rms(self.l2(torch.relu(self.ln(self.l1(x)))))


class CNN(torch.nn.Module):
    """Conv, BatchNorm (running statistics), GroupNorm, InstanceNorm
    (tracking running statistics)."""

    def __init__(self, nn):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.gn = nn.GroupNorm(2, 8)
        self.inn = nn.InstanceNorm2d(8, affine=True, track_running_stats=True)

    def forward(self, x):
        return self.inn(self.gn(torch.relu(self.bn(self.c(x))))).mean((2, 3))


def twins(make):
    """The model with torch.nn norms and with NormLIR's, same state."""
    torch.manual_seed(1)
    ref = make(torch.nn)
    ours = make(nnl)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def assert_trains_like(ref, model, compiled, x, steps=3):
    """``steps`` SGD steps of ``model`` through ``compiled`` match those of
    ``ref`` in eager mode: losses, then every parameter and buffer."""
    ref_losses = train(ref, ref, x, steps)
    losses = train(model, compiled, x, steps)
    torch.testing.assert_close(torch.stack(losses), torch.stack(ref_losses),
                               rtol=1e-5, atol=1e-6)
    for (name, a), (_, b) in zip(ref.state_dict().items(),
                                 model.state_dict().items()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)


def train(model, step_fn, x, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = step_fn(x).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses


@pytest.mark.parametrize("make,shape", [(Block, (16, 32)),
                                        (CNN, (4, 3, 8, 8))],
                         ids=["block", "cnn"])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("backward", ["kernels", "pytorch"])
def test_compile_fullgraph_training(make, shape, channels_last, backward,
                                   monkeypatch):
    """Three SGD steps of the model compiled with fullgraph=True (no graph
    break) match eager PyTorch's: losses, then every parameter and running
    statistic. The backward on NormLIR's kernels (the CPU's), or on
    _grads.pytorch_grads (CUDA's, forced here)."""
    if backward == "pytorch":
        from normlir import _ops

        monkeypatch.setattr(_ops, "_NATIVE_BACKWARD_DEVICES", ())
    if channels_last and make is Block:
        pytest.skip("no channels-last layout for a 2-D input")
    torch._dynamo.reset()
    torch.manual_seed(0)
    x = torch.randn(*shape)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    ref, ours = twins(make)
    compiled = torch.compile(ours, backend="aot_eager", fullgraph=True)
    assert_trains_like(ref, ours, compiled, x)


def test_compile_inductor():
    """The default backend (Inductor) compiles around the ops."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    ref, ours = twins(Block)
    x = torch.randn(8, 32)
    compiled = torch.compile(ours, fullgraph=True)
    torch.testing.assert_close(compiled(x), ref(x), rtol=1e-5, atol=1e-5)


def test_functional_under_compile():
    """normlir.functional itself, compiled: every norm, no graph break."""
    torch._dynamo.reset()

    def f(x, w, rm, rv):
        y = NF.layer_norm(x, (8,), w, None)
        y = NF.rms_norm(y, (8,), w)
        z = y.reshape(2, 4, 4, 4)
        z = NF.group_norm(z, 2, None, None)
        z = NF.batch_norm(z, rm, rv, training=True)
        return NF.instance_norm(z)

    torch.manual_seed(0)
    x, w = torch.randn(4, 4, 8), rand(8)
    rm, rv = torch.zeros(4), torch.ones(4)
    rm2, rv2 = rm.clone(), rv.clone()
    got = torch.compile(f, backend="aot_eager", fullgraph=True)(x, w, rm, rv)
    want = f(x, w, rm2, rv2)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(rm, rm2)
    torch.testing.assert_close(rv, rv2)


@pytest.mark.parametrize("make,shape", [(Block, (16, 32)),
                                        (CNN, (4, 3, 8, 8))],
                         ids=["block", "cnn"])
def test_export(make, shape):
    """torch.export of the model in evaluation; the exported program's
    module matches the eager model, and its graph calls NormLIR's ops."""
    torch.manual_seed(0)
    ref, ours = twins(make)
    ours.eval()
    ref.eval()
    x = torch.randn(*shape)
    program = torch.export.export(ours, (x,))
    assert any(str(n.target).startswith("normlir.")
               for n in program.graph.nodes), program.graph
    torch.testing.assert_close(program.module()(x), ref(x), rtol=1e-5,
                               atol=1e-5)


def test_export_training_updates_running_stats():
    """Exported in training mode, the BatchNorm buffers' update is part of
    the program: running it updates them as eager PyTorch does."""
    torch.manual_seed(0)
    ref, ours = twins(CNN)
    x = torch.randn(4, 3, 8, 8)
    program = torch.export.export(ours, (x,))
    module = program.module()
    torch.testing.assert_close(module(x), ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(module.bn.running_mean, ref.bn.running_mean)
    torch.testing.assert_close(module.bn.running_var, ref.bn.running_var)


def test_jit_trace():
    """torch.jit.trace records the ops; the trace's checks pass."""
    torch.manual_seed(0)
    ref, ours = twins(Block)
    x = torch.randn(4, 32)
    traced = torch.jit.trace(ours, (x,))
    assert "normlir::layer_norm" in str(traced.inlined_graph)
    torch.testing.assert_close(traced(x), ref(x), rtol=1e-5, atol=1e-5)


def test_eager_path_unchanged():
    """Plain eager calls keep the direct path: no custom-op dispatch."""
    x = torch.randn(4, 16)
    with torch.profiler.profile() as prof:
        NF.layer_norm(x, (16,))
    names = {e.name for e in prof.events()}
    assert not any(n.startswith("normlir::") for n in names), names


def test_residual_norms_under_compile():
    """add_layer_norm / add_rms_norm, compiled with fullgraph=True (the
    add in PyTorch operations, the norm as NormLIR's custom op), match
    eager NormLIR: outputs and gradients; the exported graph holds the
    custom ops."""
    torch._dynamo.reset()
    torch.manual_seed(0)

    def f(x, r, w, b):
        y, h = NF.add_layer_norm(x, r, (16,), w, b)
        z, h2 = NF.add_rms_norm(y, h, (16,), w)
        return (z * h2).sum()

    args = [torch.randn(4, 16), torch.randn(4, 16), rand(16), rand(16)]
    want_args = [a.clone().requires_grad_() for a in args]
    got_args = [a.clone().requires_grad_() for a in args]
    want = f(*want_args)
    want.backward()
    got = torch.compile(f, backend="aot_eager", fullgraph=True)(*got_args)
    got.backward()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(got_args, want_args):
        torch.testing.assert_close(g.grad, w.grad, rtol=1e-4, atol=1e-5)

    class Residual(torch.nn.Module):
        def forward(self, x, r, w, b):
            return f(x, r, w, b)

    graph = str(torch.export.export(Residual(), tuple(args)).graph)
    assert "normlir.layer_norm" in graph and "normlir.rms_norm" in graph, \
        graph


# ----------------------------------------------------------------------------
# torch.compile(backend="normlir"): torch.nn models on NormLIR
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("make,shape", [(Block, (16, 32)),
                                        (CNN, (4, 3, 8, 8))],
                         ids=["block", "cnn"])
def test_backend_takes_over_torch_nn_norms(make, shape):
    """A model with torch.nn's norms, compiled with the "normlir" backend:
    every norm call is replaced, and three SGD steps match eager
    PyTorch's."""
    from normlir import _backend

    torch._dynamo.reset()
    torch.manual_seed(0)
    x = torch.randn(*shape)
    torch.manual_seed(1)
    ref = make(torch.nn)
    model = make(torch.nn)
    model.load_state_dict(ref.state_dict())
    compiled = torch.compile(model, backend="normlir", fullgraph=True)
    assert_trains_like(ref, model, compiled, x)
    assert _backend.last_replaced == (2 if make is Block else 3)


def test_backend_keeps_what_normlir_does_not_compute():
    """float64 norms stay PyTorch's."""
    from normlir import _backend

    torch._dynamo.reset()
    m = torch.nn.LayerNorm(8).double()
    x = torch.randn(3, 8, dtype=torch.float64)
    y = torch.compile(m, backend=normlir.torch_compile_backend)(x)
    assert _backend.last_replaced == 0
    torch.testing.assert_close(y, m(x))


def test_compile_dynamic_shapes():
    """torch.compile(dynamic=True): one graph for every batch size (the fake
    implementations take symbolic shapes); each size runs its own kernel."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(16, 32), nnl.LayerNorm(32),
                            nnl.RMSNorm(32))
    compiled = torch.compile(m, backend="aot_eager", dynamic=True,
                             fullgraph=True)
    for rows in (3, 5, 9):
        x = torch.randn(rows, 16, requires_grad=True)
        x_ref = x.detach().clone().requires_grad_()
        y = compiled(x)
        y.square().sum().backward()
        y_ref = m(x_ref)
        y_ref.square().sum().backward()
        torch.testing.assert_close(y, y_ref)
        torch.testing.assert_close(x.grad, x_ref.grad)


# ----------------------------------------------------------------------------
# The PyTorch-operations backward (CUDA's), forced on the CPU
# ----------------------------------------------------------------------------


@pytest.fixture
def pytorch_backward(monkeypatch):
    """The ops' autograd computes with _grads.pytorch_grads on every device
    (CUDA's path), the CPU included."""
    from normlir import _ops

    monkeypatch.setattr(_ops, "_NATIVE_BACKWARD_DEVICES", ())


def _norm_cases():
    """(name, normlir.functional call, the same with torch.nn.functional)
    on float64 inputs' float32 copies."""
    TF = torch.nn.functional
    rm, rv = torch.randn(4), torch.rand(4) + 0.5
    return [
        ("layer_norm", lambda x, w, b: NF.layer_norm(x, (5, 6), w, b),
         lambda x, w, b: TF.layer_norm(x, (5, 6), w, b), (5, 6)),
        ("rms_norm", lambda x, w, b: NF.rms_norm(x, (6,), w, 1e-6),
         lambda x, w, b: x * torch.rsqrt(x.square().mean(-1, keepdim=True)
                                         + 1e-6) * w, (6,)),
        ("group_norm", lambda x, w, b: NF.group_norm(x, 2, w, b),
         lambda x, w, b: TF.group_norm(x, 2, w, b), (4,)),
        ("batch_norm", lambda x, w, b: NF.batch_norm(
            x, None, None, w, b, training=True),
         lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
         (4,)),
        ("batch_norm_eval", lambda x, w, b: NF.batch_norm(
            x, rm, rv, w, b, training=False),
         lambda x, w, b: TF.batch_norm(x, rm.double(), rv.double(), w, b,
                                       training=False), (4,)),
        ("instance_norm", lambda x, w, b: NF.instance_norm(
            x, None, None, w, b),
         lambda x, w, b: TF.instance_norm(x, None, None, w, b), (4,)),
        ("instance_norm_eval", lambda x, w, b: NF.instance_norm(
            x, rm, rv, w, b, use_input_stats=False),
         lambda x, w, b: TF.instance_norm(x, rm.double(), rv.double(), w, b,
                                          use_input_stats=False), (4,)),
    ]


@pytest.mark.parametrize("case", _norm_cases(), ids=lambda c: c[0])
def test_pytorch_backward_gradients(pytorch_backward, case):
    """Each closed form against float64 autograd of PyTorch's norm, under
    torch.compile (where the ops' autograd runs)."""
    torch._dynamo.reset()
    _, ours, theirs, pshape = case
    torch.manual_seed(0)
    x64 = torch.randn(3, 4, 5, 6, dtype=torch.float64) * 2 + 1
    w64 = torch.rand(*pshape, dtype=torch.float64) + 0.5
    b64 = torch.rand(*pshape, dtype=torch.float64)
    g64 = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    leaves64 = [t.clone().requires_grad_() for t in (x64, w64, b64)]
    torch.autograd.backward(theirs(*leaves64), g64)
    leaves = [t.float().requires_grad_() for t in (x64, w64, b64)]
    f = torch.compile(ours, backend="aot_eager", fullgraph=True)
    torch.autograd.backward(f(*leaves), g64.float())
    for name, got, want in zip("xwb", leaves, leaves64):
        if want.grad is None:
            continue
        torch.testing.assert_close(got.grad.double(), want.grad, rtol=1e-4,
                                   atol=1e-4, msg=name)
