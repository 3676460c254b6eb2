"""Gradients through normlir.functional and normlir.nn on torch tensors.

Every norm whose statistics come from its input runs its backward pass on
the CPU on the kernel the compiler derives (norm-differentiate, fused by
norm-fuse-grad); BatchNorm/InstanceNorm evaluating with running statistics
recompute with PyTorch. Every gradient is compared with PyTorch's
float64 autograd of torch.nn.functional.
"""

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional
normlir = nt.import_normlir()
NF = normlir.functional


def leaves(rng, shapes, dtype=torch.float32, offset=0.0):
    return [torch.tensor(rng.standard_normal(s) + offset, dtype=dtype,
                         requires_grad=True) if s is not None else None
            for s in shapes]


def reference_grads(fn, tensors, dy):
    ts = [None if t is None else
          t.detach().to(torch.float64).requires_grad_(True) for t in tensors]
    fn(*ts).backward(dy.to(torch.float64))
    return [None if t is None else t.grad for t in ts]


def check_grads(tensors, ref, lowp=None):
    for k, (t, r) in enumerate(zip(tensors, ref)):
        if t is None:
            continue
        assert t.grad is not None, f"no gradient for operand {k}"
        assert t.grad.dtype == t.dtype
        g = t.grad.to(torch.float32).numpy()
        if lowp and k == 0:
            nt.assert_close_lowp(g, r.numpy(), lowp, what=f"grad {k}")
        else:
            nt.assert_close(g, r.numpy(), rtol=1e-5 if not lowp else 1e-2,
                            what=f"grad {k}")


def used_compiled_backward(saved=None):
    """Whether a backward ran on a compiled kernel (with saved statistics,
    when `saved` says which)."""
    return any(k[0] == "backward" and (saved is None or k[1] == saved)
               for k in NF._torch_plans)


@pytest.mark.parametrize("weight,bias", [(True, True), (True, False),
                                         (False, False), (False, True)])
def test_layer_norm(rng, weight, bias):
    NF.clear_cache()
    ns = (4, 24)
    x, w, b = leaves(rng, [(3, 5, 4, 24), ns if weight else None,
                           ns if bias else None], offset=1.0)
    dy = torch.tensor(rng.standard_normal((3, 5, 4, 24)), dtype=torch.float32)
    NF.layer_norm(x, ns, w, b, eps=1e-5).backward(dy)
    assert used_compiled_backward()
    check_grads([x, w, b], reference_grads(
        lambda x, w, b: F.layer_norm(x, ns, w, b, 1e-5), [x, w, b], dy))


def test_rms_norm_and_partial_requires_grad(rng):
    """Only the weight needs a gradient: x gets none."""
    NF.clear_cache()
    x = torch.tensor(rng.standard_normal((6, 40)), dtype=torch.float32)
    (w,) = leaves(rng, [(40,)], offset=1.0)
    dy = torch.tensor(rng.standard_normal((6, 40)), dtype=torch.float32)
    NF.rms_norm(x, (40,), w, eps=1e-6).backward(dy)
    assert used_compiled_backward()
    assert x.grad is None

    def rms(x, w):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6) * w
    ref = reference_grads(rms, [x, w], dy)
    nt.assert_close(w.grad.numpy(), ref[1].numpy(), what="dweight")


def test_bf16_layer_norm(rng):
    ns = (64,)
    x, w, b = leaves(rng, [(8, 64), ns, ns], dtype=torch.bfloat16)
    dy = torch.tensor(rng.standard_normal((8, 64)), dtype=torch.bfloat16)
    NF.layer_norm(x, ns, w, b).backward(dy)
    ref = reference_grads(lambda x, w, b: F.layer_norm(x, ns, w, b),
                          [x, w, b], dy)
    # dx rounded once to bf16; dweight/dbias sums over 8 rows, each term
    # exact in f32, rounded once to bf16.
    check_grads([x, w, b], ref, lowp="bf16")


def test_module_and_double_backward(rng):
    """normlir.nn.LayerNorm trains: its parameters get gradients. A second
    backward through the backward is a clear error."""
    m = normlir.nn.LayerNorm(16)
    tm = torch.nn.LayerNorm(16)
    x = torch.tensor(rng.standard_normal((4, 16)), dtype=torch.float32,
                     requires_grad=True)
    y = m(x)
    y.sum().backward()
    tx = x.detach().clone().requires_grad_(True)
    tm(tx).sum().backward()
    nt.assert_close(x.grad.numpy(), tx.grad.numpy(), what="dx")
    nt.assert_close(m.weight.grad.numpy(), tm.weight.grad.numpy(),
                    what="dweight")
    nt.assert_close(m.bias.grad.numpy(), tm.bias.grad.numpy(), what="dbias")
    x2 = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m(x2).pow(2).sum(), x2, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|double"):
        g.sum().backward()


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm", "group_norm"])
def test_channel_norms_run_compiled_backward(rng, op, layout):
    """BatchNorm (training, with running statistics), InstanceNorm and
    GroupNorm on the CPU, NCHW and channels-last tensors: the backward runs
    on the compiled channel kernel, and the running statistics are updated
    once, by the forward."""
    NF.clear_cache()
    x, w, b = leaves(rng, [(4, 6, 5, 7), (6,), (6,)], offset=1.0)
    if layout == "channels_last":
        x = x.detach().to(memory_format=torch.channels_last).requires_grad_()
    dy = torch.tensor(rng.standard_normal((4, 6, 5, 7)), dtype=torch.float32)
    rm, rv = torch.zeros(6), torch.ones(6)
    fns = {
        "batch_norm": (lambda x, w, b: NF.batch_norm(x, rm, rv, w, b, True),
                       lambda x, w, b: F.batch_norm(x, None, None, w, b,
                                                    True)),
        "instance_norm": (lambda x, w, b: NF.instance_norm(x, weight=w,
                                                           bias=b),
                          lambda x, w, b: F.instance_norm(x, weight=w,
                                                          bias=b)),
        "group_norm": (lambda x, w, b: NF.group_norm(x, 3, w, b),
                       lambda x, w, b: F.group_norm(x, 3, w, b)),
    }
    mine, theirs = fns[op]
    mine(x, w, b).backward(dy)
    # InstanceNorm's forward saves no statistics; the others' do.
    assert used_compiled_backward(saved=op != "instance_norm")
    check_grads([x, w, b], reference_grads(theirs, [x, w, b], dy))
    if op == "batch_norm":
        trm, trv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
        F.batch_norm(x.detach().double(), trm, trv, None, None, True)
        nt.assert_close(rm.numpy(), trm.numpy(), what="running_mean")
        nt.assert_close(rv.numpy(), trv.numpy(), what="running_var")


@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
def test_eval_with_running_stats_runs_compiled_backward(rng, op):
    """BatchNorm and InstanceNorm evaluating with running statistics
    (constants of the forward): the backward runs on the compiled kernel
    for constant statistics, reads the running statistics as they were at
    the forward (a later in-place update does not reach it), and the
    gradients match PyTorch's."""
    NF.clear_cache()
    x, w, b = leaves(rng, [(2, 6, 5), (6,), (6,)])
    rm = torch.tensor(rng.standard_normal(6), dtype=torch.float32)
    rv = torch.tensor(rng.uniform(0.5, 2, 6), dtype=torch.float32)
    rm0, rv0 = rm.clone(), rv.clone()
    dy = torch.tensor(rng.standard_normal((2, 6, 5)), dtype=torch.float32)
    if op == "batch_norm":
        y = NF.batch_norm(x, rm, rv, w, b, False)
    else:
        y = NF.instance_norm(x, rm, rv, w, b, use_input_stats=False)
    rm.add_(5.0)
    rv.mul_(3.0)
    y.backward(dy)
    assert used_compiled_backward(saved=False)
    check_grads([x, w, b], reference_grads(
        lambda x, w, b: F.batch_norm(x, rm0.double(), rv0.double(), w, b,
                                     False),
        [x, w, b], dy))


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "group_norm"])
def test_saved_statistics_large_mean(rng, op):
    """The forward saves its f32 statistics and the backward kernel reads
    them; at mean 1e4 + U(0, 1), where the saved f32 mean is off by up to
    2e-3 of the spread, the gradients stay within 1e-5 of float64."""
    NF.clear_cache()
    shape = (8, 6, 40)
    x = torch.tensor(1e4 + rng.uniform(0, 1, shape), dtype=torch.float32,
                     requires_grad=True)
    w = torch.tensor(rng.uniform(0.5, 1.5, 40 if op != "group_norm" else 6),
                     dtype=torch.float32, requires_grad=True)
    dy = torch.tensor(rng.standard_normal(shape), dtype=torch.float32)
    fns = {
        "layer_norm": (lambda x, w: NF.layer_norm(x, (40,), w),
                       lambda x, w: F.layer_norm(x, (40,), w)),
        "rms_norm": (lambda x, w: NF.rms_norm(x, (40,), w, 1e-6),
                     lambda x, w: x * torch.rsqrt(
                         (x * x).mean(-1, keepdim=True) + 1e-6) * w),
        "group_norm": (lambda x, w: NF.group_norm(x, 3, w),
                       lambda x, w: F.group_norm(x, 3, w)),
    }
    mine, theirs = fns[op]
    mine(x, w).backward(dy)
    assert used_compiled_backward(saved=True)
    check_grads([x, w], reference_grads(theirs, [x, w], dy))


@pytest.mark.parametrize("case", ["batch_norm", "layer_norm", "group_norm"])
def test_zero_size_backward(case):
    """No values: gradients of the input's (empty) shape and zero parameter
    gradients, as PyTorch's (the derived backward has nothing to
    differentiate)."""
    import torch.nn.functional as TF

    shape = (2, 6, 0) if case == "batch_norm" else (0, 6, 3)
    x = torch.randn(*shape, requires_grad=True)
    w = torch.randn(6 if case != "layer_norm" else 3, requires_grad=True)
    b = torch.randn_like(w, requires_grad=True)
    call = {
        "batch_norm": lambda f, x, w, b: f.batch_norm(x, None, None, w, b,
                                                      training=True),
        "layer_norm": lambda f, x, w, b: f.layer_norm(x, (3,), w, b),
        "group_norm": lambda f, x, w, b: f.group_norm(x, 3, w, b),
    }[case]
    call(NF, x, w, b).sum().backward()
    got = (x.grad, w.grad, b.grad)
    for t in (x, w, b):
        t.grad = None
    call(TF, x, w, b).sum().backward()
    for g, want in zip(got, (x.grad, w.grad, b.grad)):
        assert g.shape == want.shape
        assert torch.equal(g, want)
