"""``torch.compile(model, backend="normlir")``: existing models with
``torch.nn``'s norms, on NormLIR's kernels, without code changes.

The backend receives Dynamo's graph, replaces its calls of
``torch.nn.functional.layer_norm``, ``group_norm``, ``batch_norm``,
``instance_norm`` and ``rms_norm`` (``torch.rms_norm``) by
``normlir.functional``'s (same arguments; under the compile they become the
``torch.ops.normlir.*`` custom ops, autograd included), and compiles the
result with Inductor. A call is replaced only where NormLIR computes it as
PyTorch does: a CPU tensor of float32, float16 or bfloat16 (CUDA's
backward is not traceable yet, see normlir/_ops.py); the others stay
PyTorch's.

The backend is registered under the name "normlir" by the package's entry
point (``torch_dynamo_backends``, pip installs) and when this module is
imported; ``normlir.torch_compile_backend`` is the function itself.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import functional as NF

# PyTorch's norm functions, as Dynamo records them, and NormLIR's.
_REPLACEMENTS = {
    F.layer_norm: NF.layer_norm,
    F.group_norm: NF.group_norm,
    F.batch_norm: NF.batch_norm,
    F.instance_norm: NF.instance_norm,
}
for _rms in (getattr(F, "rms_norm", None), getattr(torch, "rms_norm", None)):
    if _rms is not None:
        _REPLACEMENTS[_rms] = NF.rms_norm

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

#: How many calls the last compile replaced (for tests and curiosity).
last_replaced = 0


def _example(arg):
    if isinstance(arg, torch.fx.Node):
        return arg.meta.get("example_value")
    return None


def _replaceable(node) -> bool:
    """A call NormLIR computes as PyTorch does: its input (and every tensor
    argument) a CPU tensor of a supported dtype."""
    if not node.args:
        return False
    x = _example(node.args[0])
    if x is None or x.dtype not in _DTYPES or x.device.type != "cpu":
        return False
    for arg in (*node.args[1:], *node.kwargs.values()):
        t = _example(arg)
        if t is not None and t.device != x.device:
            return False
    return True


def replace_norms(gm: torch.fx.GraphModule) -> int:
    """Points the graph's replaceable norm calls at normlir.functional;
    returns how many."""
    count = 0
    for node in gm.graph.nodes:
        if (node.op == "call_function" and node.target in _REPLACEMENTS
                and _replaceable(node)):
            node.target = _REPLACEMENTS[node.target]
            count += 1
    if count:
        gm.recompile()
    return count


def torch_compile_backend(gm: torch.fx.GraphModule, example_inputs,
                          **kwargs):
    """The "normlir" torch.compile backend: the norms on NormLIR, the rest
    compiled by Inductor."""
    global last_replaced
    last_replaced = replace_norms(gm)
    from torch._inductor.compile_fx import compile_fx

    return compile_fx(gm, example_inputs, **kwargs)


def _register():
    """The name "normlir" for torch.compile, unless the entry point has it
    (importing torch._dynamo costs about a second: only here, never at
    ``import normlir``)."""
    try:
        from torch._dynamo.backends import registry
    except ImportError:  # a PyTorch without torch.compile
        return
    if "normlir" not in registry._COMPILER_FNS:
        try:
            registry.register_backend(torch_compile_backend, name="normlir")
        except AssertionError:  # registered meanwhile
            pass


_register()
