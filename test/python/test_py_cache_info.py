"""normlir.cache_info(), set_cache_size() and the `normlir` logger: the
specializations normlir.functional compiles per call signature are counted
(hits, misses, compile time) like functools.lru_cache's, bounded (least
recently used forgotten first), and each miss is logged with its time; the
JIT's in-memory module cache has the same bound."""

import logging

import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")

normlir = nt.import_normlir()

from normlir import functional as NF  # noqa: E402


@pytest.fixture(autouse=True)
def default_size():
    # A specialization per shape: these tests count the LRU's entries, which
    # the dynamic kernel (test_py_dynamic.py) would share between shapes.
    maxsize = normlir.cache_info().maxsize
    normlir.set_dynamic(False)
    yield
    normlir.set_dynamic(None)
    normlir.set_cache_size(maxsize)


def ln(rows, cols=48):
    return NF.layer_norm(torch.randn(rows, cols), (cols,), None, None, 1e-5)


def test_hits_misses_and_the_log(caplog):
    before = normlir.cache_info()
    with caplog.at_level(logging.INFO, logger="normlir"):
        ln(3)   # a new specialization
        ln(3)   # the same signature
        ln(3)
    info = normlir.cache_info()
    # A miss only if no earlier test compiled this signature.
    new = info.misses - before.misses
    assert new in (0, 1)
    assert info.hits - before.hits == 3 - new
    assert info.compile_seconds >= before.compile_seconds
    records = [r for r in caplog.records if r.name == "normlir"]
    assert len(records) == new
    if new:
        assert "layer_norm: a new specialization (f32 3x48, cpu)" in \
            records[0].getMessage()
        assert records[0].getMessage().endswith(" ms")


def test_bounded_least_recently_used():
    normlir.set_cache_size(2)
    info = normlir.cache_info()
    assert info.maxsize == 2 and info.currsize <= 2
    ln(5)
    ln(6)
    ln(5)   # 5 is now the most recent: 6 goes first
    ln(7)
    assert normlir.cache_info().currsize == 2
    before = normlir.cache_info()
    ln(5)   # kept
    assert normlir.cache_info().hits == before.hits + 1
    ln(6)   # forgotten: a miss again
    assert normlir.cache_info().misses == before.misses + 1
    stats = normlir.cache_stats()
    assert stats["memory_capacity"] == 2 and stats["memory_entries"] <= 2


def test_size_zero_still_runs():
    normlir.set_cache_size(0)
    x = torch.randn(4, 48)
    y = NF.layer_norm(x, (48,))
    torch.testing.assert_close(
        y, torch.nn.functional.layer_norm(x, (48,)), rtol=1e-5, atol=1e-5)
    assert normlir.cache_info().currsize == 0
    assert normlir.cache_stats()["memory_entries"] == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "4", True, None, 2**63, 2**64])
def test_bad_sizes(bad):
    before = normlir.cache_info().maxsize, normlir.cache_stats()[
        "memory_capacity"]
    with pytest.raises(ValueError, match="maxsize"):
        normlir.set_cache_size(bad)
    # Nothing changed.
    assert (normlir.cache_info().maxsize,
            normlir.cache_stats()["memory_capacity"]) == before


def test_index_sizes():
    import numpy as np
    normlir.set_cache_size(np.int64(7))
    assert normlir.cache_info().maxsize == 7
    assert normlir.cache_stats()["memory_capacity"] == 7


def test_each_call_counts_once():
    """A call the fast path hands to the general path (it needs gradients,
    or its input is not contiguous) is one hit, not two."""
    x = torch.randn(6, 32)
    NF.layer_norm(x, (32,))
    for fresh in (x.clone().requires_grad_(True), torch.randn(32, 6).t()):
        NF.layer_norm(fresh, (32,))  # its specialization (maybe new)
        before = normlir.cache_info().hits
        NF.layer_norm(fresh, (32,))
        assert normlir.cache_info().hits == before + 1


def test_bad_size_variable_warns(tmp_path):
    proc = nt.run_package_python(
        "import normlir; print(normlir.cache_info().maxsize, "
        "normlir.cache_stats()['memory_capacity'])", tmp_path,
        NORMLIR_CACHE_SIZE="99999999999999999999")
    assert proc.returncode == 0, proc.stderr
    assert "is not a cache size" in proc.stderr
    assert proc.stdout.split() == ["512", "512"]


def test_one_bound_for_numpy_and_torch():
    """NumPy's and torch's specializations share the bound: with NumPy's
    filling it, a torch call's new specialization is still kept."""
    import numpy as np
    normlir.set_cache_size(3)
    for rows in (9, 10, 11):
        NF.layer_norm(np.ones((rows, 48), np.float32), (48,))
    ln(12)
    before = normlir.cache_info()
    ln(12)
    assert normlir.cache_info().hits == before.hits + 1
    assert normlir.cache_info().currsize == 3
