"""compose_face: the one-pass compiled composition equals the same sums in numpy float64, bit for bit,
and FaceModel's own (float32) composition to float32 rounding."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from facegen.model.fused import compose_face, expression_direction
from tests.synth import synthetic_model


def _numpy_face(m, ident, gender, ethnicity, age, expression, intensity):
    """base + (group + da * age direction) + intensity * sum_k w_k unit_k, in numpy float64; the albedo
    (base + group) * (1 + dy * age gain) + da * age direction (FactorModel.apply)."""
    c = lambda a: np.asarray(a, np.float64)  # noqa: E731
    shape, albedo = c(m.shape(ident.shape)), c(m.albedo(ident.texture))
    if m.factors is not None:
        f = m.factors
        g_shape, g_alb = f.offsets(gender, ethnicity, f.age_reference)
        da = age - f.age_reference
        shape = shape + (c(g_shape) + da * c(f.age_shape))
        group = f.group_gain(gender, ethnicity)
        if f.age_albedo_gain is None and group is None:
            albedo = albedo + (c(g_alb) + da * c(f.age_albedo))
        else:
            group = 1.0 if group is None else c(group)
            gain = 0.0 if f.age_albedo_gain is None else c(f.age_albedo_gain)
            albedo = (albedo * group + c(g_alb)) * (1.0 + (age - f.age_range[0]) * gain) + da * c(f.age_albedo)
    weights = m.expressions.get(expression) or {}
    if weights:
        off = np.zeros_like(shape)
        for unit, w in weights.items():
            off += float(w) * c(m.expression_basis[m.expression_names.index(unit)])
        shape = shape + intensity * off
    return shape.astype(np.float32), np.clip(albedo, 0, 1).astype(np.float32)


def _fused_face(m, ident, gender, ethnicity, age, expression, intensity):
    kw = {}
    if m.factors is not None:
        f = m.factors
        g_shape, g_alb = f.offsets(gender, ethnicity, f.age_reference)
        kw = dict(factor_shape=g_shape, factor_albedo=g_alb, da=age - f.age_reference, age_shape=f.age_shape,
                  age_albedo=f.age_albedo, age_gain=f.age_albedo_gain, dy=age - f.age_range[0],
                  group_gain=f.group_gain(gender, ethnicity))
    return compose_face(m.shape(ident.shape), m.albedo(ident.texture),
                        expression=expression_direction(m, expression), intensity=intensity, **kw)


@pytest.mark.parametrize("expression,intensity,age", [("neutral", 1.0, 45.0), ("happy", 0.7, 25.0),
                                                      ("surprise", 1.0, 65.0)])
def test_fused_composition_is_bit_identical_on_the_embedded_model(embedded, expression, intensity, age):
    m = embedded
    ident = m.sample_identity(np.random.default_rng(3), gender="female", ethnicity=m.factors.ethnicities[1])
    a = _numpy_face(m, ident, ident.gender, ident.ethnicity, age, expression, intensity)
    b = _fused_face(m, ident, ident.gender, ident.ethnicity, age, expression, intensity)
    assert a[0].dtype == b[0].dtype == np.float32
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # FaceModel.compose sums in float32: the same face to float32 rounding (records regenerate it)
    ref_v, ref_a = m.compose(ident, age=age, expression=expression, intensity=intensity)
    assert np.abs(ref_v - b[0]).max() < 1e-3 and np.abs(ref_a - b[1]).max() < 1e-5
    if expression != "neutral":  # the expression really moved the mesh
        base = _numpy_face(m, ident, ident.gender, ident.ethnicity, age, "neutral", 1.0)[0]
        assert np.abs(b[0] - base).max() > 1.0


def test_fused_composition_without_factors_and_with_clipping():
    m = synthetic_model()
    rng = np.random.default_rng(5)
    gain = rng.normal(0, 0.01, m.mean_albedo.shape).astype(np.float32)
    f = m.factors
    groups = dict(gender_albedo_gain=rng.uniform(0.8, 1.2, (len(f.genders),) + m.mean_albedo.shape).astype(np.float32),
                  ethnicity_albedo_gain=rng.uniform(0.5, 1.5, (len(f.ethnicities),) + m.mean_albedo.shape).astype(np.float32))
    with_gain = dataclasses.replace(m, factors=dataclasses.replace(f, age_albedo_gain=gain))
    with_groups = dataclasses.replace(m, factors=dataclasses.replace(f, **groups))      # no age gain
    with_all = dataclasses.replace(m, factors=dataclasses.replace(f, age_albedo_gain=gain, **groups))
    for model in (m, dataclasses.replace(m, factors=None), with_gain, with_groups, with_all):
        ident = model.sample_identity(np.random.default_rng(1))
        ident = dataclasses.replace(ident, texture=ident.texture * 40)  # push albedo past [0, 1]
        g, e = ident.gender, ident.ethnicity
        a = _numpy_face(model, ident, g, e, 45.0, "happy", 0.5)
        b = _fused_face(model, ident, g, e, 45.0, "happy", 0.5)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert b[1].min() == 0.0 and b[1].max() == 1.0


def test_the_age_gain_scales_the_albedo_of_identity_and_group_from_the_youngest_age():
    m = synthetic_model()
    f = m.factors
    gain = np.full(m.mean_albedo.shape, 0.01, np.float32)
    g = dataclasses.replace(m, factors=dataclasses.replace(f, age_albedo_gain=gain))
    ident = m.sample_identity(np.random.default_rng(2), gender=f.genders[0], ethnicity=f.ethnicities[0])
    lo, hi = f.age_range
    base = m.albedo(ident.texture) + f.offsets(ident.gender, ident.ethnicity, lo)[1] - (lo - f.age_reference) * f.age_albedo
    for age in (lo, f.age_reference, hi):
        want = base * (1.0 + 0.01 * (age - lo)) + (age - f.age_reference) * f.age_albedo
        _, a = g.factors.apply(m.shape(ident.shape), m.albedo(ident.texture), ident.gender, ident.ethnicity, age)
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)
        # without the gain, apply is the additive offsets
        v0, a0 = f.apply(m.shape(ident.shape), m.albedo(ident.texture), ident.gender, ident.ethnicity, age)
        ds, dalb = f.offsets(ident.gender, ident.ethnicity, age)
        np.testing.assert_allclose(a0, m.albedo(ident.texture) + dalb, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(v0, m.shape(ident.shape) + ds, rtol=1e-6, atol=1e-5)
    assert f.age_gain(50.0) is None and np.allclose(g.factors.age_gain(lo), 1.0)
    with pytest.raises(ValueError, match="outside this model's range"):
        g.factors.age_gain(hi + 1.0)


def test_group_gains_scale_the_identity_albedo_before_the_additive_offsets():
    m = synthetic_model()
    f = m.factors
    rng = np.random.default_rng(6)
    gg = rng.uniform(0.8, 1.2, (len(f.genders),) + m.mean_albedo.shape)
    ge = rng.uniform(0.5, 1.5, (len(f.ethnicities),) + m.mean_albedo.shape)
    g = dataclasses.replace(f, gender_albedo_gain=gg, ethnicity_albedo_gain=ge)
    ident = m.sample_identity(np.random.default_rng(2), gender=f.genders[1], ethnicity=f.ethnicities[-1])
    a0 = m.albedo(ident.texture)
    np.testing.assert_allclose(g.group_gain(ident.gender, ident.ethnicity), gg[1] * ge[-1])
    _, a = g.apply(m.shape(ident.shape), a0, ident.gender, ident.ethnicity, f.age_reference)
    _, dalb = f.offsets(ident.gender, ident.ethnicity, f.age_reference)
    np.testing.assert_allclose(a, a0 * gg[1] * ge[-1] + dalb, rtol=1e-6, atol=1e-7)
    only_e = dataclasses.replace(f, ethnicity_albedo_gain=ge)            # one of the two: the other is 1
    np.testing.assert_allclose(only_e.group_gain(ident.gender, ident.ethnicity), ge[-1])
    assert f.group_gain(ident.gender, ident.ethnicity) is None
