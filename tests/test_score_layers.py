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
