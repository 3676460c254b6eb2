"""DLPack inputs: normlir.functional takes the arrays of other libraries
(any object with __dlpack__, and DLPack capsules) without a copy, through
torch.utils.dlpack.from_dlpack when torch is imported, else
numpy.from_dlpack; the results are then torch tensors or NumPy arrays.
Running statistics passed that way are updated in place, in the producer's
memory."""

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional
from torch.utils.dlpack import to_dlpack  # noqa: E402

normlir = nt.import_normlir()

from normlir import functional as NF  # noqa: E402


class Producer:
    """A foreign array: only the DLPack protocol, over a NumPy array."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, stream=None):
        return self._a.__dlpack__()

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_capsule_input():
    x = torch.randn(6, 40)
    w, b = torch.rand(40) + 0.5, torch.randn(40)
    y = NF.layer_norm(to_dlpack(x), (40,), to_dlpack(w), to_dlpack(b))
    assert isinstance(y, torch.Tensor)
    torch.testing.assert_close(y, F.layer_norm(x, (40,), w, b),
                               rtol=1e-5, atol=1e-5)


def test_bf16_capsule():
    x = torch.randn(4, 64).bfloat16()
    y = NF.rms_norm(to_dlpack(x), (64,))
    assert y.dtype == torch.bfloat16
    ref = x.double() * torch.rsqrt(x.double().square().mean(-1, keepdim=True)
                                   + torch.finfo(torch.bfloat16).eps)
    torch.testing.assert_close(y.double(), ref, rtol=1e-2, atol=1e-2)


def test_producer_object_and_in_place_running_stats():
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y = NF.batch_norm(Producer(x), Producer(rm), Producer(rv),
                      training=True, momentum=0.1)
    ref_rm, ref_rv = torch.zeros(3), torch.ones(3)
    ref = F.batch_norm(torch.from_numpy(x), ref_rm, ref_rv, training=True,
                       momentum=0.1)
    torch.testing.assert_close(torch.as_tensor(np.asarray(y)), ref,
                               rtol=1e-5, atol=1e-5)
    # Updated in the producer's own memory.
    np.testing.assert_allclose(rm, ref_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, ref_rv.numpy(), rtol=1e-5, atol=1e-6)


def test_running_stats_capsules_taken_once():
    x = torch.randn(4, 3, 5)
    rm, rv = torch.zeros(3), torch.ones(3)
    NF.batch_norm(to_dlpack(x), to_dlpack(rm), to_dlpack(rv), training=True)
    assert not torch.equal(rm, torch.zeros(3))


def test_residual_norm_takes_dlpack():
    x, r = torch.randn(5, 32), torch.randn(5, 32)
    y, h = NF.add_layer_norm(to_dlpack(x), to_dlpack(r), (32,))
    torch.testing.assert_close(h, x + r)
    torch.testing.assert_close(y, F.layer_norm(x + r, (32,)), rtol=1e-5,
                               atol=1e-5)


def test_without_torch(tmp_path):
    """Without torch imported: producers come in as NumPy arrays, and a
    capsule gets a clear TypeError."""
    code = """
import numpy as np
import sys
import normlir.functional as NF
class P:
    def __init__(self, a): self.a = a
    def __dlpack__(self, stream=None): return self.a.__dlpack__()
    def __dlpack_device__(self): return self.a.__dlpack_device__()
x = np.arange(12, dtype=np.float32).reshape(3, 4)
y = NF.layer_norm(P(x), (4,))
assert isinstance(y, np.ndarray), type(y)
assert "torch" not in sys.modules
try:
    NF.layer_norm(x.__dlpack__(), (4,))
except TypeError as e:
    print("capsule:", e)
"""
    proc = nt.run_package_python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "a DLPack capsule needs torch" in proc.stdout


def test_first_call_with_a_tensor_keeps_autograd(tmp_path):
    """A fresh process whose first NormLIR call gets a tensor that requires
    grad: it is torch's own, not a DLPack producer, so the gradient
    flows (regression: it was taken through DLPack and detached)."""
    code = """
import torch
import normlir.functional as NF
x = torch.randn(4, 16, requires_grad=True)
NF.layer_norm(x, (16,)).square().sum().backward()
assert x.grad is not None and torch.isfinite(x.grad).all()
print("ok")
"""
    proc = nt.run_package_python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
