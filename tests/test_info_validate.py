"""benchmark.info._validate: messages name the argument; TypeError for type, ValueError for value."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.info import _validate as V


def test_as_float_accepts_lists_ints_and_promotes():
    out = V.as_float([[1, 2, 3]], "x", ndims=(2,), who="f")
    assert out.dtype == np.float64 and out.shape == (1, 3)
    assert V.as_single([1.0, 2.0, 3.0], "x", "f").shape == (1, 3)


@pytest.mark.parametrize("value,exc,match", [
    (None, TypeError, "f: x must be a numeric array, got NoneType"),
    (np.array(["a", "b"]), TypeError, "f: x must be a numeric array, got dtype <U1"),
    (np.array([1 + 2j, 3j]), TypeError, "real-valued"),
    (np.zeros((2, 2, 2)), ValueError, r"f: x must be 1-D or 2-D .* got shape \(2, 2, 2\)"),
    (np.zeros((2, 0)), ValueError, "x is empty"),
    (np.array([1.0, np.nan, np.inf]), ValueError, "x contains 2 NaN or infinite"),
])
def test_as_float_errors(value, exc, match):
    with pytest.raises(exc, match=match):
        V.as_float(value, "x", ndims=(1, 2), who="f")


def test_labels_and_classes():
    assert V.as_labels(np.array([[0, 1, 1]]), "y", "f").tolist() == [0, 1, 1]
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        V.as_labels(np.array([0.0, 1.0]), "y", "f")
    with pytest.raises(ValueError, match="1-D array of class labels"):
        V.as_labels(np.zeros((2, 2), dtype=int), "y", "f")
    with pytest.raises(TypeError, match="Ym must be an int"):
        V.check_n_classes(True, "Ym", "f")
    with pytest.raises(ValueError, match="Ym must be >= 1"):
        V.check_n_classes(0, "Ym", "f")
    y = np.array([0, 0, 0, 2, 2, 2])
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] of y have no samples"):
        V.class_counts(y, 3, "y", "Ym", "f", min_count=2)
    with pytest.raises(ValueError, match=r"class\(es\) \[0, 1\] of y have fewer than 4"):
        V.class_counts(np.array([0, 0, 1, 1, 1, 2, 2, 2, 2]), 3, "y", "Ym", "f", min_count=4)
    with pytest.raises(ValueError, match="values in 0..Ym-1 = 0..1"):
        V.class_counts(y, 2, "y", "Ym", "f", min_count=1)
    np.testing.assert_array_equal(V.class_counts(np.array([0, 1, 1]), 2, "y", "Ym", "f", min_count=1), [1, 2])


def test_samples_and_flags():
    with pytest.raises(ValueError, match="got 3 samples for 3 joint dimensions"):
        V.check_samples(3, 3, "f")
    V.check_samples(4, 3, "f")
    with pytest.raises(ValueError, match="x has 5, y has 4"):
        V.check_same_samples("f", x=np.zeros(5), y=np.zeros(4))
    with pytest.raises(TypeError, match="flag must be a bool"):
        V.check_flag("yes", "flag", "f")
    with pytest.raises(ValueError, match="n must be >= 1"):
        V.check_positive_int(0, "n", "f")


def test_shared_or_per_variable():
    assert V.shared_or_per_variable((100,), 5, "y", "f")
    assert V.shared_or_per_variable((2, 100), 5, "y", "f")
    assert V.shared_or_per_variable((1, 2, 100), 5, "y", "f")
    assert not V.shared_or_per_variable((5, 2, 100), 5, "y", "f")
    with pytest.raises(ValueError, match=r"f: y of shape \(5, 100\) is ambiguous"):
        V.shared_or_per_variable((5, 100), 5, "y", "f")
    with pytest.raises(ValueError, match="y is per-variable with 4 variables but x has 5"):
        V.shared_or_per_variable((4, 1, 100), 5, "y", "f")


def test_tie_warning_threshold_is_ten_percent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        V.warn_ties(np.array([90, 100]), 100, "x", "f")  # exactly 90% distinct: no warning
    with pytest.warns(UserWarning, match="f: 1 variable.* of x have more than 10% tied values"):
        V.warn_ties(np.array([89, 100]), 100, "x", "f")
