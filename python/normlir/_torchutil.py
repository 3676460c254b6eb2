"""PyTorch helpers of :mod:`normlir._kernel` and :mod:`normlir.functional`.

Imported only once a torch tensor has been seen (it imports torch).

CUDA: NormLIR runs its kernels on one CUDA device per process, in the
device's primary context (the one PyTorch uses): the device named by the
``NORMLIR_CUDA_DEVICE`` environment variable if set, else that of the first
CUDA tensor NormLIR is called on (so ``torch.cuda.set_device(rank)`` per
process works), and a tensor on another device is an error. A call queues
its kernels on PyTorch's current stream of that device (:func:`cuda_stream`)
and returns without waiting for them, like PyTorch's own operations: the
results are ready for the stream's later work, the caching allocator's
stream bookkeeping holds, and ``torch.cuda.graph`` captures the kernels.
"""

from __future__ import annotations

import torch

from . import _normlir


def cuda_ordinal() -> int:
    """The CUDA device NormLIR runs on (starts its runtime)."""
    return _normlir.cuda_device()


def device_error(tensor: torch.Tensor, target: str, what: str) -> str | None:
    """Why ``tensor`` cannot be a buffer of a ``target`` kernel, or None.
    A CUDA tensor's device becomes NormLIR's if it has none yet."""
    device = tensor.device
    if target == "cpu":
        if device.type == "cpu":
            return None
        return f"{what} is on {device}, but the kernel runs on the CPU"
    if device.type != "cuda":
        return f"{what} is on {device}, but the kernel runs on CUDA"
    problem = select_cuda_device(device)
    return f"{what} is on {device}: {problem}" if problem else None


def select_cuda_device(device: torch.device) -> str | None:
    """Makes the CUDA ``device`` NormLIR's if it has none yet; why it
    cannot be (NormLIR runs on another, no such device), or None."""
    index = device.index if device.index is not None else \
        torch.cuda.current_device()
    try:
        _normlir.cuda_select_device(index)
    except _normlir.ExecutionError as e:
        return str(e)
    return None


def cuda_stream(device: torch.device) -> int:
    """PyTorch's current stream of ``device`` as the CUstream handle a
    kernel call takes (0: the legacy default stream)."""
    return torch.cuda.current_stream(device).cuda_stream
