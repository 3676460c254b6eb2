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
"""

from ._normlir import (
    CompileError,
    ExecutionError,
    InvalidArgumentError,
    NormLIRError,
    __version__,
    cache_stats,
    clear_memory_cache,
    get_cache_dir,
    set_cache_dir,
)
from ._kernel import Kernel, Spec, compile
from . import functional

__all__ = [
    "CompileError", "ExecutionError", "InvalidArgumentError", "NormLIRError",
    "Kernel", "Spec", "compile", "functional", "nn", "cache_stats",
    "clear_memory_cache", "get_cache_dir", "set_cache_dir", "__version__",
]


def __getattr__(name):
    # normlir.nn needs torch: imported on first use, so that `import normlir`
    # works without torch.
    if name == "nn":
        import importlib

        return importlib.import_module(".nn", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
