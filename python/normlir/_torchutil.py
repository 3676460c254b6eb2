"""PyTorch helpers of :mod:`normlir._kernel` and :mod:`normlir.functional`.

Imported only once a torch tensor has been seen (it imports torch).

CUDA: NormLIR runs its kernels on the CUDA device named by the
``NORMLIR_CUDA_DEVICE`` environment variable (default 0), in the device's
primary context (the one PyTorch uses), on a stream of its own that does not
synchronize with PyTorch's streams, and each call waits for its kernels to
finish before it returns. So before a call, the work PyTorch has queued on its
current stream (which may still be writing an input, or reading memory the
caching allocator has just handed out for a result) is waited for
(:func:`cuda_before_call`); after the call the results are complete.
"""

from __future__ import annotations

import os

import torch

_ordinal: int | None = None


def cuda_ordinal() -> int:
    """The CUDA device NormLIR runs on: ``$NORMLIR_CUDA_DEVICE``, default 0."""
    global _ordinal
    if _ordinal is None:
        try:
            _ordinal = int(os.environ.get("NORMLIR_CUDA_DEVICE", "0") or 0)
        except ValueError:
            _ordinal = 0
    return _ordinal


def device_error(tensor: torch.Tensor, target: str, what: str) -> str | None:
    """Why ``tensor`` cannot be a buffer of a ``target`` kernel, or None."""
    device = tensor.device
    if target == "cpu":
        if device.type == "cpu":
            return None
        return f"{what} is on {device}, but the kernel runs on the CPU"
    if device.type == "cuda" and device.index == cuda_ordinal():
        return None
    return (f"{what} is on {device}, but the kernel runs on cuda:"
            f"{cuda_ordinal()} (NORMLIR_CUDA_DEVICE)")


def cuda_before_call(device: torch.device) -> None:
    """Waits for the work queued on PyTorch's current stream of ``device``,
    so that NormLIR's stream sees finished inputs and free result memory."""
    torch.cuda.current_stream(device).synchronize()
