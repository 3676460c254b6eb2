"""Non-finite values at the start of a reduced slice, and empty batches,
against PyTorch.

norm.moments shifts each slice by its first element for accuracy; a slice
that starts with +-inf must still give BatchNorm's infinite saved mean (not
NaN), while LayerNorm/GroupNorm report NaN there as PyTorch's Welford kernels
do; outputs and variances are NaN as PyTorch's. InstanceNorm over an empty batch
averages its running statistics over no samples: NaN, as PyTorch.
"""

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")


def same(got, ref, what):
    """Equal up to 1e-5 relative, with NaN and +-inf in the same places."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, equal_nan=True,
                               err_msg=what)


@pytest.mark.parametrize("first", [np.inf, -np.inf])
def test_layer_norm_row_starting_with_inf(tmp_path, first):
    x = np.array([[first, 1.0, 2.0, 3.0], [4.0, 1.0, 2.0, first]], np.float32)
    spec = nt.layer_norm_spec(x.shape, (4,))
    got = spec.run(tmp_path, x=x)
    y, mean, rstd = torch.native_layer_norm(torch.from_numpy(x), [4], None,
                                            None, 1e-5)
    assert np.isnan(got["mean"]).all()  # PyTorch's Welford moments
    same(got["mean"], mean.numpy(), "mean")
    same(got["rstd"], rstd.numpy(), "rstd")
    same(got["y"], y.numpy(), "y")


def test_batch_norm_channel_starting_with_inf(tmp_path):
    x = np.array([[np.inf, 1.0], [1.0, 2.0], [2.0, np.inf]], np.float32)
    spec = nt.batch_norm_spec(x.shape, running="f32", training=True)
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    trm, trv = torch.zeros(2), torch.ones(2)
    y, save_mean, _ = torch.native_batch_norm(
        torch.from_numpy(x), None, None, trm, trv, True, 0.1, 1e-5)
    assert np.isinf(got["save_mean"]).all()  # PyTorch's BatchNorm sums
    same(got["save_mean"], save_mean.numpy(), "save_mean")
    same(got["running_mean"], trm.numpy(), "running_mean")
    same(got["running_var"], trv.numpy(), "running_var")
    same(got["y"], y.numpy(), "y")


# N = 0 averages the per-sample statistics over nothing (NaN, as PyTorch,
# with spatial values or without);
# N > 0 with no spatial values leaves them as they are (PyTorch's BatchNorm
# over (1, N * C, 0)).
@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 3, 0), (0, 3, 0)])
def test_instance_norm_no_values_with_running_stats(tmp_path, shape):
    x = np.zeros(shape, np.float32)
    spec = nt.instance_norm_spec(x.shape, running="f32", training=True)
    rm = np.array([1.0, 2.0, 3.0], np.float32)
    rv = np.array([4.0, 5.0, 6.0], np.float32)
    got = spec.run(tmp_path, x=x, rm=rm, rv=rv)
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    y = torch.nn.functional.instance_norm(torch.from_numpy(x), trm, trv,
                                          use_input_stats=True)
    assert got["y"].shape == tuple(y.shape)
    same(got["running_mean"], trm.numpy(), "running_mean")
    same(got["running_var"], trv.numpy(), "running_var")


def test_group_norm_group_with_inf(tmp_path):
    x = np.arange(16, dtype=np.float32).reshape(2, 4, 2)
    x[0, 0, 0] = np.inf  # first element of group (0, 0)
    x[1, 3, 1] = -np.inf  # last element of group (1, 1)
    spec = nt.group_norm_spec(x.shape, 2)
    got = spec.run(tmp_path, x=x)
    y, mean, rstd = torch.native_group_norm(torch.from_numpy(x), None, None,
                                            2, 4, 2, 2, 1e-5)
    same(got["mean"], mean.numpy(), "mean")
    same(got["rstd"], rstd.numpy(), "rstd")
    same(got["y"], y.numpy(), "y")
