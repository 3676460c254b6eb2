"""Normalization functions with ``torch.nn.functional``'s names, arguments and
defaults, computed by NormLIR kernels.

Each function takes NumPy arrays or PyTorch tensors (CPU, or CUDA on the
device NormLIR uses) and returns the same kind::

    import numpy as np
    import normlir.functional as F

    x = np.random.rand(8, 6, 3, 4).astype(np.float32)
    y = F.layer_norm(x, (3, 4))

Specialization and caching: the first call with a new combination of op,
input shape, dtype and layout, parameter shapes and dtypes, options (eps,
momentum, training...) and device builds a spec, JIT-compiles it and keeps
the kernel in a dictionary; later calls with the same combination cost one
lookup, one output allocation and the kernel call. Arguments are validated as
PyTorch validates them (with PyTorch's messages) when a combination is first
seen; the compiler's diagnostics, when a spec does not verify, raise
:class:`normlir.CompileError`.

Element types: float32, float16 and (torch only) bfloat16 inputs. Weight,
bias and running statistics share one dtype: the input's or float32.

Layouts and copies: inputs are passed to the kernel without copying when they
are contiguous or, for ``batch_norm``, ``instance_norm`` and ``group_norm``,
channels-last (the channel axis innermost in memory: torch's
``channels_last``/``channels_last_3d`` formats, or any ``(N, C, *S)`` view of
a dense ``(N, *S, C)`` array); the output then has the input's layout. Any
other strided input or parameter is copied to a contiguous one first
(``.contiguous()`` / ``np.ascontiguousarray``). Inputs are never modified.

Running statistics (``batch_norm`` in training, ``instance_norm`` with
``use_input_stats`` and running statistics) are updated in place in the
caller's arrays or tensors, as PyTorch does.

Autograd: when gradients are needed (grad mode on and the input, weight or
bias requiring grad), the forward pass still runs on NormLIR. On the CPU
the backward pass runs on the kernel the compiler derives from the forward
(``norm-differentiate``, fused into one kernel), reading the statistics the
forward saved; CUDA tensors recompute the op with PyTorch (in float32 for
float16/bfloat16) to differentiate it. Double backward is an error.

CUDA: the kernels run on the tensor's device (one per process: the first
CUDA tensor's, or ``NORMLIR_CUDA_DEVICE``'s) and are queued on PyTorch's
current stream of it; a call returns without waiting for them, as PyTorch's
own operations do, so ``torch.cuda.graph`` captures them.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import operator
import os
import sys
import time
from math import prod

import numpy as np

from ._dtypes import is_ml_bfloat16, numpy_dtype_name, torch_dtype_name
from ._kernel import Spec, compile as _compile, float_arg as _float_arg
from . import _normlir as _nl
from ._normlir import cached_tensor as _cached_tensor

__all__ = ["layer_norm", "rms_norm", "batch_norm", "instance_norm",
           "group_norm", "add_layer_norm", "add_rms_norm", "clear_cache",
           "set_dynamic"]

_LAYER_NORM = "layer_norm"
_RMS_NORM = "rms_norm"
_BATCH_NORM = "batch_norm"
_INSTANCE_NORM = "instance_norm"
_GROUP_NORM = "group_norm"
_CHANNEL_OPS = frozenset((_BATCH_NORM, _INSTANCE_NORM, _GROUP_NORM))

# Names of the operands after the input, per op, in the kernels' order.
_OPERANDS = {
    _LAYER_NORM: ("weight", "bias"),
    _RMS_NORM: ("weight",),
    _BATCH_NORM: ("weight", "bias", "running_mean", "running_var",
                  "num_batches_tracked"),
    _INSTANCE_NORM: ("weight", "bias", "running_mean", "running_var"),
    _GROUP_NORM: ("weight", "bias"),
}

# Input layouts.
_CONTIGUOUS = 0
_CHANNELS_LAST = 1

_ndarray = np.ndarray

# The torch module and the functions the fast path calls, once a tensor has
# been seen (torch is never imported by this module itself).
_torch = None
_Tensor = None
_empty_like = None
_grad_enabled = None
_contiguous_format = None

# Host results of this many bytes or more come from the host cache
# (normlir.host_cache_info, HostCache.h): fresh from the system allocator,
# a training step's large outputs page-fault every step.
_HOST_CACHE_MIN_BYTES = 1 << 20
# torch dtype -> the cache's dtype name, and torch's from_dlpack (bound by
# _init_torch).
_cached_dtypes: dict = {}
_from_dlpack = None
# PyTorch 2.4+: the norms are also torch.library custom ops (_ops.py), which
# a call takes where PyTorch traces instead of running it (_traced).
_ops = None
_compiling = None
_jit_tracing = None
_onnx_exporting = None


class _PlanCache(collections.OrderedDict):
    """Compiled specializations by call signature, least recently used
    first: at most ``_plan_stats.maxsize`` (the oldest forgotten beyond
    it). ``get`` counts a hit and makes the entry the most recent;
    ``peek`` does neither (the fast path, which counts with ``touch`` once
    the call succeeds). Another thread may clear or shrink the cache
    between a lookup and its move: the plan found is still good."""

    def get(self, key, _get=collections.OrderedDict.get):
        plan = _get(self, key)
        if plan is not None:
            self.touch(key)
        return plan

    peek = collections.OrderedDict.get

    def touch(self, key, _move=collections.OrderedDict.move_to_end):
        _plan_stats.hits += 1
        try:
            _move(self, key)
        except KeyError:
            pass

    def __setitem__(self, key, plan):
        super().__setitem__(key, plan)
        while len(self) > _plan_stats.maxsize:
            try:
                self.popitem(last=False)
            except KeyError:
                break


#: The most specializations set_cache_size() takes (the JIT's capacity is
#: an int64).
_MAX_CACHE_SIZE = 1 << 62


class _PlanStats:
    """The specialization cache's counters (normlir.cache_info)."""

    def __init__(self):
        self.hits = 0
        self.misses = 0
        self.compile_seconds = 0.0
        self.maxsize = 512
        size = os.environ.get("NORMLIR_CACHE_SIZE")
        if size is None:
            return
        if size.isascii() and size.isdigit() and int(size) <= _MAX_CACHE_SIZE:
            self.maxsize = int(size)
        else:
            import warnings

            warnings.warn(f"NORMLIR_CACHE_SIZE={size!r} is not a cache size "
                          f"(decimal digits, at most 2**62); the "
                          f"specialization and module caches keep 512",
                          RuntimeWarning, stacklevel=2)


_plan_stats = _PlanStats()
_logger = logging.getLogger("normlir")

# Compiled kernels by call signature (see _norm_torch/_norm_numpy): one
# cache, one bound, for torch's signatures and NumPy's (their dtypes keep
# the keys apart).
_torch_plans = _numpy_plans = _PlanCache()


def clear_cache() -> None:
    """Forgets the kernels this module specialized (the extension's own
    module cache is :func:`normlir.clear_memory_cache`)."""
    _torch_plans.clear()
    _first_shapes.clear()


# Dynamic shapes, as torch.compile's ``dynamic``: None (automatic) compiles
# a kernel for the first shape of a call signature and, when a second shape
# arrives, one kernel whose leading (batch, sequence) dimensions are
# dynamic, which then serves every further shape; True compiles the dynamic
# kernel at once; False specializes on every shape. LayerNorm and RMSNorm
# have dynamic kernels over their leading dimensions (the normalized ones
# stay static), BatchNorm, GroupNorm and InstanceNorm over every dimension
# but the channels' (NCHW and channels-last), on the CPU.
_DYNAMIC_OPS = frozenset((_LAYER_NORM, _RMS_NORM, _BATCH_NORM, _GROUP_NORM,
                          _INSTANCE_NORM))
_dynamic_mode = None
# Dynamic signature -> the first shape seen with it (automatic mode).
_first_shapes: dict = {}


def set_dynamic(mode) -> None:
    """Sets when the norms compile one kernel for every shape rather than
    one per shape, as ``torch.compile(dynamic=...)``: LayerNorm and RMSNorm
    with their leading dimensions dynamic (CPU and GPU), BatchNorm,
    GroupNorm and InstanceNorm with every dimension but the channels' (the
    CPU; the GPU keeps a kernel per shape for them):

    * ``None`` (the default): specialize on the first shape of a call
      signature (op, dtype, device, normalized shape, parameters); from the
      second shape on, one dynamic kernel serves them all.
    * ``True``: the dynamic kernel from the first call.
    * ``False``: a kernel per shape (the dynamic kernel is never compiled).

    Kernels compiled earlier stay cached. ``NORMLIR_DYNAMIC`` (``auto``,
    ``1``, ``0``) sets the mode at import."""
    global _dynamic_mode
    if mode not in (None, True, False):
        raise ValueError(f"set_dynamic(): mode must be None, True or False, "
                         f"got {mode!r}")
    _dynamic_mode = mode


def _mode_from_env():
    value = os.environ.get("NORMLIR_DYNAMIC")
    if value is None or value in ("", "auto"):
        return None
    if value in ("0", "1"):
        return value == "1"
    import warnings

    warnings.warn(f"NORMLIR_DYNAMIC={value!r} is not auto, 1 or 0; "
                  f"shapes are specialized automatically", RuntimeWarning,
                  stacklevel=2)
    return None


_dynamic_mode = _mode_from_env()


def _dynamic_plan(op, opts, layout, x, params, updates, is_torch, key_tail,
                  save_stats=False, residual=False):
    """The plan of a call whose shape has no kernel yet, when the dynamic
    mode gives it the dynamic kernel (compiled on its first use); None when
    the call is to be specialized. ``key_tail``: the call's plan key after
    the shape (dtype, device, parameters); ``residual``: the residual
    norms' kernel (the sum returned after the output)."""
    if _dynamic_mode is False or op not in _DYNAMIC_OPS:
        return None
    if is_torch and x.device.type != "cpu" and op in _CHANNEL_OPS:
        # The GPU's dynamic channel-norm kernels (scalar accesses over
        # dynamic runs) are yet to be measured against the static ones on
        # a GPU; its dynamic LayerNorm/RMSNorm kernels are the static
        # ones' code with a runtime grid.
        return None
    shape = tuple(x.shape)
    if op in _CHANNEL_OPS:
        # Every dimension but the channels' (either layout). The call's own
        # shape is validated as the static path would (PyTorch's errors for
        # one value per channel or group, one spatial element...): the
        # dynamic kernel's shape cannot tell.
        if len(shape) < 2 or shape[1] == 0:
            return None
        _SPECS[op](opts, shape, params, "f32", None, False)
        dyn_shape = (-1, shape[1]) + (-1,) * (len(shape) - 2)
    else:
        k = len(opts[0])
        if not 0 < k < len(shape) or shape[len(shape) - k:] != tuple(opts[0]):
            return None  # No leading dimension (or a call PyTorch rejects).
        dyn_shape = (-1,) * (len(shape) - k) + shape[len(shape) - k:]
    dyn_key = ("dynamic", save_stats, residual, op, opts, layout, dyn_shape,
               *key_tail)
    plan = _torch_plans.get(dyn_key)
    if plan is not None:
        return plan
    if _dynamic_mode is None:
        first = _first_shapes.setdefault(dyn_key, shape)
        if first == shape:
            return None
    plan = _make_plan(op, opts, layout, x, params, updates, is_torch,
                      save_stats=save_stats, residual=residual,
                      shape=dyn_shape)
    _torch_plans[dyn_key] = plan
    return plan


# ----------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the last ``len(normalized_shape)`` dimensions,
    as ``torch.nn.functional.layer_norm``.

    Args:
        input: array or tensor of shape ``(*, *normalized_shape)``.
        normalized_shape: an int or a sequence of ints.
        weight, bias: optional, of shape ``normalized_shape``.
        eps: added to the (biased) variance.

    Returns:
        The normalized input, of the input's kind, shape and dtype.
    """
    if type(eps) is not float:
        eps = _float_arg("layer_norm", "eps", eps)
    opts = ((normalized_shape,) if type(normalized_shape) is int
            else tuple(normalized_shape)), eps
    if type(input) is _Tensor and not _compiling():
        out = _fast_call(_LAYER_NORM, opts, input, weight, bias)
        if out is not None:
            return out
    return _norm(_LAYER_NORM, opts, input, (weight, bias), ())


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalization over the last
    ``len(normalized_shape)`` dimensions, as ``torch.nn.functional.rms_norm``
    (PyTorch 2.4+): ``y = x * rsqrt(mean(x**2) + eps) * weight``.

    Args:
        input: array or tensor of shape ``(*, *normalized_shape)``.
        normalized_shape: an int or a sequence of ints.
        weight: optional, of shape ``normalized_shape``.
        eps: None means PyTorch's default, float32's epsilon
            (1.1920929e-07) for every input dtype.

    Returns:
        The normalized input, of the input's kind, shape and dtype.
    """
    if eps is not None and type(eps) is not float:
        eps = _float_arg("rms_norm", "eps", eps)
    opts = ((normalized_shape,) if type(normalized_shape) is int
            else tuple(normalized_shape)), eps
    if type(input) is _Tensor and not _compiling():
        out = _fast_call(_RMS_NORM, opts, input, weight, _NO_BIAS)
        if out is not None:
            return out
    return _norm(_RMS_NORM, opts, input, (weight,), ())


def add_layer_norm(input, residual, normalized_shape, weight=None, bias=None,
                   eps=1e-5):
    """A pre-norm transformer's residual stream: ``h = input + residual``
    (added in float32, rounded once to the input's dtype), then
    ``layer_norm(h, normalized_shape, weight, bias, eps)``, in one kernel.

    Args:
        input, residual: arrays or tensors of one shape ``(*,
            *normalized_shape)``, dtype and device.
        normalized_shape, weight, bias, eps: as :func:`layer_norm`.

    Returns:
        ``(output, h)``: the normalized sum and the sum itself (the stream
        the next block adds to). With autograd, the backward is one kernel
        too: it reads the saved h and statistics and the gradients of both
        results, and writes their sum's gradient once, which is the
        gradient of both ``input`` and ``residual`` (CPU tensors only).
    """
    from ._residual import add_norm_opts, residual_norm

    return residual_norm(_LAYER_NORM, add_norm_opts("add_layer_norm",
                                                    normalized_shape, eps),
                         input, residual, (weight, bias))


def add_rms_norm(input, residual, normalized_shape, weight=None, eps=None):
    """``h = input + residual``, then ``rms_norm(h, normalized_shape,
    weight, eps)``, in one kernel; returns ``(output, h)``. See
    :func:`add_layer_norm`."""
    from ._residual import add_norm_opts, residual_norm

    return residual_norm(_RMS_NORM, add_norm_opts("add_rms_norm",
                                                  normalized_shape, eps),
                         input, residual, (weight,))


def batch_norm(input, running_mean, running_var, weight=None, bias=None,
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of an ``(N, C, *S)`` input, as
    ``torch.nn.functional.batch_norm``.

    In training, normalizes with the statistics of the batch (over all axes
    but the channels) and, when ``running_mean``/``running_var`` are given,
    updates them in place: ``running = (1 - momentum) * running + momentum *
    stat``, with the unbiased batch variance. Otherwise normalizes with the
    running statistics, which must then be given.

    Args:
        input: array or tensor of shape ``(N, C, *S)``, or channels-last.
        running_mean, running_var: ``(C)`` or None (both or neither).
        weight, bias: optional, ``(C)``.
        training: use (and track) batch statistics.
        momentum: the running-statistics momentum, a float in [0, 1].
        eps: added to the variance.

    Returns:
        The normalized input, of the input's kind, shape, dtype and layout.

    Raises:
        ValueError: in training, one value per channel.
        RuntimeError: not training and no running statistics; parameters that
            do not have ``C`` elements.
    """
    if momentum is None:
        raise TypeError(
            "batch_norm(): argument 'momentum' must be float, not NoneType "
            "(normlir.nn.BatchNorm*d with momentum=None computes the "
            "cumulative moving average)")
    return _batch_norm(input, running_mean, running_var, weight, bias,
                       training, momentum, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None,
                  bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization of an ``(N, C, *S)`` input (each ``(n, c)`` over
    ``S``), as ``torch.nn.functional.instance_norm``.

    With ``use_input_stats`` the statistics of each instance are used and,
    when running statistics are given, they are updated in place with the
    batch average of the instances' mean and unbiased variance. Otherwise the
    running statistics, which must then be given, normalize the input.

    Args:
        input: array or tensor of shape ``(N, C, *S)`` (at least 3-D), or
            channels-last.
        running_mean, running_var: ``(C)`` or None (both or neither).
        weight, bias: optional, ``(C)``.
        use_input_stats: normalize with the instances' statistics.
        momentum: the running-statistics momentum in [0, 1] (a float, as
            in PyTorch; ``normlir.nn.InstanceNorm*d`` passes
            ``momentum=None`` as 0, as ``torch.nn.InstanceNorm*d`` does).
        eps: added to the variance.

    Returns:
        The normalized input, of the input's kind, shape, dtype and layout.
    """
    momentum = _float_arg("instance_norm", "momentum", momentum)
    eps = _float_arg("instance_norm", "eps", eps)
    use_input_stats = bool(use_input_stats)
    updates = (() if not use_input_stats or running_mean is None
               else (running_mean, running_var))
    return _norm(_INSTANCE_NORM, (use_input_stats, momentum, eps),
                 input, (weight, bias, running_mean, running_var), updates)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization of an ``(N, C, *S)`` input, as
    ``torch.nn.functional.group_norm``: the channels are split into
    ``num_groups`` groups and each ``(n, group)`` is normalized over its
    channels and ``S``; weight and bias are per channel.

    Args:
        input: array or tensor of shape ``(N, C, *S)``, or channels-last.
        num_groups: divides ``C``.
        weight, bias: optional, ``(C)``.
        eps: added to the variance.

    Returns:
        The normalized input, of the input's kind, shape, dtype and layout.
    """
    if type(eps) is not float:
        eps = _float_arg("group_norm", "eps", eps)
    opts = num_groups, eps
    if type(input) is _Tensor and not _compiling():
        out = _fast_call(_GROUP_NORM, opts, input, weight, bias)
        if out is not None:
            return out
    return _norm(_GROUP_NORM, opts, input, (weight, bias), ())


def _batch_norm(input, running_mean, running_var, weight, bias, training,
                momentum, eps, num_batches_tracked=None):
    """:func:`batch_norm` with ``normlir.nn``'s extras: ``num_batches_tracked``
    (training with running statistics) is incremented in place, and
    ``momentum=None`` (which needs it) is the cumulative moving average,
    ``momentum = 1 / num_batches_tracked`` after the increment."""
    if momentum is not None:
        momentum = _float_arg("batch_norm", "momentum", momentum)
    eps = _float_arg("batch_norm", "eps", eps)
    training = bool(training)
    if training and running_mean is not None:
        if num_batches_tracked is None:
            if momentum is None:
                raise ValueError("batch_norm with momentum=None (cumulative "
                                 "moving average) needs num_batches_tracked")
            updates = (running_mean, running_var)
        else:
            updates = (running_mean, running_var, num_batches_tracked)
    else:
        num_batches_tracked = None
        updates = ()
    return _norm(_BATCH_NORM, (training, momentum, eps), input,
                 (weight, bias, running_mean, running_var,
                  num_batches_tracked), updates)


# ----------------------------------------------------------------------------
# Dispatch
# ----------------------------------------------------------------------------


class _Plan:
    """A kernel specialized for one call signature, and what calling it
    needs: the extension function's entry points, whether it runs on CUDA,
    and the signature shapes of the operands after the input and of the
    results copied back into the caller's running statistics (NumPy path)."""

    __slots__ = ("kernel", "call", "call_ptrs", "cuda", "param_shapes",
                 "update_shapes", "stat_shapes", "dynamic")

    def __init__(self, kernel, num_updates, num_stats=0, first_stat=1):
        self.kernel = kernel
        self.call = kernel.function.call
        self.call_ptrs = kernel.function.call_ptrs
        self.cuda = kernel.target == "cuda"
        # Dynamic dimensions (-1): the calls pass the buffers' shapes.
        self.dynamic = any(-1 in s for s, _ in kernel.inputs)
        self.param_shapes = [s for s, _ in kernel.inputs[1:]]
        end = first_stat + num_stats
        self.stat_shapes = [s for s, _ in kernel.results[first_stat:end]]
        self.update_shapes = ([s for s, _ in kernel.results[end:]]
                              if num_updates else [])


_NO_BIAS = object()


def _fast_call(op, opts, x, a, b):
    """The cached-plan lookup of the fast path: ``b`` is ``_NO_BIAS`` for an
    op without a bias operand (its plan key has one parameter entry).
    Returns the output, or None when the general path must run."""
    try:
        wkey = None if a is None else (a.shape, a.dtype, a.device)
        if b is _NO_BIAS:
            key = (op, opts, _CONTIGUOUS, x.shape, x.dtype, x.device, wkey)
            b = None
        else:
            key = (op, opts, _CONTIGUOUS, x.shape, x.dtype, x.device, wkey,
                   None if b is None else (b.shape, b.dtype, b.device))
        plan = _torch_plans.peek(key)
    except (AttributeError, TypeError):
        return None
    if plan is None:
        return None
    out = _cached_call(plan, x, a, b)
    if out is not None:
        # Counted here, not by the lookup: a call the general path takes
        # over (gradients, strides) counts there, once.
        _torch_plans.touch(key)
    return out


def _cached_call(plan, x, a, b):
    """The fast path of ``layer_norm``, ``rms_norm`` and ``group_norm``: a
    host kernel, already compiled, on a contiguous input ``x`` with
    contiguous optional operands ``a`` and ``b`` and no gradient to track.
    Returns the output, or None when the general path must run."""
    if plan.cuda or not (x.is_contiguous()
            and (a is None or a.is_contiguous())
            and (b is None or b.is_contiguous())):
        return None
    if _grad_enabled() and (x.requires_grad
                            or (a is not None and a.requires_grad)
                            or (b is not None and b.requires_grad)):
        return None
    out = _new_like(x)
    if a is None:
        ptrs = ([x.data_ptr(), out.data_ptr()] if b is None else
                [x.data_ptr(), b.data_ptr(), out.data_ptr()])
    elif b is None:
        ptrs = [x.data_ptr(), a.data_ptr(), out.data_ptr()]
    else:
        ptrs = [x.data_ptr(), a.data_ptr(), b.data_ptr(), out.data_ptr()]
    if plan.dynamic:
        # The parameters are static; the input and output have x's shape.
        shape = x.shape
        plan.call_ptrs(ptrs, None, [shape] + [None] * (len(ptrs) - 2) +
                       [shape])
    else:
        plan.call_ptrs(ptrs)
    return out


def _new_like(x):
    """An uninitialized result like ``x`` (its shape, dtype, device, and its
    strides where it is dense): from the host cache for a large host tensor,
    else ``torch.empty_like``."""
    if x.device.type == "cpu":
        name = _cached_dtypes.get(x.dtype)
        if (name is not None
                and x.numel() * x.element_size() >= _HOST_CACHE_MIN_BYTES):
            return _from_dlpack(_cached_tensor(x.shape, x.stride(), name))
    return _empty_like(x)


def _init_torch():
    """Binds this module to torch when it has been imported (a tensor can only
    exist then); returns the torch module or None."""
    global _torch, _Tensor, _empty_like, _grad_enabled, _contiguous_format
    global _from_dlpack, _ops, _compiling, _jit_tracing, _onnx_exporting
    torch = sys.modules.get("torch")
    if torch is not None:
        _Tensor = torch.Tensor
        _empty_like = torch.empty_like
        from torch.utils.dlpack import from_dlpack
        _from_dlpack = from_dlpack
        _cached_dtypes.update({torch.float32: "f32", torch.float16: "f16",
                               torch.bfloat16: "bf16",
                               torch.float64: "f64"})
        _grad_enabled = torch.is_grad_enabled
        _contiguous_format = torch.contiguous_format
        compiler = getattr(torch, "compiler", None)
        _compiling = getattr(compiler, "is_compiling", None) or (lambda: False)
        _jit_tracing = torch.jit.is_tracing
        onnx = getattr(torch, "onnx", None)
        _onnx_exporting = (getattr(onnx, "is_in_onnx_export", None)
                           or (lambda: False))
        _torch = torch
        if hasattr(torch.library, "custom_op"):
            from . import _ops as ops
            _ops = ops
    return torch


def _traced(x) -> bool:
    """Whether PyTorch traces this call instead of running it (Dynamo,
    torch.export, torch.jit.trace, or a tensor subclass such as FakeTensor):
    the call then goes through the custom op (PyTorch 2.4+), or, without
    custom ops, PyTorch's own norm (_reference_norm)."""
    return type(x) is not _Tensor or _compiling() or _jit_tracing()


def _traced_norm(op, opts, x, params, updates):
    """The norm of a traced call (_traced): PyTorch's for ONNX export,
    NormLIR's custom op where there are custom ops, PyTorch's under
    jit.trace without them; None where the call runs as in eager mode."""
    if _onnx_exporting():
        return _reference_norm(op, opts, x, params, updates)
    if _ops is not None:
        return _ops.norm(op, opts, x, params, updates)
    if _jit_tracing():
        return _reference_norm(op, opts, x, params, updates)
    return None


def _reference_norm(op, opts, x, params, updates):
    """``op`` as ``torch.nn.functional`` computes it, running statistics
    updated as ``torch.nn``'s modules update them: what a trace records
    where NormLIR's kernels cannot be called. ONNX export takes this path
    (its graph then has the standard ONNX norm, and the exported model
    runs without NormLIR), as does tracing under a PyTorch without
    ``torch.library.custom_op``; a trace of the eager path would record
    the kernel's output as a constant."""
    F = _torch.nn.functional
    if op == _LAYER_NORM:
        ns, eps = opts
        return F.layer_norm(x, ns, params[0], params[1], eps)
    if op == _RMS_NORM:
        # No F.rms_norm before PyTorch 2.4: the backward's recomputation.
        from . import _autograd

        return _autograd.reference(op, opts, ())(x, params[0], None)
    if op == _GROUP_NORM:
        groups, eps = opts
        return F.group_norm(x, groups, params[0], params[1], eps)
    if op == _BATCH_NORM:
        training, momentum, eps = opts
        w, b, rm, rv, nbt = params
        if updates and nbt is not None:
            nbt.add_(1)
            if momentum is None:
                momentum = 1.0 / float(nbt)
        return F.batch_norm(x, rm, rv, w, b, training,
                            0.0 if momentum is None else momentum, eps)
    use_input_stats, momentum, eps = opts
    w, b, rm, rv = params
    return F.instance_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)


def _is_dlpack(a) -> bool:
    """Whether ``a`` is a DLPack producer (``__dlpack__``) or capsule that
    is neither a NumPy array nor a torch tensor."""
    if isinstance(a, _ndarray):
        return False
    # _Tensor is bound at the first call: a torch tensor is torch's, not a
    # producer (taking it through DLPack would detach it from autograd).
    if _Tensor is None:
        _init_torch()
    if _Tensor is not None and isinstance(a, _Tensor):
        return False
    return hasattr(a, "__dlpack__") or type(a).__name__ == "PyCapsule"


def _take_dlpack(op, a):
    """``a`` (a DLPack producer or capsule) without a copy: a torch tensor
    when torch is imported, else a NumPy array (``numpy.from_dlpack``,
    which takes producers, not capsules, and no bfloat16)."""
    if (_torch or _init_torch()) is not None:
        return _from_dlpack(a)
    if not hasattr(a, "__dlpack__"):
        raise TypeError(f"{op}(): a DLPack capsule needs torch "
                        f"(torch.utils.dlpack.from_dlpack) to be imported; "
                        f"pass an object with __dlpack__ for NumPy")
    return np.from_dlpack(a)


def _dlpack_operands(op, x, params, updates):
    """The call's operands with every DLPack producer or capsule (other
    than NumPy arrays and torch tensors) taken as a torch tensor or NumPy
    array, sharing its memory (running statistics are updated in place)."""
    # An operand passed twice (a running statistic is read and updated) is
    # taken once: a capsule can be consumed only once.
    taken = {}

    def take(a):
        if a is None or not _is_dlpack(a):
            return a
        if id(a) not in taken:
            taken[id(a)] = _take_dlpack(op, a)
        return taken[id(a)]
    return (take(x), tuple(take(p) for p in params),
            tuple(take(u) for u in updates))


def _norm(op, opts, x, params, updates):
    """Runs ``op`` with options ``opts`` on input ``x`` and the operands
    ``params`` (None where absent, in the kernel's order); the trailing
    results are copied into the caller's ``updates``. Inputs of other
    array libraries come in through DLPack (_dlpack_operands)."""
    if _is_dlpack(x):
        x, params, updates = _dlpack_operands(op, x, params, updates)
    if isinstance(x, _ndarray):
        return _norm_numpy(op, opts, x, params, updates)
    torch = _torch or _init_torch()
    if torch is None or not isinstance(x, torch.Tensor):
        raise TypeError(f"{op}(): input must be a NumPy array or a torch "
                        f"tensor, got {type(x).__name__}")
    if _traced(x):
        y = _traced_norm(op, opts, x, params, updates)
        if y is not None:
            return y
    if _grad_enabled():
        w = params[0]
        b = params[1] if len(params) > 1 else None
        try:
            needs_grad = (x.requires_grad
                          or (w is not None and w.requires_grad)
                          or (b is not None and b.requires_grad))
        except AttributeError:
            raise _operand_type_error(op, params, True) from None
        if needs_grad:
            return _norm_autograd(op, opts, x, params, updates)
    return _norm_torch(op, opts, x, params, updates)


def _norm_torch(op, opts, x, params, updates, save_stats=False):
    """The torch path: zero-copy through the kernel's ``call_ptrs``. With
    ``save_stats`` returns the output and the statistics the forward saves
    for the backward (float32 mean and rstd, or rstd for RMSNorm)."""
    layout, x = _torch_layout(op, x)
    try:
        key = (op, opts, layout, x.shape, x.dtype, x.device,
               *[None if p is None else (p.shape, p.dtype, p.device)
                 for p in params])
    except AttributeError:
        raise _operand_type_error(op, params, True) from None
    # The signature but the shape: the dynamic kernel's key.
    tail = key[4:]
    if save_stats:
        key = ("save_stats", *key)
    plan = _torch_plans.get(key)
    if plan is None:
        plan = _dynamic_plan(op, opts, layout, x, params, updates, True, tail,
                             save_stats=save_stats)
        if plan is None:
            plan = _make_plan(op, opts, layout, x, params, updates, True,
                              save_stats=save_stats)
        _torch_plans[key] = plan
    args = [x]
    for p in params:
        if p is not None:
            args.append(p if p.is_contiguous() else p.contiguous())
    out = _new_like(x)
    stat_shapes = plan.stat_shapes
    if plan.dynamic:
        # A statistic's dynamic dimensions are the input's.
        stat_shapes = [_shape_like(s, x.shape) for s in stat_shapes]
    stats = [_torch.empty(shape, dtype=_torch.float32, device=x.device)
             for shape in stat_shapes]
    results = [out, *stats]
    if updates:
        results += [_empty_like(u, memory_format=_contiguous_format)
                    for u in updates]
    stream = None
    if plan.cuda:
        args, stream = _cuda_prepare(args, x.device)
    shapes = None
    if plan.dynamic:
        # The kernel's sizes are in memory order: the input's and output's
        # channels last where the layout is.
        shapes = [t.shape for t in args] + [t.shape for t in results]
        if layout == _CHANNELS_LAST:
            shapes[0] = shapes[len(args)] = _memory_order(tuple(x.shape),
                                                          True)
    plan.call_ptrs([t.data_ptr() for t in args] +
                   [t.data_ptr() for t in results], stream, shapes)
    for u, r in zip(updates, results[1 + len(stats):]):
        u.copy_(r)
    return (out, tuple(stats)) if save_stats else out


def _norm_numpy(op, opts, x, params, updates):
    """The NumPy path: zero-copy through the buffer protocol (the extension
    validates every buffer)."""
    layout = _CONTIGUOUS
    buffer = x
    if not x.flags.c_contiguous:
        if op in _CHANNEL_OPS and x.ndim >= 3:
            moved = x.transpose(0, *range(2, x.ndim), 1)
            if moved.flags.c_contiguous:
                layout, buffer = _CHANNELS_LAST, moved
        if layout == _CONTIGUOUS:
            x = buffer = np.ascontiguousarray(x)
    try:
        key = (op, opts, layout, x.shape, x.dtype,
               *[None if p is None else (p.shape, p.dtype) for p in params])
    except AttributeError:
        raise _operand_type_error(op, params, False) from None
    plan = _numpy_plans.get(key)
    if plan is None:
        plan = _dynamic_plan(op, opts, layout, x, params, updates, False,
                             key[4:])
        if plan is None:
            plan = _make_plan(op, opts, layout, x, params, updates, False)
        _numpy_plans[key] = plan
    args = [buffer]
    for p, shape in zip([p for p in params if p is not None],
                        plan.param_shapes):
        p = np.ascontiguousarray(p)
        args.append(p if p.shape == shape else p.reshape(shape))
    out = np.empty(buffer.shape, buffer.dtype)
    news = [np.empty(s, u.dtype) for u, s in zip(updates, plan.update_shapes)]
    # ml_dtypes' bfloat16 arrays export no buffer: their bits as uint16.
    plan.call([_bf16_bits(a) for a in args],
              [_bf16_bits(a) for a in (out, *news)])
    for u, r in zip(updates, news):
        np.copyto(u, r.reshape(u.shape))
    if layout == _CHANNELS_LAST:
        return out.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))
    return out


def _bf16_bits(a):
    """``a``, or for an ml_dtypes bfloat16 array its uint16 view (the same
    memory)."""
    return a.view(np.uint16) if is_ml_bfloat16(a.dtype) else a


def _saves_stats(op, opts) -> bool:
    """Whether ``op``'s forward returns the statistics its backward reads
    (saved, not recomputed): LayerNorm, RMSNorm, GroupNorm and BatchNorm
    training. InstanceNorm's backward recomputes them (PyTorch's
    instance_norm saves none either)."""
    return op != _INSTANCE_NORM and (op != _BATCH_NORM or bool(opts[0]))


def _compiled_backward(x) -> bool:
    """Whether a norm of ``x`` runs its backward pass on the kernel NormLIR
    derives: every norm on the CPU (with statistics from the input, saved or
    recomputed, or constant: BatchNorm/InstanceNorm evaluating with running
    statistics). CUDA tensors recompute with PyTorch: the GPU has no fused
    backward kernels yet."""
    return x.device.type == "cpu"


def _backward_torch(op, opts, x, params, num_affine, grad_output, saved=()):
    """The gradients of ``op`` on the CPU by the backward kernel the compiler
    derives (norm-differentiate, fused by norm-fuse-grad): the input's, then
    those of the present parameters among the first ``num_affine`` of
    ``params`` (weight, bias; running statistics get none). ``saved``: the
    statistics the forward saved (_norm_torch's ``save_stats``), which the
    kernel reads instead of recomputing them; empty: recomputed."""
    layout, x = _torch_layout(op, x)
    params = tuple(None if p is None else p.detach().contiguous()
                   for p in params)
    if x.numel() == 0:
        # No values: nothing flows back (the derived function of such a
        # spec has no normalized output to differentiate).
        return [_empty_like(x)] + [_torch.zeros_like(p)
                                   for p in params[:num_affine]
                                   if p is not None]
    key = ("backward", bool(saved), op, opts, layout, x.shape, x.dtype,
           x.device, *[None if p is None else (p.shape, p.dtype, p.device)
                       for p in params])
    plan = _torch_plans.get(key)
    if plan is None:
        plan = _make_plan(op, opts, layout, x, params, (), True,
                          backward=True, save_stats=bool(saved))
        _torch_plans[key] = plan
    present = [p for p in params if p is not None]
    dy = grad_output.to(x.dtype)
    if layout == _CHANNELS_LAST:
        # The gradient in x's memory order (dense, channels last).
        r = x.dim()
        perm = (0, *range(2, r), 1)
        inv = (0, r - 1, *range(1, r - 1))
        dy = dy.permute(perm).contiguous().permute(inv)
    else:
        dy = dy.contiguous()
    grads = [_new_like(x)] + [_empty_like(p) for p in params[:num_affine]
                                if p is not None]
    plan.call_ptrs([t.data_ptr() for t in (x, *present, *saved, dy)] +
                   [t.data_ptr() for t in grads])
    return grads


def _norm_autograd(op, opts, x, params, updates):
    """The torch path when gradients are needed: the forward pass on NormLIR;
    the backward pass on the backward kernel NormLIR derives
    (_compiled_backward), else by recomputing with PyTorch."""
    from . import _autograd

    num_affine = 1 if op == _RMS_NORM else 2
    w = params[0]
    b = params[1] if num_affine == 2 else None
    rest = params[num_affine:]

    def params_of(w, b):
        return ((w,) if num_affine == 1 else (w, b)) + tuple(rest)

    save_stats = _saves_stats(op, opts)
    # BatchNorm/InstanceNorm evaluating with running statistics: those are
    # constants of this forward, copied for the backward (as PyTorch's
    # autograd keeps them) so that a later in-place update does not reach
    # it.
    constant_stats = op in (_BATCH_NORM, _INSTANCE_NORM) and not opts[0]

    def run(x, w, b):
        if save_stats:
            return _norm_torch(op, opts, x, params_of(w, b), updates, True)
        y = _norm_torch(op, opts, x, params_of(w, b), updates)
        if constant_stats:
            return y, tuple(s.detach().clone() for s in rest[:2])
        return y, ()

    if _compiled_backward(x):
        def backward(x, w, b, saved, grad_output):
            ps = params_of(w, b)
            if constant_stats:
                ps = ps[:num_affine] + tuple(saved) + ps[num_affine + 2:]
                saved = ()
            grads = iter(_backward_torch(op, opts, x, ps, num_affine,
                                         grad_output, saved))
            dx = next(grads)
            dw = next(grads) if w is not None else None
            db = next(grads) if b is not None else None
            return dx, dw, db

        return _autograd.apply_compiled(run, backward, x, w, b)

    def run_unsaved(x, w, b):
        return _norm_torch(op, opts, x, params_of(w, b), updates), ()

    return _autograd.apply(run_unsaved, _autograd.reference(op, opts, rest),
                           x, w, b)


def _torch_layout(op, x):
    """The kernel layout of torch tensor ``x`` and the tensor to pass:
    channels-last for a dense channels-last input of a channel norm, else
    contiguous (a copy where ``x`` is not)."""
    if x.is_contiguous():
        return _CONTIGUOUS, x
    if op in _CHANNEL_OPS and _is_channels_last_torch(x):
        return _CHANNELS_LAST, x
    return _CONTIGUOUS, x.contiguous()


def _is_channels_last_torch(x) -> bool:
    """Whether ``x`` (N, C, *S) is a view of a dense (N, *S, C) tensor."""
    r = x.dim()
    return r >= 3 and x.permute(0, *range(2, r), 1).is_contiguous()


def _cuda_prepare(args, device):
    """CUDA buffers must be 16-byte aligned: realigns (copies, on PyTorch's
    stream, so in order with the call) the rare input that is not (a view
    at an odd offset). Returns the arguments and the stream to call on:
    PyTorch's current stream of ``device``."""
    from ._torchutil import cuda_stream

    if any(t.data_ptr() % 16 for t in args):
        args = [t.clone() if t.data_ptr() % 16 else t for t in args]
    return args, cuda_stream(device)


def _operand_type_error(op, params, is_torch) -> TypeError:
    """The error for an operand that is not of the input's kind."""
    kind, cls = (("a torch tensor", _Tensor) if is_torch
                 else ("a NumPy array", _ndarray))
    for name, p in zip(_OPERANDS[op], params):
        if p is not None and not isinstance(p, cls):
            return TypeError(f"{op}(): {name} must be {kind} like the input, "
                             f"got {type(p).__name__}")
    return TypeError(f"{op}(): operands must be {kind}s like the input")


# ----------------------------------------------------------------------------
# Validation and specs (once per call signature)
# ----------------------------------------------------------------------------


def _shape_like(shape, like):
    """``shape`` with its dynamic dimensions (-1) taken from ``like``'s."""
    return tuple(like[i] if d == -1 else d for i, d in enumerate(shape))


def _make_plan(op, opts, layout, x, params, updates, is_torch,
               backward=False, save_stats=False, residual=False,
               wrt=(), shape=None) -> _Plan:
    """Validates a call as PyTorch does, builds its spec and compiles it;
    with ``save_stats`` the forward also returns its statistics; with
    ``backward``, the backward function the compiler derives from it
    (``main_backward(x, params..., [saved statistics...,] grad_output) ->
    (grad_input, grad_params...)``). ``residual``: the spec adds a residual
    (of x's shape and type) to x first and returns the sum after the
    output; ``wrt``: the arguments whose gradients the backward returns
    (empty: all); ``shape``: the spec's input shape, -1 for a dynamic
    dimension (default: x's)."""
    shape = tuple(x.shape) if shape is None else shape
    if is_torch:
        dtype = torch_dtype_name(x.dtype)
        target = x.device.type
        if target not in ("cpu", "cuda"):
            raise RuntimeError(f"{op}(): NormLIR runs on the CPU and CUDA "
                               f"GPUs, got a tensor on {x.device}")
        if target == "cuda":
            from ._torchutil import device_error

            problem = device_error(x, "cuda", "the input")
            if problem:
                raise RuntimeError(f"{op}(): {problem}")
    else:
        dtype = numpy_dtype_name(x.dtype)
        target = "cpu"
    if dtype not in ("f32", "f16", "bf16"):
        supported = ("float32, float16 and bfloat16" if is_torch else
                     "float32, float16 and ml_dtypes.bfloat16")
        raise TypeError(f"{op}(): NormLIR normalizes {supported} inputs, "
                        f"got {x.dtype}")
    param_dtype = _param_dtype(op, x, dtype, params, is_torch)
    spec = _SPECS[op](opts, shape, params, dtype, param_dtype,
                      layout == _CHANNELS_LAST)
    num_stats = 0
    if save_stats:
        spec = dataclasses.replace(spec, save_stats=True)
        num_stats = 1 if op == _RMS_NORM else 2
    if residual or wrt:
        spec = dataclasses.replace(spec, residual=residual, wrt=wrt)
    before = _nl.cache_stats()
    start = time.perf_counter()
    if backward:
        plan = _Plan(_compile(spec, target, differentiate=True,
                              function=spec.name + "_backward"), 0)
    else:
        plan = _Plan(_compile(spec, target), len(updates), num_stats,
                     first_stat=2 if residual else 1)
    seconds = time.perf_counter() - start
    after = _nl.cache_stats()
    _plan_stats.misses += 1
    _plan_stats.compile_seconds += seconds
    if _logger.isEnabledFor(logging.INFO):
        how = ("compiled" if after["compiles"] > before["compiles"] else
               "loaded from the disk cache"
               if after["disk_hits"] > before["disk_hits"] else
               "found in the memory cache")
        _logger.info("%s: a new specialization (%s %s, %s%s%s) %s in %.1f ms",
                     op, dtype, "x".join("?" if d == -1 else str(d)
                                         for d in shape) or "scalar",
                     target, ", channels last"
                     if layout == _CHANNELS_LAST else "",
                     ", backward" if backward else "", how, seconds * 1e3)
    return plan


def _param_dtype(op, x, dtype, params, is_torch):
    """Checks the operands' kind, device and dtype; returns the spec's
    param_dtype (None: the input's; "f32")."""
    name_of = torch_dtype_name if is_torch else numpy_dtype_name
    kinds = set()
    for name, p in zip(_OPERANDS[op], params):
        if p is None:
            continue
        if is_torch:
            if not isinstance(p, _torch.Tensor):
                raise TypeError(f"{op}(): {name} must be a torch tensor like "
                                f"the input, got {type(p).__name__}")
            if p.device != x.device:
                raise RuntimeError(
                    "Expected all tensors to be on the same device, but found "
                    f"at least two devices, {x.device} and {p.device}! "
                    f"({op}: input and {name})")
        elif not isinstance(p, _ndarray):
            raise TypeError(f"{op}(): {name} must be a NumPy array like the "
                            f"input, got {type(p).__name__}")
        pdtype = name_of(p.dtype)
        if name == "num_batches_tracked":
            if pdtype != "i64" or prod(p.shape) != 1:
                raise TypeError(f"{op}(): num_batches_tracked must be an "
                                "int64 scalar tensor")
            continue
        if pdtype not in (dtype, "f32"):
            raise RuntimeError(
                f"{op}(): {name} has dtype {p.dtype}; NormLIR takes "
                "parameters and running statistics of the input's dtype "
                f"({x.dtype}) or float32")
        kinds.add(pdtype)
    if len(kinds) > 1:
        raise RuntimeError(
            f"{op}(): weight, bias and running statistics must share one "
            f"dtype (the input's, {x.dtype}, or float32); got a mix")
    return "f32" if kinds == {"f32"} and dtype != "f32" else None


def _shape_str(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _check_row_norm(op, shape, ns, operands):
    k = len(ns)
    if k == 0 or k > len(shape) or shape[len(shape) - k:] != ns:
        raise RuntimeError(
            f"Given normalized_shape={_shape_str(ns)}, expected input with "
            f"shape [*{''.join(f', {d}' for d in ns)}], but got input of "
            f"size{_shape_str(shape)}")
    for name, p in operands:
        if p is not None and tuple(p.shape) != ns:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, "
                f"but got {name} of shape {_shape_str(p.shape)} and "
                f"normalized_shape = {_shape_str(ns)}")


def _check_channel_params(channels, operands):
    for name, p in operands:
        if p is not None and prod(p.shape) != channels:
            raise RuntimeError(f"{name} should contain {channels} elements "
                               f"not {prod(p.shape)}")


def _check_running_stats(op, running_mean, running_var):
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}(): running_mean and running_var must be given "
                         "together (or both be None)")


def _memory_order(shape, channels_last):
    """The spec's shape: (N, *S, C) for a channels-last input."""
    if channels_last:
        return (shape[0], *shape[2:], shape[1])
    return shape


def _verify_batch_size(size):
    # A dynamic kernel's shape (-1 dimensions) is checked per call instead
    # (_dynamic_plan validates each shape).
    if -1 not in size and size[0] * prod(size[2:]) == 1:
        raise ValueError("Expected more than 1 value per channel when "
                         f"training, got input size {_shape_str(size)}")


def _verify_spatial_size(size):
    if -1 not in size and prod(size[2:]) == 1:
        raise ValueError("Expected more than 1 spatial element when training, "
                         f"got input size {_shape_str(size)}")


def _layer_norm_spec(opts, shape, params, dtype, param_dtype, channels_last):
    ns, eps = opts
    weight, bias = params
    _check_row_norm(_LAYER_NORM, shape, ns,
                    (("weight", weight), ("bias", bias)))
    return Spec(_LAYER_NORM, dtype, shape, normalized_shape=ns, eps=eps,
                weight=weight is not None, bias=bias is not None,
                param_dtype=param_dtype)


def _rms_norm_spec(opts, shape, params, dtype, param_dtype, channels_last):
    ns, eps = opts
    (weight,) = params
    _check_row_norm(_RMS_NORM, shape, ns, (("weight", weight),))
    return Spec(_RMS_NORM, dtype, shape, normalized_shape=ns, eps=eps,
                weight=weight is not None, param_dtype=param_dtype)


def _batch_norm_spec(opts, shape, params, dtype, param_dtype, channels_last):
    training, momentum, eps = opts
    weight, bias, running_mean, running_var, batches = params
    if len(shape) < 2:
        raise ValueError("batch_norm(): expected an input of at least 2 "
                         f"dimensions (N, C, ...), got {len(shape)}D input")
    if training:
        _verify_batch_size(shape)
    _check_running_stats(_BATCH_NORM, running_mean, running_var)
    if running_mean is None and not training:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _check_channel_params(shape[1], (
        ("weight", weight), ("bias", bias), ("running_mean", running_mean),
        ("running_var", running_var)))
    update = training and running_mean is not None
    cumulative = update and momentum is None
    return Spec(_BATCH_NORM, dtype, _memory_order(shape, channels_last),
                eps=eps, momentum=momentum if update and not cumulative
                else None,
                weight=weight is not None, bias=bias is not None,
                running_stats=running_mean is not None,
                batches_tracked=batches is not None, training=training,
                channels_last=channels_last, cumulative_average=cumulative,
                param_dtype=param_dtype)


def _instance_norm_spec(opts, shape, params, dtype, param_dtype,
                        channels_last):
    use_input_stats, momentum, eps = opts
    weight, bias, running_mean, running_var = params
    if use_input_stats:
        _verify_spatial_size(shape)
    if len(shape) < 3:
        raise ValueError("instance_norm(): expected an input of at least 3 "
                         f"dimensions (N, C, *S), got {len(shape)}D input")
    _check_running_stats(_INSTANCE_NORM, running_mean, running_var)
    if running_mean is None and not use_input_stats:
        raise RuntimeError("Expected running_mean and running_var to be "
                           "defined when use_input_stats is false")
    _check_channel_params(shape[1], (
        ("weight", weight), ("bias", bias), ("running_mean", running_mean),
        ("running_var", running_var)))
    # Without running statistics the instance statistics are used either way;
    # with them, "training" is use_input_stats (and updates them).
    training = use_input_stats and running_mean is not None
    return Spec(_INSTANCE_NORM, dtype, _memory_order(shape, channels_last),
                eps=eps, momentum=momentum if training else None,
                weight=weight is not None, bias=bias is not None,
                running_stats=running_mean is not None, training=training,
                channels_last=channels_last, param_dtype=param_dtype)


def _group_norm_spec(opts, shape, params, dtype, param_dtype, channels_last):
    num_groups, eps = opts
    weight, bias = params
    if len(shape) < 2:
        raise RuntimeError("Expected at least 2 dimensions for input tensor "
                           f"but received {len(shape)}")
    try:
        num_groups = operator.index(num_groups)
    except TypeError:
        raise TypeError("group_norm(): num_groups must be an int, got "
                        f"{type(num_groups).__name__}") from None
    if num_groups <= 0:
        raise ValueError("group_norm(): num_groups must be positive, got "
                         f"{num_groups}")
    channels = shape[1]
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by "
            f"num_groups, but got input of shape {_shape_str(shape)} and "
            f"num_groups={num_groups}")
    _verify_batch_size([shape[0] * channels // num_groups, num_groups,
                        *shape[2:]])
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (len(p.shape) != 1 or p.shape[0] != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number "
                f"of channels in input, but got {name} of shape "
                f"{_shape_str(p.shape)} and input of shape "
                f"{_shape_str(shape)}")
    return Spec(_GROUP_NORM, dtype, _memory_order(shape, channels_last),
                num_groups=num_groups, eps=eps, weight=weight is not None,
                bias=bias is not None, channels_last=channels_last,
                param_dtype=param_dtype)


_SPECS = {
    _LAYER_NORM: _layer_norm_spec,
    _RMS_NORM: _rms_norm_spec,
    _BATCH_NORM: _batch_norm_spec,
    _INSTANCE_NORM: _instance_norm_spec,
    _GROUP_NORM: _group_norm_spec,
}


# A program that imported torch first may trace its first call (Dynamo
# would otherwise trace this binding).
if "torch" in sys.modules:
    _init_torch()
