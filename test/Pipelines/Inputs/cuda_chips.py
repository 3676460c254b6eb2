"""Compiles a spec with normlir-cuda-pipeline{format=isa} for every GPU
architecture LLVM's NVPTX backend lists (`llc -march=nvptx64 -mcpu=help`), so
that the pipeline's chip table (lib/Pipelines/CUDATarget.cpp) covers the
backend and picks a PTX version each chip accepts: a wrong one would end the
process with "LLVM ERROR: PTX version ... does not support target".

usage: cuda_chips.py NORMLIR_OPT LLC SPEC
"""
import re
import subprocess
import sys

opt, llc, spec = sys.argv[1:4]
listing = subprocess.run([llc, "-march=nvptx64", "-mcpu=help"],
                         capture_output=True, text=True)
text = listing.stdout + listing.stderr
cpus = text.split("Available features")[0]
chips = sorted(set(re.findall(r"^\s+(sm_\w+)\s", cpus, re.M)))
failed = []
# Fermi has no warp shuffles, which every kernel reduces with.
unsupported = {"sm_20", "sm_21"}
for chip in chips:
    proc = subprocess.run(
        [opt, spec, f"--normlir-cuda-pipeline=chip={chip} format=isa"],
        capture_output=True, text=True)
    if chip in unsupported:
        if proc.returncode == 0 or "not supported" not in proc.stderr:
            failed.append(f"{chip}: expected 'not supported'")
        continue
    ptx = re.search(r"\.version (\d+)\.(\d+)\\0A\.target (\w+)", proc.stdout)
    if proc.returncode != 0 or not ptx or ptx.group(3) != chip:
        failed.append(f"{chip}: rc={proc.returncode} "
                      f"{proc.stderr.strip()[:300]}")
        continue
    print(f"{chip} PTX {ptx.group(1)}.{ptx.group(2)}")
print(f"{len(chips)} chips, {len(failed)} failed")
for f in failed:
    print("FAILED", f)
