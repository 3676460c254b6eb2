"""normlir-run error handling: every bad input or spec must make it exit
non-zero with a clear message (checked by a key phrase), and a run must not
modify its input files."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import normlir_testing as nt


def write(tmp_path, name, text):
    p = Path(tmp_path) / name
    p.write_text(text)
    return p


def npy(tmp_path, name, arr):
    p = Path(tmp_path) / name
    nt.save_input(p, arr)
    return p


def expect_error(args, *phrases, regex=None):
    proc = nt.run_normlir(args)
    msg = proc.stderr + proc.stdout
    assert proc.returncode != 0, f"expected failure, got rc=0:\n{msg}"
    assert "error" in msg.lower(), msg
    for phrase in phrases:
        assert phrase in msg, f"{phrase!r} not in:\n{msg}"
    if regex:
        assert re.search(regex, msg), f"/{regex}/ not in:\n{msg}"
    return msg


@pytest.fixture
def ln_spec(tmp_path):
    spec = nt.layer_norm_spec((4, 8), (8,), "f32", "f32", "f32")
    return spec, write(tmp_path, "ln.mlir", spec.text)


def ln_inputs(tmp_path, x_shape=(4, 8), x_dtype=np.float32):
    x = npy(tmp_path, "x.npy", np.ones(x_shape, x_dtype))
    w = npy(tmp_path, "w.npy", np.ones(8, np.float32))
    b = npy(tmp_path, "b.npy", np.zeros(8, np.float32))
    return [f"--input=@{p}" for p in (x, w, b)]


# ----------------------------------------------------------------------------
# Command line and input files
# ----------------------------------------------------------------------------

def test_missing_input_file(tmp_path, ln_spec):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    missing = Path(tmp_path) / "does_not_exist.npy"
    args[0] = f"--input=@{missing}"
    expect_error([path, "--function=ln", *args], "cannot read file",
                 str(missing))


def test_missing_spec_file(tmp_path):
    missing = Path(tmp_path) / "nope.mlir"
    expect_error([missing], "cannot read file", "nope.mlir")


def test_wrong_input_shape(tmp_path, ln_spec):
    _, path = ln_spec
    expect_error([path, "--function=ln", *ln_inputs(tmp_path, (4, 9))],
                 "input 0", "must be 4x8xf32", "got 4x9xf32")


@pytest.mark.parametrize("dtype,name", [(np.float64, "f64"),
                                        (np.float16, "f16")])
def test_wrong_input_dtype(tmp_path, ln_spec, dtype, name):
    """E.g. an f64 .npy for an f32 argument: no silent conversion."""
    _, path = ln_spec
    expect_error([path, "--function=ln", *ln_inputs(tmp_path, x_dtype=dtype)],
                 "input 0", "must be 4x8xf32", f"got 4x8x{name}")


def test_wrong_counter_dtype(tmp_path):
    """An i32 .npy for the i64 num_batches_tracked."""
    spec = nt.batch_norm_spec((2, 3), running="f32", nbt=True)
    path = write(tmp_path, "bn.mlir", spec.text)
    ins = [npy(tmp_path, "x.npy", np.ones((2, 3), np.float32)),
           npy(tmp_path, "rm.npy", np.zeros(3, np.float32)),
           npy(tmp_path, "rv.npy", np.ones(3, np.float32)),
           npy(tmp_path, "n.npy", np.array(0, np.int32))]
    expect_error([path, "--function=bn", *[f"--input=@{p}" for p in ins]],
                 "input 3", "must be i64", "got i32")


def test_unsupported_npy_dtype(tmp_path, ln_spec):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    bad = npy(tmp_path, "u8.npy", np.ones((4, 8), np.uint8))
    args[0] = f"--input=@{bad}"
    expect_error([path, "--function=ln", *args], "unsupported dtype")


def test_fortran_order_npy(tmp_path, ln_spec):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    bad = Path(tmp_path) / "fortran.npy"
    arr = np.asfortranarray(np.ones((4, 8), np.float32))
    np.save(bad, arr)
    assert b"'fortran_order': True" in bad.read_bytes()[:128]
    args[0] = f"--input=@{bad}"
    expect_error([path, "--function=ln", *args], "Fortran")


def test_truncated_npy(tmp_path, ln_spec):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    bad = npy(tmp_path, "trunc.npy", np.ones((4, 8), np.float32))
    bad.write_bytes(bad.read_bytes()[:-4])
    args[0] = f"--input=@{bad}"
    expect_error([path, "--function=ln", *args], "data bytes")


@pytest.mark.parametrize("damage", [
    (b"(4, 8), }", b"(4, 8,  }"),      # shape tuple not closed
    (b"'shape': (", b"'shape': ["),    # not a tuple
    (b"}", b" "),                      # dict not closed
    (b"'descr': '", b"'descr':  "),    # descr not a string
])
def test_malformed_npy_header(tmp_path, ln_spec, damage):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    bad = npy(tmp_path, "bad.npy", np.ones((4, 8), np.float32))
    data = bad.read_bytes()
    old, new = damage
    assert old in data[:128] and len(old) == len(new)
    bad.write_bytes(data.replace(old, new, 1))
    args[0] = f"--input=@{bad}"
    expect_error([path, "--function=ln", *args], "malformed header")


def test_opt_level_out_of_range(ln_spec):
    _, path = ln_spec
    expect_error([path, "--print-signature", "-O", "9"],
                 "-O must be 0 to 3, got 9")


def test_oversized_spec_says_why(tmp_path):
    """A tensor whose byte size overflows int64: the function is not callable
    and the error says why, not only "available: none"."""
    normlir = nt.import_normlir()
    d = 2 ** 31
    ty = f"tensor<{d}x{d}x4xf32>"
    # A norm over it: the kernel is refused (norm.kernel C9).
    text = (f"func.func @main(%x: {ty}) -> {ty} {{\n"
            f"  %y, %m, %r = norm.layer_norm %x {{normalized_shape = "
            f"array<i64: 4>}} : ({ty}) -> ({ty}, tensor<{d}x{d}x1xf32>, "
            f"tensor<{d}x{d}x1xf32>)\n  return %y : {ty}\n}}\n")
    with pytest.raises(normlir.NormLIRError) as e:
        normlir.compile(text, disk_cache=False)
    assert "2147483648x2147483648x4xf32 is too large" in str(e.value)
    # No kernel: the module compiles, and the lookup says why there is
    # nothing to call.
    text = f"func.func @main(%x: {ty}) -> {ty} {{\n  return %x : {ty}\n}}\n"
    for function in (None, "main"):
        with pytest.raises(normlir.NormLIRError) as e:
            normlir.compile(text, function=function, disk_cache=False)
        assert "2147483648x2147483648x4xf32 is too large" in str(e.value)
    assert "no callable function 'main' (available: none)" in str(e.value)


@pytest.mark.parametrize("count", [2, 4])
def test_wrong_number_of_inputs(tmp_path, ln_spec, count):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    args = (args + args)[:count]
    expect_error([path, "--function=ln", *args], "takes 3 inputs",
                 f"got {count} --input flags")


def test_too_many_outputs(tmp_path, ln_spec):
    _, path = ln_spec
    outs = [f"--output=@{tmp_path}/o{i}.npy" for i in range(4)]
    expect_error([path, "--function=ln", *ln_inputs(tmp_path), *outs],
                 "has 3 results", "got 4 --output flags")


def test_unknown_function(tmp_path, ln_spec):
    _, path = ln_spec
    expect_error([path, "--function=nope", *ln_inputs(tmp_path)], "nope")


def test_bad_inline_input(tmp_path, ln_spec):
    _, path = ln_spec
    args = ln_inputs(tmp_path)
    args[0] = "--input=4x8xf32=1 2 3"
    expect_error([path, "--function=ln", *args], "inline input")


# ----------------------------------------------------------------------------
# Specs: parse errors and verifier errors
# ----------------------------------------------------------------------------

def test_malformed_spec_location(tmp_path):
    """A syntax error reports file:line:col."""
    spec = nt.layer_norm_spec((2, 6), (6,))
    text = spec.text.replace("normalized_shape = array<i64: 6>}",
                             "normalized_shape = array<i64: 6>")
    assert text != spec.text
    path = write(tmp_path, "broken.mlir", text)
    expect_error([path, "--function=ln", "--input=2x6xf32=1"],
                 regex=r"broken\.mlir:2:\d+: error")


def test_unknown_op(tmp_path):
    text = nt.layer_norm_spec((2, 6), (6,)).text.replace("norm.layer_norm",
                                                         "norm.layer_norn")
    path = write(tmp_path, "unknown.mlir", text)
    expect_error([path, "--function=ln", "--input=2x6xf32=1"],
                 "layer_norn", regex=r"unknown\.mlir:2:\d+")


def verifier_error(tmp_path, spec, *phrases):
    path = write(tmp_path, f"{spec.func}.mlir", spec.text)
    inline = []
    for name, shape, dt in spec.args:
        t = "x".join(map(str, shape)) + ("x" if shape else "") + dt
        inline.append(f"--input={t}=1")
    msg = expect_error([path, f"--function={spec.func}", *inline], *phrases,
                       regex=re.escape(path.name) + r":\d+:\d+")
    return msg


@pytest.mark.parametrize("shape,axis", [((1, 4), 1), ((1, 4, 1, 1), 1),
                                        ((1, 1, 1, 4), 3)])
def test_batch_norm_one_value_per_channel(tmp_path, shape, axis):
    spec = nt.batch_norm_spec(shape, running="f32", channel_axis=axis)
    verifier_error(tmp_path, spec,
                   "expected more than 1 value per channel when training")


def test_batch_norm_eval_one_value_per_channel_is_fine(tmp_path):
    """Eval uses the running statistics: one value per channel is allowed."""
    spec = nt.batch_norm_spec((1, 4), running="f32", training=False)
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    rm, rv = np.full(4, 1.0, np.float32), np.full(4, 4.0, np.float32)
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    nt.assert_close(got["y"], (x - 1.0) / np.sqrt(4.0 + 1e-5))


def test_instance_norm_one_spatial_element(tmp_path):
    spec = nt.instance_norm_spec((2, 3, 1))
    verifier_error(tmp_path, spec, "expected more than 1 spatial element")


def test_group_norm_channels_not_divisible(tmp_path):
    spec = nt.group_norm_spec((2, 6, 3), 4)
    verifier_error(tmp_path, spec, "divisible by num_groups")


def test_layer_norm_shape_mismatch(tmp_path):
    spec = nt.layer_norm_spec((2, 6), (6,))
    spec.text = spec.text.replace("array<i64: 6>", "array<i64: 5>")
    verifier_error(tmp_path, spec, "normalized_shape",
                   "does not match the trailing dimensions")


def test_batch_norm_weight_shape_mismatch(tmp_path):
    spec = nt.batch_norm_spec((2, 3, 4), weight="f32")
    spec.text = spec.text.replace("%w: tensor<3xf32>", "%w: tensor<4xf32>")
    spec.text = spec.text.replace("(tensor<2x3x4xf32>, tensor<3xf32>)",
                                  "(tensor<2x3x4xf32>, tensor<4xf32>)")
    spec.args[1] = ("w", (4,), "f32")
    verifier_error(tmp_path, spec, "weight shape", "does not match")


def test_batch_norm_eval_requires_running(tmp_path):
    spec = nt.batch_norm_spec((2, 3), training=False)
    verifier_error(tmp_path, spec, "requires running_mean and running_var")


@pytest.mark.parametrize("attr,phrase", [("epsilon = -1.0 : f64", "epsilon"),
                                         ("momentum = 1.5 : f64", "momentum")])
def test_batch_norm_bad_attributes(tmp_path, attr, phrase):
    spec = nt.batch_norm_spec((2, 3), running="f32")
    spec.text = spec.text.replace("{training}", "{training, " + attr + "}")
    verifier_error(tmp_path, spec, phrase)


# ----------------------------------------------------------------------------
# Inputs are not modified
# ----------------------------------------------------------------------------

def digest(paths):
    return [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]


@pytest.mark.parametrize("which", ["layer_norm", "batch_norm", "instance_norm",
                                   "batch_norm_bf16"])
def test_inputs_not_modified(tmp_path, rng, which):
    """Running statistics come back as new results; the input .npy files
    (and so the caller's buffers) stay byte-for-byte the same."""
    if which == "layer_norm":
        spec = nt.layer_norm_spec((3, 8), (8,), "f32", "f32", "f32")
    elif which == "batch_norm":
        spec = nt.batch_norm_spec((3, 4, 5), "f32", "f32", "f32",
                                  running="f32", nbt=True)
    elif which == "batch_norm_bf16":
        spec = nt.batch_norm_spec((3, 4, 5), "bf16", "bf16", "bf16",
                                  running="bf16", nbt=True, cumulative=True)
    else:
        spec = nt.instance_norm_spec((3, 4, 5), "f32", "f32", "f32",
                                     running="f32")
    paths = []
    for i, (name, shape, dt) in enumerate(spec.args):
        if dt == "i64":
            val = np.int64(3)
        else:
            val = rng.uniform(0.5, 2.0, shape)
        p = Path(tmp_path) / f"in{i}.npy"
        nt.save_input(p, nt.to_input(val, dt))
        paths.append(p)
    spec_path = write(tmp_path, "spec.mlir", spec.text)
    before = digest(paths)
    outs = [f"--output=@{tmp_path}/out{i}.npy"
            for i in range(len(spec.results))]
    proc = nt.run_normlir([spec_path, f"--function={spec.func}",
                           *[f"--input=@{p}" for p in paths], *outs])
    assert proc.returncode == 0, proc.stderr
    assert digest(paths) == before
    # and the updated statistics really were produced as results
    if "running_mean" in spec.result_names:
        k = spec.result_names.index("running_mean")
        rm_in = np.load(paths[spec.arg_names.index("rm")])
        rm_out = np.load(f"{tmp_path}/out{k}.npy")
        assert not np.array_equal(rm_in, rm_out)
