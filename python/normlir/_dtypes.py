"""Element types: NormLIR's names and their NumPy and PyTorch counterparts.

NormLIR names element types ``f32``, ``f16``, ``bf16`` (the float types a norm
takes), ``f64``, ``i64`` and ``i32`` (as the extension's ``Function.inputs``
and ``Function.results`` report them). NumPy has no bfloat16: ``bf16`` buffers
travel in NumPy as ``uint16`` arrays of bit patterns.

Only NumPy is imported here; the PyTorch tables are built on first use by
:func:`torch_dtype` and :func:`torch_dtype_name`, so that ``import normlir``
does not import torch.
"""

from __future__ import annotations

import numpy as np

#: The float element types a norm spec takes (its input, weight, bias and
#: running statistics).
FLOAT_TYPES = ("f32", "f16", "bf16")

#: NormLIR name -> NumPy dtype of a buffer of that element type (``bf16``:
#: ``uint16`` bit patterns).
NUMPY_DTYPES = {
    "f32": np.dtype(np.float32),
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "f64": np.dtype(np.float64),
    "i64": np.dtype(np.int64),
    "i32": np.dtype(np.int32),
}

# NumPy dtype -> NormLIR name, for arrays that hold values (uint16 is left out:
# as a bf16 bit pattern it is only accepted where a signature says bf16).
_NUMPY_NAMES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(np.float64): "f64",
    np.dtype(np.int64): "i64",
    np.dtype(np.int32): "i32",
}

# Spellings accepted for an element type given as a string.
_ALIASES = {
    "f32": "f32", "float32": "f32", "float": "f32",
    "f16": "f16", "float16": "f16", "half": "f16",
    "bf16": "bf16", "bfloat16": "bf16",
    "f64": "f64", "float64": "f64", "double": "f64",
    "i64": "i64", "int64": "i64", "long": "i64",
    "i32": "i32", "int32": "i32", "int": "i32",
}

_TORCH_NAMES: dict | None = None  # torch.dtype -> NormLIR name
_TORCH_DTYPES: dict | None = None  # NormLIR name -> torch.dtype


def _torch_tables():
    global _TORCH_NAMES, _TORCH_DTYPES
    if _TORCH_DTYPES is None:
        import torch

        _TORCH_DTYPES = {
            "f32": torch.float32, "f16": torch.float16,
            "bf16": torch.bfloat16, "f64": torch.float64,
            "i64": torch.int64, "i32": torch.int32,
        }
        _TORCH_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
    return _TORCH_DTYPES, _TORCH_NAMES


def torch_dtype(name: str):
    """The ``torch.dtype`` of NormLIR element type ``name`` (imports torch)."""
    return _torch_tables()[0][name]


def torch_dtype_name(dtype) -> str | None:
    """NormLIR's name of a ``torch.dtype``, or None when NormLIR has none."""
    return _torch_tables()[1].get(dtype)


def is_ml_bfloat16(dtype) -> bool:
    """Whether ``dtype`` is ``ml_dtypes.bfloat16`` (NumPy's bfloat16 from the
    ml_dtypes package, whose arrays the buffer protocol does not export:
    they travel as ``uint16`` views), without importing ml_dtypes."""
    return (dtype.name == "bfloat16" and dtype.itemsize == 2
            and dtype.kind == "V")


def numpy_dtype_name(dtype) -> str | None:
    """NormLIR's name of a NumPy dtype holding values (float32, float16,
    ml_dtypes' bfloat16, float64, int64, int32), or None (uint16 included:
    see :data:`NUMPY_DTYPES`)."""
    dtype = np.dtype(dtype)
    if is_ml_bfloat16(dtype):
        return "bf16"
    return _NUMPY_NAMES.get(dtype)


def dtype_name(dtype) -> str:
    """NormLIR's name (``"f32"``, ``"f16"``, ``"bf16"``, ``"f64"``, ``"i64"``,
    ``"i32"``) of an element type given as that name, a common alias
    (``"float32"``, ``"bfloat16"``, ``"half"``...), a NumPy dtype or scalar
    type, or a ``torch.dtype``.

    Raises:
        TypeError: ``dtype`` names no element type NormLIR knows.
    """
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype.lower().removeprefix("torch."))
        if name is not None:
            return name
    elif type(dtype).__module__ == "torch":
        name = torch_dtype_name(dtype)
        if name is not None:
            return name
    else:
        try:
            name = numpy_dtype_name(dtype)
        except TypeError:
            name = None
        if name is not None:
            return name
    raise TypeError(
        f"unsupported element type {dtype!r}: NormLIR knows f32, f16, bf16, "
        "f64, i64 and i32 (bf16 NumPy buffers are uint16 bit patterns, named "
        "'bf16' explicitly)")
