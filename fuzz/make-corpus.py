#!/usr/bin/env python3
"""Writes normlir-fuzz's seed corpus into a directory.

    fuzz/make-corpus.py OUT_DIR

The seeds are the specs of examples/*.mlir and of the .mlir files under test/
(each `// -----` split of a test, comments dropped, a file of several
independent functions also split per function), each prefixed with the
fuzzer's mode line (see tools/normlir-fuzz/normlir-fuzz.cpp): every spec gets
a `parse`, `tile`, `cpu`, `cuda` and `compile` seed, the options rotating
through the lists below so that every option appears in some seeds. OUT_DIR
is emptied first; the names say where a seed came from.
"""

import itertools
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Option lines per mode: norm-select-schedule's options (CPU and CUDA), the two
# pipelines' (the CUDA one always gets format=isa from the fuzzer) and
# JITOptions::schedule.
TILE_OPTIONS = [
    "",
    "vector-width=8 unroll=2",
    "strategy=column chunks=4",
    "strategy=segment vector-width=4 nontemporal=on",
    "strategy=row row-tasks=3 parallel=off force",
    "vector-width=16 strategy=column unroll=2 chunks=5 row-tasks=3 "
    "nontemporal=on parallel=off force",
    "target=cuda",
    "target=cuda strategy=row threads=128 rows=2",
    "target=cuda strategy=segment chunks=2 vector-width=2 force",
]
CPU_OPTIONS = [
    "",
    "vector-width=8 unroll=2",
    "strategy=column chunks=4",
    "strategy=segment nontemporal=on",
    "strategy=row row-tasks=2 parallel=off force",
    "vector-width=4 unroll=1 parallel=on nontemporal=off",
]
CUDA_OPTIONS = [
    "chip=sm_90",
    "chip=sm_90 threads=128",
    "chip=sm_80 strategy=segment chunks=2 force",
    "chip=sm_70 strategy=row threads=64 rows=2 vector-width=4",
    "strategy=column chunks=8 opt-level=1",
    "chip=sm_90a features=+ptx80 opt-level=0",
]
COMPILE_OPTIONS = [
    "",
    "vector-width=8 unroll=2",
    "strategy=column chunks=4",
    "strategy=segment force",
]


def sources():
    files = sorted(
        os.path.join(ROOT, "examples", f)
        for f in os.listdir(os.path.join(ROOT, "examples"))
        if f.endswith(".mlir"))
    for dirpath, _, names in sorted(os.walk(os.path.join(ROOT, "examples"))):
        if dirpath != os.path.join(ROOT, "examples"):
            files += sorted(os.path.join(dirpath, n) for n in names
                            if n.endswith(".mlir"))
    for dirpath, _, names in sorted(os.walk(os.path.join(ROOT, "test"))):
        files += sorted(os.path.join(dirpath, n) for n in names
                        if n.endswith(".mlir"))
    return files


def specs(text):
    """The independent specs of a file: its splits, comments dropped."""
    for chunk in re.split(r"^\s*// -----\s*$", text, flags=re.M):
        lines = [l for l in chunk.splitlines()
                 if l.strip() and not l.lstrip().startswith("//")]
        body = "\n".join(lines) + "\n"
        if not lines:
            continue
        # Top-level functions that do not refer to each other stand alone.
        funcs = re.split(r"^(?=func\.func )", body, flags=re.M)
        if (len(funcs) > 2 and not funcs[0].strip() and "func.call" not in body
                and "module" not in body):
            yield from funcs[1:]
        else:
            yield body


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    options = {
        "tile": itertools.cycle(TILE_OPTIONS),
        "cpu": itertools.cycle(CPU_OPTIONS),
        "cuda": itertools.cycle(CUDA_OPTIONS),
        "compile": itertools.cycle(COMPILE_OPTIONS),
    }
    count = 0
    for path in sources():
        name = os.path.relpath(path, ROOT)[:-len(".mlir")].replace(os.sep, "_")
        with open(path) as f:
            text = f.read()
        for i, spec in enumerate(specs(text)):
            for mode in ("parse", "tile", "cpu", "cuda", "compile"):
                line = mode
                if mode in options:
                    line = (mode + " " + next(options[mode])).rstrip()
                with open(os.path.join(out, f"{name}-{i}-{mode}"), "w") as f:
                    f.write(line + "\n" + spec)
                count += 1
    print(f"{count} seeds in {out}")


if __name__ == "__main__":
    main()
