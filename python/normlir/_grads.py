"""The norms' gradients written with PyTorch's tensor operations: what the
custom ops' autograd (normlir/_ops.py) runs where NormLIR has no backward
kernel (CUDA tensors: the GPU's backward kernels are not fused yet).

Closed forms, in float32 for float16/bfloat16 operands (their gradients
rounded back to the operands' dtypes), from the statistics the forward
saved (LayerNorm, RMSNorm, GroupNorm, BatchNorm training) or the copies of
the running statistics it kept (evaluation); InstanceNorm recomputes its
own. Unlike eager autograd's recomputation (``_autograd.reference`` and a
nested ``torch.autograd.grad``), these are plain operations that
``torch.compile`` and ``torch.export`` trace. With ``x̂ = (x - mean) *
rstd`` over the statistic's values and ``gw = dy * weight``::

    dx = rstd * (gw - mean(gw) - x̂ * mean(gw * x̂))
    dweight = sum(dy * x̂),  dbias = sum(dy)   (over all but the parameter)

RMSNorm: ``dx = rstd * (gw - x * rstd² * mean(gw * x))``; evaluating with
running statistics: ``dx = gw * rsqrt(var + eps)``.
"""
from __future__ import annotations

import torch


def _f32(t):
    return None if t is None else t.float()


def _broadcast(v, ndim, dim=1):
    """A per-channel vector shaped to broadcast against an ``ndim`` tensor
    along ``dim``."""
    shape = [1] * ndim
    shape[dim] = -1
    return v.reshape(shape)


def _standardized(x, g, mean, rstd, dims, w, param_dims, has_w, has_b):
    """dx, dw, db of y = (x - mean) * rstd * w + b, the statistics over
    ``dims``; ``w`` broadcast (None: no weight)."""
    xhat = (x - mean) * rstd
    gw = g if w is None else g * w
    dx = rstd * (gw - gw.mean(dims, keepdim=True)
                 - xhat * (gw * xhat).mean(dims, keepdim=True))
    dw = (g * xhat).sum(param_dims) if has_w else None
    db = g.sum(param_dims) if has_b else None
    return dx, dw, db


def _constant(x, g, rm, rv, eps, w, dims, has_w, has_b):
    """Evaluation with running statistics (constants): y = (x - rm) *
    rsqrt(rv + eps) * w + b per channel."""
    s = _broadcast(torch.rsqrt(rv.float() + eps), x.dim())
    xhat = (x - _broadcast(rm.float(), x.dim())) * s
    dx = g * s if w is None else g * s * w
    return (dx, (g * xhat).sum(dims) if has_w else None,
            g.sum(dims) if has_b else None)


def pytorch_grads(op, opts, x, weight, bias, saved, grad_output):
    """(dx, dweight, dbias) of ``op`` (normlir.functional's name and
    options), None for an absent parameter; ``saved``: the forward's saved
    tensors (see the module's documentation)."""
    g = grad_output.float()
    xf = x.float()
    wf = _f32(weight)
    has_w, has_b = weight is not None, bias is not None
    nd = x.dim()
    if op == "layer_norm" or op == "rms_norm":
        k = len(opts[0])
        dims = tuple(range(nd - k, nd))
        batch = tuple(range(nd - k))
        if op == "layer_norm":
            mean, rstd = (s.float() for s in saved)
            dx, dw, db = _standardized(xf, g, mean, rstd, dims, wf, batch,
                                       has_w, has_b)
        else:
            rstd = saved[0].float()
            gw = g if wf is None else g * wf
            dx = rstd * (gw - xf * rstd * rstd
                         * (gw * xf).mean(dims, keepdim=True))
            dw = (g * xf * rstd).sum(batch) if has_w else None
            db = None
    elif op == "group_norm":
        groups = opts[0]
        n, c = x.shape[0], x.shape[1]
        shape = (n, groups, c // groups, *x.shape[2:])
        xg, gg = xf.reshape(shape), g.reshape(shape)
        stat_shape = (n, groups) + (1,) * (len(shape) - 2)
        mean, rstd = (s.float().reshape(stat_shape) for s in saved)
        wg = None if wf is None else wf.reshape(
            (1, groups, c // groups) + (1,) * (len(shape) - 3))
        dims = tuple(range(2, len(shape)))
        param_dims = (0, *range(3, len(shape)))
        dx, dw, db = _standardized(xg, gg, mean, rstd, dims, wg, param_dims,
                                   has_w, has_b)
        dx = dx.reshape(x.shape)
        dw = None if dw is None else dw.reshape(c)
        db = None if db is None else db.reshape(c)
    elif op == "batch_norm":
        training, _, eps = opts
        dims = (0, *range(2, nd))
        w = None if wf is None else _broadcast(wf, nd)
        if training:
            mean, rstd = (_broadcast(s.float(), nd) for s in saved)
            dx, dw, db = _standardized(xf, g, mean, rstd, dims, w, dims,
                                       has_w, has_b)
        else:
            dx, dw, db = _constant(xf, g, saved[0], saved[1], eps, w, dims,
                                   has_w, has_b)
    elif op == "instance_norm":
        use_input_stats, _, eps = opts
        w = None if wf is None else _broadcast(wf, nd)
        param_dims = (0, *range(2, nd))
        if use_input_stats:
            dims = tuple(range(2, nd))
            mean = xf.mean(dims, keepdim=True)
            var = (xf - mean).square().mean(dims, keepdim=True)
            dx, dw, db = _standardized(xf, g, mean, torch.rsqrt(var + eps),
                                       dims, w, param_dims, has_w, has_b)
        else:
            dx, dw, db = _constant(xf, g, saved[0], saved[1], eps, w,
                                   param_dims, has_w, has_b)
    else:
        raise ValueError(f"unknown op {op!r}")
    return (dx.to(x.dtype), None if dw is None else dw.to(weight.dtype),
            None if db is None else db.to(bias.dtype))
