"""normlir.nn modules against their torch.nn counterparts.

Each module is built with the same constructor arguments as the torch one,
has the same state_dict keys, loads the torch module's state, and after
several train-mode forwards and then eval-mode forwards gives the same outputs,
running statistics and num_batches_tracked (updated in place); these
per-module checks run under torch.no_grad().

Then whole networks: a small CNN (BatchNorm2d, GroupNorm, InstanceNorm2d with
running statistics, BatchNorm2d with momentum=None) and a small pre-norm
transformer (LayerNorm, RMSNorm), each with its torch norms swapped for
normlir's. Both twins run forward and backward at every step; outputs,
buffers and every gradient (input and parameters: the twin's norms run
their backward on NormLIR's kernels) are compared, then the torch model's
SGD update is applied to both; the CNN also in channels-last layout.

torch 1.13 has no nn.RMSNorm: TorchRMSNorm below is PyTorch 2.x's module
written in torch ops (eps=None: float32's epsilon, computed in float32).
"""

import copy

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

normlir = nt.import_normlir()

from normlir import nn as NN  # noqa: E402

F32_EPS = float(torch.finfo(torch.float32).eps)
TDT = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


class TorchRMSNorm(nn.Module):
    """torch.nn.RMSNorm of PyTorch 2.x, for torch 1.13."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        eps = F32_EPS if self.eps is None else self.eps
        dims = tuple(range(-len(self.normalized_shape), 0))
        # f16/bf16 computed in float32; float32/float64 as they are.
        xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        y = xf * torch.rsqrt(xf.pow(2).mean(dims, keepdim=True) + eps)
        if self.weight is not None:
            y = y * self.weight.to(y.dtype)
        return y.to(x.dtype)


TORCH_MODULES = {
    "BatchNorm1d": nn.BatchNorm1d, "BatchNorm2d": nn.BatchNorm2d,
    "BatchNorm3d": nn.BatchNorm3d, "InstanceNorm1d": nn.InstanceNorm1d,
    "InstanceNorm2d": nn.InstanceNorm2d, "InstanceNorm3d": nn.InstanceNorm3d,
    "GroupNorm": nn.GroupNorm, "LayerNorm": nn.LayerNorm,
    "RMSNorm": TorchRMSNorm,
}


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------

def randn(rng, shape, scale=1.5, offset=0.3, dtype=torch.float32):
    a = rng.standard_normal(shape) * scale + offset
    return torch.from_numpy(np.asarray(a, np.float32)).to(dtype)


def close(got, ref, what, rtol=1e-5, atol=5e-5):
    """|got - ref| <= atol * max(1, max|ref|) + rtol * |ref| (float32)."""
    assert isinstance(got, torch.Tensor), f"{what}: {type(got)}"
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    g, r = got.detach().double(), ref.detach().double()
    if g.numel() == 0:
        return
    assert torch.equal(g.isnan(), r.isnan()), f"{what}: NaN mismatch"
    scale = max(1.0, float(r.abs().max()))
    err = (g - r).abs()
    tol = atol * scale + rtol * r.abs()
    bad = err > tol
    if bad.any():
        i = int(torch.argmax(err - tol))
        raise AssertionError(
            f"{what}: {int(bad.sum())}/{err.numel()} elements out of "
            f"tolerance; worst: got {g.flatten()[i].item()!r}, expected "
            f"{r.flatten()[i].item()!r}")


def close_lowp(got, ref64, dtype, what, ulps=2.0):
    """Low-precision `got` against a float64 reference: ulps of the dtype."""
    g = got.detach().double().numpy()
    r = ref64.detach().double().numpy()
    assert g.shape == r.shape, (what, g.shape, r.shape)
    scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
    tol = ulps * nt.ulp(np.maximum(np.abs(g), np.abs(r)), dtype) + 1e-5 * scale
    bad = np.abs(g - r) > tol
    assert not bad.any(), (
        f"{what} ({dtype}): {int(bad.sum())}/{g.size} elements beyond {ulps} "
        f"ulps; worst got {g[bad][:3]}, expected {r[bad][:3]}")


def compare_state(nm, tm, what, **tol):
    """Every state_dict entry of `nm` against `tm`'s: counters exactly."""
    ns, ts = nm.state_dict(), tm.state_dict()
    assert set(ns) == set(ts), (sorted(ns), sorted(ts))
    for k, tv in ts.items():
        nv = ns[k]
        if not tv.is_floating_point():
            assert nv.dtype == tv.dtype, f"{what}:{k} dtype {nv.dtype}"
            assert torch.equal(nv, tv), f"{what}:{k}: {nv} != {tv}"
        else:
            close(nv, tv, f"{what}:{k}", **tol)


def randomize(mod, rng, nbt=0):
    """Random affine parameters and running statistics (both signs)."""
    with torch.no_grad():
        for _, p in mod.named_parameters():
            v = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1, 1], p.shape)
            p.copy_(torch.from_numpy(v.astype(np.float32)))
        if getattr(mod, "running_mean", None) is not None:
            c = mod.running_mean.shape
            mod.running_mean.copy_(torch.from_numpy(
                rng.uniform(-1, 1, c).astype(np.float32)))
            mod.running_var.copy_(torch.from_numpy(
                rng.uniform(0.5, 2, c).astype(np.float32)))
            if getattr(mod, "num_batches_tracked", None) is not None:
                mod.num_batches_tracked.fill_(nbt)


def to_normlir(mod):
    """The normlir.nn module for a torch norm module (same arguments, state
    and mode); None for any other module."""
    t = type(mod)
    if t in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
             nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d):
        new = getattr(NN, t.__name__)(
            mod.num_features, eps=mod.eps, momentum=mod.momentum,
            affine=mod.affine, track_running_stats=mod.track_running_stats)
    elif t is nn.GroupNorm:
        new = NN.GroupNorm(mod.num_groups, mod.num_channels, eps=mod.eps,
                           affine=mod.affine)
    elif t is nn.LayerNorm:
        new = NN.LayerNorm(mod.normalized_shape, eps=mod.eps,
                           elementwise_affine=mod.elementwise_affine)
    elif t is TorchRMSNorm:
        new = NN.RMSNorm(mod.normalized_shape, eps=mod.eps,
                         elementwise_affine=mod.elementwise_affine)
    else:
        return None
    new.load_state_dict(mod.state_dict())
    new.train(mod.training)
    return new


def swap_norms(model):
    """Replaces, in place and recursively, every torch norm module of `model`
    by its normlir.nn twin; returns the model and the swapped names."""
    swapped = []

    def walk(parent, prefix):
        for name, child in list(parent.named_children()):
            new = to_normlir(child)
            if new is not None:
                setattr(parent, name, new)
                swapped.append(prefix + name)
            else:
                walk(child, prefix + name + ".")
    walk(model, "")
    return model, swapped


# ----------------------------------------------------------------------------
# Module by module
# ----------------------------------------------------------------------------

# (module, constructor args, kwargs, input shape)
MODULE_CASES = [
    ("BatchNorm1d", (5,), {}, (8, 5)),
    ("BatchNorm1d", (4,), dict(momentum=None), (6, 4, 7)),
    ("BatchNorm2d", (3,), dict(eps=1e-3, momentum=0.3), (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), dict(affine=False), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (2, 3, 4, 4)),
    ("BatchNorm3d", (2,), dict(momentum=None), (2, 2, 3, 3, 3)),
    ("InstanceNorm1d", (4,), {}, (3, 4, 9)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True,
                                  momentum=0.2), (2, 3, 5, 5)),
    ("InstanceNorm3d", (2,), dict(affine=True), (2, 2, 3, 4, 5)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 4)),
    ("GroupNorm", (3, 6), dict(affine=False, eps=1e-4), (2, 6, 7)),
    ("LayerNorm", ((7,),), {}, (3, 5, 7)),
    ("LayerNorm", (33,), dict(eps=1e-6), (4, 33)),
    ("LayerNorm", ((4, 5),), dict(elementwise_affine=False), (2, 3, 4, 5)),
    ("RMSNorm", ((33,),), {}, (4, 33)),
    ("RMSNorm", ((4, 8),), dict(eps=1e-5, elementwise_affine=False),
     (2, 3, 4, 8)),
]


def _case_id(case):
    name, args, kwargs, shape = case
    kw = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}({args}{',' + kw if kw else ''})"


@pytest.mark.parametrize("name,args,kwargs,shape", MODULE_CASES,
                         ids=[_case_id(c) for c in MODULE_CASES])
def test_module_matches_torch(rng, name, args, kwargs, shape):
    tm = TORCH_MODULES[name](*args, **kwargs)
    randomize(tm, rng, nbt=2)
    nm = getattr(NN, name)(*args, **kwargs)
    assert isinstance(nm, nn.Module)
    assert set(nm.state_dict()) == set(tm.state_dict()), (
        sorted(nm.state_dict()), sorted(tm.state_dict()))
    assert sorted(n for n, _ in nm.named_parameters()) == \
        sorted(n for n, _ in tm.named_parameters())
    nm.load_state_dict(tm.state_dict())
    compare_state(nm, tm, "loaded", rtol=0, atol=0)
    ptrs = {k: b.data_ptr() for k, b in nm.named_buffers()}

    tm.train()
    nm.train()
    assert nm.training
    for step in range(3):
        x = randn(rng, shape, scale=1 + 0.5 * step, offset=step - 1.0)
        x0 = x.clone()
        with torch.no_grad():
            yt = tm(x)
            yn = nm(x)
        assert torch.equal(x, x0), "input modified"
        assert yn.dtype == x.dtype
        close(yn, yt, f"train y[{step}]")
        compare_state(nm, tm, f"train state[{step}]")

    tm.eval()
    nm.eval()
    assert not nm.training
    for step in range(2):
        x = randn(rng, shape, scale=2.0, offset=0.5 * step)
        with torch.no_grad():
            yt = tm(x)
            yn = nm(x)
        close(yn, yt, f"eval y[{step}]")
        compare_state(nm, tm, f"eval state[{step}]")
    assert {k: b.data_ptr() for k, b in nm.named_buffers()} == ptrs, (
        "buffers were replaced instead of updated in place")


def test_batch_norm_momentum_none_counts_batches(rng):
    """momentum=None: running stats are the plain average of the batch
    statistics; num_batches_tracked counts the training forwards only."""
    nm = NN.BatchNorm1d(3, momentum=None, affine=False)
    xs = [randn(rng, (5, 3), offset=k) for k in range(4)]
    with torch.no_grad():
        for x in xs:
            nm(x)
        nm.eval()
        nm(xs[0])
    assert int(nm.num_batches_tracked) == 4
    means = torch.stack([x.double().mean(0) for x in xs]).mean(0)
    uvars = torch.stack([x.double().var(0, unbiased=True) for x in xs])
    # running_var starts at 1 and the first step has weight 1/1: the plain
    # average of the four unbiased variances.
    close(nm.running_mean, means, "running_mean")
    close(nm.running_var, uvars.mean(0), "running_var")


def test_layer_norm_bias_false(rng):
    """PyTorch 2.x's LayerNorm(bias=False): weight only (not in torch 1.13,
    so the reference is F.layer_norm with bias None)."""
    try:
        nm = NN.LayerNorm(33, bias=False)
    except TypeError:
        pytest.skip("normlir.nn.LayerNorm has no bias argument")
    assert set(nm.state_dict()) == {"weight"}
    with torch.no_grad():
        nm.weight.copy_(randn(rng, (33,)))
        x = randn(rng, (4, 33))
        close(nm(x), F.layer_norm(x.double(), [33], nm.weight.double(), None,
                                  1e-5), "y")


def test_rms_norm_defaults():
    nm = NN.RMSNorm(16)
    assert tuple(nm.normalized_shape) == (16,)
    assert nm.eps is None
    assert set(nm.state_dict()) == {"weight"}
    assert torch.equal(nm.weight.detach(), torch.ones(16))


@pytest.mark.parametrize("name,args,shape,dtype,mixed", [
    ("LayerNorm", (33,), (3, 5, 33), "bf16", True),
    ("RMSNorm", (33,), (3, 5, 33), "f16", False),
    ("GroupNorm", (2, 6), (2, 6, 3, 3), "f16", False),
    ("BatchNorm2d", (4,), (3, 4, 3, 5), "bf16", True),
], ids=["LayerNorm-bf16-f32params", "RMSNorm-f16", "GroupNorm-f16",
        "BatchNorm2d-bf16-f32params"])
def test_module_low_precision_input(rng, name, args, shape, dtype, mixed):
    """f16/bf16 inputs; parameters (and running stats) in f32 (mixed) or
    converted with .to(dtype). Reference: the torch module in float64."""
    tm = TORCH_MODULES[name](*args)
    randomize(tm, rng)
    nm = getattr(NN, name)(*args)
    nm.load_state_dict(tm.state_dict())
    pdtype = "f32" if mixed else dtype
    if not mixed:
        nm = nm.to(TDT[dtype])
    ref_mod = copy.deepcopy(tm)
    if not mixed:  # the parameters rounded to the dtype, as nm's
        ref_mod = ref_mod.to(TDT[dtype])
    ref_mod = ref_mod.double()
    x = randn(rng, shape, dtype=TDT[dtype])
    with torch.no_grad():
        y = nm(x)
        ref = ref_mod(x.double())
    assert y.dtype == TDT[dtype]
    close_lowp(y, ref, dtype, "y")
    if getattr(nm, "running_mean", None) is not None:
        assert nm.running_mean.dtype == TDT[pdtype]
        for k in ("running_mean", "running_var"):
            if pdtype == "f32":
                close(getattr(nm, k), getattr(ref_mod, k), k)
            else:
                close_lowp(getattr(nm, k), getattr(ref_mod, k), pdtype, k)
        assert int(nm.num_batches_tracked) == int(ref_mod.num_batches_tracked)


# ----------------------------------------------------------------------------
# Whole networks with their norms swapped
# ----------------------------------------------------------------------------

class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1)
        self.gn = nn.GroupNorm(4, 12)
        self.conv3 = nn.Conv2d(12, 6, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(6, affine=True,
                                       track_running_stats=True)
        self.bn2 = nn.BatchNorm2d(6, momentum=None)
        self.head = nn.Linear(6, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.gn(self.conv2(x)))
        x = F.relu(self.inorm(self.conv3(x)))
        x = self.bn2(x)
        return self.head(x.mean((2, 3)))


class Block(nn.Module):
    """Pre-norm transformer block: LayerNorm before attention, RMSNorm
    before the MLP."""

    def __init__(self, d=48, heads=4, hidden=96):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.rms = TorchRMSNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        h = self.ln(x)
        a, _ = self.attn(h, h, h, need_weights=False)
        x = x + a
        return x + self.fc2(F.gelu(self.fc1(self.rms(x))))


class TinyTransformer(nn.Module):
    def __init__(self, d=48):
        super().__init__()
        self.blocks = nn.Sequential(Block(d), Block(d))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.out = nn.Linear(d, 8)

    def forward(self, x):
        return self.out(self.norm(self.blocks(x)))


def _make_twins(factory, seed, memory_format=None):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = factory()
    if memory_format is not None:
        model = model.to(memory_format=memory_format)
    twin, swapped = swap_norms(copy.deepcopy(model))
    assert set(twin.state_dict()) == set(model.state_dict())
    return model, twin, swapped


def _sgd_step(model, twin, loss, twin_loss, x, twin_x, lr, what):
    """Both models' gradients, compared (the twin's from NormLIR's backward
    kernels), then the torch model's update applied to both."""
    model.zero_grad()
    twin.zero_grad()
    loss.backward()
    twin_loss.backward()
    close(twin_x.grad, x.grad, f"{what} grad input", rtol=1e-4, atol=1e-4)
    twin_params = dict(twin.named_parameters())
    assert set(twin_params) == {n for n, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        close(twin_params[name].grad, p.grad, f"{what} grad {name}",
              rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        for name, p in model.named_parameters():
            delta = lr * p.grad
            p.sub_(delta)
            twin_params[name].sub_(delta)
            assert torch.equal(twin_params[name], p), name


def _train_and_eval(rng, model, twin, in_shape, out_shape, steps, what,
                    memory_format=None, lr=0.05):
    """Trains both models (each step: outputs, state and every gradient
    compared), then evaluates them."""
    targets = [randn(rng, out_shape, scale=1.0, offset=0.0)
               for _ in range(steps)]
    model.train()
    twin.train()
    for step in range(steps):
        x = randn(rng, in_shape, scale=1.0 + 0.25 * step, offset=0.1 * step)
        if memory_format is not None:
            x = x.contiguous(memory_format=memory_format)
        twin_x = x.clone().requires_grad_(True)
        x.requires_grad_(True)
        out = model(x)
        got = twin(twin_x)
        close(got, out.detach(), f"{what} train out[{step}]", rtol=1e-4,
              atol=1e-4)
        compare_state(twin, model, f"{what} train state[{step}]", rtol=1e-4,
                      atol=1e-4)
        _sgd_step(model, twin, F.mse_loss(out, targets[step]),
                  F.mse_loss(got, targets[step]), x, twin_x, lr,
                  f"{what} step {step}")
    model.eval()
    twin.eval()
    for step in range(2):
        x = randn(rng, in_shape, scale=1.3, offset=-0.2 * step)
        if memory_format is not None:
            x = x.contiguous(memory_format=memory_format)
        with torch.no_grad():
            out = model(x)
            got = twin(x)
        close(got, out, f"{what} eval out[{step}]", rtol=1e-4, atol=1e-4)
        compare_state(twin, model, f"{what} eval state[{step}]", rtol=1e-4,
                      atol=1e-4)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_cnn_with_normlir_norms(rng, layout):
    mf = torch.channels_last if layout == "channels_last" else None
    model, twin, swapped = _make_twins(SmallCNN, 1234, mf)
    assert sorted(swapped) == ["bn1", "bn2", "gn", "inorm"]
    assert all(type(getattr(twin, n)).__module__.startswith("normlir")
               for n in swapped)

    seen = []

    def hook(mod, inputs, output):
        x = inputs[0]
        if (mf is not None and x.is_contiguous(memory_format=mf)
                and not x.is_contiguous()):
            assert output.is_contiguous(memory_format=mf), (
                f"{type(mod).__name__} lost the channels-last layout")
            seen.append(type(mod).__name__)
    handles = [getattr(twin, n).register_forward_hook(hook) for n in swapped]
    try:
        _train_and_eval(rng, model, twin, (4, 3, 9, 9), (4, 5), steps=4,
                        what=f"cnn[{layout}]", memory_format=mf)
    finally:
        for h in handles:
            h.remove()
    if mf is not None:
        expected = {"BatchNorm2d", "GroupNorm", "InstanceNorm2d"}
        assert expected <= set(seen), seen
    # The counters: 4 training forwards for bn1 (momentum 0.1) and bn2
    # (momentum=None, cumulative); InstanceNorm never counts (as torch).
    assert int(twin.bn1.num_batches_tracked) == 4
    assert int(twin.bn2.num_batches_tracked) == 4


def test_transformer_with_normlir_norms(rng):
    model, twin, swapped = _make_twins(TinyTransformer, 4321)
    assert sorted(swapped) == ["blocks.0.ln", "blocks.0.rms", "blocks.1.ln",
                               "blocks.1.rms", "norm"]
    _train_and_eval(rng, model, twin, (2, 7, 48), (2, 7, 8), steps=3,
                    what="transformer", lr=0.02)
