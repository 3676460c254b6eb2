"""The host cache: the caching allocator of the large host tensors that
normlir.functional and normlir.nn return (python/HostCache.h).

Results of 1 MiB or more come from it: a block freed by torch serves the next
result of its size (hits, no new misses), views keep their block alive,
channels-last results keep their strides, bf16/f16 results have their dtype,
the limit bounds the free bytes kept, and threads that allocate and free at
once get correct results.
"""

import gc
import threading

import numpy as np
import pytest

import normlir_testing as nt

torch = pytest.importorskip("torch")
F = torch.nn.functional

normlir = nt.import_normlir()

from normlir import _normlir  # noqa: E402
from normlir import functional as NF  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts from an empty cache with the default limit."""
    limit = normlir.host_cache_info().limit_bytes
    gc.collect()
    normlir.empty_host_cache()
    yield
    gc.collect()
    normlir.set_host_cache_limit(limit)
    normlir.empty_host_cache()


def ln(x):
    return NF.layer_norm(x, (x.shape[-1],), None, None, 1e-5)


def test_results_reuse_freed_blocks():
    x = torch.randn(512, 1024)  # 2 MiB
    ref = F.layer_norm(x, (1024,), eps=1e-5)
    before = normlir.host_cache_info()
    y = ln(x)
    after_first = normlir.host_cache_info()
    assert after_first.misses == before.misses + 1
    assert after_first.in_use_bytes >= x.numel() * 4
    del y
    info = normlir.host_cache_info()
    assert info.cached_blocks == 1 and info.in_use_bytes == 0
    for _ in range(3):
        y = ln(x)
        torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
        del y
    info = normlir.host_cache_info()
    assert info.misses == after_first.misses
    assert info.hits == after_first.hits + 3


def test_small_results_do_not_use_it():
    before = normlir.host_cache_info()
    y = ln(torch.randn(64, 256))  # 64 KiB
    del y
    assert normlir.host_cache_info() == before


def test_views_keep_their_block():
    x = torch.randn(512, 1024)
    y = ln(x)
    tail = y[256:]
    expected = tail.clone()
    del y
    # The block is still in use (the view holds it): the next results get
    # other memory and leave the view's values alone.
    assert normlir.host_cache_info().cached_blocks == 0
    others = [ln(torch.randn(512, 1024) * 3 + 1) for _ in range(2)]
    assert torch.equal(tail, expected)
    del tail
    assert normlir.host_cache_info().cached_blocks == 1
    del others


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16,
                                   torch.float16])
def test_channels_last_and_dtypes(dtype):
    x = torch.randn(8, 32, 48, 48).to(dtype).contiguous(
        memory_format=torch.channels_last)
    w, b = torch.rand(32) + 0.5, torch.randn(32)
    y = NF.group_norm(x, 4, w, b, 1e-5)
    assert y.dtype == dtype
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert normlir.host_cache_info().in_use_bytes >= y.numel() * y.element_size()
    ref = F.group_norm(x.double(), 4, w.double(), b.double(), 1e-5)
    tol = 1e-4 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(y.double(), ref, rtol=tol, atol=tol)


def test_gradients_come_from_it():
    x = torch.randn(512, 1024, requires_grad=True)
    w = torch.rand(1024, requires_grad=True)
    b = torch.randn(1024, requires_grad=True)
    dy = torch.randn(512, 1024)
    ref = torch.autograd.grad(F.layer_norm(x.double(), (1024,), w.double(),
                                           b.double(), 1e-5),
                              [x, w, b], dy.double())
    before = normlir.host_cache_info()
    for _ in range(3):
        got = torch.autograd.grad(NF.layer_norm(x, (1024,), w, b, 1e-5),
                                  [x, w, b], dy)
        for g, r in zip(got, ref):
            torch.testing.assert_close(g.double(), r.double(), rtol=1e-4, atol=1e-4)
        del got
    info = normlir.host_cache_info()
    # Output and dx each step; from the second step on, from free blocks.
    assert info.misses - before.misses <= 2
    assert info.hits - before.hits >= 4


def test_limit_and_empty():
    x = torch.randn(512, 1024)
    normlir.set_host_cache_limit(0)
    del_ = ln(x)
    del del_
    info = normlir.host_cache_info()
    assert info.cached_bytes == 0 and info.limit_bytes == 0
    normlir.set_host_cache_limit(1 << 30)
    ys = [ln(x) for _ in range(3)]
    del ys
    assert normlir.host_cache_info().cached_blocks == 3
    normlir.set_host_cache_limit(2 << 20)  # room for one 2 MiB block
    info = normlir.host_cache_info()
    assert info.cached_blocks == 1 and info.cached_bytes <= 2 << 20
    normlir.empty_host_cache()
    info = normlir.host_cache_info()
    assert info.cached_blocks == 0 and info.limit_bytes == 2 << 20


def test_unconsumed_capsule_returns_its_block():
    before = normlir.host_cache_info()
    capsule = _normlir.cached_tensor([1024, 1024], [1024, 1], "f32")
    assert normlir.host_cache_info().in_use_bytes == before.in_use_bytes + (
        4 << 20)
    del capsule
    assert normlir.host_cache_info().in_use_bytes == before.in_use_bytes


def test_bad_requests():
    with pytest.raises(normlir.InvalidArgumentError, match="negative"):
        _normlir.cached_tensor([-1, 4], [4, 1], "f32")
    with pytest.raises(normlir.InvalidArgumentError, match="dtype"):
        _normlir.cached_tensor([4], [1], "f8")
    with pytest.raises(normlir.InvalidArgumentError, match="too large"):
        _normlir.cached_tensor([1 << 30, 1 << 30], [1 << 30, 1], "f32")
    # Strides that do not lay the tensor out densely: row-major instead.
    t = torch.utils.dlpack.from_dlpack(
        _normlir.cached_tensor([4, 6], [12, 1], "f32"))
    assert t.stride() == (6, 1)


def test_threads():
    """Four threads computing and freeing results at once: every result is
    right (no block handed out twice)."""
    xs = [torch.randn(512, 1024) * (i + 1) + i for i in range(4)]
    refs = [F.layer_norm(x, (1024,), eps=1e-5) for x in xs]
    errors = []

    def work(i):
        try:
            for _ in range(20):
                ys = [ln(xs[i]) for _ in range(2)]
                for y in ys:
                    torch.testing.assert_close(y, refs[i], rtol=1e-5,
                                               atol=1e-5)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert normlir.host_cache_info().in_use_bytes == 0


def test_numpy_round_trip():
    y = ln(torch.randn(512, 1024))
    a = y.numpy()
    assert np.shares_memory(a, y.numpy())
    del y
    # The array keeps the tensor's storage (and the block) alive.
    assert normlir.host_cache_info().cached_blocks == 0
    assert np.isfinite(a).all()


def test_stale_sizes_make_room():
    """A full cache of blocks of a size no longer asked for (a new batch
    size): the least recently freed go back to the system, so the current
    size is cached from its second step on."""
    normlir.set_host_cache_limit(16 << 20)
    old = [ln(torch.randn(512, 1024)) for _ in range(8)]  # 2 MiB each
    del old
    assert normlir.host_cache_info().cached_blocks == 8
    before = normlir.host_cache_info()
    x = torch.randn(768, 1024)  # 3 MiB
    for _ in range(10):
        y = ln(x)
        del y
    info = normlir.host_cache_info()
    assert info.misses - before.misses == 1
    assert info.hits - before.hits == 9
    assert info.cached_bytes <= 16 << 20


def test_blocks_are_whole_pages():
    y = ln(torch.randn(513, 1024))  # 2 MiB + 4 KiB
    assert normlir.host_cache_info().in_use_bytes == 513 * 1024 * 4
    del y


def test_bad_limit_variable_warns(tmp_path):
    proc = nt.run_package_python(
        "import normlir; print(normlir.host_cache_info().limit_bytes > 0)",
        tmp_path, NORMLIR_HOST_CACHE_BYTES="-1")
    assert proc.returncode == 0, proc.stderr
    assert "not a number of bytes" in proc.stderr
    assert proc.stdout.strip() == "True"
