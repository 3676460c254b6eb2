"""Specs, :func:`compile` and :class:`Kernel`: one compiled NormLIR function
called on NumPy arrays or PyTorch tensors without copying them."""

from __future__ import annotations

import dataclasses
import operator
import os
import sys

import numpy as np

from . import _normlir
from ._dtypes import (FLOAT_TYPES, NUMPY_DTYPES, dtype_name, is_ml_bfloat16,
                      torch_dtype)
from ._normlir import InvalidArgumentError

#: The ops a :class:`Spec` builds (PyTorch's modules of the same names).
OPS = ("layer_norm", "rms_norm", "batch_norm", "instance_norm", "group_norm")


def _int_tuple(value, what: str) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ints) as a tuple of Python ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    try:
        return tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(f"{what} must be an int or a sequence of ints, "
                        f"got {value!r}") from None


def _type_str(shape, dtype: str) -> str:
    """MLIR's spelling of a tensor type, e.g. ``tensor<8x6xf32>``,
    ``tensor<?x6xf32>`` (-1: a dynamic dimension)."""
    return ("tensor<" + "".join("?x" if d == -1 else f"{d}x" for d in shape)
            + dtype + ">")


def _fits(shape, signature) -> bool:
    """Whether a tensor of ``shape`` fits the signature's (-1: any size)."""
    return len(shape) == len(signature) and all(
        d == s or s == -1 for d, s in zip(shape, signature))


def float_arg(fn: str, name: str, value) -> float:
    """``value`` as a float, taken as PyTorch's argument parser takes a
    ``float`` argument: Python and NumPy real numbers (bool and int included)
    and 0-dimensional tensors that do not require grad. Anything else (None,
    strings, Decimal, arrays, tensors with elements or a grad) raises
    TypeError with PyTorch's message, where ``float()`` would convert some.
    """
    if type(value) is float:
        return value
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        return float(value)
    if (type(value).__module__.startswith("torch") and hasattr(value, "dim")
            and value.dim() == 0 and not value.requires_grad
            and not value.dtype.is_complex):
        return float(value)
    raise TypeError(f"{fn}(): argument '{name}' must be float, not "
                    f"{type(value).__name__}")


@dataclasses.dataclass(frozen=True)
class Spec:
    """A norm spec built without writing MLIR: the arguments of
    ``_normlir.spec_mlir`` (the C API's ``normlirSpec``).

    Args:
        op: ``"layer_norm"``, ``"rms_norm"``, ``"batch_norm"``,
            ``"instance_norm"`` or ``"group_norm"``.
        dtype: the input's element type, ``"f32"``, ``"f16"`` or ``"bf16"``
            (a NumPy or torch dtype, or ``"float32"``..., is accepted too).
        shape: the input's shape; in memory order ``(N, *S, C)`` with
            ``channels_last``.
        normalized_shape: LayerNorm/RMSNorm: the trailing dimensions
            normalized over.
        num_groups: GroupNorm: the number of groups (divides the channels).
        eps: epsilon; None: PyTorch's default of the op.
        momentum: BatchNorm/InstanceNorm running-statistics momentum in
            [0, 1]; None: 0.1.
        weight, bias: whether the function takes these operands.
        running_stats: BatchNorm/InstanceNorm: the function takes
            running_mean and running_var.
        batches_tracked: BatchNorm: the function takes num_batches_tracked
            (i64, rank 0) and, in training, returns it incremented.
        training: BatchNorm: normalize with batch statistics and update the
            running statistics; InstanceNorm: ``use_input_stats``.
        channels_last: BatchNorm/InstanceNorm/GroupNorm: the channel axis is
            the last one of ``shape``.
        save_stats: also return the saved statistics (LayerNorm/GroupNorm
            mean and rstd, RMSNorm rstd, BatchNorm training save_mean and
            save_rstd).
        cumulative_average: BatchNorm training: PyTorch's ``momentum=None``,
            the cumulative moving average (needs ``batches_tracked``).
        residual: a residual add before the norm: the function takes a
            residual of the input's shape and type after the input, and
            normalizes and returns h = input + residual (a pre-norm
            transformer's residual stream; added in f32, rounded once).
        wrt: the argument indices whose gradients the backward function
            (``compile(..., differentiate=True)``) returns, ascending
            (recorded as the function's ``norm.wrt``); empty: every argument
            that has one.
        param_dtype: the element type of weight, bias and running statistics:
            None (the input's) or ``"f32"``.
        name: the name of the function built.

    The function built takes the input, then the residual (``residual``),
    then weight, bias, running_mean, running_var and num_batches_tracked
    where present; it returns the output, then h (``residual``), then the
    saved statistics (``save_stats``), then the new running_mean and
    running_var (training with running statistics), then
    num_batches_tracked + 1 (BatchNorm training with ``batches_tracked``).
    """

    op: str
    dtype: str
    shape: tuple[int, ...]
    normalized_shape: tuple[int, ...] | None = None
    num_groups: int = 0
    eps: float | None = None
    momentum: float | None = None
    weight: bool = False
    bias: bool = False
    running_stats: bool = False
    batches_tracked: bool = False
    training: bool = False
    channels_last: bool = False
    save_stats: bool = False
    cumulative_average: bool = False
    residual: bool = False
    wrt: tuple[int, ...] = ()
    param_dtype: str | None = None
    name: str = "main"

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"unknown op {self.op!r}; expected one of "
                             f"{', '.join(OPS)}")
        put = object.__setattr__
        put(self, "dtype", dtype_name(self.dtype))
        if self.dtype not in FLOAT_TYPES:
            raise TypeError(f"a norm's input is f32, f16 or bf16, "
                            f"got {self.dtype}")
        put(self, "shape", _int_tuple(self.shape, "shape"))
        put(self, "wrt", _int_tuple(self.wrt, "wrt"))
        if self.normalized_shape is not None:
            put(self, "normalized_shape",
                _int_tuple(self.normalized_shape, "normalized_shape"))
        if self.param_dtype is not None:
            put(self, "param_dtype", dtype_name(self.param_dtype))
        put(self, "num_groups", operator.index(self.num_groups))
        if self.eps is not None:
            put(self, "eps", float_arg("Spec", "eps", self.eps))
        if self.momentum is not None:
            put(self, "momentum", float_arg("Spec", "momentum", self.momentum))

    def mlir(self) -> str:
        """The spec as MLIR text (what :func:`compile` takes).

        Raises:
            normlir.InvalidArgumentError: the spec is inconsistent (e.g. a
                normalized shape that is not a suffix of the shape).
        """
        kwargs = dataclasses.asdict(self)
        del kwargs["op"], kwargs["dtype"], kwargs["shape"]
        return _normlir.spec_mlir(self.op, self.dtype, self.shape, **kwargs)


def _bits(a):
    """``a``, or for an ml_dtypes bfloat16 array its uint16 view."""
    if isinstance(a, np.ndarray) and is_ml_bfloat16(a.dtype):
        return a.view(np.uint16)
    return a


class Kernel:
    """One function of a compiled NormLIR module, callable on NumPy arrays
    (and other buffer-protocol objects) or PyTorch tensors.

    ``kernel(*inputs, out=None)`` takes the function's inputs in order and
    returns its single result, or a tuple of its results. Nothing is copied:
    NumPy arrays are passed by the buffer protocol (``bf16`` as ``uint16``
    bit patterns, or ``ml_dtypes.bfloat16`` arrays, whose results of bf16
    are then such arrays too) and checked by the extension; torch tensors are passed by
    address after checking here that each has the signature's dtype and
    shape, is contiguous, and lives where the kernel runs (the CPU, or the
    CUDA device NormLIR uses). Inputs are never written.

    Results are allocated like the first input (NumPy arrays, or torch
    tensors on its device) unless ``out`` gives them: a tuple (or, for a
    single result, one array or tensor), of the same kind as the inputs.

    A signature's dimension of -1 is dynamic (a spec built with -1 in its
    shape): any size fits, the kernel checks that the sizes agree, and a
    result's takes the size of the input dimension it follows.

    Attributes:
        name: the function's name.
        inputs, results: the signature, ``((shape, dtype), ...)``, dtype one
            of ``f32, f16, bf16, f64, i64, i32``.
        module: the compiled ``_normlir.Module`` (its ``warnings``, other
            functions).
        target: ``"cpu"`` or ``"cuda"``.
        function: the extension's ``Function`` (``call``, ``call_ptrs``).

    A kernel is not differentiable: torch results never require grad.
    """

    __slots__ = ("module", "function", "name", "inputs", "results", "target",
                 "_torch_signature", "_dynamic")

    def __init__(self, module, function):
        self.module = module
        self.function = function
        self.name = function.name
        self.inputs = tuple((tuple(s), d) for s, d in function.inputs)
        self.results = tuple((tuple(s), d) for s, d in function.results)
        self.target = module.target
        self._torch_signature = None
        self._dynamic = any(-1 in s for s, _ in (*self.inputs, *self.results))

    def _result_shapes(self, inputs):
        """The results' shapes for ``inputs`` (dynamic dimensions filled
        in from the inputs')."""
        if not self._dynamic:
            return [s for s, _ in self.results]
        shapes = self.function.result_shapes(
            [tuple(getattr(a, "shape", ())) for a in inputs])
        for i, s in enumerate(shapes):
            if -1 in s:
                raise InvalidArgumentError(
                    f"function '{self.name}': the size of a dynamic "
                    f"dimension of result {i} follows no input; pass out=")
        return shapes

    def __repr__(self) -> str:
        ins = ", ".join(_type_str(s, d) for s, d in self.inputs)
        outs = ", ".join(_type_str(s, d) for s, d in self.results)
        return (f"<normlir.Kernel {self.name}({ins}) -> ({outs}) "
                f"on {self.target}>")

    def __call__(self, *inputs, out=None):
        """Runs the function; see the class documentation."""
        if len(inputs) != len(self.inputs):
            raise InvalidArgumentError(
                f"function '{self.name}' takes {len(self.inputs)} inputs, "
                f"got {len(inputs)}")
        if out is not None:
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(self.results):
                raise InvalidArgumentError(
                    f"function '{self.name}' has {len(self.results)} results, "
                    f"got {len(out)} out= buffers")
        probe = inputs[0] if inputs else (out[0] if out else None)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(probe, torch.Tensor):
            results = self._call_torch(torch, probe.device, inputs, out)
        else:
            results = self._call_buffers(torch, inputs, out)
        return results[0] if len(results) == 1 else tuple(results)

    def _call_buffers(self, torch, inputs, out):
        if self.target != "cpu":
            raise InvalidArgumentError(
                f"function '{self.name}' runs on {self.target}: pass torch "
                "tensors on the GPU (or device addresses to "
                "function.call_ptrs)")
        if torch is not None:
            for i, a in enumerate((*inputs, *(out or ()))):
                if isinstance(a, torch.Tensor):
                    raise TypeError(
                        f"function '{self.name}': argument {i} is a torch "
                        "tensor, but the first is not; pass tensors or arrays "
                        "throughout")
        # ml_dtypes' bfloat16 arrays export no buffer: their bits as uint16
        # (the same memory); bf16 results then are such arrays too.
        bf16 = next((a.dtype for a in inputs if isinstance(a, np.ndarray)
                     and is_ml_bfloat16(a.dtype)), None)
        if out is None:
            out = [np.empty(s, bf16 if d == "bf16" and bf16 is not None
                            else NUMPY_DTYPES[d])
                   for s, (_, d) in zip(self._result_shapes(inputs),
                                        self.results)]
        self.function.call([_bits(a) for a in inputs],
                           [_bits(a) for a in out])
        return out

    def _call_torch(self, torch, device, inputs, out):
        if self._torch_signature is None:
            from ._torchutil import cuda_ordinal, select_cuda_device

            # The first tensor's device becomes NormLIR's if it has none
            # yet (a mismatch is reported by _reject below).
            if self.target == "cuda" and device.type == "cuda":
                select_cuda_device(device)

            self._torch_signature = (
                [(s, torch_dtype(d)) for s, d in self.inputs],
                [(s, torch_dtype(d)) for s, d in self.results],
                torch.device("cuda", cuda_ordinal()) if self.target == "cuda"
                else torch.device("cpu"))
        sig_inputs, sig_results, where = self._torch_signature
        Tensor, strided = torch.Tensor, torch.strided
        for t, (shape, dtype) in zip(inputs, sig_inputs):
            if not (isinstance(t, Tensor) and t.dtype == dtype
                    and (t.shape == shape or _fits(t.shape, shape))
                    and t.layout is strided
                    and t.is_contiguous() and t.device == where):
                self._reject(torch, inputs, sig_inputs, "input")
        if out is None:
            out = [torch.empty(s, dtype=d, device=device)
                   for s, (_, d) in zip(self._result_shapes(inputs),
                                        sig_results)]
        else:
            for t, (shape, dtype) in zip(out, sig_results):
                if not (isinstance(t, Tensor) and t.dtype == dtype
                        and (t.shape == shape or _fits(t.shape, shape))
                        and t.layout is strided
                        and t.is_contiguous() and t.device == where
                        and not t.requires_grad):
                    self._reject(torch, out, sig_results, "result")
        stream = None
        if self.target == "cuda":
            from ._torchutil import cuda_stream

            stream = cuda_stream(where)
        self.function.call_ptrs(
            [t.data_ptr() for t in inputs] + [t.data_ptr() for t in out],
            stream,
            [t.shape for t in (*inputs, *out)] if self._dynamic else None)
        return out

    def _reject(self, torch, tensors, signature, what):
        """Raises InvalidArgumentError for the first of ``tensors`` that does
        not fit ``signature``."""
        from ._torchutil import device_error

        for i, (t, (shape, dtype)) in enumerate(zip(tensors, signature)):
            where = f"{what} {i} of '{self.name}'"
            if not isinstance(t, torch.Tensor):
                raise InvalidArgumentError(
                    f"{where} must be a torch tensor like input 0, got "
                    f"{type(t).__name__}")
            if t.dtype != dtype or not _fits(t.shape, shape):
                raise InvalidArgumentError(
                    f"{where} must be {_type_str(shape, dtype_name(dtype))}, "
                    f"got {t.dtype} of shape {tuple(t.shape)}")
            if t.layout != torch.strided:
                raise InvalidArgumentError(f"{where} must be a dense tensor, "
                                           f"got layout {t.layout}")
            if not t.is_contiguous():
                raise InvalidArgumentError(
                    f"{where} must be contiguous (strides {t.stride()}); call "
                    ".contiguous() on it")
            problem = device_error(t, self.target, where)
            if problem:
                raise InvalidArgumentError(problem)
            if what == "result" and t.requires_grad:
                raise InvalidArgumentError(
                    f"{where} requires grad; a kernel is not differentiable "
                    "(pass a tensor that does not)")
        raise AssertionError("no tensor to reject")


def compile(spec_or_mlir, target: str = "cpu", *, schedule: str = "",
            chip: str = "", opt_level: int = 3, function: str | None = None,
            disk_cache: bool = True, target_cpu: str = "",
            target_features: str = "", differentiate: bool = False,
            recompute_statistics: bool = False) -> Kernel:
    """JIT-compiles a norm spec and returns a :class:`Kernel` bound to one of
    its functions.

    Args:
        spec_or_mlir: MLIR text with ``norm`` dialect ops (a ``str``), a path
            to such a file (``os.PathLike``), or a :class:`Spec`.
        target: ``"cpu"`` (the host CPU) or ``"cuda"`` (an NVIDIA GPU).
        schedule: overrides of the schedule heuristic, as ``norm-select-schedule``'s
            options (``"vector-width=8 unroll=2"``; CUDA
            ``"strategy=row threads=128"``); empty: the heuristic decides.
        chip: CUDA: the GPU architecture (``"sm_90"``...); empty: the device's.
        opt_level: the LLVM optimization level, 0 to 3.
        function: the name of the function to bind; None: the spec's (for a
            :class:`Spec`) or the module's first.
        disk_cache: whether to use the on-disk cache of compiled modules
            (see :func:`normlir.set_cache_dir`).
        target_cpu: CPU: the LLVM CPU to compile for (``"x86-64-v3"``,
            ``"znver4"``); empty: this machine's. A CPU with instructions
            this machine lacks is refused (the kernel runs here).
        target_features: CPU: LLVM features added to or removed from the
            CPU's (``"+avx512bf16,-avx512f"``).
        differentiate: also derive each function's backward function,
            ``NAME_backward`` (the compiler's ``norm-differentiate``): it
            takes the function's arguments, then the statistics the function
            returns (a Spec with ``save_stats``: mean and rstd, which the
            backward then reads instead of recomputing them), then the
            gradient of each normalized output, and returns the gradients
            of the input, weight and bias (those the function takes, in its
            order); bind it with ``function="NAME_backward"``.
        recompute_statistics: with ``differentiate``, the backward
            recomputes the statistics from the input even where the
            function returns them (and takes no statistics arguments).

    Compiled modules are cached in memory and on disk, keyed by the source,
    the target and the options: compiling the same spec again is cheap.

    Raises:
        normlir.CompileError: the source does not parse, verify or lower; the
            message carries the located diagnostics.
        normlir.InvalidArgumentError: no function of that name (the message
            names those available), or bad options.
    """
    if recompute_statistics and not differentiate:
        raise ValueError("compile(): recompute_statistics needs "
                         "differentiate=True")
    if isinstance(spec_or_mlir, Spec):
        source = spec_or_mlir.mlir()
        buffer_name = f"<{spec_or_mlir.op} spec>"
        if function is None:
            function = spec_or_mlir.name
    elif isinstance(spec_or_mlir, str):
        source, buffer_name = spec_or_mlir, "<spec>"
    elif isinstance(spec_or_mlir, os.PathLike):
        buffer_name = os.fspath(spec_or_mlir)
        with open(buffer_name, encoding="utf-8") as f:
            source = f.read()
    else:
        raise TypeError("compile() takes MLIR text (str), a path or a "
                        f"normlir.Spec, got {type(spec_or_mlir).__name__}")
    if target == "cuda" and not chip:
        # The chip is the device's, which that query makes NormLIR's: the
        # device PyTorch has current, where PyTorch is in use.
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            try:
                _normlir.cuda_select_device(torch.cuda.current_device())
            except _normlir.ExecutionError:
                pass  # the compile reports the device in use, or none
    module = _normlir.compile(source, target=target, name=buffer_name,
                              chip=chip, schedule=schedule,
                              opt_level=opt_level, disk_cache=disk_cache,
                              target_cpu=target_cpu,
                              target_features=target_features,
                              differentiate=differentiate,
                              recompute_statistics=recompute_statistics)
    if function is not None:
        fn = module.function(function)
    else:
        functions = module.functions
        if not functions:
            # The warnings say why (a non-tensor signature, a tensor too
            # large to address).
            warnings = module.warnings.rstrip()
            raise InvalidArgumentError(
                f"{buffer_name} defines no callable function"
                + (f":\n{warnings}" if warnings else ""))
        fn = functions[0]
    return Kernel(module, fn)

