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
llvm_config.use_default_substitutions()

tool_dirs = [config.normlir_tools_dir, config.llvm_tools_dir]
tools = ["normlir-opt", "normlir-run", "normlir-jit-api-test"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
