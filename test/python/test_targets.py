"""Compile targets in the IR (issue 13): a kernel compiled for a named CPU
is correct wherever it runs, a CPU the host cannot run is refused before any
code is loaded, and the caches keep one module per target.
"""

import numpy as np
import pytest

import normlir_testing as nt

normlir = nt.import_normlir()


def ln_spec(dtype="f32", shape=(64, 1000)):
    return normlir.Spec("layer_norm", dtype, shape,
                        normalized_shape=(shape[-1],), weight=True, bias=True)


def ln_ref(x, w, b, eps=1e-5):
    x = np.asarray(x, np.float64)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def first(result):
    """The output of a call that returns one array or a tuple of them."""
    return result[0] if isinstance(result, tuple) else result


def stats():
    s = normlir.cache_stats()
    return {k: int(s[k]) for k in ("compiles", "memory_hits", "disk_hits")}


# x86-64 (SSE2: 4 lanes) runs on every x86-64 host; x86-64-v2 too (SSE4.2).
@pytest.mark.parametrize("cpu", ["x86-64", "x86-64-v2"])
def test_named_cpu_runs_and_is_correct(cpu, rng):
    k = normlir.compile(ln_spec(), target_cpu=cpu, disk_cache=False)
    x = rng.standard_normal((64, 1000)).astype(np.float32) * 3 + 1e3
    w = rng.standard_normal(1000).astype(np.float32)
    b = rng.standard_normal(1000).astype(np.float32)
    y = first(k(x, w, b))
    np.testing.assert_allclose(y, ln_ref(x, w, b), rtol=2e-4, atol=2e-4)


def test_features_adjust_the_cpu(rng):
    # SSE2 without SSE3 is still x86-64: the kernel uses 4-lane SSE2 code.
    k = normlir.compile(ln_spec(shape=(4, 8)), target_cpu="x86-64",
                        target_features="-sse3", disk_cache=False)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    w = np.ones(8, np.float32)
    b = np.zeros(8, np.float32)
    np.testing.assert_allclose(first(k(x, w, b)), ln_ref(x, w, b), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("cpu, features, message", [
    ("pentium9", "", "unknown CPU 'pentium9'"),
    ("x86-64", "avx2", "invalid CPU feature 'avx2'"),
    ("x86-64", "+nosuch", "invalid CPU feature '+nosuch'"),
    # APX and AVX10.2: no current host has them all.
    ("diamondrapids", "", "would not run on this host, which lacks"),
])
def test_bad_or_foreign_cpu_is_an_error(cpu, features, message):
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(ln_spec(), target_cpu=cpu, target_features=features,
                        disk_cache=False)
    assert message in str(e.value)


def test_cpu_options_are_not_for_cuda():
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(ln_spec(), target="cuda", chip="sm_90",
                        target_cpu="x86-64", disk_cache=False)
    assert "a target CPU is an option of the CPU target" in str(e.value)


def test_a_stream_is_for_cuda_functions_only():
    """call_ptrs(stream=...) queues CUDA kernels on the caller's stream; a
    CPU function refuses one rather than ignoring it."""
    import numpy as np

    k = normlir.compile(ln_spec(shape=(4, 8)), disk_cache=False)
    x = np.ones((4, 8), np.float32)
    w, b, y = np.ones(8, np.float32), np.zeros(8, np.float32), np.empty_like(x)
    ptrs = [a.ctypes.data for a in (x, w, b, y)]
    with pytest.raises(normlir.InvalidArgumentError,
                       match="a CUDA stream applies to CUDA modules only"):
        k.function.call_ptrs(ptrs, 0)
    k.function.call_ptrs(ptrs)
    assert np.allclose(y, 0)


def test_selecting_a_cuda_device_without_a_gpu_raises():
    """Where there is no driver or GPU (CI), choosing a device is an
    ExecutionError saying so, never the end of the process."""
    from normlir import _normlir

    try:
        _normlir.cuda_device()
        pytest.skip("a GPU is present")
    except normlir.ExecutionError:
        pass

    for call in (lambda: _normlir.cuda_select_device(0), _normlir.cuda_device):
        with pytest.raises(normlir.ExecutionError,
                           match="CUDA driver|no usable GPU"):
            call()
    with pytest.raises(normlir.ExecutionError, match="no device ordinal"):
        _normlir.cuda_select_device(-1)


def test_a_spec_that_names_its_target():
    text = ln_spec(shape=(4, 8)).mlir()
    named = ('module attributes {norm.target = #norm.cpu_target<triple = '
             '"x86_64-pc-linux-gnu", cpu = "x86-64", features = "", '
             'vectorWidth = 4, nativeBF16 = false, l1Cache = 32768, '
             'l2Cache = 1048576, llcCache = 33554432, cores = 0>} {\n' +
             text + '\n}\n')
    k = normlir.compile(named, disk_cache=False)
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    w, b = np.ones(8, np.float32), np.zeros(8, np.float32)
    np.testing.assert_allclose(first(k(x, w, b)), ln_ref(x, w, b), rtol=1e-5,
                               atol=1e-5)
    # Naming another CPU as well is a contradiction, not a silent choice.
    with pytest.raises(normlir.CompileError) as e:
        normlir.compile(named, target_cpu="x86-64-v2", disk_cache=False)
    assert "the spec names its own target" in str(e.value)


def test_the_cache_key_includes_the_target():
    spec = ln_spec(shape=(4, 24))
    normlir.compile(spec, disk_cache=False)
    before = stats()
    normlir.compile(spec, target_cpu="x86-64", disk_cache=False)
    after = stats()
    assert after["compiles"] == before["compiles"] + 1
    normlir.compile(spec, target_cpu="x86-64", disk_cache=False)
    assert stats()["memory_hits"] == after["memory_hits"] + 1
