# -*- Python -*-
"""lit configuration for the NormLIR regression tests."""

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NormLIR"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.normlir_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "python", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%normlir_obj_root", config.normlir_obj_root))
config.substitutions.append(("%normlir_src_root", config.normlir_src_root))
config.substitutions.append(("%examples", os.path.join(config.normlir_src_root, "examples")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"])

# `ptxas` (CUDA toolkit): where normlir-cuda-pipeline's format=bin works,
# the tests check that ptxas accepts every generated kernel. The search
# order is the pipeline's (normlir::findPtxas).
def _find_ptxas():
    import shutil
    for var in ("CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(var)
        if root and os.access(os.path.join(root, "bin", "ptxas"), os.X_OK):
            return True
    if os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
        return True
    return shutil.which("ptxas") is not None


if _find_ptxas():
    config.available_features.add("ptxas")

# A GPU the CUDA driver can use (ahead-of-time tests on null pointers are
# for machines without one).
import ctypes
try:
    _cuda = ctypes.CDLL("libcuda.so.1")
    _count = ctypes.c_int(0)
    if _cuda.cuInit(0) == 0 and _cuda.cuDeviceGetCount(ctypes.byref(_count)) == 0 \
            and _count.value > 0:
        config.available_features.add("cuda-gpu")
except OSError:
    pass

# The C compiler driver the ahead-of-time tests build programs with, and
# the OpenMP runtime an AOT object links against.
import shutil
_cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("clang-22")
config.substitutions.append(("%cc", _cc or "cc"))
config.substitutions.append(("%libomp", config.normlir_libomp + " -Wl,-rpath," +
                             os.path.dirname(config.normlir_libomp)))
llvm_config.use_default_substitutions()

tool_dirs = [config.normlir_tools_dir, config.llvm_tools_dir]
tools = ["normlir-opt", "normlir-run", "normlir-compile", "normlir-tune",
         "normlir-jit-api-test", "normlir-capi-test", "normlir-concurrent-compile-test",
         "llvm-objdump"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
