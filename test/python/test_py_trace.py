"""torch.jit.trace of normlir.nn modules under any PyTorch: the trace
computes the norm (through the custom ops on PyTorch 2.4+, else as
torch.nn.functional does), rather than recording the traced call's output
as a constant. Runs under Debian's torch 1.13 and pip's torch 2.x."""

import warnings

import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")

normlir = nt.import_normlir()

import normlir.nn as nnl  # noqa: E402


def model(nn):
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
        nn.GroupNorm(2, 8), nn.InstanceNorm2d(8, affine=True),
        torch.nn.Flatten(), torch.nn.Linear(8 * 5 * 5, 16), nn.LayerNorm(16))


def test_trace_computes_the_norm():
    torch.manual_seed(0)
    ref = model(torch.nn).eval()
    ours = model(nnl).eval()
    ours.load_state_dict(ref.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(ours, (torch.randn(2, 3, 5, 5),))
    # Another input: a recorded constant would not follow it.
    x = torch.randn(2, 3, 5, 5) * 3 + 1
    torch.testing.assert_close(traced(x), ref(x), rtol=1e-5, atol=1e-5)
