"""NormLIR's norms as PyTorch custom ops (``torch.library``, PyTorch 2.4+).

``normlir.functional`` calls these ops where PyTorch traces instead of
running: under ``torch.compile`` (Dynamo), ``torch.export``,
``torch.jit.trace``, and for tensor subclasses (FakeTensor,
FunctionalTensor...). A tracer then sees one opaque op per norm, with
PyTorch's schema, a fake implementation that gives its results' shapes,
dtypes and strides without running it, and autograd through a backward op:
no graph break, and the compiled graph calls the same NormLIR kernels as
eager mode. Eager calls of plain tensors keep the direct path (a custom op's
dispatch costs more than a small norm).

The ops (``torch.ops.normlir.*``)::

    layer_norm(input, normalized_shape, weight?, bias?, eps)
        -> (output, mean, rstd)
    rms_norm(input, normalized_shape, weight?, eps?) -> (output, rstd)
    group_norm(input, num_groups, weight?, bias?, eps) -> (output, mean, rstd)
    batch_norm(input, weight?, bias?, running_mean?, running_var?,
               num_batches_tracked?, training, momentum?, eps)
        -> (output, saved0, saved1, new_running_mean, new_running_var,
            new_num_batches_tracked)
    instance_norm(input, weight?, bias?, running_mean?, running_var?,
                  use_input_stats, momentum, eps)
        -> (output, saved0, saved1, new_running_mean, new_running_var)

and a ``*_backward`` op each, returning ``(grad_input, grad_weight,
grad_bias)`` with an empty tensor for an absent parameter. The statistics
are float32, shaped as PyTorch's native norms return them (LayerNorm and
RMSNorm: the input's leading dimensions then ones; GroupNorm: ``(N,
groups)``; BatchNorm training: ``(C)``). BatchNorm's ``saved0, saved1`` are
the batch mean and rstd in training and float32 copies of the running
statistics in evaluation (the backward's constants); InstanceNorm's are
those copies when it evaluates with running statistics, else empty (its
backward recomputes the statistics). The ops are functional (PyTorch
registers autograd only for those): they return the updated running
statistics (empty where none are updated), and ``normlir.functional``
copies them into the caller's tensors, a mutation the tracers
functionalize.

On the CPU the backward ops run the kernel the compiler derives
(``norm-differentiate``), as eager autograd does. CUDA tensors' backward
is PyTorch's tensor operations (the closed forms of ``_grads.py``, from
the saved statistics), which the tracers see like any other.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from . import functional as _f
from ._grads import pytorch_grads

_LN, _RMS, _GN = _f._LAYER_NORM, _f._RMS_NORM, _f._GROUP_NORM

# Any strides are accepted (dense ones without a copy, the output following
# the input's): Inductor may pick the layout, channels-last around
# convolutions, instead of fixing the traced one.
_FLEXIBLE = ({"tags": (torch.Tag.flexible_layout,)}
             if hasattr(torch.Tag, "flexible_layout") else {})
_BN, _IN = _f._BATCH_NORM, _f._INSTANCE_NORM


def _result_like(op, x):
    """An uninitialized tensor with the shape, dtype and strides of the
    output the eager path returns for ``x``: ``x``'s strides where it is
    dense (contiguous, or channels-last for a channel norm), else
    contiguous (the eager path copies such an input first)."""
    if x.is_contiguous() or (op in _f._CHANNEL_OPS
                             and _f._is_channels_last_torch(x)):
        return torch.empty_like(x)
    return x.new_empty(x.shape)


def _param_grad_like(p):
    """A parameter's gradient: contiguous, of its shape and dtype; empty
    where there is no parameter."""
    return _absent() if p is None else p.new_empty(p.shape)


def _absent():
    return torch.empty(0)


def _stats(x, shape):
    return x.new_empty(shape, dtype=torch.float32)


def _row_stat_shape(x, normalized_shape):
    k = len(normalized_shape)
    return (*x.shape[:x.dim() - k], *([1] * k))


def _grads(raw, params):
    """The backward kernel's gradients ([dx, then one per present
    parameter]) as (dx, dweight, dbias), empty where absent."""
    it = iter(raw)
    dx = next(it)
    return (dx, *[next(it) if p is not None else _absent() for p in params])


def _bn_updates(training, running_mean, running_var, num_batches_tracked):
    """functional._batch_norm's in-place updates and tracked-batches
    operand."""
    if training and running_mean is not None:
        if num_batches_tracked is None:
            return (running_mean, running_var), None
        return (running_mean, running_var, num_batches_tracked), \
            num_batches_tracked
    return (), None


def _in_updates(use_input_stats, running_mean, running_var):
    """functional.instance_norm's in-place updates."""
    if not use_input_stats or running_mean is None:
        return ()
    return running_mean, running_var


def _constant_copies(running_mean, running_var):
    if running_mean is None:
        return _absent(), _absent()
    return (running_mean.detach().to(torch.float32, copy=True),
            running_var.detach().to(torch.float32, copy=True))


def _constant_copies_like(running_mean, running_var):
    """_constant_copies' results, uninitialized (fake implementations)."""
    if running_mean is None:
        return _absent(), _absent()
    return (_stats(running_mean, running_mean.shape),
            _stats(running_var, running_var.shape))


# ----------------------------------------------------------------------------
# Forward ops
# ----------------------------------------------------------------------------


@torch.library.custom_op("normlir::layer_norm", mutates_args=(),
                         **_FLEXIBLE)
def layer_norm(input: Tensor, normalized_shape: List[int],
               weight: Optional[Tensor], bias: Optional[Tensor],
               eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    y, (mean, rstd) = _f._norm_torch(_LN, (tuple(normalized_shape), eps),
                                     input, (weight, bias), (),
                                     save_stats=True)
    return y, mean, rstd


@layer_norm.register_fake
def _(input, normalized_shape, weight, bias, eps):
    shape = _row_stat_shape(input, normalized_shape)
    return (_result_like(_LN, input), _stats(input, shape),
            _stats(input, shape))


@torch.library.custom_op("normlir::rms_norm", mutates_args=(),
                         **_FLEXIBLE)
def rms_norm(input: Tensor, normalized_shape: List[int],
             weight: Optional[Tensor],
             eps: Optional[float]) -> Tuple[Tensor, Tensor]:
    y, (rstd,) = _f._norm_torch(_RMS, (tuple(normalized_shape), eps), input,
                                (weight,), (), save_stats=True)
    return y, rstd


@rms_norm.register_fake
def _(input, normalized_shape, weight, eps):
    return (_result_like(_RMS, input),
            _stats(input, _row_stat_shape(input, normalized_shape)))


@torch.library.custom_op("normlir::group_norm", mutates_args=(),
                         **_FLEXIBLE)
def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor],
               bias: Optional[Tensor],
               eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    y, (mean, rstd) = _f._norm_torch(_GN, (num_groups, eps), input,
                                     (weight, bias), (), save_stats=True)
    return y, mean, rstd


@group_norm.register_fake
def _(input, num_groups, weight, bias, eps):
    shape = (input.shape[0], num_groups)
    return (_result_like(_GN, input), _stats(input, shape),
            _stats(input, shape))


def _fresh(updates):
    """New tensors that the kernel's running-statistics results go into
    (the functional ops return them; the caller copies them in place)."""
    return tuple(u.detach().clone() for u in updates)


def _returned(updates, count):
    """The updated running statistics as ``count`` results (empty where
    there is no update)."""
    return (*updates, *[_absent() for _ in range(count - len(updates))])


def _updates_like(updates, count):
    return _returned(tuple(torch.empty_like(u) for u in updates), count)


@torch.library.custom_op("normlir::batch_norm", mutates_args=(),
                         **_FLEXIBLE)
def batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
               running_mean: Optional[Tensor], running_var: Optional[Tensor],
               num_batches_tracked: Optional[Tensor], training: bool,
               momentum: Optional[float], eps: float
               ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    updates, nbt = _bn_updates(training, running_mean, running_var,
                               num_batches_tracked)
    updates = _fresh(updates)
    params = (weight, bias, running_mean, running_var, nbt)
    opts = (training, momentum, eps)
    if training:
        y, saved = _f._norm_torch(_BN, opts, input, params, updates,
                                  save_stats=True)
    else:
        y = _f._norm_torch(_BN, opts, input, params, updates)
        saved = _constant_copies(running_mean, running_var)
    return (y, *saved, *_returned(updates, 3))


@batch_norm.register_fake
def _(input, weight, bias, running_mean, running_var, num_batches_tracked,
      training, momentum, eps):
    y = _result_like(_BN, input)
    updates, _ = _bn_updates(training, running_mean, running_var,
                             num_batches_tracked)
    if training:
        shape = (input.shape[1],)
        saved = _stats(input, shape), _stats(input, shape)
    else:
        saved = _constant_copies_like(running_mean, running_var)
    return (y, *saved, *_updates_like(updates, 3))


@torch.library.custom_op("normlir::instance_norm", mutates_args=(),
                         **_FLEXIBLE)
def instance_norm(input: Tensor, weight: Optional[Tensor],
                  bias: Optional[Tensor], running_mean: Optional[Tensor],
                  running_var: Optional[Tensor], use_input_stats: bool,
                  momentum: float, eps: float
                  ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    updates = _fresh(_in_updates(use_input_stats, running_mean, running_var))
    y = _f._norm_torch(_IN, (use_input_stats, momentum, eps), input,
                       (weight, bias, running_mean, running_var), updates)
    saved = ((_absent(), _absent()) if use_input_stats
             else _constant_copies(running_mean, running_var))
    return (y, *saved, *_returned(updates, 2))


@instance_norm.register_fake
def _(input, weight, bias, running_mean, running_var, use_input_stats,
      momentum, eps):
    y = _result_like(_IN, input)
    updates = _in_updates(use_input_stats, running_mean, running_var)
    saved = ((_absent(), _absent()) if use_input_stats
             else _constant_copies_like(running_mean, running_var))
    return (y, *saved, *_updates_like(updates, 2))


# ----------------------------------------------------------------------------
# Backward ops (the kernels norm-differentiate derives)
# ----------------------------------------------------------------------------


@torch.library.custom_op("normlir::layer_norm_backward", mutates_args=(),
                         **_FLEXIBLE)
def layer_norm_backward(grad_output: Tensor, input: Tensor,
                        normalized_shape: List[int], weight: Optional[Tensor],
                        bias: Optional[Tensor], mean: Tensor, rstd: Tensor,
                        eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    raw = _f._backward_torch(_LN, (tuple(normalized_shape), eps), input,
                             (weight, bias), 2, grad_output, (mean, rstd))
    return _grads(raw, (weight, bias))


@torch.library.custom_op("normlir::rms_norm_backward", mutates_args=(),
                         **_FLEXIBLE)
def rms_norm_backward(grad_output: Tensor, input: Tensor,
                      normalized_shape: List[int], weight: Optional[Tensor],
                      rstd: Tensor,
                      eps: Optional[float]) -> Tuple[Tensor, Tensor, Tensor]:
    raw = _f._backward_torch(_RMS, (tuple(normalized_shape), eps), input,
                             (weight,), 1, grad_output, (rstd,))
    return _grads(raw, (weight, None))


@torch.library.custom_op("normlir::group_norm_backward", mutates_args=(),
                         **_FLEXIBLE)
def group_norm_backward(grad_output: Tensor, input: Tensor, num_groups: int,
                        weight: Optional[Tensor], bias: Optional[Tensor],
                        mean: Tensor, rstd: Tensor,
                        eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    raw = _f._backward_torch(_GN, (num_groups, eps), input, (weight, bias), 2,
                             grad_output, (mean, rstd))
    return _grads(raw, (weight, bias))


@torch.library.custom_op("normlir::batch_norm_backward", mutates_args=(),
                         **_FLEXIBLE)
def batch_norm_backward(grad_output: Tensor, input: Tensor,
                        weight: Optional[Tensor], bias: Optional[Tensor],
                        running_mean: Optional[Tensor],
                        running_var: Optional[Tensor],
                        num_batches_tracked: Optional[Tensor],
                        saved0: Tensor, saved1: Tensor, training: bool,
                        momentum: Optional[float],
                        eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    _, nbt = _bn_updates(training, running_mean, running_var,
                         num_batches_tracked)
    opts = (training, momentum, eps)
    if training:
        params = (weight, bias, running_mean, running_var, nbt)
        saved = (saved0, saved1)
    else:
        # The forward's copies of the running statistics: constants.
        params = (weight, bias, saved0, saved1, None)
        saved = ()
    raw = _f._backward_torch(_BN, opts, input, params, 2, grad_output, saved)
    return _grads(raw, (weight, bias))


@torch.library.custom_op("normlir::instance_norm_backward", mutates_args=(),
                         **_FLEXIBLE)
def instance_norm_backward(grad_output: Tensor, input: Tensor,
                           weight: Optional[Tensor], bias: Optional[Tensor],
                           running_mean: Optional[Tensor],
                           running_var: Optional[Tensor], saved0: Tensor,
                           saved1: Tensor, use_input_stats: bool,
                           momentum: float,
                           eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    if use_input_stats:
        params = (weight, bias, running_mean, running_var)
    else:
        params = (weight, bias, saved0, saved1)
    raw = _f._backward_torch(_IN, (use_input_stats, momentum, eps), input,
                             params, 2, grad_output, ())
    return _grads(raw, (weight, bias))


def _backward_fake(op):
    def fake(grad_output, input, *args):
        weight, bias = _OPERAND_POSITIONS[op](args)
        return (_result_like(op, input), _param_grad_like(weight),
                _param_grad_like(bias))
    return fake


# The weight and bias among a backward op's arguments after the input.
_OPERAND_POSITIONS = {
    _LN: lambda a: (a[1], a[2]),
    _RMS: lambda a: (a[1], None),
    _GN: lambda a: (a[1], a[2]),
    _BN: lambda a: (a[0], a[1]),
    _IN: lambda a: (a[0], a[1]),
}

for _op, _bwd in ((_LN, layer_norm_backward), (_RMS, rms_norm_backward),
                  (_GN, group_norm_backward), (_BN, batch_norm_backward),
                  (_IN, instance_norm_backward)):
    _bwd.register_fake(_backward_fake(_op))


# ----------------------------------------------------------------------------
# Autograd
# ----------------------------------------------------------------------------


# Devices whose backward runs NormLIR's derived kernels (the backward ops);
# elsewhere _grads.pytorch_grads (tests force it on the CPU by emptying
# this).
_NATIVE_BACKWARD_DEVICES = ("cpu",)


def _native_backward(x) -> bool:
    return x.device.type in _NATIVE_BACKWARD_DEVICES


def _needs(ctx, positions):
    return [ctx.needs_input_grad[i] for i in positions]


def _stats_setup(ctx, inputs, output):
    """LayerNorm and GroupNorm: (input, normalized_shape or num_groups,
    weight, bias, eps) -> (output, mean, rstd)."""
    x, shape_or_groups, w, b, eps = inputs
    _, mean, rstd = output
    ctx.opts = (shape_or_groups, eps)
    ctx.save_for_backward(x, w, b, mean, rstd)


def _stats_backward(op, backward_op):
    """The autograd backward of LayerNorm or GroupNorm (_stats_setup's
    context): their backward op on the CPU, else PyTorch's gradients."""
    def backward(ctx, gy, _gmean, _grstd):
        x, w, b, mean, rstd = ctx.saved_tensors
        shape_or_groups, eps = ctx.opts
        if _native_backward(x):
            dx, dw, db = backward_op(gy, x, shape_or_groups, w, b, mean, rstd,
                                     eps)
        else:
            dx, dw, db = pytorch_grads(op, (shape_or_groups, eps), x, w, b,
                                       (mean, rstd), gy)
        n = _needs(ctx, (0, 2, 3))
        return (dx if n[0] else None, None,
                dw if n[1] and w is not None else None,
                db if n[2] and b is not None else None, None)
    return backward


def _rms_setup(ctx, inputs, output):
    x, ns, w, eps = inputs
    ctx.opts = (list(ns), eps)
    ctx.save_for_backward(x, w, output[1])


def _rms_backward(ctx, gy, _grstd):
    x, w, rstd = ctx.saved_tensors
    ns, eps = ctx.opts
    if _native_backward(x):
        dx, dw, _ = torch.ops.normlir.rms_norm_backward(gy, x, ns, w, rstd,
                                                         eps)
    else:
        dx, dw, _ = pytorch_grads(_RMS, (ns, eps), x, w, None, (rstd,), gy)
    n = _needs(ctx, (0, 2))
    return (dx if n[0] else None, None, dw if n[1] and w is not None else None,
            None)


def _snapshot(*stats):
    """Copies of the running statistics for the backward op (which takes
    them as operands of its kernel, not for their values): the forward's
    caller updates the originals in place, which autograd would refuse."""
    return tuple(None if t is None else t.detach().clone() for t in stats)


def _bn_setup(ctx, inputs, output):
    x, w, b, rm, rv, nbt, training, momentum, eps = inputs
    s0, s1 = output[1:3]
    ctx.opts = (training, momentum, eps)
    ctx.save_for_backward(x, w, b, *_snapshot(rm, rv, nbt), s0, s1)


def _bn_backward(ctx, gy, *_):
    x, w, b, rm, rv, nbt, s0, s1 = ctx.saved_tensors
    training, momentum, eps = ctx.opts
    if _native_backward(x):
        dx, dw, db = torch.ops.normlir.batch_norm_backward(
            gy, x, w, b, rm, rv, nbt, s0, s1, training, momentum, eps)
    else:
        dx, dw, db = pytorch_grads(_BN, (training, momentum, eps), x, w, b,
                                   (s0, s1), gy)
    n = _needs(ctx, (0, 1, 2))
    return (dx if n[0] else None, dw if n[1] and w is not None else None,
            db if n[2] and b is not None else None,
            None, None, None, None, None, None)


def _in_setup(ctx, inputs, output):
    x, w, b, rm, rv, use_input_stats, momentum, eps = inputs
    s0, s1 = output[1:3]
    ctx.opts = (use_input_stats, momentum, eps)
    ctx.save_for_backward(x, w, b, *_snapshot(rm, rv), s0, s1)


def _in_backward(ctx, gy, *_):
    x, w, b, rm, rv, s0, s1 = ctx.saved_tensors
    use_input_stats, momentum, eps = ctx.opts
    if _native_backward(x):
        dx, dw, db = torch.ops.normlir.instance_norm_backward(
            gy, x, w, b, rm, rv, s0, s1, use_input_stats, momentum, eps)
    else:
        dx, dw, db = pytorch_grads(_IN, (use_input_stats, momentum, eps), x,
                                   w, b, (s0, s1), gy)
    n = _needs(ctx, (0, 1, 2))
    return (dx if n[0] else None, dw if n[1] and w is not None else None,
            db if n[2] and b is not None else None,
            None, None, None, None, None)


layer_norm.register_autograd(
    _stats_backward(_LN, torch.ops.normlir.layer_norm_backward),
    setup_context=_stats_setup)
rms_norm.register_autograd(_rms_backward, setup_context=_rms_setup)
group_norm.register_autograd(
    _stats_backward(_GN, torch.ops.normlir.group_norm_backward),
    setup_context=_stats_setup)
batch_norm.register_autograd(_bn_backward, setup_context=_bn_setup)
instance_norm.register_autograd(_in_backward, setup_context=_in_setup)


# ----------------------------------------------------------------------------
# From normlir.functional
# ----------------------------------------------------------------------------


def norm(op, opts, x, params, updates):
    """``op`` through its custom op: ``normlir.functional._norm``'s
    arguments; returns the output."""
    if op == _LN:
        ns, eps = opts
        return torch.ops.normlir.layer_norm(x, list(ns), params[0], params[1],
                                            eps)[0]
    if op == _RMS:
        ns, eps = opts
        return torch.ops.normlir.rms_norm(x, list(ns), params[0], eps)[0]
    if op == _GN:
        groups, eps = opts
        return torch.ops.normlir.group_norm(x, groups, params[0], params[1],
                                            eps)[0]
    if op == _BN:
        training, momentum, eps = opts
        w, b, rm, rv, nbt = params
        y, _, _, *new = torch.ops.normlir.batch_norm(
            x, w, b, rm, rv, nbt, training, momentum, eps)
    else:
        use_input_stats, momentum, eps = opts
        w, b, rm, rv = params
        y, _, _, *new = torch.ops.normlir.instance_norm(
            x, w, b, rm, rv, use_input_stats, momentum, eps)
    # The running statistics, in place (a mutation PyTorch's tracers
    # functionalize), as the eager path updates them.
    # Detached: the op's outputs are differentiable, the statistics are
    # not (a buffer given a history would tie every step to the last).
    for u, r in zip(updates, new):
        u.copy_(r.detach())
    return y
