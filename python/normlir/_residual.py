"""The residual-stream norms of :mod:`normlir.functional`:
``add_layer_norm`` and ``add_rms_norm``.

A pre-norm transformer block keeps a residual stream: ``h = x + r`` is
normalized and passed on to the next block. The spec adds, normalizes and
returns both the output and ``h`` in one kernel (``Spec(residual=True)``),
and its backward, derived by the compiler, is one kernel too: it reads the
saved ``h``, the saved statistics and both upstream gradients, and writes
``dh = dh_out + dnorm/dh`` once (``norm.grad_kernel``'s ``residual_grad``),
which is the gradient of both ``x`` and ``r``.
"""

from __future__ import annotations

import numpy as np

from . import functional as _F
from ._kernel import float_arg as _float_arg


def _check_residual(op, x, residual, is_torch):
    """The residual must match the input: same kind, shape, dtype (and
    device), as the fused add needs no broadcasting or promotion."""
    kind = "tensor" if is_torch else "array"
    if is_torch:
        if not isinstance(residual, _F._torch.Tensor):
            raise TypeError(f"{op}(): residual must be a torch tensor like "
                            f"the input, got {type(residual).__name__}")
        same = (residual.shape == x.shape and residual.dtype == x.dtype
                and residual.device == x.device)
    else:
        if not isinstance(residual, np.ndarray):
            raise TypeError(f"{op}(): residual must be a NumPy array like "
                            f"the input, got {type(residual).__name__}")
        same = residual.shape == x.shape and residual.dtype == x.dtype
    if not same:
        where = f" on {residual.device}" if is_torch else ""
        xwhere = f" on {x.device}" if is_torch else ""
        raise ValueError(
            f"{op}(): residual must have the input's shape and dtype"
            f"{' and device' if is_torch else ''}: input {tuple(x.shape)} "
            f"{x.dtype}{xwhere}, residual {kind} {tuple(residual.shape)} "
            f"{residual.dtype}{where}")


def _plan(op, opts, x, params, is_torch, **kwargs):
    """The cached plan of a residual norm (forward, or its backward with
    ``backward=True``), keyed by everything the spec depends on."""
    plans = _F._torch_plans if is_torch else _F._numpy_plans
    try:
        key = ("residual", op, opts, tuple(sorted(kwargs.items())), x.shape,
               x.dtype, getattr(x, "device", None),
               *[None if p is None else (p.shape, p.dtype,
                                         getattr(p, "device", None))
                 for p in params])
    except AttributeError:
        raise _F._operand_type_error(op, params, is_torch) from None
    plan = plans.get(key)
    if plan is None:
        # The inference kernel follows set_dynamic as the plain norms do;
        # the training kernels (saved statistics, the derived backward)
        # are static.
        if not kwargs.get("backward") and not kwargs.get("save_stats"):
            plan = _F._dynamic_plan(op, opts, _F._CONTIGUOUS, x, params, (),
                                    is_torch, key[5:], residual=True)
        if plan is None:
            plan = _F._make_plan(op, opts, _F._CONTIGUOUS, x, params, (),
                                 is_torch, residual=True, **kwargs)
        plans[key] = plan
    return plan


def residual_norm(op, opts, x, residual, params):
    """``(norm(x + residual), x + residual)`` for a row norm ``op``
    (LayerNorm or RMSNorm) with ``params`` (weight[, bias], None where
    absent). Errors name the function called, ``add_<op>()``."""
    try:
        return _residual_norm(op, opts, x, residual, params)
    except (TypeError, ValueError, RuntimeError) as e:
        prefix = f"{op}():"
        if e.args and isinstance(e.args[0], str) and \
                e.args[0].startswith(prefix):
            e.args = ("add_" + e.args[0],) + e.args[1:]
        raise


def _residual_norm(op, opts, x, residual, params):
    if _F._is_dlpack(x) or _F._is_dlpack(residual):
        x, params, (residual,) = _F._dlpack_operands(op, x, params,
                                                     (residual,))
    if isinstance(x, np.ndarray):
        _check_residual(op, x, residual, False)
        x = np.ascontiguousarray(x)
        residual = np.ascontiguousarray(residual)
        plan = _plan(op, opts, x, params, False)
        args = [x, residual] + [np.ascontiguousarray(p) for p in params
                                if p is not None]
        out, h = np.empty_like(x), np.empty_like(x)
        plan.call([_F._bf16_bits(a) for a in args],
                  [_F._bf16_bits(out), _F._bf16_bits(h)])
        return out, h
    torch = _F._torch or _F._init_torch()
    if torch is None or not isinstance(x, torch.Tensor):
        raise TypeError(f"{op}(): input must be a NumPy array or a torch "
                        f"tensor, got {type(x).__name__}")
    _check_residual(op, x, residual, True)
    if _F._traced(x):
        # Traced (torch.compile, torch.export, jit.trace, ONNX export): the
        # add in PyTorch operations (rounded once, as the fused kernel),
        # which the tracer fuses as it likes, then the norm as
        # normlir.functional traces it (PyTorch's where it would run the
        # eager path: that path's fused kernel is no traceable op).
        h = (x.float() + residual.float()).to(x.dtype)
        y = _F._traced_norm(op, opts, h, params, ())
        if y is None:
            y = _F._reference_norm(op, opts, h, params, ())
        return y, h
    try:
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or residual.requires_grad
            or any(p is not None and p.requires_grad for p in params))
    except AttributeError:
        raise _F._operand_type_error(op, params, True) from None
    if needs_grad and x.device.type != "cpu":
        raise NotImplementedError(
            f"{op}(): gradients of the residual norms run on the CPU only "
            f"(the GPU has no fused backward kernels yet)")
    if not needs_grad:
        return _forward(op, opts, x, residual, params, save_stats=False)[:2]
    from ._autograd import apply_residual

    def forward(x, residual, *ps):
        return _forward(op, opts, x, residual, ps, save_stats=True)

    def backward(h, ps, stats, dy, dh, needs):
        return _backward(op, opts, h, ps, stats, dy, dh, needs)

    return apply_residual(forward, backward, x, residual, *params)


def _forward(op, opts, x, residual, params, save_stats):
    """The forward kernel on torch tensors: (output, h, statistics)."""
    torch = _F._torch
    plan = _plan(op, opts, x, params, True, save_stats=save_stats)
    args = [x.contiguous(), residual.contiguous()] + [
        p.contiguous() for p in params if p is not None]
    out, h = _F._new_like(args[0]), _F._new_like(args[0])
    stats = [torch.empty(s, dtype=torch.float32, device=x.device)
             for s in plan.stat_shapes]
    stream = None
    if plan.cuda:
        args, stream = _F._cuda_prepare(args, x.device)
    results = (out, h, *stats)
    plan.call_ptrs([t.data_ptr() for t in args]
                   + [t.data_ptr() for t in results], stream,
                   [t.shape for t in (*args, *results)] if plan.dynamic
                   else None)
    return out, h, tuple(stats)


def _backward(op, opts, h, params, stats, dy, dh, needs):
    """The gradients (d input = d residual, d weight, d bias; None where
    not needed) from the derived backward kernel, which returns those of
    the arguments in its ``norm.wrt``: x's (the same as the residual's),
    always, and the parameters' that are needed."""
    torch = _F._torch
    nx, nr, *nparams = needs
    present = [i for i, p in enumerate(params) if p is not None]
    wanted = tuple(2 + k for k, i in enumerate(present) if nparams[i])
    if not (nx or nr or wanted):
        return (None,) * (2 + len(params))
    # x's gradient is always asked for: without it the parameters' would
    # leave the fused kernel for the unfused gradient ops (several times
    # slower than writing a dx nobody reads).
    wrt = (0,) + wanted
    params = tuple(None if p is None else p.detach().contiguous()
                   for p in params)
    plan = _plan(op, opts, h, params, True, save_stats=True, backward=True,
                 wrt=wrt)
    args = [p for p in params if p is not None]
    dy = dy.to(h.dtype).contiguous()
    dh = dh.to(h.dtype).contiguous()
    grads = [_F._new_like(h) if i == 0 else
             torch.empty_like(args[i - 2]) for i in wrt]
    # The backward takes the forward's arguments, but reads h (a saved
    # result) and never x or the residual (the add's derivative is 1): h
    # stands in for both, so that neither is kept alive for it.
    plan.call_ptrs([t.data_ptr() for t in (h, h, *args, h, *stats, dy, dh)]
                   + [t.data_ptr() for t in grads])
    by_arg = dict(zip(wrt, grads))
    dx = by_arg.get(0)
    # The same tensor for both, as autograd's add does.
    out = [dx if nx else None, dx if nr else None]
    for i, p in enumerate(params):
        out.append(None if p is None else by_arg.get(2 + present.index(i)))
    return tuple(out)


def add_norm_opts(op, normalized_shape, eps):
    """functional's (normalized_shape, eps) options of a row norm (eps=None
    only for add_rms_norm, as for rms_norm)."""
    if (eps is not None or op == "add_layer_norm") and type(eps) is not float:
        eps = _float_arg(op, "eps", eps)
    return ((normalized_shape,) if type(normalized_shape) is int
            else tuple(normalized_shape)), eps
