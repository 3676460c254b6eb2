#!/usr/bin/python3
"""Writes deterministic random inputs for the NormLIR examples.

Usage: /usr/bin/python3 examples/make_inputs.py OUTDIR
       /usr/bin/python3 examples/make_inputs.py --args EXAMPLE OUTDIR

The second form prints, one per line, the normlir-run arguments that run
EXAMPLE on the inputs in OUTDIR (its first result written to
OUTDIR/EXAMPLE.RESULT.npy, the side results printed); scripts/run-example.sh
uses it.

Needs only NumPy. The same OUTDIR gets the same bytes on every run (fixed
seeds). Files, all little-endian .npy in C order, named EXAMPLE.INPUT.npy and
listed in the order of the example function's arguments:

  layer_norm.mlir     layer_norm.x.npy (4,8,16,16) f32,
                      layer_norm.weight.npy (16,16) f32,
                      layer_norm.bias.npy (16,16) f32
  rms_norm.mlir       rms_norm.x.npy (4,8,16,16) f32,
                      rms_norm.weight.npy (16,) f32
  batch_norm.mlir     batch_norm.x.npy (4,8,16,16) f32,
                      batch_norm.weight.npy (8,) f32, batch_norm.bias.npy (8,),
                      batch_norm.running_mean.npy (8,) f32,
                      batch_norm.running_var.npy (8,) f32,
                      batch_norm.num_batches_tracked.npy () int64
  instance_norm.mlir  instance_norm.x.npy (4,8,16,16) f32,
                      instance_norm.weight.npy (8,), instance_norm.bias.npy (8,),
                      instance_norm.running_mean.npy (8,),
                      instance_norm.running_var.npy (8,) f32
  group_norm.mlir     group_norm.x.npy (4,8,16,16) f32,
                      group_norm.weight.npy (8,), group_norm.bias.npy (8,) f32

Each example's comment shows the full normlir-run command; its outputs are
conventionally written as EXAMPLE.RESULT.npy (e.g. layer_norm.y.npy,
batch_norm.new_running_mean.npy) in the same directory.
"""

import sys
from pathlib import Path

import numpy as np

SHAPE = (4, 8, 16, 16)

# example -> (function, [input names in argument order], [result names]).
EXAMPLES = {
    "layer_norm": ("layer_norm", ["x", "weight", "bias"],
                   ["y", "mean", "rstd"]),
    "rms_norm": ("rms_norm", ["x", "weight"], ["y", "rstd"]),
    "batch_norm": ("batch_norm",
                   ["x", "weight", "bias", "running_mean", "running_var",
                    "num_batches_tracked"],
                   ["y", "save_mean", "save_rstd", "new_running_mean",
                    "new_running_var", "new_num_batches_tracked"]),
    "instance_norm": ("instance_norm",
                      ["x", "weight", "bias", "running_mean", "running_var"],
                      ["y", "new_running_mean", "new_running_var"]),
    "group_norm": ("group_norm", ["x", "weight", "bias"],
                   ["y", "mean", "rstd"]),
}


def _f32(a):
    return np.ascontiguousarray(a, dtype="<f4")


def make(example: str) -> dict:
    """The inputs of one example, by name."""
    seed = {"layer_norm": 1, "rms_norm": 2, "batch_norm": 3,
            "instance_norm": 4, "group_norm": 5}[example]
    rng = np.random.default_rng(seed)
    c = SHAPE[1]
    # Per-channel offsets and scales, so every statistic matters.
    offset = rng.uniform(-2, 2, (1, c, 1, 1))
    scale = rng.uniform(0.5, 3, (1, c, 1, 1))
    x = _f32(rng.standard_normal(SHAPE) * scale + offset)
    if example == "layer_norm":
        return {"x": x, "weight": _f32(rng.uniform(0.5, 1.5, (16, 16))),
                "bias": _f32(rng.uniform(-0.5, 0.5, (16, 16)))}
    if example == "rms_norm":
        return {"x": x, "weight": _f32(rng.uniform(0.5, 1.5, 16))}
    out = {"x": x, "weight": _f32(rng.uniform(0.5, 1.5, c)),
           "bias": _f32(rng.uniform(-0.5, 0.5, c))}
    if example in ("batch_norm", "instance_norm"):
        out["running_mean"] = _f32(rng.uniform(-1, 1, c))
        out["running_var"] = _f32(rng.uniform(0.5, 2, c))
    if example == "batch_norm":
        out["num_batches_tracked"] = np.array(7, dtype="<i8")
    return out


def write_inputs(outdir) -> dict:
    """Writes every example's inputs into `outdir`; returns
    {example: [input paths in argument order]}."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for example, (_, names, _) in EXAMPLES.items():
        values = make(example)
        assert list(values) == names, (example, list(values))
        paths[example] = []
        for name in names:
            p = outdir / f"{example}.{name}.npy"
            np.save(p, values[name], allow_pickle=False)
            paths[example].append(p)
    return paths


def run_args(example: str, outdir) -> list:
    """normlir-run arguments for `example`: inputs from `outdir`, the first
    result to a .npy file there, the side results printed."""
    func, names, results = EXAMPLES[example]
    outdir = Path(outdir)
    args = [f"--function={func}"]
    args += [f"--input=@{outdir / f'{example}.{n}.npy'}" for n in names]
    args.append(f"--output=@{outdir / f'{example}.{results[0]}.npy'}")
    return args


def main(argv):
    if len(argv) == 4 and argv[1] == "--args":
        if argv[2] not in EXAMPLES:
            print(f"unknown example '{argv[2]}' (one of {', '.join(EXAMPLES)})",
                  file=sys.stderr)
            return 2
        print("\n".join(run_args(argv[2], argv[3])))
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    for example, files in write_inputs(argv[1]).items():
        print(f"{example}: " + " ".join(str(p) for p in files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
