"""NormLIR: a JIT compiler for the normalization layers of neural networks
(LayerNorm, RMSNorm, BatchNorm, InstanceNorm, GroupNorm) with PyTorch's
semantics, for the host CPU and NVIDIA GPUs.

Three levels:

* :mod:`normlir.functional` (NumPy or torch): ``layer_norm``, ``rms_norm``,
  ``batch_norm``, ``instance_norm``, ``group_norm`` with
  ``torch.nn.functional``'s arguments, specialized and cached per call
  signature::

      import normlir.functional as F
      y = F.group_norm(x, 2, weight, bias)

* :mod:`normlir.nn` (torch): drop-in replacements for ``torch.nn``'s modules
  (``normlir.nn.BatchNorm2d(64)``...), imported on first use of
  ``normlir.nn``.

* :func:`compile`: a spec, as MLIR text or a :class:`Spec`, compiled to a
  :class:`Kernel` called on NumPy arrays or torch tensors::

      k = normlir.compile(normlir.Spec("layer_norm", "f32", (8, 6, 3, 4),
                                       normalized_shape=(3, 4)))
      y = k(x)

Errors are :class:`NormLIRError` (a ``RuntimeError``):
:class:`CompileError` for a spec that does not parse, verify or lower (with
located diagnostics), :class:`InvalidArgumentError` (also a ``ValueError``)
for buffers of the wrong count, shape, dtype or layout, and
:class:`ExecutionError` for failures at run time.

Compiled modules are cached in memory and on disk (``$NORMLIR_CACHE_DIR``,
else ``$XDG_CACHE_HOME/normlir``, else ``~/.cache/normlir``; see
:func:`set_cache_dir`, :func:`cache_stats`).

Host tensors of 1 MiB or more that :mod:`normlir.functional` and
:mod:`normlir.nn` return (outputs, gradients) come from a caching allocator,
as CUDA tensors come from PyTorch's: a block freed by torch keeps its pages
for the next result of its size, so a training step's outputs do not
page-fault every step. :func:`host_cache_info` tells its hits, misses and
bytes; it keeps at most :func:`set_host_cache_limit` bytes of free blocks
(``$NORMLIR_HOST_CACHE_BYTES``, default an eighth of the physical memory;
0 turns the caching off) and :func:`empty_host_cache` returns them to the
system. Such tensors are torch tensors like any other, except that their
storage cannot be resized (``resize_`` to a larger size raises).
"""

import operator as _operator
import os as _os
from collections import namedtuple as _namedtuple


def _load_extension():
    """Imports the extension, naming what is missing when a library it
    needs cannot be found (a wheel takes LLVM's and MLIR's from the
    system)."""
    try:
        from . import _normlir  # noqa: F401
    except ImportError as e:
        text = str(e)
        if "libMLIR" in text or "libLLVM" in text:
            raise ImportError(
                f"normlir needs the shared libraries of LLVM/MLIR 22 "
                f"(libMLIR.so.22.1, libLLVM.so.22.1; Debian/Ubuntu: the "
                f"llvm-22 and libmlir-22 packages of apt.llvm.org, in "
                f"/usr/lib/llvm-22/lib, or a directory on LD_LIBRARY_PATH): "
                f"{text}") from e
        raise


_load_extension()

from ._normlir import (  # noqa: E402
    CompileError,
    ExecutionError,
    InvalidArgumentError,
    NormLIRError,
    __version__,
    cache_stats,
    clear_memory_cache,
    empty_host_cache,
    get_cache_dir,
    set_cache_dir,
    set_host_cache_limit,
)
from ._normlir import host_cache_info as _host_cache_info  # noqa: E402
from ._normlir import set_memory_cache_capacity as _set_memory_cache_capacity  # noqa: E402,E501
from ._kernel import Kernel, Spec, compile  # noqa: E402
from . import functional  # noqa: E402
from .functional import set_dynamic  # noqa: E402

__all__ = [
    "CompileError", "ExecutionError", "InvalidArgumentError", "NormLIRError",
    "Kernel", "Spec", "compile", "functional", "nn", "cache_stats",
    "clear_memory_cache", "get_cache_dir", "set_cache_dir", "__version__",
    "HostCacheInfo", "host_cache_info", "set_host_cache_limit",
    "empty_host_cache", "CacheInfo", "cache_info", "set_cache_size",
    "torch_compile_backend", "set_dynamic",
]


HostCacheInfo = _namedtuple("HostCacheInfo", [
    "hits", "misses", "in_use_bytes", "cached_bytes", "cached_blocks",
    "limit_bytes"])
HostCacheInfo.__doc__ = """The host cache's counters: ``hits`` and ``misses``
(results served from a free block, and from the system), ``in_use_bytes``
(handed out, not yet freed), ``cached_bytes``/``cached_blocks`` (free,
kept) and ``limit_bytes``."""


CacheInfo = _namedtuple("CacheInfo", [
    "hits", "misses", "maxsize", "currsize", "compile_seconds"])
CacheInfo.__doc__ = """The specialization cache's counters, as
``functools.lru_cache``'s: ``hits`` (calls of :mod:`normlir.functional` and
:mod:`normlir.nn` that reused a compiled specialization), ``misses`` (new
specializations: compiled, or found in the JIT's memory or disk cache),
``maxsize``, ``currsize`` and ``compile_seconds`` (the time the misses
took)."""


def cache_info() -> CacheInfo:
    """The counters of the specializations :mod:`normlir.functional` and
    :mod:`normlir.nn` compile per call signature. Each miss is also logged
    (logger ``normlir``, level INFO) with its time."""
    s = functional._plan_stats
    return CacheInfo(s.hits, s.misses, s.maxsize,
                     len(functional._torch_plans), s.compile_seconds)


def set_cache_size(maxsize: int) -> None:
    """Keeps at most ``maxsize`` specializations (least recently used
    forgotten first), and at most ``maxsize`` modules in the JIT's memory
    cache; ``$NORMLIR_CACHE_SIZE`` sets both at start (default 512)."""
    try:
        size = None if isinstance(maxsize, bool) else _operator.index(maxsize)
    except TypeError:
        size = None
    if size is None or not 0 <= size <= functional._MAX_CACHE_SIZE:
        raise ValueError(f"set_cache_size(): maxsize must be an int in "
                         f"[0, 2**62], got {maxsize!r}")
    maxsize = size
    _set_memory_cache_capacity(maxsize)
    functional._plan_stats.maxsize = maxsize
    plans = functional._torch_plans
    while len(plans) > maxsize:
        try:
            plans.popitem(last=False)
        except KeyError:
            break


def _check_host_cache_env():
    text = _os.environ.get("NORMLIR_HOST_CACHE_BYTES")
    if text is not None and not (text.isascii() and text.isdigit()
                                 and len(text) <= 19):
        import warnings

        warnings.warn(f"NORMLIR_HOST_CACHE_BYTES={text!r} is not a number of "
                      f"bytes (decimal digits); the host cache keeps its "
                      f"default limit ({_host_cache_info()['limit_bytes']} "
                      f"bytes)", RuntimeWarning, stacklevel=3)


_check_host_cache_env()


def host_cache_info() -> HostCacheInfo:
    """The host cache's counters, like ``functools.lru_cache``'s
    ``cache_info()``."""
    return HostCacheInfo(**_host_cache_info())


def __getattr__(name):
    # normlir.nn needs torch: imported on first use, so that `import normlir`
    # works without torch.
    import importlib

    if name == "nn":
        return importlib.import_module(".nn", __name__)
    # The torch.compile backend (registers the name "normlir" too).
    if name == "torch_compile_backend":
        return importlib.import_module("._backend",
                                       __name__).torch_compile_backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
