"""Hidden-layer profile: pooling, principal components, information about shape and texture, and
pose invariance from gccmi_ccd (a pose-specific code is less invariant than a pose-free one)."""
import numpy as np
import pytest

from benchmark.score.layers import layer_profile, plot_profile, pool_activation, pose_levels, top_components


def test_pool_and_components_shapes():
    a = np.arange(2 * 3 * 5 * 4, dtype=float).reshape(2, 3, 5, 4)
    p = pool_activation(a)
    assert p.shape == (2, 3 * 4)
    assert p[0, 0] == pytest.approx(a[0, 0, :3, :2].mean())  # cell (0, 0) of channel 0
    assert pool_activation(np.ones((2, 7))).shape == (2, 7)
    x = np.random.default_rng(0).standard_normal((50, 4)) @ np.diag([5, 3, 1, 0])
    assert top_components(x, 8).shape == (3, 50)  # rank 3


def test_pose_levels_bin_continuous_yaw():
    z, zm = pose_levels(np.array([-15.0, 0, 15, 0]))
    assert zm == 3 and z.tolist() == [0, 1, 2, 1]
    z, zm = pose_levels(np.linspace(-30, 30, 100))
    assert zm == 5 and np.bincount(z).tolist() == [20] * 5


def test_profile_ranks_layers_and_pose_invariance(tmp_path):
    rng = np.random.default_rng(1)
    n, ids = 900, np.repeat(np.arange(9), 100)
    ds, dt = rng.standard_normal((n, 4)), rng.standard_normal((n, 3))
    yaw = rng.choice([-20.0, 0.0, 20.0], n)
    sign = np.where(yaw > 0, -1.0, 1.0)  # the code of shape flips with pose
    noise = lambda k: 0.5 * rng.standard_normal((n, k))  # noqa: E731
    acts = {"shape_invariant": np.c_[ds[:, :2], noise(2)] + noise(4),
            "shape_pose_specific": np.c_[sign[:, None] * ds[:, :2], noise(2)] + noise(4),
            "texture": np.c_[dt[:, :2], noise(2)] + noise(4)}
    prof = {r["layer"]: r for r in layer_profile(acts, ds, dt, ids, yaw, n_pcs=4, n_boot=30)}
    assert prof["shape_invariant"]["I_shape"] > 10 * abs(prof["shape_invariant"]["I_texture"])
    lo, hi = prof["shape_invariant"]["ci_I_shape"]
    assert 0 < lo <= prof["shape_invariant"]["I_shape"] <= hi
    assert prof["texture"]["I_texture"] > 10 * abs(prof["texture"]["I_shape"])
    inv, spec = prof["shape_invariant"]["pose_invariance_shape"], prof["shape_pose_specific"]["pose_invariance_shape"]
    assert inv > 0.8 and spec < 0.5 * inv
    plot_profile(list(prof.values()), tmp_path / "layers.png")
    assert (tmp_path / "layers.png").stat().st_size > 1000


def test_pose_invariance_formula_is_clipped_into_the_unit_interval():
    from benchmark.score.layers import pose_invariance

    assert pose_invariance(0.2, 0.1) == pytest.approx(0.5)
    assert pose_invariance(0.0008, 0.0126) == 1.0  # raw ratio 15.5 (pooling adds noise information)
    assert pose_invariance(0.2, -0.01) == 0.0
    assert pose_invariance(0.0, 0.1) is None and pose_invariance(-0.01, 0.1) is None


def test_weak_layers_have_pose_invariance_in_the_unit_interval_or_none(tmp_path):
    """Weak codes: the raw ratio I_pooled / I(.|pose) reached 15.5 here (old definition); now every
    value lies in [0, 1], and with the bootstrap on it is withheld where the layer's MI may be 0."""
    rng = np.random.default_rng(1)
    n, ids = 600, np.repeat(np.arange(6), 100)
    ds, dt = rng.standard_normal((n, 4)), rng.standard_normal((n, 3))
    yaw = rng.choice([-20.0, 0.0, 20.0], n)
    acts = {f"weak{k}": np.c_[0.15 * ds[:, :1] + rng.standard_normal((n, 1)), rng.standard_normal((n, 3))]
            for k in range(6)}
    acts["strong"] = np.c_[ds[:, :2], 0.3 * rng.standard_normal((n, 2))]
    rows = layer_profile(acts, ds, dt, ids, yaw, n_pcs=4, n_boot=0)
    raw = [r["I_shape_pooled"] / r["I_shape_given_pose"] for r in rows if r["I_shape_given_pose"] > 0]
    assert max(raw) > 1.5  # the case the clip is for does occur
    for r in rows:
        for c in ("shape", "texture"):
            v = r[f"pose_invariance_{c}"]
            assert v is None or 0.0 <= v <= 1.0
    booted = {r["layer"]: r for r in layer_profile(acts, ds, dt, ids, yaw, n_pcs=4, n_boot=30)}
    assert 0.8 < booted["strong"]["pose_invariance_shape"] <= 1.0
    withheld = [(r, c) for r in booted.values() for c in ("shape", "texture") if f"pose_note_{c}" in r]
    assert len(withheld) >= 3
    for r, c in withheld:
        assert r[f"pose_invariance_{c}"] is None and r[f"ci_I_{c}"][0] <= 0 and "reaches 0" in r[f"pose_note_{c}"]
