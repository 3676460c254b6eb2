"""ml_dtypes.bfloat16 NumPy arrays in normlir.functional: taken as bf16
(their bits, without a copy), results of the same dtype. ml_dtypes comes
with pip's PyTorch 2.x stage (scripts/test-torch2.sh); elsewhere these tests
are skipped."""

import numpy as np
import pytest

import normlir_testing as nt

ml_dtypes = pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")
F = torch.nn.functional

normlir = nt.import_normlir()

from normlir import functional as NF  # noqa: E402

BF16 = ml_dtypes.bfloat16


def bf16(a):
    return np.asarray(a, np.float32).astype(BF16)


def close(got, ref64):
    """Within two bf16 ulps of the float64 reference (one rounding of an
    f32 computation)."""
    assert got.dtype == BF16
    g = got.astype(np.float64)
    tol = 2 * 2.0 ** -8 * np.maximum(np.abs(ref64), 1.0)
    assert np.all(np.abs(g - ref64) <= tol), np.max(np.abs(g - ref64))


@pytest.mark.parametrize("param_dtype", [np.float32, BF16])
def test_layer_norm(param_dtype):
    rng = np.random.default_rng(0)
    x = bf16(rng.standard_normal((7, 96)) * 3 + 1)
    w = (rng.uniform(0.5, 1.5, 96)).astype(np.float32).astype(param_dtype)
    b = rng.standard_normal(96).astype(np.float32).astype(param_dtype)
    before = x.copy()
    y = NF.layer_norm(x, (96,), w, b)
    ref = F.layer_norm(torch.tensor(x.astype(np.float64)), (96,),
                       torch.tensor(w.astype(np.float64)),
                       torch.tensor(b.astype(np.float64))).numpy()
    close(y, ref)
    assert np.array_equal(x.view(np.uint16), before.view(np.uint16))


def test_group_norm_channels_last_view():
    rng = np.random.default_rng(1)
    nhwc = bf16(rng.standard_normal((2, 5, 6, 8)))
    x = nhwc.transpose(0, 3, 1, 2)  # NCHW view of channels-last memory
    y = NF.group_norm(x, 4)
    ref = F.group_norm(torch.tensor(x.astype(np.float64)), 4).numpy()
    close(y, ref)


def test_batch_norm_running_stats_in_place():
    rng = np.random.default_rng(2)
    x = bf16(rng.standard_normal((4, 3, 10)) + 2)
    rm, rv = bf16(np.zeros(3)), bf16(np.ones(3))
    y = NF.batch_norm(x, rm, rv, training=True, momentum=0.5)
    ref_rm, ref_rv = torch.zeros(3, dtype=torch.float64), torch.ones(
        3, dtype=torch.float64)
    ref = F.batch_norm(torch.tensor(x.astype(np.float64)), ref_rm, ref_rv,
                       training=True, momentum=0.5).numpy()
    close(y, ref)
    close(rm, ref_rm.numpy())
    close(rv, ref_rv.numpy())


def test_add_layer_norm():
    rng = np.random.default_rng(3)
    x, r = bf16(rng.standard_normal((5, 64))), bf16(rng.standard_normal((5, 64)))
    y, h = NF.add_layer_norm(x, r, (64,))
    h64 = x.astype(np.float64) + r.astype(np.float64)
    close(h, h64)
    ref = F.layer_norm(torch.tensor(h.astype(np.float64)), (64,)).numpy()
    close(y, ref)


def test_kernel_takes_ml_bfloat16():
    """A Kernel (normlir.compile) takes ml_dtypes bfloat16 arrays where its
    signature says bf16, and returns its bf16 results as such arrays; the
    uint16 bit patterns still work, and give uint16 results."""
    spec = normlir.Spec("layer_norm", "bf16", (4, 32), normalized_shape=(32,))
    kernel = normlir.compile(spec)
    rng = np.random.default_rng(1)
    x = bf16(rng.standard_normal((4, 32)) * 2 + 3)
    y = kernel(x)
    assert y.dtype == BF16 and y.shape == (4, 32)
    ref = F.layer_norm(torch.tensor(x.astype(np.float64)), (32,)).numpy()
    close(y, ref)
    bits = kernel(x.view(np.uint16))
    assert bits.dtype == np.uint16
    assert np.array_equal(bits, y.view(np.uint16))
    out = np.empty((4, 32), BF16)
    assert kernel(x, out=out) is out
    assert np.array_equal(out.view(np.uint16), bits)
