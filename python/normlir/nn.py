"""Drop-in replacements for PyTorch's normalization modules, computed by
NormLIR kernels (requires torch).

``normlir.nn.LayerNorm``, ``RMSNorm``, ``BatchNorm1d/2d/3d``,
``InstanceNorm1d/2d/3d`` and ``GroupNorm`` take the constructor arguments of
their ``torch.nn`` namesakes (``RMSNorm`` and LayerNorm's ``bias`` as in
PyTorch 2.x) and have the same parameters, buffers and ``state_dict`` keys
(``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), initialization, ``extra_repr`` and input checks, so
a state dict moves between them and torch's modules unchanged.

``forward`` follows PyTorch's modules exactly (training/eval, running
statistics updated in place, ``num_batches_tracked`` counted, ``momentum=None``
as the cumulative moving average, ``track_running_stats=False`` using batch
statistics in eval too) through :mod:`normlir.functional`: inputs may be CPU
or CUDA tensors, contiguous or channels-last. When gradients are needed the
backward pass is PyTorch's, recomputed (see :mod:`normlir.functional`).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Module, Parameter, init

from . import functional as F

# Bound now, not at the first call (which torch.compile may trace).
F._init_torch()

__all__ = ["LayerNorm", "RMSNorm", "BatchNorm1d", "BatchNorm2d",
           "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "GroupNorm"]


def _register_affine(module: Module, shape, weight: bool, bias: bool,
                     factory_kwargs: dict) -> None:
    """Registers ``weight`` and ``bias`` of ``shape`` (uninitialized; the
    module's ``reset_parameters`` fills them), or None for those not wanted,
    in PyTorch's order."""
    for name, wanted in (("weight", weight), ("bias", bias)):
        if wanted:
            setattr(module, name,
                    Parameter(torch.empty(shape, **factory_kwargs)))
        else:
            module.register_parameter(name, None)


def _shape_tuple(normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(normalized_shape)


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dimensions,
    as ``torch.nn.LayerNorm``.

    Args:
        normalized_shape: an int or a sequence of ints.
        eps: added to the variance. Default: 1e-5.
        elementwise_affine: learnable ``weight`` (ones) and ``bias`` (zeros)
            of shape ``normalized_shape``. Default: True.
        bias: with ``elementwise_affine``, whether to learn a bias too.
            Default: True.
        device, dtype: of the parameters.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple
    eps: float
    elementwise_affine: bool

    def __init__(self, normalized_shape, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine,
                         elementwise_affine and bias, factory_kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Sets ``weight`` to ones and ``bias`` to zeros."""
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        """Normalizes ``input`` of shape ``(*, *normalized_shape)``."""
        return F.layer_norm(input, self.normalized_shape, self.weight,
                            self.bias, self.eps)

    def extra_repr(self) -> str:
        return ("{normalized_shape}, eps={eps}, "
                "elementwise_affine={elementwise_affine}"
                .format(**self.__dict__))


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape``
    dimensions, as ``torch.nn.RMSNorm`` (PyTorch 2.4+):
    ``y = x * rsqrt(mean(x**2) + eps) * weight``.

    Args:
        normalized_shape: an int or a sequence of ints.
        eps: added to the mean square; None: float32's epsilon, as PyTorch.
        elementwise_affine: a learnable ``weight`` (ones) of shape
            ``normalized_shape``. Default: True.
        device, dtype: of the weight.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple
    eps: Optional[float]
    elementwise_affine: bool

    def __init__(self, normalized_shape, eps: Optional[float] = None,
                 elementwise_affine: bool = True, device=None,
                 dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if self.elementwise_affine:
            self.weight = Parameter(torch.empty(self.normalized_shape,
                                                **factory_kwargs))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Sets ``weight`` to ones."""
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Normalizes ``x`` of shape ``(*, *normalized_shape)``."""
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return ("{normalized_shape}, eps={eps}, "
                "elementwise_affine={elementwise_affine}"
                .format(**self.__dict__))


class _NormBase(Module):
    """The state shared by BatchNorm and InstanceNorm, as PyTorch's
    ``_NormBase``: ``weight``/``bias`` (affine), ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` (track_running_stats)."""

    _version = 2
    __constants__ = ["track_running_stats", "momentum", "eps",
                     "num_features", "affine"]
    num_features: int
    eps: float
    momentum: Optional[float]
    affine: bool
    track_running_stats: bool

    def __init__(self, num_features: int, eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None,
                 dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _register_affine(self, (num_features,), affine, affine, factory_kwargs)
        if self.track_running_stats:
            self.register_buffer("running_mean",
                                 torch.zeros(num_features, **factory_kwargs))
            self.register_buffer("running_var",
                                 torch.ones(num_features, **factory_kwargs))
            self.running_mean: Optional[Tensor]
            self.running_var: Optional[Tensor]
            self.register_buffer(
                "num_batches_tracked",
                torch.tensor(0, dtype=torch.long, device=device))
            self.num_batches_tracked: Optional[Tensor]
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Zeros ``running_mean`` and ``num_batches_tracked``, sets
        ``running_var`` to ones."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Resets the running statistics, ``weight`` to ones and ``bias`` to
        zeros."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ("{num_features}, eps={eps}, momentum={momentum}, "
                "affine={affine}, track_running_stats={track_running_stats}"
                .format(**self.__dict__))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            # Version 2 added num_batches_tracked, 0 for older checkpoints.
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = torch.tensor(0, dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)


class _BatchNorm(_NormBase):
    """BatchNorm's forward pass, as PyTorch's ``_BatchNorm.forward``."""

    def forward(self, input: Tensor) -> Tensor:
        """Normalizes ``input`` of shape ``(N, C, *S)`` (or channels-last):
        with batch statistics in training (updating the running statistics
        in place) or without running statistics, else with them."""
        self._check_input_dim(input)
        counter = None
        if self.training and self.track_running_stats:
            # PyTorch adds 1 to num_batches_tracked here, and with
            # momentum=None uses 1 / num_batches_tracked as the momentum; the
            # kernel takes the counter and returns it incremented, and uses
            # that factor itself (the cumulative average).
            counter = self.num_batches_tracked
        # Batch statistics in training, and in eval without running stats.
        if self.training:
            bn_training = True
        else:
            bn_training = (self.running_mean is None
                           and self.running_var is None)
        # The running statistics are passed where they are updated (training
        # and tracked) or used (eval).
        use_buffers = not self.training or self.track_running_stats
        momentum = self.momentum
        if momentum is None and counter is None:
            momentum = 0.0
        return F._batch_norm(
            input,
            self.running_mean if use_buffers else None,
            self.running_var if use_buffers else None,
            self.weight, self.bias, bn_training, momentum, self.eps,
            num_batches_tracked=counter)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a 2-D ``(N, C)`` or 3-D ``(N, C, L)`` input,
    as ``torch.nn.BatchNorm1d``.

    Args:
        num_features: ``C``.
        eps: added to the variance. Default: 1e-5.
        momentum: of the running statistics; None: cumulative moving average.
            Default: 0.1.
        affine: learnable ``weight`` and ``bias``. Default: True.
        track_running_stats: keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked``; otherwise batch statistics are used in
            eval too. Default: True.
        device, dtype: of the parameters and running statistics.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 2 and input.dim() != 3:
            raise ValueError(
                f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over a 4-D ``(N, C, H, W)`` input, as
    ``torch.nn.BatchNorm2d`` (arguments as :class:`BatchNorm1d`)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalization over a 5-D ``(N, C, D, H, W)`` input, as
    ``torch.nn.BatchNorm3d`` (arguments as :class:`BatchNorm1d`)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class _InstanceNorm(_NormBase):
    """InstanceNorm's defaults, checks and forward pass, as PyTorch's
    ``_InstanceNorm``."""

    def __init__(self, num_features: int, eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, device=device, dtype=dtype)

    #: The rank of an unbatched input; a batched one has one more axis.
    _no_batch_dim = 0

    def _get_no_batch_dim(self) -> int:
        return self._no_batch_dim

    def _check_input_dim(self, input: Tensor) -> None:
        n = self._no_batch_dim
        if input.dim() not in (n, n + 1):
            raise ValueError(
                f"expected {n}D or {n + 1}D input (got {input.dim()}D input)")

    def _handle_no_batch_input(self, input: Tensor) -> Tensor:
        return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return F.instance_norm(
            input, self.running_mean, self.running_var, self.weight,
            self.bias, self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0, self.eps)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        version = local_metadata.get("version", None)
        # Version 1 removed running_mean and running_var when
        # track_running_stats=False (the default).
        if version is None and not self.track_running_stats:
            running_stats_keys = [prefix + name
                                  for name in ("running_mean", "running_var")
                                  if prefix + name in state_dict]
            if running_stats_keys:
                error_msgs.append(
                    "Unexpected running stats buffer(s) {names} for {klass} "
                    "with track_running_stats=False. If state_dict is a "
                    "checkpoint saved before 0.4.0, this may be expected "
                    "because {klass} does not track running stats by default "
                    "since 0.4.0. Please remove these keys from state_dict. "
                    "If the running stats are actually needed, instead set "
                    "track_running_stats=True in {klass} to enable them. See "
                    "the documentation of {klass} for details.".format(
                        names=" and ".join(f'"{k}"'
                                           for k in running_stats_keys),
                        klass=self.__class__.__name__))
                for key in running_stats_keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, input: Tensor) -> Tensor:
        """Normalizes each instance of ``input`` ``(N, C, *S)`` or an
        unbatched ``(C, *S)``."""
        self._check_input_dim(input)
        feature_dim = input.dim() - self._get_no_batch_dim()
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match "
                    f"num_features ({self.num_features}), but got: "
                    f"{input.size(feature_dim)}.")
            warnings.warn(
                f"input's size at dim={feature_dim} does not match "
                "num_features. You can silence this warning by not passing in "
                "num_features, which is not used because affine=False")
        if input.dim() == self._get_no_batch_dim():
            return self._handle_no_batch_input(input)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over a 3-D ``(N, C, L)`` or unbatched 2-D
    ``(C, L)`` input, as ``torch.nn.InstanceNorm1d``.

    Args:
        num_features: ``C``.
        eps: added to the variance. Default: 1e-5.
        momentum: of the running statistics (None: 0). Default: 0.1.
        affine: learnable ``weight`` and ``bias``. Default: False.
        track_running_stats: keep running statistics (updated in training,
            used in eval). Default: False.
        device, dtype: of the parameters and running statistics.
    """

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over a 4-D ``(N, C, H, W)`` or unbatched 3-D
    input, as ``torch.nn.InstanceNorm2d`` (arguments as
    :class:`InstanceNorm1d`)."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over a 5-D ``(N, C, D, H, W)`` or unbatched 4-D
    input, as ``torch.nn.InstanceNorm3d`` (arguments as
    :class:`InstanceNorm1d`)."""

    _no_batch_dim = 4


class GroupNorm(Module):
    """Group normalization, as ``torch.nn.GroupNorm``: the channels of an
    ``(N, C, *S)`` input are split into ``num_groups`` groups, each
    normalized per sample over its channels and ``S``.

    Args:
        num_groups: divides ``num_channels``.
        num_channels: ``C``.
        eps: added to the variance. Default: 1e-5.
        affine: learnable per-channel ``weight`` (ones) and ``bias`` (zeros).
            Default: True.
        device, dtype: of the parameters.
    """

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]
    num_groups: int
    num_channels: int
    eps: float
    affine: bool

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, (num_channels,), affine, affine, factory_kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Sets ``weight`` to ones and ``bias`` to zeros."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        """Normalizes ``input`` of shape ``(N, C, *S)`` (or channels-last)."""
        return F.group_norm(input, self.num_groups, self.weight, self.bias,
                            self.eps)

    def extra_repr(self) -> str:
        return ("{num_groups}, {num_channels}, eps={eps}, "
                "affine={affine}".format(**self.__dict__))
