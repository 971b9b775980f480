"""benchmark.info.interaction: co-information sign convention and PID identities."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.info import interaction as I
from benchmark.info import mass as M

N = 3000


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(N)
    noise = lambda: rng.standard_normal(N)  # noqa: E731
    # redundant: two noisy copies of the signal the target carries
    red = dict(x1=(s + noise())[None], x2=(s + noise())[None], y=s + 0.5 * noise())
    # synergistic: the target is the sum of two independent causes
    a, b = noise(), noise()
    syn = dict(x1=a[None], x2=b[None], y=a + b + 0.3 * noise())
    return dict(red=red, syn=syn)


def test_sign_convention_positive_redundancy_negative_synergy(cases):
    r, s = cases["red"], cases["syn"]
    assert I.coinfo_ccc(r["x1"], r["y"], r["x2"][0])[0] > 0.1
    assert I.coinfo_ccc(s["x1"], s["y"], s["x2"][0])[0] < -0.1


def test_coinfo_equals_mi_sum_minus_joint_and_is_symmetric(cases):
    for c in cases.values():
        x, y, z = c["x1"], c["y"], c["x2"][0]
        co = I.coinfo_ccc(x, y, z)
        joint = M.gcmi_cc(np.concatenate((x[:, None], z[None, None]), axis=1), y)
        np.testing.assert_allclose(co, M.gcmi_cc(x, y) + M.gcmi_cc(z[None], y) - joint, atol=1e-12)
        # I(X;Y;Z) is symmetric: swap the roles of y and z
        np.testing.assert_allclose(co, I.coinfo_ccc(x, z, y), atol=1e-12)


def test_pid_parts_add_up(cases):
    for name, c in cases.items():
        p = I.pid_mmi_ccc(c["x1"], c["x2"], c["y"])
        np.testing.assert_allclose(p.redundancy + p.unique_x1 + p.unique_x2 + p.synergy, p.mi_joint, atol=1e-12)
        np.testing.assert_allclose(p.redundancy - p.synergy, p.coinfo, atol=1e-12)
        np.testing.assert_allclose(p.coinfo, I.coinfo_ccc(c["x1"], c["y"], c["x2"][0]), atol=1e-12)
        assert np.all(np.minimum(p.unique_x1, p.unique_x2) == 0), name
    assert I.pid_mmi_ccc(**cases["red"]).redundancy[0] > I.pid_mmi_ccc(**cases["red"]).synergy[0]
    assert I.pid_mmi_ccc(**cases["syn"]).synergy[0] > 0.5


def test_pid_with_discrete_target_and_many_variables():
    rng = np.random.default_rng(1)
    lab = np.arange(600) % 2
    x1 = rng.standard_normal((5, 600)) + lab
    x2 = rng.standard_normal(600) + lab  # shared by all five variables
    p = I.pid_mmi_ccd(x1, x2, lab, 2)
    assert p.redundancy.shape == (5,)
    np.testing.assert_allclose(p.mi_x1, M.gcmi_model_cd(x1, lab, 2), atol=1e-12)
    np.testing.assert_allclose(p.redundancy + p.unique_x1 + p.unique_x2 + p.synergy, p.mi_joint, atol=1e-12)
    assert np.all(p.redundancy > 0.1)


def test_coinfo_ccd_with_discrete_conditioning():
    rng = np.random.default_rng(2)
    z = np.arange(900) % 3
    x = (rng.standard_normal(900) + 2 * z)[None]
    y = rng.standard_normal(900) + 2 * z  # x and y only share z: all of I(X;Y) is explained by z
    co = I.coinfo_ccd(x, y, z, 3)
    assert co[0] > 0.3 and co[0] == pytest.approx(M.gcmi_cc(x, y)[0], abs=0.02)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="x2 is per-variable with 3 variables"):
        I.pid_mmi_ccc(np.ones((2, 10)), np.ones((3, 1, 10)), np.arange(10.0))
    with pytest.raises(TypeError, match="x1 must be a numeric array"):
        I.pid_mmi_ccc("x", np.ones(10), np.arange(10.0))
