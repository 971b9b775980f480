"""facegen.shards.jsontext: the compiled landmark printer gives orjson's bytes for the rounded lists."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from facegen.shards.jsontext import landmarks_json, landmarks_list


def _both(lm):
    return orjson.dumps({"l": landmarks_json(lm)}), orjson.dumps({"l": landmarks_list(lm)})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_rows_of_every_magnitude_print_like_orjson(dtype):
    rng = np.random.default_rng(0)
    for trial in range(400):
        scale = 10.0 ** rng.integers(-4, 9)
        lm = np.c_[rng.normal(0, scale, (68, 2)), rng.integers(0, 2, 68)].astype(dtype)
        fast, ref = _both(lm)
        assert fast == ref, (trial, fast[:200], ref[:200])


def test_signed_zero_halves_and_integers():
    lm = np.array([[-0.0, 0.0, 1], [-0.0004, 0.0004, 0], [0.0005, -0.0005, 1], [0.0015, 2.5e-4, 0],
                   [12.0, -7.1, 1], [999_999_999.5, -999_999_999.25, 0], [0.001, -0.01, 1]])
    fast, ref = _both(lm)
    assert fast == ref
    assert b"[-0.0,0.0,1]" in fast and b"[12.0,-7.1,1]" in fast


@pytest.mark.parametrize("row", [[np.inf, 1.0, 1.0], [np.nan, 2.0, 0.0], [1e10, 3.0, 1.0], [1.0, 2.0, 0.5]])
def test_values_outside_the_fast_path_fall_back_to_orjson(row):
    lm = np.array([[5.0, 6.0, 1.0], row])
    fast, ref = _both(lm)
    assert fast == ref
    assert orjson.loads(fast)["l"][0] == [5.0, 6.0, 1]


def test_empty_and_round_trip():
    assert _both(np.zeros((0, 3)))[0] == b'{"l":[]}'
    lm = np.array([[10.12345, 200.9999, 1], [0.5, 0.25, 0]], np.float32)
    assert orjson.loads(orjson.dumps(landmarks_json(lm))) == [[10.123, 201.0, 1], [0.5, 0.25, 0]]
