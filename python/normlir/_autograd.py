"""Autograd for :mod:`normlir.functional` on torch tensors.

When gradients are needed, the forward pass runs on NormLIR (with its
running-statistics updates) inside one ``torch.autograd.Function``. On the
CPU every norm then runs its backward pass on the kernel the compiler
derives (``norm-differentiate``, fused by ``norm-fuse-grad``):
:func:`apply_compiled`. The forward saves its float32 mean and rstd for
that kernel (LayerNorm, RMSNorm, GroupNorm, BatchNorm training), as
PyTorch's native norms do; InstanceNorm's recomputes them; evaluating with
running statistics, it saves a copy of those. CUDA tensors, whose backward
kernels are not fused yet, recompute the op with PyTorch from the saved
input, weight and bias and differentiate that (:func:`apply`, the same
Function with a recomputing backward): exact gradients for one extra
forward pass. The recomputation runs in
float32 for float16/bfloat16 inputs (PyTorch's CPU kernels lack some
half-precision norms), its gradients cast back to the operands' dtypes.
The running statistics never take part: in training they do not affect the
output, and in evaluation they are constants (copied when the forward pass
runs). Double backward is not supported.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


def _f32(t):
    return None if t is None else t.float()


def _constant_stats(stats):
    """Copies of the running statistics, as float32 constants (None where
    absent: the forward pass then reports the error)."""
    return tuple(None if s is None else s.detach().to(torch.float32, copy=True)
                 for s in stats)


class _CompiledNormFunction(torch.autograd.Function):
    """``y, saved = run(x, weight, bias)`` on NormLIR (``saved``: the
    statistics the forward saves for the backward, possibly none); the
    gradients from ``backward(x, weight, bias, saved, grad_output)``, also
    on NormLIR."""

    @staticmethod
    def forward(ctx, run, backward, x, weight, bias):
        ctx.backward_fn = backward
        y, saved = run(x, weight, bias)
        ctx.save_for_backward(x, weight, bias, *saved)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        x, weight, bias, *saved = ctx.saved_tensors
        grads = ctx.backward_fn(x, weight, bias, tuple(saved), grad_output)
        needs = ctx.needs_input_grad[2:]
        return (None, None,
                *[g if n else None for g, n in zip(grads, needs)])


def apply_compiled(run, backward, x, weight, bias):
    """``run(x, weight, bias)[0]``, differentiable through NormLIR's
    ``backward`` (which also gets ``run``'s saved statistics)."""
    return _CompiledNormFunction.apply(run, backward, x, weight, bias)


class _ResidualNormFunction(torch.autograd.Function):
    """``y, h, stats = forward(x, residual, *params)`` on NormLIR (``h = x +
    residual``, returned with y); the gradients from ``backward(h, params,
    stats, dy, dh, needs)`` (``needs``: needs_input_grad of x, residual and
    params), also on NormLIR. Only h, the parameters and the statistics
    are saved."""

    @staticmethod
    def forward(ctx, forward, backward, x, residual, *params):
        ctx.backward_fn = backward
        ctx.num_params = len(params)
        y, h, stats = forward(x, residual, *params)
        ctx.save_for_backward(h, *params, *stats)
        return y, h

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dh):
        h, *rest = ctx.saved_tensors
        params = tuple(rest[:ctx.num_params])
        stats = tuple(rest[ctx.num_params:])
        grads = ctx.backward_fn(h, params, stats, dy, dh,
                                ctx.needs_input_grad[2:])
        return (None, None, *grads)


def apply_residual(forward, backward, x, residual, *params):
    """``(y, h)`` of ``forward``, differentiable through NormLIR's
    ``backward`` (see _ResidualNormFunction)."""
    return _ResidualNormFunction.apply(forward, backward, x, residual,
                                       *params)


def apply(run, reference, x, weight, bias):
    """``run(x, weight, bias)[0]``, differentiable through ``reference``: its
    backward recomputes ``reference`` from the saved operands and
    differentiates that."""
    def backward(x, weight, bias, saved, grad_output):
        saved = (x, weight, bias)
        with torch.enable_grad():
            leaves = [None if t is None else t.detach().requires_grad_(True)
                      for t in saved]
            y = reference(*leaves)
        grads = iter(torch.autograd.grad(
            y, [t for t in leaves if t is not None], grad_output))
        return tuple(None if t is None else next(grads) for t in leaves)

    return apply_compiled(run, backward, x, weight, bias)


def reference(op: str, opts: tuple, rest: tuple):
    """The PyTorch computation of ``op`` with :mod:`normlir.functional`'s
    options ``opts``, as a function of (x, weight, bias); ``rest`` holds the
    running statistics (BatchNorm/InstanceNorm)."""
    if op == "layer_norm":
        normalized_shape, eps = opts

        def f(x, w, b):
            return F.layer_norm(x.float(), normalized_shape, _f32(w), _f32(b),
                                eps).to(x.dtype)
    elif op == "rms_norm":
        normalized_shape, eps = opts
        if eps is None:
            eps = torch.finfo(torch.float32).eps
        dims = tuple(range(-len(normalized_shape), 0))

        def f(x, w, b):
            xf = x.float()
            y = xf * torch.rsqrt(xf.square().mean(dims, keepdim=True) + eps)
            if w is not None:
                y = y * w.float()
            return y.to(x.dtype)
    elif op == "batch_norm":
        training, _, eps = opts
        stats = (None, None) if training else _constant_stats(rest[:2])

        def f(x, w, b):
            return F.batch_norm(x.float(), *stats, _f32(w), _f32(b), training,
                                0.0, eps).to(x.dtype)
    elif op == "instance_norm":
        use_input_stats, _, eps = opts
        stats = (None, None) if use_input_stats else _constant_stats(rest[:2])

        def f(x, w, b):
            return F.instance_norm(x.float(), *stats, _f32(w), _f32(b),
                                   use_input_stats, 0.0, eps).to(x.dtype)
    elif op == "group_norm":
        num_groups, eps = opts

        def f(x, w, b):
            return F.group_norm(x.float(), num_groups, _f32(w), _f32(b),
                                eps).to(x.dtype)
    else:
        raise ValueError(f"unknown op {op!r}")
    return f
