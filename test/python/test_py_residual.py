"""normlir.functional.add_layer_norm / add_rms_norm: a residual add and a
row norm in one kernel, returning (output, h = input + residual), and their
backward in one kernel (norm.grad_kernel with residual_grad), against
float64 references of the norm of the h the kernel computed."""

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional
normlir = nt.import_normlir()
NF = normlir.functional

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def rms(h, ns, w, eps):
    dims = tuple(range(-len(ns), 0))
    y = h * torch.rsqrt((h * h).mean(dims, keepdim=True) + eps)
    return y if w is None else y * w


def reference(op, h, ns, w, b, eps):
    """The norm of h in float64 (h: the rounded sum the kernel returned)."""
    if op == "ln":
        return F.layer_norm(h, ns, w, b, eps)
    return rms(h, ns, w, torch.finfo(torch.float32).eps if eps is None
               else eps)


def call(op, x, r, ns, w, b, eps):
    if op == "ln":
        return NF.add_layer_norm(x, r, ns, w, b, eps)
    return NF.add_rms_norm(x, r, ns, w, eps)


def close(got, ref, dtype, what):
    got = got.detach().to(torch.float64).numpy()
    ref = ref.detach().numpy()
    if dtype == "f32":
        nt.assert_close(got, ref, what=what)
    else:
        nt.assert_close_lowp(got, ref, dtype, what=what)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("params", ["wb", "w", "none", "b"])
@pytest.mark.parametrize("op", ["ln", "rms"])
def test_forward_and_gradients(rng, op, params, dtype):
    if op == "rms" and "b" in params:
        pytest.skip("rms_norm has no bias")
    ns = (3, 40)
    shape = (5, *ns)
    td = DTYPES[dtype]
    x = torch.tensor(rng.standard_normal(shape) + 1, dtype=td,
                     requires_grad=True)
    r = torch.tensor(rng.standard_normal(shape), dtype=td, requires_grad=True)
    w = (torch.tensor(rng.uniform(0.5, 1.5, ns), dtype=torch.float32,
                      requires_grad=True) if "w" in params else None)
    b = (torch.tensor(rng.standard_normal(ns), dtype=torch.float32,
                      requires_grad=True) if "b" in params else None)
    eps = 1e-5 if op == "ln" else 1e-6
    y, h = call(op, x, r, ns, w, b, eps)
    assert y.dtype == td and h.dtype == td and y.shape == shape
    # h is the sum rounded once.
    h_ref = (x.detach().double() + r.detach().double()).to(td)
    assert torch.equal(h.detach(), h_ref)
    dy = torch.tensor(rng.standard_normal(shape), dtype=td)
    dh = torch.tensor(rng.standard_normal(shape), dtype=td)
    torch.autograd.backward([y, h], [dy, dh])

    h64 = h.detach().double().requires_grad_(True)
    w64 = None if w is None else w.detach().double().requires_grad_(True)
    b64 = None if b is None else b.detach().double().requires_grad_(True)
    y64 = reference(op, h64, ns, w64, b64, eps)
    close(y, y64, dtype, "output")
    torch.autograd.backward([y64], [dy.double()])
    dh_ref = h64.grad + dh.double()
    close(x.grad, dh_ref, dtype, "d input")
    assert torch.equal(x.grad, r.grad)
    assert x.grad.data_ptr() != r.grad.data_ptr()
    for t, t64, what in ((w, w64, "d weight"), (b, b64, "d bias")):
        if t is not None:
            assert t.grad.dtype == t.dtype
            nt.assert_close(t.grad.double().numpy(), t64.grad.numpy(),
                            rtol=1e-5 if dtype == "f32" else 1e-4, what=what)


@pytest.mark.parametrize("needs", ["input", "residual", "weight", "bias",
                                   "input_weight"])
def test_partial_gradients(rng, needs):
    """Only what requires grad gets a gradient; the backward kernel returns
    only those (norm.wrt), and a frozen input leaves the parameters' own
    kernels."""
    shape, ns = (7, 33), (33,)
    x = torch.tensor(rng.standard_normal(shape), dtype=torch.float32,
                     requires_grad="input" in needs)
    r = torch.tensor(rng.standard_normal(shape), dtype=torch.float32,
                     requires_grad="residual" in needs)
    w = torch.tensor(rng.uniform(0.5, 1.5, ns), dtype=torch.float32,
                     requires_grad="weight" in needs)
    b = torch.tensor(rng.standard_normal(ns), dtype=torch.float32,
                     requires_grad="bias" in needs)
    y, h = NF.add_layer_norm(x, r, ns, w, b)
    dy = torch.tensor(rng.standard_normal(shape), dtype=torch.float32)
    # h is not used downstream: autograd gives it a zero gradient.
    y.backward(dy)
    leaves = [t.detach().double().requires_grad_(True) for t in (x, r, w, b)]
    F.layer_norm(leaves[0] + leaves[1], ns, leaves[2], leaves[3]).backward(
        dy.double())
    for t, t64, name in zip((x, r, w, b), leaves,
                            ("input", "residual", "weight", "bias")):
        if name in needs:
            nt.assert_close(t.grad.double().numpy(), t64.grad.numpy(),
                            what=name)
        else:
            assert t.grad is None, name


def test_no_grad_and_numpy(rng):
    shape, ns = (4, 24), (24,)
    x = rng.standard_normal(shape).astype(np.float32)
    r = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(0.5, 1.5, ns).astype(np.float32)
    y, h = NF.add_rms_norm(x, r, ns, w, eps=1e-6)
    assert isinstance(y, np.ndarray) and isinstance(h, np.ndarray)
    np.testing.assert_array_equal(h, x + r)
    h64 = h.astype(np.float64)
    ref = h64 / np.sqrt((h64 * h64).mean(-1, keepdims=True) + 1e-6) * w
    nt.assert_close(y, ref, what="numpy output")
    with torch.no_grad():
        ty, th = NF.add_rms_norm(torch.tensor(x, requires_grad=True),
                                 torch.tensor(r), ns, torch.tensor(w),
                                 eps=1e-6)
    assert not ty.requires_grad
    np.testing.assert_array_equal(ty.numpy(), y)
    np.testing.assert_array_equal(th.numpy(), h)
    # Inputs are never modified.
    np.testing.assert_array_equal(x + r, h)


def test_non_contiguous_inputs(rng):
    """Strided input and residual are copied to contiguous ones first."""
    base = torch.tensor(rng.standard_normal((16, 48)), dtype=torch.float32)
    x = base[:, ::2].requires_grad_(True)
    r = torch.tensor(rng.standard_normal((24, 16)),
                     dtype=torch.float32).t().requires_grad_(True)
    y, h = NF.add_layer_norm(x, r, 24)
    ref = F.layer_norm(x.detach().double() + r.detach().double(), (24,))
    nt.assert_close(y.detach().double().numpy(), ref.numpy(), what="output")
    y.sum().backward()
    assert x.grad.shape == x.shape and r.grad.shape == r.shape


@pytest.mark.parametrize("bad", ["shape", "dtype", "kind"])
def test_residual_mismatch_is_an_error(bad):
    x = torch.zeros(4, 8)
    r = {"shape": torch.zeros(4, 9), "dtype": torch.zeros(4, 8,
                                                           dtype=torch.float16),
         "kind": np.zeros((4, 8), np.float32)}[bad]
    with pytest.raises(TypeError if bad == "kind" else ValueError,
                       match="residual"):
        NF.add_layer_norm(x, r, 8)


def test_double_backward_is_an_error(rng):
    x = torch.tensor(rng.standard_normal((4, 8)), dtype=torch.float32,
                     requires_grad=True)
    r = torch.zeros(4, 8)
    y, _ = NF.add_layer_norm(x, r, 8)
    (g,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        g.sum().backward()


def test_argument_errors_are_pytorchs():
    """A list as weight is a TypeError (not an AttributeError), named after
    the function called; eps=None is
    a TypeError for add_layer_norm, as for layer_norm, and float's epsilon
    for add_rms_norm, as for rms_norm."""
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(TypeError, match=r"^add_layer_norm\(\): weight"):
        NF.add_layer_norm(x, x, 4, [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match=r"^add_rms_norm\(\): NormLIR"):
        NF.add_rms_norm(x.astype(np.float64), x.astype(np.float64), 4)
    t = torch.zeros(2, 4, requires_grad=True)
    with pytest.raises(TypeError):
        NF.add_layer_norm(t, t, 4, [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(TypeError):
        NF.add_layer_norm(x, x, 4, eps=None)
    y, h = NF.add_rms_norm(x + 1, x, 4, eps=None)
    np.testing.assert_allclose(y, 1 / np.sqrt(1 + np.finfo(np.float32).eps),
                               rtol=1e-6)
