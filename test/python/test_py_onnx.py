"""ONNX export of models with normlir.nn norms (both torch.onnx.export
paths: the TorchScript exporter and dynamo=True): the exported graph has
the standard ONNX norm (LayerNormalization, InstanceNormalization, ...;
RMSNorm decomposed) where PyTorch's own module would have it, passes
onnx.checker, and onnxruntime's results match eager PyTorch's. During
export normlir.functional computes the norm as torch.nn.functional does
(normlir.functional._reference_norm), so the model runs without NormLIR.
Needs pip's onnx, onnxscript and onnxruntime (scripts/test-torch2.sh
installs them); skipped elsewhere."""

import io

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

normlir = nt.import_normlir()

import normlir.nn as nnl  # noqa: E402


def cases():
    """(name, module factory taking torch.nn or normlir.nn, input shape,
    the ONNX op the graph must contain, or None)."""
    return [
        ("layer_norm", lambda nn: nn.LayerNorm(16), (3, 5, 16),
         "LayerNormalization"),
        ("layer_norm_2d", lambda nn: nn.LayerNorm((4, 16)), (3, 4, 16),
         "LayerNormalization"),
        ("rms_norm", lambda nn: nn.RMSNorm(16), (3, 5, 16), None),
        ("group_norm", lambda nn: nn.GroupNorm(2, 8), (2, 8, 5, 5), None),
        ("batch_norm", lambda nn: nn.BatchNorm2d(8), (2, 8, 5, 5), None),
        ("instance_norm", lambda nn: nn.InstanceNorm2d(8, affine=True),
         (2, 8, 5, 5), "InstanceNormalization"),
        ("instance_norm_running",
         lambda nn: nn.InstanceNorm2d(8, affine=True,
                                      track_running_stats=True),
         (2, 8, 5, 5), None),
    ]


def export(model, x, dynamo):
    f = io.BytesIO()
    if dynamo:
        program = torch.onnx.export(model, (x,), dynamo=True)
        return program.model_proto
    torch.onnx.export(model, (x,), f, dynamo=False)
    return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript",
                                                        "dynamo"])
@pytest.mark.parametrize("name,make,shape,onnx_op", cases(),
                         ids=[c[0] for c in cases()])
def test_export_runs_in_onnxruntime(name, make, shape, onnx_op, dynamo):
    torch.manual_seed(0)
    ref = make(torch.nn)
    ours = make(nnl)
    with torch.no_grad():
        # Parameters and running statistics away from their defaults.
        for p in ref.parameters():
            p.uniform_(0.5, 1.5)
        for n, b in ref.named_buffers():
            if n.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
            elif n.endswith("running_var"):
                b.uniform_(0.5, 1.5)
    ours.load_state_dict(ref.state_dict())
    ref.eval()
    ours.eval()
    x = torch.randn(*shape)
    proto = export(ours, x, dynamo)
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert not any(n.domain.startswith("normlir") for n in proto.graph.node)
    if onnx_op:
        assert onnx_op in ops, ops
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(got, ref(x).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    # The export left the module's running statistics alone.
    for (n, a), (_, b) in zip(ref.state_dict().items(),
                              ours.state_dict().items()):
        assert torch.equal(a, b), n


def test_residual_norm_export():
    """add_layer_norm in a model exports as an Add and a
    LayerNormalization."""
    from normlir import functional as NF

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.rand(16) + 0.5)

        def forward(self, x, r):
            y, h = NF.add_layer_norm(x, r, (16,), self.w)
            return y + h

    torch.manual_seed(0)
    m = M()
    x, r = torch.randn(3, 16), torch.randn(3, 16)
    f = io.BytesIO()
    torch.onnx.export(m, (x, r), f, dynamo=False)
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto)
    assert "LayerNormalization" in [n.op_type for n in proto.graph.node]
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    (got,) = session.run(None, dict(zip(names, (x.numpy(), r.numpy()))))
    h = x + r
    want = torch.nn.functional.layer_norm(h, (16,), m.w) + h
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
