"""The examples/ specs: generate their inputs with examples/make_inputs.py,
run the normlir-run command each spec's leading comment documents, and compare
every result with PyTorch."""

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")

EXAMPLES_DIR = nt.REPO_ROOT / "examples"
DOC_DIR = "/tmp/normlir-examples"  # the directory the comments use


def load_make_inputs():
    spec = importlib.util.spec_from_file_location(
        "make_inputs", EXAMPLES_DIR / "make_inputs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_inputs = load_make_inputs()


@pytest.fixture(scope="module")
def inputs_dir(tmp_path_factory):
    """make_inputs.py OUTDIR, run as the examples' comments say."""
    out = tmp_path_factory.mktemp("example_inputs")
    proc = subprocess.run([sys.executable, str(EXAMPLES_DIR / "make_inputs.py"),
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def documented_command(example: str, outdir: Path) -> list:
    """The normlir-run command of the spec's leading comment, with the
    documented paths mapped onto this checkout and `outdir`."""
    lines = []
    for line in (EXAMPLES_DIR / f"{example}.mlir").read_text().splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    text = " ".join(lines).replace("\\ ", " ")
    m = re.search(r"build/bin/normlir-run (.*)", text)
    assert m, f"{example}.mlir: no normlir-run command in its comment"
    argv = shlex.split(m.group(1))
    out = [str(nt.normlir_run_path())]
    for a in argv:
        a = a.replace("$D", DOC_DIR).replace(DOC_DIR, str(outdir))
        if a.startswith("examples/"):
            a = str(EXAMPLES_DIR / a[len("examples/"):])
        out.append(a)
    return out


def run_example(example, outdir):
    func, in_names, out_names = make_inputs.EXAMPLES[example]
    cmd = documented_command(example, outdir)
    # The documented command names every input and output, in order.
    ins = [a for a in cmd if a.startswith("--input=")]
    outs = [a for a in cmd if a.startswith("--output=")]
    assert f"--function={func}" in cmd
    assert ins == [f"--input=@{outdir}/{example}.{n}.npy" for n in in_names]
    assert outs == [f"--output=@{outdir}/{example}.{n}.npy" for n in out_names]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    vals = {n: np.load(outdir / f"{example}.{n}.npy") for n in in_names}
    got = {n: np.load(outdir / f"{example}.{n}.npy") for n in out_names}
    return vals, got


def t(a):
    return torch.from_numpy(np.array(a))


def close(got, ref, what):
    nt.assert_close(got, ref.detach().double().numpy(), rtol=1e-5, what=what)


def test_layer_norm_example(inputs_dir):
    v, got = run_example("layer_norm", inputs_dir)
    mod = torch.nn.LayerNorm([16, 16])
    with torch.no_grad():
        mod.weight.copy_(t(v["weight"]))
        mod.bias.copy_(t(v["bias"]))
    close(got["y"], mod(t(v["x"])), "y")
    _, mean, rstd = torch.native_layer_norm(t(v["x"]), [16, 16], mod.weight,
                                            mod.bias, 1e-5)
    close(got["mean"], mean.reshape(4, 8, 1, 1), "mean")
    close(got["rstd"], rstd.reshape(4, 8, 1, 1), "rstd")


def test_rms_norm_example(inputs_dir):
    v, got = run_example("rms_norm", inputs_dir)
    x = t(v["x"]).double()
    eps = torch.finfo(torch.float32).eps  # RMSNorm(eps=None)
    rstd = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    close(got["y"], x * rstd * t(v["weight"]).double(), "y")
    close(got["rstd"], rstd, "rstd")


def test_batch_norm_example(inputs_dir):
    v, got = run_example("batch_norm", inputs_dir)
    mod = torch.nn.BatchNorm2d(8, eps=1e-5, momentum=0.1).train()
    with torch.no_grad():
        mod.weight.copy_(t(v["weight"]))
        mod.bias.copy_(t(v["bias"]))
        mod.running_mean.copy_(t(v["running_mean"]))
        mod.running_var.copy_(t(v["running_var"]))
        mod.num_batches_tracked.fill_(int(v["num_batches_tracked"]))
    _, save_mean, save_rstd = torch.native_batch_norm(
        t(v["x"]), mod.weight, mod.bias, mod.running_mean.clone(),
        mod.running_var.clone(), True, 0.1, 1e-5)
    close(got["y"], mod(t(v["x"])), "y")
    close(got["save_mean"], save_mean, "save_mean")
    close(got["save_rstd"], save_rstd, "save_rstd")
    close(got["new_running_mean"], mod.running_mean, "running_mean")
    close(got["new_running_var"], mod.running_var, "running_var")
    assert got["new_num_batches_tracked"].dtype == np.int64
    assert int(got["new_num_batches_tracked"]) == int(mod.num_batches_tracked)
    assert int(got["new_num_batches_tracked"]) == 8


def test_instance_norm_example(inputs_dir):
    v, got = run_example("instance_norm", inputs_dir)
    mod = torch.nn.InstanceNorm2d(8, momentum=0.1, affine=True,
                                  track_running_stats=True).train()
    with torch.no_grad():
        mod.weight.copy_(t(v["weight"]))
        mod.bias.copy_(t(v["bias"]))
        mod.running_mean.copy_(t(v["running_mean"]))
        mod.running_var.copy_(t(v["running_var"]))
    close(got["y"], mod(t(v["x"])), "y")
    close(got["new_running_mean"], mod.running_mean, "running_mean")
    close(got["new_running_var"], mod.running_var, "running_var")


def test_group_norm_example(inputs_dir):
    v, got = run_example("group_norm", inputs_dir)
    mod = torch.nn.GroupNorm(4, 8)
    with torch.no_grad():
        mod.weight.copy_(t(v["weight"]))
        mod.bias.copy_(t(v["bias"]))
    close(got["y"], mod(t(v["x"])), "y")
    _, mean, rstd = torch.native_group_norm(t(v["x"]), mod.weight, mod.bias,
                                            4, 8, 256, 4, 1e-5)
    close(got["mean"], mean, "mean")
    close(got["rstd"], rstd, "rstd")


def test_make_inputs_is_deterministic(tmp_path, inputs_dir):
    make_inputs.write_inputs(tmp_path)
    for p in sorted(inputs_dir.glob("*.*.npy")):
        if (tmp_path / p.name).exists():
            assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name
    names = {p.name for p in tmp_path.glob("*.npy")}
    expect = {f"{e}.{n}.npy" for e, (_, ins, _) in
              make_inputs.EXAMPLES.items() for n in ins}
    assert names == expect
