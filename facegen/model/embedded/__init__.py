"""The embedded default face model: facegen's own synthetic 3D morphable model, built from code.

No third-party face data is used: the mean head is a parametric surface with hand-placed anatomical
features (``geometry``), painted albedo (``albedo``), identity modes from targeted and random
smooth fields (``modes``, ``fields``), GMF-style factor directions (``factors``), FACS action units
and expression prototypes (``expressions``), named points / iBUG landmarks (``landmarks``), and
parts appended after the head's grid of vertices: teeth behind the lips (``teeth``) and a catchlight
in front of each iris (``catchlights``).
Anthropometric calibration targets the published norms, group differences and age changes in
``facegen.model.anthropometry``.

The build is deterministic (same bytes on every run: float64 maths with element-wise reductions in
a fixed order, a small symmetric eigendecomposition, results rounded to float32) and takes a few
seconds; ``embedded_model()`` keeps one copy per process and a copy on disk in
``$FACEGEN_CACHE`` (default ``~/.cache/facegen``), keyed by the generator's version and sources.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from ..anthropometry import ALL_MEASURES, MEASURES, NORM_AGE, NORMS
from ..types import FaceModel, FactorModel
from . import albedo as _albedo
from . import expressions as _expr
from . import factors as _factors
from . import landmarks as _lm
from . import modes as _modes
from . import parts as _parts
from .fields import pca_modes
from .geometry import build_grid

__all__ = ["embedded_model", "build_model", "clear_cache", "GENERATOR_VERSION"]

GENERATOR_VERSION = "5"
_log = logging.getLogger(__name__)
_CACHE: dict[str, FaceModel] = {}

PROVENANCE = (
    "facegen embedded model v{v}: synthetic, generated from code in facegen/model/embedded "
    "(parametric head, hand-placed features and FACS action units, random smooth fields); no scanned "
    "or third-party face data. Anthropometric targets: Farkas 1994 / Farkas, Katic & Forrest 2005 "
    "(NAW norms); published group differences and adult age changes (summary statistics, cited in "
    "facegen.model.anthropometry). Licence: the facegen project's licence."
)


def _measures(v: np.ndarray, pts: dict[str, int], pairs=MEASURES) -> np.ndarray:
    return np.array([np.sqrt(((v[pts[a]] - v[pts[b]]) ** 2).sum()) for a, b in pairs.values()])


def _lincomb(coeffs, fields) -> np.ndarray:
    out = np.zeros_like(fields[0])
    for c, f in zip(coeffs, fields):
        out += float(c) * f
    return out


def _solve_targeted(fn, v, targeted, delta, extra=None, iters=3, span=(-0.5, 0.5)):
    """D = ``extra`` + a mix of the targeted fields with fn(v + hi D) - fn(v + lo D) = delta, (lo, hi) = ``span``.

    ``fn``: the measures (as many as fields); Newton steps with the sensitivity at ``v``.
    """
    lo, hi = span
    base = np.zeros_like(v) if extra is None else extra
    S = np.round(_modes.linear_sensitivity(fn, v, targeted) * (hi - lo), 9)
    amp = np.zeros(len(targeted))
    for _ in range(iters):
        D = base + _lincomb(amp, targeted)
        got = fn(v + hi * D) - fn(v + lo * D)
        amp = amp + np.linalg.solve(S, delta - got)
    return base + _lincomb(amp, targeted)


def _expected_measures(pts: dict[str, int], pairs: dict, identity: list[np.ndarray]):
    """u (V, 3) -> the measures ``pairs`` averaged over identities u + sum_k c_k identity[k], c ~ N(0, I).

    Second order: m(u) + sum_k [(m(u + f_k) + m(u - f_k)) / 2 - m(u)], exact where the measures are
    quadratic in c (a distance's mean over faces differs from the distance of the mean face). Works
    on the measured points only; element-wise sums in a fixed order.
    """
    idx = np.array(sorted({pts[p] for ab in pairs.values() for p in ab}))
    loc = {int(i): k for k, i in enumerate(idx)}
    a = np.array([loc[pts[p]] for p, _ in pairs.values()])
    b = np.array([loc[pts[q]] for _, q in pairs.values()])
    F = np.stack([f[idx] for f in identity])                       # K, P, 3
    steps = np.concatenate([np.zeros((1,) + F.shape[1:]), F, -F])  # 2K + 1, P, 3
    K = F.shape[0]

    def fn(u: np.ndarray) -> np.ndarray:
        w = u[idx][None] + steps
        d = np.sqrt(((w[:, a] - w[:, b]) ** 2).sum(-1))            # 2K + 1, M
        out = d[0].copy()
        for k in range(K):
            out += 0.5 * (d[1 + k] + d[1 + K + k]) - d[0]
        return out
    return fn


def _identity_fields(mean_shape, fn, feats, targeted, sd_norm, random_fields) -> list[np.ndarray]:
    """Identity fields (one s.d. each): the targeted fields' s.d. solved so that each measure's identity
    s.d. is ``ID_SD_FRACTION`` of the norm's, and the other fields with their first-order effect on the
    measures removed (a mix of the smooth targeted fields), so the spread is set by the targeted ones."""
    others = [f for k, f in feats.items() if k not in _modes.TARGETED.values()] + random_fields
    S = _modes.linear_sensitivity(fn, mean_shape, targeted)
    S_o = _modes.linear_sensitivity(fn, mean_shape, others)
    Sr = np.round(S, 9)
    others = [f - _lincomb(np.linalg.solve(Sr, S_o[:, k]), targeted) for k, f in enumerate(others)]
    S_o = _modes.linear_sensitivity(fn, mean_shape, others)
    var_other = (S_o ** 2).sum(1)
    A = np.round(S ** 2, 9)
    var_t = np.linalg.solve(A, (_modes.ID_SD_FRACTION * sd_norm) ** 2 - var_other)
    if np.any(var_t <= 0):
        raise RuntimeError(f"embedded model: random fields alone exceed the anthropometric s.d. budget: {var_t}")
    return [np.sqrt(s) * t for s, t in zip(var_t, targeted)] + others


def _ethnicity_shape(v, pts, fields, e_extra, identity) -> np.ndarray:
    """(E, V, 3) centred ethnicity offsets: each level's mean measures over identities differ from
    european's by ``ethnic_targets``."""
    names = _factors.ETHNIC_CALIBRATED
    fn = _expected_measures(pts, {m: ALL_MEASURES[m] for m in names}, identity)
    targets = _factors.ethnic_targets()
    wanted = np.array([[targets[e][m] for m in names] for e in _factors.ETHNICITIES])
    wanted = wanted - wanted.mean(0)                 # offsets sum to zero across levels
    tf = [fields[_modes.CALIBRATION[m]] for m in names]
    eth = np.stack([_solve_targeted(fn, v, tf, wanted[k], e_extra[k], span=(0.0, 1.0))
                    for k in range(len(_factors.ETHNICITIES))])
    return eth - eth.mean(0)


def _age_shape(v, pts, fields, extra_per_year, identity) -> np.ndarray:
    """(V, 3) shape change per year at the face ``v``: ``extra_per_year`` plus the mix of calibration
    fields whose change over AGE_SPAN years (centred on the reference age) meets ``age_targets``."""
    names = list(ALL_MEASURES)
    fn = _expected_measures(pts, ALL_MEASURES, identity)
    targets = _factors.age_targets(dict(zip(names, fn(v))))
    delta = np.array([targets[m] for m in names])
    tf = [fields[_modes.CALIBRATION[m]] for m in names]
    span = _factors.AGE_SPAN
    return _solve_targeted(fn, v, tf, delta, span * extra_per_year) / span


def build_model() -> FaceModel:
    """Build the embedded model from scratch (deterministic; a few seconds)."""
    g = build_grid()
    v0 = g.vertices
    pts = _lm.points(g, v0)
    upper, _ = _lm.mouth_rows(g, v0)
    masks = _albedo.paint_masks(v0[:, 0], v0[:, 1], g.front)
    feats = _modes.feature_fields(g, v0)
    names = list(MEASURES)
    targeted = [feats[_modes.TARGETED[m]] for m in names]
    fem = np.array([NORMS[m].female[0] for m in names])
    mal = np.array([NORMS[m].male[0] for m in names])
    sd_norm = np.array([0.5 * (NORMS[m].female[1] + NORMS[m].male[1]) for m in names])
    fn = lambda u: _measures(u, pts)  # noqa: E731

    theta = g.theta[np.arange(v0.shape[0]) % g.cols]
    masks["hair"] = _albedo.hair_mask(theta, v0[:, 1])
    occlusion = _albedo.cavity(v0, g.rows, g.cols)
    down = _albedo.underside(v0, g.triangles)
    skin_alb = _albedo.mean_albedo(v0, g.front, occlusion, down=down)
    mean_alb = _albedo.mean_albedo(v0, g.front, occlusion, hair=masks["hair"], down=down)
    weight = 0.3 + 0.7 * g.front
    sex = _factors.gender_extras(g, v0, masks, mean_alb)
    eth_fields = _factors.ethnic_extras(g, v0, masks)
    e_extra, e_gain, e_alb = eth_fields.shape, eth_fields.gain, eth_fields.albedo
    ages = _factors.age_fields(g, v0, masks, weight, mean_alb)
    random_fields = _modes.random_shape_fields(g, weight)
    cal = {**feats, **_modes.calibration_fields(g, v0)}
    eur = _factors.ETHNICITIES.index("european")
    to_norm_age = NORM_AGE - _factors.AGE_REFERENCE

    def to_norms(v, offset, fn_mean):
        """v moved by the targeted fields so that v + offset has the sex-averaged norm means."""
        for _ in range(3):
            S = _modes.linear_sensitivity(fn_mean, v + offset, targeted)
            v = v + _lincomb(np.linalg.solve(np.round(S, 9), 0.5 * (fem + mal) - fn_mean(v + offset)), targeted)
        return v

    # 1. mean shape, identity fields, ethnicity and age directions, which depend on one another
    #    (slightly): alternate so that the european level at the norms' age (NAW, 18-25 y) has the
    #    sex-averaged norm means over identities. Group differences are calibrated at that age too
    #    (the samples of the group table are young adults) and age changes on the european level.
    mean_shape = to_norms(v0.copy(), 0.0, fn)
    age_shape = np.zeros_like(v0)
    for _ in range(3):
        shape_fields = _identity_fields(mean_shape, fn, feats, targeted, sd_norm, random_fields)
        eth = _ethnicity_shape(mean_shape + to_norm_age * age_shape, pts, cal, e_extra, shape_fields)
        age_shape = _age_shape(mean_shape + eth[eur], pts, cal, ages.shape, shape_fields)
        fn_mean = _expected_measures(pts, MEASURES, shape_fields)
        mean_shape = to_norms(mean_shape, eth[eur] + to_norm_age * age_shape, fn_mean)
    shape_fields = _identity_fields(mean_shape, fn, feats, targeted, sd_norm, random_fields)

    # 2. gender: male - female difference of the mean measures with the published differences
    D = _solve_targeted(_expected_measures(pts, MEASURES, shape_fields), mean_shape, targeted, mal - fem, sex.shape)
    gender_shape = np.stack([-0.5 * D, 0.5 * D])
    gender_albedo = np.stack([-0.5 * sex.albedo, 0.5 * sex.albedo])
    gender_gain = np.stack([1.0 - 0.5 * sex.relative, 1.0 + 0.5 * sex.relative])

    # 3. ethnicity: published measure differences from european plus extra features, centred
    ethnicity_shape = _ethnicity_shape(mean_shape + to_norm_age * age_shape, pts, cal, e_extra, shape_fields)

    # 4. age, per year: documented adult changes (calibrated on the european level) plus sagging and folds
    age_shape = _age_shape(mean_shape + ethnicity_shape[eur], pts, cal, ages.shape, shape_fields)

    # 5. identity shape modes
    shape_basis, shape_sd = pca_modes(shape_fields)

    # 6. identity texture, banded
    bands = _modes.texture_fields(g, weight, masks, mean_alb)
    bands[0] += _albedo.hair_fields(theta, v0[:, 1], skin_alb)
    tex_basis, tex_sd, tex_band = _modes.pca_texture(bands)

    # the mean albedo is that of the reference age (grey hair, absent at 20, has its value there) and
    # of the sex average (``gender_extras``); added after the texture modes, which are sized to the
    # albedo before
    mean_alb = np.clip(mean_alb + ages.mean_albedo + sex.mean_albedo, 0.0, 1.0)

    # 7. expressions, landmarks, regions
    au = _expr.action_units(g, v0, upper)
    lm = _lm.ibug68(g, v0, pts)
    regions = _lm.regions(g, v0, masks)

    # 8. parts on the head (``parts``): teeth behind the lips and catchlights in front of the eyes,
    #    appended after the grid's vertices; each moves as its anchor vertex in identity and factor fields
    parts = _parts.build_parts(g, mean_shape, upper, au)
    n_grid = v0.shape[0]
    anchor = np.concatenate([p.anchor for p in parts])
    nt = len(anchor)

    def rigid(field):
        return np.concatenate([field, field[..., anchor, :]], axis=-2)

    def plain(field, rows=None, fill=0.0):
        extra = np.full(field.shape[:-2] + (nt, 3), fill) if rows is None else rows
        return np.concatenate([field, extra], axis=-2)

    mean_shape = plain(mean_shape, np.concatenate([p.vertices for p in parts]))
    shape_basis, gender_shape, ethnicity_shape, age_shape = (rigid(shape_basis), rigid(gender_shape),
                                                             rigid(ethnicity_shape), rigid(age_shape))
    au = plain(au, np.concatenate([p.expressions for p in parts], axis=1))
    mean_alb, tex_basis = plain(mean_alb, np.concatenate([p.albedo for p in parts])), plain(tex_basis)
    gender_albedo, e_alb = plain(gender_albedo), plain(e_alb)
    # the parts (teeth, catchlights) keep their colour whatever the group
    gender_gain, e_gain = plain(gender_gain, fill=1.0), plain(e_gain, fill=1.0)
    age_albedo, age_gain = plain(ages.albedo), plain(ages.gain)
    uvs = np.concatenate([g.uvs, g.uvs[anchor]])
    tri_parts, at = [g.triangles], n_grid
    for part in parts:
        regions[part.name] = np.arange(at, at + len(part.vertices), dtype=np.int32)
        tri_parts.append(part.triangles + at)
        at += len(part.vertices)
    triangles = np.concatenate(tri_parts)

    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    factors = FactorModel(
        genders=_factors.GENDERS, gender_shape=f32(gender_shape), gender_albedo=f32(gender_albedo),
        ethnicities=_factors.ETHNICITIES, ethnicity_shape=f32(ethnicity_shape), ethnicity_albedo=f32(e_alb),
        age_reference=_factors.AGE_REFERENCE, age_range=_factors.AGE_RANGE,
        age_shape=f32(age_shape), age_albedo=f32(age_albedo), age_albedo_gain=f32(age_gain),
        gender_albedo_gain=f32(gender_gain), ethnicity_albedo_gain=f32(e_gain),
    )
    return FaceModel(
        name="embedded", version=GENERATOR_VERSION,
        mean_shape=f32(mean_shape), shape_basis=f32(shape_basis), shape_sd=f32(shape_sd),
        mean_albedo=f32(mean_alb), texture_basis=f32(tex_basis), texture_sd=f32(tex_sd),
        texture_bands=tex_band.astype(np.int32),
        triangles=triangles.astype(np.int32), uvs=f32(uvs),
        expression_basis=f32(au), expression_names=_expr.AU_NAMES,
        expressions={k: dict(v) for k, v in _expr.EXPRESSIONS.items()},
        landmarks=lm.astype(np.int32), regions=regions, points=pts, factors=factors,
        provenance=PROVENANCE.format(v=GENERATOR_VERSION),
    )


def _cache_key() -> str:
    h = hashlib.sha256(f"{GENERATOR_VERSION}|numpy {np.__version__}".encode())
    import scipy

    h.update(f"|scipy {scipy.__version__}".encode())
    here = Path(__file__).resolve().parent
    for p in sorted(here.glob("*.py")) + [here.parent / "anthropometry.py"]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    env = os.environ.get("FACEGEN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "facegen"


def embedded_model(*, use_disk_cache: bool = True) -> FaceModel:
    """The embedded default model (built once per process; cached on disk between processes)."""
    key = _cache_key()
    if key in _CACHE:
        return _CACHE[key]
    from ..npz import load_npz, save_npz

    path = _cache_dir() / f"embedded-v{GENERATOR_VERSION}-{key}.npz"
    model = None
    if use_disk_cache and path.exists():
        try:
            model = load_npz(path)
        except Exception as e:  # a corrupt cache is rebuilt, not fatal
            _log.warning("ignoring unreadable model cache %s: %s", path, e)
    if model is None:
        model = build_model()
        if use_disk_cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_npz(model, path, compress=False)
                for old in path.parent.glob("embedded-v*.npz"):     # caches of other generator sources
                    if old != path:
                        old.unlink(missing_ok=True)
            except OSError as e:
                _log.warning("could not write model cache %s: %s", path, e)
    _CACHE[key] = model
    return model


def clear_cache() -> None:
    """Forget the in-process copy (the disk cache stays)."""
    _CACHE.clear()
