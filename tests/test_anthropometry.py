"""Anthropometric norms and measurements, and the embedded model's agreement with the norms."""
from __future__ import annotations

import numpy as np
import pytest

from facegen.model import anthropometry as an
from facegen.model.anthropometry import MEASURES, NORMS, measure, measure_batch, within_sd


def test_norm_table_is_complete_and_sexually_dimorphic():
    assert set(NORMS) == set(MEASURES) == {"zy-zy", "al-al", "en-en", "ch-ch", "n-gn"}
    for name, norm in NORMS.items():
        (mf, sf), (mm, sm) = norm.female, norm.male
        assert mm > mf, name                      # published direction: male larger
        assert 0 < sf < 0.1 * mf and 0 < sm < 0.1 * mm
        assert "Farkas" in norm.source
    assert "Farkas" in an.__doc__ and "137.1" in an.__doc__
    with pytest.raises(ValueError, match="sex"):
        NORMS["al-al"].of("other")


def test_measure_matches_the_point_distances(embedded):
    m = embedded
    v = m.mean_shape.astype(np.float64)
    got = measure(v, m)
    for name, (a, b) in MEASURES.items():
        assert got[name] == pytest.approx(np.linalg.norm(v[m.points[a]] - v[m.points[b]]))
    # the mean face is calibrated to the sex-averaged norm
    for name, norm in NORMS.items():
        assert got[name] == pytest.approx(0.5 * (norm.female[0] + norm.male[0]), abs=1.0), name


def test_measure_batch_agrees_with_measure(embedded):
    m = embedded
    rng = np.random.default_rng(3)
    faces = np.stack([m.compose(m.sample_identity(rng))[0] for _ in range(4)])
    fast = measure_batch(faces, m)
    for i in range(4):
        slow = measure(faces[i], m)
        for k in slow:
            assert fast[k][i] == pytest.approx(slow[k], rel=1e-9)


def test_measure_validates_its_input(embedded):
    with pytest.raises(ValueError, match=r"expected \(V, 3\)"):
        measure(np.zeros(5), embedded)
    with pytest.raises(ValueError, match=r"expected \(N, V, 3\)"):
        measure_batch(np.zeros((5, 3)), embedded)

    class NoPoints:
        points = {"n": 0}

    with pytest.raises(ValueError, match="no point"):
        measure(np.zeros((3, 3)), NoPoints())


def _sample_points(m, n: int, seed: int):
    """(n, P, 3) vertices of the measured points for n random identities, and their genders."""
    names = sorted({p for pair in MEASURES.values() for p in pair})
    idx = np.array([m.points[p] for p in names])
    basis = m.shape_basis[:, idx].astype(np.float64) * m.shape_sd[:, None, None]
    rng = np.random.default_rng(seed)
    out, sexes = [], []
    for _ in range(n):
        ident = m.sample_identity(rng)
        ds, _ = m.factors.offsets(ident.gender, ident.ethnicity, ident.base_age)
        out.append(m.mean_shape[idx] + np.tensordot(ident.shape, basis, axes=1) + ds[idx])
        sexes.append(ident.gender)
    return np.stack(out), np.array(sexes), {p: i for i, p in enumerate(names)}


def anthropometric_table(m, n: int = 1000, seed: int = 0) -> dict:
    """measure -> sex -> (model mean, model sd, fraction within 2 s.d. of the norm)."""
    pts, sexes, local = _sample_points(m, n, seed)
    vals = measure_batch(pts, type("Pts", (), {"points": local})())
    table = {}
    for name, x in vals.items():
        table[name] = {}
        for sex in ("female", "male"):
            xs = x[sexes == sex]
            table[name][sex] = (float(xs.mean()), float(xs.std()), float(within_sd(xs, name, sex).mean()))
    return table


def test_sampled_identities_meet_the_published_norms(embedded):
    table = anthropometric_table(embedded, 1000, seed=0)
    for name, by_sex in table.items():
        for sex, (mean, sd, frac) in by_sex.items():
            mu, sd_norm = NORMS[name].of(sex)
            assert frac >= 0.95, f"{name} {sex}: only {frac:.1%} within 2 s.d. of {mu} +- {sd_norm}"
            assert sd > 0.3 * sd_norm, f"{name} {sex}: model s.d. {sd:.2f} is implausibly small"
        assert by_sex["male"][0] > by_sex["female"][0], name
