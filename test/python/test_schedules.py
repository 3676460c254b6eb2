"""The execution cases again under forced schedules (norm-select-schedule's options via
normlir-run --schedule), so that every code path of convert-norm-to-vector
is checked against the float64 reference whatever the heuristic picks on
this host: each strategy on layouts it would not be chosen for, narrow and
odd vector widths (masked tails), no unrolling, streaming stores (aligned
and misaligned heads), serial and threaded loops, row ranges with prefetches.
"""

import pytest

from test_execution import bn_case, gn_case, in_case, ln_case, rms_case

SCHEDULES = [
    "strategy=segment",
    "strategy=column chunks=3",
    "vector-width=4 unroll=1",
    "vector-width=8 unroll=3 nontemporal=on",
    "vector-width=32 nontemporal=on parallel=on",
    "parallel=off row-tasks=1",
    "row-tasks=3 parallel=on",
    # Row prefetches: within a range, and past its end (clamped).
    "prefetch=2 row-tasks=2 nontemporal=on",
    "prefetch=1000 parallel=on",
]


@pytest.fixture(params=SCHEDULES)
def schedule(request, monkeypatch):
    monkeypatch.setenv("NORMLIR_SCHEDULE", request.param)
    return request.param


@pytest.mark.parametrize("dtype", ["f32", "bf16", "f16"])
def test_layer_norm(rng, tmp_path, schedule, dtype):
    # 1500: a row long enough for streaming stores with a masked head/tail.
    ln_case(rng, tmp_path, (3, 1500), (1500,), dtype, dtype, dtype)
    ln_case(rng, tmp_path, (8, 6, 3, 4), (3, 4), dtype, "f32", "f32")


def test_rms_norm(rng, tmp_path, schedule):
    rms_case(rng, tmp_path, (5, 1029), (1029,), "f32", "f32")
    rms_case(rng, tmp_path, (2, 3, 7), (3, 7), "bf16", "bf16")


@pytest.mark.parametrize("axis", [1, 3], ids=["NCHW", "NHWC"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm(rng, tmp_path, schedule, axis, training):
    shape = (4, 5, 7, 37) if axis == 1 else (4, 7, 37, 5)
    bn_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32",
            nbt=3 if training else None, training=training,
            channel_axis=axis)
    if axis == 1:
        # Planes of 1056 elements: streaming stores in the segment and row
        # strategies' applies.
        bn_case(rng, tmp_path, (3, 5, 32, 33), "f32", "f32", "f32",
                running="f32", training=training)
    bn_case(rng, tmp_path, (3, 2, 5) if axis == 1 else (3, 5, 2), "bf16",
            "bf16", None, running="f32", training=training,
            channel_axis=2 if axis == 3 else 1)


@pytest.mark.parametrize("axis", [1, 3], ids=["NCHW", "NHWC"])
def test_group_norm(rng, tmp_path, schedule, axis):
    shape = (2, 12, 9, 33) if axis == 1 else (2, 9, 33, 12)
    gn_case(rng, tmp_path, shape, 4, "f32", "f32", "f32", channel_axis=axis)
    gn_case(rng, tmp_path, shape, 12, "bf16", "f32", "f32", channel_axis=axis)
    if axis == 1:
        # Groups of 2112 elements: streaming stores with masked heads/tails.
        gn_case(rng, tmp_path, (2, 6, 32, 33), 3, "f32", "f32", "f32")


@pytest.mark.parametrize("axis", [1, 3], ids=["NCHW", "NHWC"])
def test_instance_norm(rng, tmp_path, schedule, axis):
    shape = (3, 5, 11, 13) if axis == 1 else (3, 11, 13, 5)
    in_case(rng, tmp_path, shape, "f32", "f32", "f32", running="f32",
            channel_axis=axis)
    in_case(rng, tmp_path, shape, "f16", None, None, running="f32",
            training=False, channel_axis=axis)
    if axis == 1:
        in_case(rng, tmp_path, (2, 3, 32, 33), "f32", "f32", "f32",
                running="f32")


@pytest.mark.parametrize("shape,dtype", [((40, 16384), "f32"),
                                         ((33, 32771), "bf16")])
def test_heuristic_long_rows(rng, tmp_path, shape, dtype):
    # The heuristic's own schedule (no override) for inputs beyond a typical
    # L2 with rows up to half of it and several rows per range: the row
    # strategy prefetching a later row of its range.
    ln_case(rng, tmp_path, shape, shape[-1:], dtype, dtype, dtype)
