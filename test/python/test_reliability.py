"""Bad input from Python gets an exception, never the end of the
interpreter; and PyTorch's corner cases (issue 12).

- Schedules out of range and unknown options raise CompileError with the
  reason (a huge vector width used to segfault the interpreter).
- Blackwell GPUs compile (LLVM used to end the process).
- eps/momentum that PyTorch refuses (None, strings) raise TypeError; the
  epsilons it accepts (+inf, NaN) work.
- BatchNorm/InstanceNorm with eps=0 on a constant channel: PyTorch's InvStd
  gives rstd = 0 and y = bias, not NaN.
"""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import normlir_testing as nt

normlir = nt.import_normlir()
F = pytest.importorskip("normlir.functional")
torch = pytest.importorskip("torch")


def ln_spec(**kw):
    return normlir.Spec("layer_norm", "f32", (4, 8), normalized_shape=(8,),
                        **kw)


# ----------------------------------------------------------------------------
# Options and targets
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("schedule, reason", [
    ("vector-width=268435456", "vector-width must be 0 (chosen per kernel) "
                               "or a power of two in [1, 64]"),
    ("vector-width=3", "power of two"),
    ("vector-width=-8", "got -8"),
    ("unroll=17", "unroll must be 0 (chosen per kernel) or in [1, 16]"),
    ("chunks=2147483648", "chunks must be"),
    ("row-tasks=-1", "row-tasks must be"),
    ("strategy=diagonal", "strategy must be row, segment or column"),
    ("frobnicate=1", "unknown option 'frobnicate'"),
    ("vector-width=8}},print-ir-after-all{", "expected an integer"),
])
def test_bad_schedule_is_a_compile_error(schedule, reason):
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(ln_spec(), schedule=schedule, disk_cache=False)
    assert reason in str(e.value)


@pytest.mark.parametrize("schedule, reason", [
    ("threads=48", "threads must be 0 (chosen per kernel) or a power of two"),
    ("threads=1024 rows=2", "threads * rows must be <= 1024"),
    ("vector-width=32", "[1, 16]"),
])
def test_bad_gpu_schedule_is_a_compile_error(schedule, reason):
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(ln_spec(), target="cuda", chip="sm_90",
                        schedule=schedule, disk_cache=False)
    assert reason in str(e.value)


@pytest.mark.parametrize("chip", ["sm_100", "sm_100a", "sm_103", "sm_120",
                                  "sm_121"])
def test_blackwell_chips_compile(chip):
    # Compiling needs no GPU (cubin through ptxas where the toolkit has it,
    # else PTX); calling one does.
    k = normlir.compile(ln_spec(), target="cuda", chip=chip,
                        disk_cache=False)
    assert k.inputs[0][0] == (4, 8)


def test_dimension_near_int64_max_is_a_compile_error():
    """Sizes whose vector rounding would wrap around int64 used to make the
    lowering create ops until memory ran out."""
    n = 2 ** 63 - 8
    with pytest.raises(normlir.CompileError, match="is too large"):
        normlir.compile(normlir.Spec("layer_norm", "f32", (1, n),
                                     normalized_shape=(n,)),
                        disk_cache=False)


def test_unknown_chip_is_a_compile_error():
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(ln_spec(), target="cuda", chip="sm_99",
                        disk_cache=False)
    assert "unknown GPU architecture chip='sm_99'" in str(e.value)


# ----------------------------------------------------------------------------
# eps and momentum as PyTorch takes them
# ----------------------------------------------------------------------------

def test_eps_and_momentum_types_as_pytorch(rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    calls = {
        "layer_norm eps": lambda v: F.layer_norm(x, (5,), eps=v),
        "rms_norm eps": lambda v: F.rms_norm(x, (5,), eps=v),
        "group_norm eps": lambda v: F.group_norm(x, 3, eps=v),
        "batch_norm eps": lambda v: F.batch_norm(x, rm, rv, training=True,
                                                 eps=v),
        "batch_norm momentum": lambda v: F.batch_norm(
            x, rm.copy(), rv.copy(), training=True, momentum=v),
        "instance_norm eps": lambda v: F.instance_norm(x, eps=v),
        "instance_norm momentum": lambda v: F.instance_norm(x, momentum=v),
    }
    for what, call in calls.items():
        for bad in ("1e-5", b"0.1", None, [1e-5], Decimal("0.1"),
                    Fraction(1, 10), np.array(1e-5), np.array([1e-5]),
                    torch.tensor([1e-5]), torch.tensor(0.1, requires_grad=True),
                    1j):
            if bad is None and what == "rms_norm eps":
                continue  # None is RMSNorm's default
            with pytest.raises(TypeError, match="must be float"):
                call(bad)
        # Numbers PyTorch takes: ints, bools, NumPy scalars, 0-d tensors.
        for good in (1, False, np.float32(0.5), torch.tensor(0.25)):
            call(good)
    with pytest.raises(TypeError):
        normlir.Spec("layer_norm", "f32", (4, 8), normalized_shape=(8,),
                     eps="1e-5")


@pytest.mark.parametrize("eps", [np.inf, np.nan])
@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "batch_norm",
                                "instance_norm", "group_norm"])
def test_non_finite_eps_as_pytorch(rng, op, eps):
    """PyTorch takes eps=inf (the output is the bias) and eps=nan (NaN); the
    spec carries them as hex floats MLIR reads back."""
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)
    w = rng.standard_normal(6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    tx, tw, tb = map(torch.from_numpy, (x, w, b))
    tf = torch.nn.functional
    if op == "layer_norm":
        got = F.layer_norm(x, (5,), eps=eps)
        ref = tf.layer_norm(tx, (5,), eps=eps)
    elif op == "rms_norm":
        got = F.rms_norm(x, (5,), eps=eps)
        ms = (tx.double() ** 2).mean(-1, keepdim=True)
        ref = (tx.double() * torch.rsqrt(ms + eps)).float()
    elif op == "batch_norm":
        got = F.batch_norm(x, None, None, w, b, training=True, eps=eps)
        ref = tf.batch_norm(tx, None, None, tw, tb, training=True, eps=eps)
    elif op == "instance_norm":
        got = F.instance_norm(x, weight=w, bias=b, eps=eps)
        ref = tf.instance_norm(tx, weight=tw, bias=tb, eps=eps)
    else:
        got = F.group_norm(x, 3, w, b, eps=eps)
        ref = tf.group_norm(tx, 3, tw, tb, eps=eps)
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-5, atol=1e-6,
                               equal_nan=True)


# ----------------------------------------------------------------------------
# PyTorch's InvStd: rstd = 0 where var == 0 and eps == 0
# ----------------------------------------------------------------------------

def constant_channel_input(rng, shape=(4, 3, 5, 6)):
    """Channel 0 constant (zero variance in every instance), the others
    random; channel 2 constant within each instance only."""
    x = rng.standard_normal(shape).astype(np.float32)
    x[:, 0] = 1.5
    x[:, 2] = rng.standard_normal((shape[0],) + (1,) * (len(shape) - 2))
    return x


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("schedule", ["", "strategy=segment",
                                      "strategy=column"])
def test_batch_norm_training_eps_zero_as_pytorch(rng, layout, schedule):
    x = constant_channel_input(rng)
    w = np.array([2.0, -1.0, 0.5], np.float32)
    b = np.array([0.25, 1.0, -3.0], np.float32)
    tx = torch.from_numpy(x)
    tw, tb = torch.from_numpy(w), torch.from_numpy(b)
    trm, trv = torch.zeros(3), torch.ones(3)
    y, save_mean, save_invstd = torch.native_batch_norm(
        tx, tw, tb, trm, trv, True, 0.1, 0.0)
    assert save_invstd[0] == 0 and (y[:, 0] == b[0]).all()

    channels_last = layout == "channels_last"
    mem = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if channels_last else x
    spec = normlir.Spec("batch_norm", "f32", mem.shape, eps=0.0,
                        weight=True, bias=True, running_stats=True,
                        training=True, channels_last=channels_last,
                        save_stats=True)
    k = normlir.compile(spec, schedule=schedule, disk_cache=False)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    got_y, got_mean, got_rstd, new_rm, new_rv = k(mem, w, b, rm, rv)
    if channels_last:
        got_y = got_y.transpose(0, 3, 1, 2)
    assert got_rstd[0] == 0.0, "InvStd: rstd 0 for var == 0, eps == 0"
    np.testing.assert_array_equal(got_y[:, 0], b[0])
    nt.assert_close(got_y, y.numpy(), what="y")
    nt.assert_close(got_rstd, save_invstd.numpy(), what="save_rstd")
    nt.assert_close(new_rv, trv.numpy(), what="running_var")


def test_instance_norm_eps_zero_as_pytorch(rng):
    x = constant_channel_input(rng)
    w = np.array([2.0, -1.0, 0.5], np.float32)
    b = np.array([0.25, 1.0, -3.0], np.float32)
    got = F.instance_norm(x, weight=w, bias=b, eps=0.0)
    ref = torch.nn.functional.instance_norm(
        torch.from_numpy(x), weight=torch.from_numpy(w),
        bias=torch.from_numpy(b), eps=0.0).numpy()
    assert not np.isnan(ref).any()
    np.testing.assert_array_equal(got[:, 0], b[0])
    np.testing.assert_array_equal(got[:, 2], b[2])
    nt.assert_close(got, ref, what="y")


def test_eps_zero_elsewhere_stays_nan_as_pytorch(rng):
    """The rule is BatchNorm/InstanceNorm batch statistics only: running
    statistics (eval), LayerNorm and GroupNorm give NaN, as PyTorch."""
    x = constant_channel_input(rng)
    tx = torch.from_numpy(x)
    tf = torch.nn.functional
    rv = np.array([0.0, 1.0, 1.0], np.float32)
    got = F.batch_norm(x, np.zeros(3, np.float32), rv, eps=0.0)
    ref = tf.batch_norm(tx, torch.zeros(3), torch.from_numpy(rv), eps=0.0)
    # (1.5 - 0) * inf; PyTorch's CPU kernel folds the apply into
    # x * inf + (0 - 0 * inf) and gets NaN: non-finite either way
    # (docs/semantics-notes.md).
    assert np.isinf(got[:, 0]).all() and np.isnan(ref[:, 0]).all()
    nt.assert_close(got[:, 1:], ref[:, 1:].numpy(), what="other channels")
    got = F.group_norm(x, 3, eps=0.0)
    ref = tf.group_norm(tx, 3, eps=0.0)
    assert np.isnan(got[:, 0]).all()
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-5, atol=1e-5,
                               equal_nan=True)
