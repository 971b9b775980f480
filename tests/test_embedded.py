"""The embedded default model: structure, modes, determinism, expressions, factors, landmarks."""
from __future__ import annotations

import dataclasses

import os
import subprocess
import sys

import numpy as np
import pytest

from facegen.model import load_model
from facegen.model.anthropometry import measure
from facegen.model.embedded import build_model, clear_cache, embedded_model
from facegen.model.npz import load_npz, save_npz
from facegen.model.types import FaceModel, Identity
from facegen.model.validate import check_model

PAPER_EXPRESSIONS = ("neutral", "happy", "surprise", "fear", "disgust", "anger", "sad")
AUS = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU16", "AU17", "AU20",
       "AU23", "AU25", "AU26")


@pytest.fixture(scope="module")
def m(embedded) -> FaceModel:
    return embedded


def _neutral(m: FaceModel, gender="female", ethnicity="european", age=45.0) -> Identity:
    return Identity(np.zeros(m.n_shape), np.zeros(m.n_texture), gender, ethnicity, age)


def _face_normals(v: np.ndarray, tri: np.ndarray) -> np.ndarray:
    return np.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])


# -- structure ---------------------------------------------------------------------------------
def test_model_validates_and_is_big_enough(m):
    check_model(m, source="test")
    assert m.name == "embedded"
    assert m.n_vertices >= 5000
    assert m.triangles.shape[0] >= 2 * m.n_vertices - 2000
    assert m.mean_shape.dtype == np.float32 and m.triangles.dtype == np.int32
    assert "third-party" in m.provenance


def test_geometry_is_a_head_in_millimetres_centred_near_origin(m):
    v = m.mean_shape
    ext = np.ptp(v, axis=0)
    assert 130 < ext[0] < 190 and 230 < ext[1] < 320 and 170 < ext[2] < 240, ext
    centre = 0.5 * (v.min(0) + v.max(0))
    assert np.all(np.abs(centre) < 30.0), centre
    # the face looks towards +z: the nose tip is the most forward landmark region
    assert v[m.points["prn"], 2] == pytest.approx(v[:, 2].max(), abs=1.0)


def test_triangles_face_outwards(m):
    v = m.mean_shape.astype(np.float64)
    n = _face_normals(v, m.triangles)
    c = v[m.triangles].mean(1) - np.array([0.0, 0.0, 0.0])
    outward = (n * c).sum(1) > 0
    assert outward.mean() > 0.97
    face = np.isin(m.triangles, m.regions["face"]).all(1)
    assert (n[face, 2] > 0).mean() > 0.9     # the face front points at the viewer (+z)


def test_regions_points_and_uvs(m):
    for name in ("face", "forehead", "jaw", "nose", "eyes", "mouth", "cheeks", "chin", "brows", "ears"):
        assert m.regions[name].size > 20, name
    v = m.mean_shape
    assert v[m.regions["forehead"], 1].mean() > v[m.regions["eyes"], 1].mean() > v[m.regions["mouth"], 1].mean()
    assert v[m.regions["jaw"], 1].mean() < v[m.regions["nose"], 1].mean()
    assert m.landmarks[30] in set(m.regions["nose"].tolist())
    for p in ("zy_r", "zy_l", "al_r", "al_l", "en_r", "en_l", "ch_r", "ch_l", "n", "gn", "sn", "prn", "sto"):
        assert p in m.points, p
    for p in ("zy", "al", "en", "ch", "ex", "go"):
        assert v[m.points[p + "_r"], 0] < 0 < v[m.points[p + "_l"], 0], p
    assert m.uvs.shape == (m.n_vertices, 2) and m.uvs.min() >= 0.0 and m.uvs.max() <= 1.0


# -- identity modes ------------------------------------------------------------------------------
def test_modes_count_decay_and_bands(m):
    assert m.n_shape >= 40 and m.n_texture >= 40
    for sd in (m.shape_sd, m.texture_sd):
        assert np.all(sd > 0)
        assert np.all(np.diff(sd) <= 1e-6 * sd[0]), "s.d. must not increase"
        assert sd[0] > 5 * sd[-1]
    bands = np.asarray(m.texture_bands)
    assert set(bands.tolist()) >= {0, 1, 2}
    totals = [float(np.sqrt((m.texture_sd[bands == b] ** 2).sum())) for b in sorted(set(bands.tolist()))]
    assert totals == sorted(totals, reverse=True), "coarser bands carry more variance"


def test_shape_basis_is_orthonormal(m):
    """On the head's surface; the teeth and catchlights ride along with it (``embedded.teeth``)."""
    skin = np.setdiff1d(np.arange(m.n_vertices), np.concatenate([m.regions["teeth"], m.regions["catchlights"]]))
    b = m.shape_basis[:12][:, skin].reshape(12, -1).astype(np.float64)
    gram = np.einsum("iv,jv->ij", b, b)
    assert np.allclose(gram, np.eye(12), atol=1e-4)


def test_random_identities_differ_and_stay_plausible(m):
    rng = np.random.default_rng(7)
    v0 = m.mean_shape.astype(np.float64)
    n0 = _face_normals(v0, m.triangles)
    face = np.isin(m.triangles, m.regions["face"]).all(1)
    shapes, albs = [], []
    for _ in range(12):
        v, a = m.compose(m.sample_identity(rng))
        n = _face_normals(v.astype(np.float64), m.triangles)
        flipped = ((n * n0).sum(1) < 0)[face].mean()
        assert flipped < 0.002, f"{flipped:.2%} of face triangles flip: implausible shape"
        shapes.append(v)
        albs.append(a)
    d = [np.sqrt(((shapes[i] - shapes[j]) ** 2).sum(1)).mean() for i in range(4) for j in range(i + 1, 4)]
    assert min(d) > 1.0, d                          # visibly different people (mm)
    assert max(d) < 15.0, d
    # +-3 s.d. along every texture mode stays (mostly) inside [0, 1]
    step = 3.0 * m.texture_sd[:, None, None] * m.texture_basis
    for a in (m.mean_albedo + step, m.mean_albedo - step):
        out = ((a < 0) | (a > 1)).mean(axis=(1, 2))
        assert out.max() < 0.01, int(np.argmax(out))


# -- determinism, caching and files ---------------------------------------------------------------
def test_build_is_deterministic_across_builds_and_blas_threads(m):
    first = build_model().sha256()
    assert first == m.sha256()                # the session's model (built or read from the cache)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = "from facegen.model.embedded import build_model; print(build_model().sha256())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == first


def test_in_process_and_disk_cache(m, tmp_path, monkeypatch):
    import facegen.model.embedded as emb

    calls = []
    monkeypatch.setattr(emb, "build_model", lambda: calls.append(1) or m)
    monkeypatch.setenv("FACEGEN_CACHE", str(tmp_path))
    clear_cache()
    try:
        a = embedded_model()
        assert embedded_model() is a and calls == [1]
        files = list(tmp_path.glob("embedded-*.npz"))
        assert len(files) == 1
        clear_cache()
        b = embedded_model()                  # read back from disk, not rebuilt
        assert calls == [1] and b is not a and b.sha256() == m.sha256()
        assert load_model("embedded") is b
        files[0].write_bytes(b"corrupt")      # a broken cache file is rebuilt, not fatal
        clear_cache()
        embedded_model()
        assert calls == [1, 1]
    finally:
        clear_cache()


def test_npz_round_trip(m, tmp_path):
    p = save_npz(m, tmp_path / "embedded.npz", compress=False)
    assert load_npz(p).sha256() == m.sha256()


# -- expressions -----------------------------------------------------------------------------------
def test_expression_table(m):
    assert set(AUS) <= set(m.expression_names)
    assert set(PAPER_EXPRESSIONS) <= set(m.expressions)
    assert dict(m.expressions["neutral"]) == {}
    for name in PAPER_EXPRESSIONS[1:]:
        assert len(m.expressions[name]) >= 2
    assert np.allclose(m.expression_offset("happy", 0.5), 0.5 * m.expression_offset("happy", 1.0), atol=1e-5)
    assert not np.any(m.expression_offset("neutral"))


def _moves(m, expression):
    base, _ = m.compose(_neutral(m))
    v, _ = m.compose(_neutral(m), expression=expression)
    return (v - base).astype(np.float64)


def test_expressions_move_the_expected_regions(m):
    lm, p = m.landmarks, m.points
    d = _moves(m, "happy")
    assert d[p["ch_l"], 1] > 2.0 and d[p["ch_r"], 1] > 2.0          # lip corners up
    assert d[p["ch_l"], 0] > 1.0 and d[p["ch_r"], 0] < -1.0         # and out
    assert d[m.regions["cheeks"], 1].mean() > 0.3                    # AU6 raises the cheeks
    d = _moves(m, "surprise")
    assert d[lm[17:27], 1].min() > 1.5                               # brows up
    assert d[lm[66], 1] - d[lm[62], 1] < -8.0                        # mouth opens (jaw drop)
    assert d[lm[8], 1] < -5.0
    d = _moves(m, "sad")
    assert d[p["ch_l"], 1] < -1.5 and d[p["ch_r"], 1] < -1.5        # lip corners down
    assert d[lm[21], 1] > 0.5 and d[lm[22], 1] > 0.5                 # inner brows up (AU1)
    d = _moves(m, "anger")
    assert d[lm[19], 1] < -1.0 and d[lm[24], 1] < -1.0               # brows down
    assert d[lm[21], 0] > 0.5 and d[lm[22], 0] < -0.5                # and together
    d = _moves(m, "fear")
    assert d[lm[17:27], 1].mean() > 1.0 and d[p["ch_l"], 0] > 1.0   # brows up, lips stretched
    d = _moves(m, "disgust")
    assert d[p["al_l"], 1] > 1.0 and d[p["sn"], 1] > 1.0             # nose wrinkled up


def test_expressions_keep_the_mesh_intact(m):
    """No face triangle turns over, except the lips' inner surfaces: the two rows of the mouth line
    go back into the head as the mouth opens (``teeth.MOUTH_RECESSION``), so the triangles between
    them and the lips turn into the mouth by design; the strip between the two rows, the back of
    the mouth, keeps facing the camera."""
    v0 = m.mean_shape.astype(np.float64)
    n0 = _face_normals(v0, m.triangles)
    face = np.isin(m.triangles, m.regions["face"]).all(1)
    back = m.expression_basis[m.expression_names.index("AU25"), :, 2] < -0.5    # the mouth line's rows
    inner = np.isin(m.triangles, np.nonzero(back)[0]).any(1)
    strip = np.isin(m.triangles, np.nonzero(back)[0]).all(1)
    assert 0 < strip.sum() < inner.sum() < 0.05 * face.sum()
    for name in PAPER_EXPRESSIONS:
        v = v0 + m.expression_offset(name)
        n = _face_normals(v, m.triangles)
        flipped = ((n * n0).sum(1) < 0)[face & ~inner].mean()
        assert flipped < 0.002, (name, flipped)
        assert (n[strip & face, 2] > 0.1).all(), name


# -- factors -----------------------------------------------------------------------------------------
def test_factor_levels_and_centring(m):
    f = m.factors
    assert f.genders == ("female", "male")
    assert len(f.ethnicities) >= 3 and "european" in f.ethnicities and "african" in f.ethnicities
    assert f.age_range == (20.0, 70.0)
    assert np.allclose(f.ethnicity_shape.sum(0), 0.0, atol=1e-3)
    assert np.allclose(f.ethnicity_albedo.sum(0), 0.0, atol=1e-4)
    assert np.allclose(f.gender_shape.sum(0), 0.0, atol=1e-3)


def test_gender_acts_on_shape_and_albedo(m):
    vf, af = m.compose(_neutral(m, "female"))
    vm, am = m.compose(_neutral(m, "male"))
    mf, mm = measure(vf, m), measure(vm, m)
    for k in mf:
        assert mm[k] > mf[k], k                                       # male face wider, taller ...
    assert mm["n-gn"] - mf["n-gn"] > 5.0 and mm["zy-zy"] - mf["zy-zy"] > 4.0
    brows = m.regions["brows"]
    assert am[brows].mean() < 0.92 * af[brows].mean()                # darker brows (by > 8%)
    assert vm[m.points["g"], 2] > vf[m.points["g"], 2]               # more prominent brow ridge


def test_brows_and_eyes_differ_between_women_and_men(m):
    # women's brows thinner and higher above the eyes, their lash lines darker (facial contrast:
    # Russell 2009); factors.BROW_EDGE, BROW_DROP, LASH_CONTRAST. Measured on the painted masks of
    # the mean grid, which move with the vertices.
    from facegen.model.embedded import factors as fa
    from facegen.model.embedded.albedo import brow_line, paint_masks
    from facegen.model.embedded.geometry import build_grid

    g = build_grid()
    masks = paint_masks(g.vertices[:, 0], g.vertices[:, 1], g.front)
    vf, af = m.compose(_neutral(m, "female"))
    vm, am = m.compose(_neutral(m, "male"))
    lum = lambda a: a[: g.vertices.shape[0]] @ np.array([0.2126, 0.7152, 0.0722])  # noqa: E731
    brow, lash = masks["brow"] > 0.9, masks["lash"] > 0.9
    x, y = g.vertices[:, 0], g.vertices[:, 1]
    by, bth, bu = brow_line(np.abs(x))
    rim = (np.abs(np.abs(y - by) - (bth + 1.6)) < 0.8) & (np.abs(bu) < 0.8) & (g.front > 0.9)
    assert rim.sum() > 10
    # the band just outside the brow: darker than the brow's own darkening ratio would give in men
    assert (lum(am)[rim] / lum(af)[rim]).mean() < 0.97 * (lum(am)[g.front > 0.9] / lum(af)[g.front > 0.9]).mean()
    assert (lum(af)[lash] < lum(am)[lash]).mean() > 0.9                # darker lash lines in women
    brow_h = lambda v: (v[: g.vertices.shape[0]][brow, 1].mean() - v[m.landmarks[36:48], 1].mean())  # noqa: E731
    assert brow_h(vf) - brow_h(vm) > 0.8 * fa.BROW_DROP                # women's brows higher above the eyes


def test_east_asian_eyes(m):
    # a lower palpebral fissure with a steeper canthal tilt, and half the upper-lid crease
    out = {e: m.compose(_neutral(m, "female", e)) for e in ("east_asian", "european")}

    def fissure(v):
        lm = v[m.landmarks].astype(np.float64)
        height = np.mean([lm[37, 1] - lm[41, 1], lm[38, 1] - lm[40, 1], lm[43, 1] - lm[47, 1], lm[44, 1] - lm[46, 1]])
        tilt = 0.5 * ((lm[36, 1] - lm[39, 1]) + (lm[45, 1] - lm[42, 1]))   # outer corner above inner
        return height, tilt

    (h_ea, t_ea), (h_eu, t_eu) = fissure(out["east_asian"][0]), fissure(out["european"][0])
    assert h_ea < h_eu - 0.8 and t_ea > t_eu + 1.0


def test_age_acts_on_shape_and_albedo(m):
    young, ay = m.compose(_neutral(m, "male"), age=20)
    old, ao = m.compose(_neutral(m, "male"), age=70)
    jaw = m.regions["jaw"]
    assert (old[jaw, 1] - young[jaw, 1]).mean() < -0.5              # jowls sag
    face = m.regions["face"]
    assert ao[face].mean() < ay[face].mean()                         # darker / less even skin
    assert np.std(ao[face] - ay[face]) > 0.002
    with pytest.raises(ValueError):
        m.compose(_neutral(m), age=80)


def test_skin_ages_alike_on_dark_and_light_skin(m):
    # what age brings to the albedo is relative to each face's own (FactorModel.age_albedo_gain):
    # from 20 to 70 every skin vertex changes by the same factor on african and european faces
    # (model v4 added it: its wrinkles and darkening were 2-3 times stronger, relatively, on dark skin)
    face = m.regions["face"]
    ratio = {}
    for e in ("african", "european"):
        young = m.compose(_neutral(m, "female", e, 20.0), age=20.0)[1][face].astype(np.float64)
        old = m.compose(_neutral(m, "female", e, 70.0), age=70.0)[1][face].astype(np.float64)
        ratio[e] = old / young
    skin = (m.mean_albedo[face] > 0.1).all(1) & (m.factors.age_albedo[face] == 0).all(1)   # not hair
    assert skin.sum() > 1000
    np.testing.assert_allclose(ratio["african"][skin], ratio["european"][skin], rtol=1e-3)
    r = ratio["european"][skin].mean(1)
    assert np.percentile(r, 1) < 0.85 and np.median(r) < 0.95       # wrinkles, and darker skin overall
    assert np.percentile(r, 99) > 1.05                              # paler brows and blotches


def test_identity_texture_and_beard_keep_their_relative_contrast_on_every_skin(m):
    # the ethnicity and gender albedo act as gains on each face's own albedo
    # (FactorModel.*_albedo_gain): a person's skin detail and a man's beard shadow are the same
    # fraction of the skin on african and european faces, and the beard does not change its hue
    ident = m.sample_identity(np.random.default_rng(11), gender="male", ethnicity="african", base_age=45.0)
    face = m.regions["face"]
    skin = (m.mean_albedo[face] > 0.1).all(1) & (m.factors.age_albedo[face] == 0).all(1)
    rel = {}
    for e in ("african", "european"):
        person = m.compose(dataclasses.replace(ident, ethnicity=e))[1][face].astype(np.float64)
        mean = m.compose(_neutral(m, "male", e))[1][face].astype(np.float64)
        rel[e] = person / mean
    np.testing.assert_allclose(rel["african"][skin], rel["european"][skin], rtol=2e-3)
    assert np.std(rel["african"][skin]) > 0.03                       # the identity's texture is there
    for e in ("african", "european"):
        fem = m.compose(_neutral(m, "female", e))[1].astype(np.float64)
        mal = m.compose(_neutral(m, "male", e))[1].astype(np.float64)
        chin = m.regions["chin"]
        ratio = mal[chin].mean(0) / fem[chin].mean(0)
        assert np.ptp(ratio) < 0.02, (e, ratio)                      # darker, not redder


def test_soft_tissue_ages(m):
    # from 20 to 70 (factors.age_fields; model v4 in brackets): the nasolabial fold deepens against
    # the cheek beside it (6.7 mm [2.8]), the temples (4.4 [0]) and tear troughs (3.6 [-0.5]) hollow,
    # the lateral brow descends (6.3 [2.6])
    young = m.compose(_neutral(m, "female", "european", 20.0), age=20.0)[0].astype(np.float64)
    old = m.compose(_neutral(m, "female", "european", 70.0), age=70.0)[0].astype(np.float64)
    v0 = m.mean_shape.astype(np.float64)
    d = old - young

    def near(ax, y, r):
        sel = (np.hypot(np.abs(v0[:, 0]) - ax, v0[:, 1] - y) < r) & (v0[:, 2] > 40.0)
        assert sel.sum() >= 4
        return d[sel].mean(0)

    assert near(33.6, -28.0, 4.0)[2] - near(25.6, -30.0, 4.0)[2] > 4.0      # fold against its cheek
    assert near(56.0, 38.0, 5.0)[2] < -2.0                                 # temples
    assert near(26.0, 9.0, 3.0)[2] < -2.0                                  # tear trough
    assert near(44.0, 40.0, 4.0)[1] < -4.0                                 # lateral brow


def test_facial_contrast_falls_with_age(m):
    # Porcheron, Mauger & Russell 2013: lips lose redness and brows fade with age (model v4, without
    # them: lip redness against the cheeks' +0.01, brow luminance against the cheeks' -0.00)
    young = m.compose(_neutral(m, "female", "european", 20.0), age=20.0)[1]
    old = m.compose(_neutral(m, "female", "european", 70.0), age=70.0)[1]
    from facegen.model.embedded.albedo import paint_masks
    from facegen.model.embedded.geometry import build_grid

    g = build_grid()
    lips = np.flatnonzero(paint_masks(g.vertices[:, 0], g.vertices[:, 1], g.front)["lips"] > 0.9)
    brows, cheeks = m.regions["brows"], m.regions["cheeks"]

    def redness(a, r):
        return a[r, 0].mean() / a[r, 1].mean()

    assert redness(old, lips) / redness(old, cheeks) < redness(young, lips) / redness(young, cheeks) - 0.04
    lum = lambda a, r: (a[r] @ np.array([0.2126, 0.7152, 0.0722])).mean()  # noqa: E731
    assert lum(old, brows) / lum(old, cheeks) > lum(young, brows) / lum(young, cheeks) + 0.02


def test_ethnicity_acts_on_shape_and_albedo(m):
    out = {e: m.compose(_neutral(m, "male", e)) for e in m.factors.ethnicities}
    face = m.regions["cheeks"]
    lum = {e: a[face].mean() for e, (v, a) in out.items()}
    assert lum["african"] < lum["south_asian"] < lum["european"]
    al = {e: measure(v, m)["al-al"] for e, (v, a) in out.items()}
    assert al["african"] > al["european"]
    zy = {e: measure(v, m)["zy-zy"] for e, (v, a) in out.items()}
    assert zy["east_asian"] > zy["european"]
    en = {e: measure(v, m)["en-en"] for e, (v, a) in out.items()}
    assert en["east_asian"] > en["european"] + 3.0                     # wider-set eyes (by ~5 mm)


def test_factor_targets_follow_the_published_tables(monkeypatch):
    from facegen.model.embedded import factors as fa

    t = fa.ethnic_targets()
    assert set(t) == set(fa.ETHNICITIES) and not any(t["european"].values())
    assert t["african"]["al-al"] == pytest.approx(8.8)                 # a published number wins
    assert t["east_asian"]["en-en"] == pytest.approx(5.0)
    assert t["african"]["n-gn"] - t["east_asian"]["n-gn"] == pytest.approx(5.1)   # against another level
    assert t["east_asian"]["ch-ch"] > 0                                 # a choice within a documented direction
    monkeypatch.setitem(fa.ETHNIC_CHOICES, "east_asian", {**fa.ETHNIC_CHOICES["east_asian"], "ch-ch": -1.0})
    with pytest.raises(ValueError, match="direction"):
        fa.ethnic_targets()
    ref = {"sn-sto": 20.0, "n-prn": 44.0}
    a = fa.age_targets({**{k: 50.0 for k in ("zy-zy", "al-al")}, **ref})
    assert a["n-prn"] == pytest.approx(40 * 1.55 / 12)                 # mm per year x 40 years
    assert a["sn-sto"] == pytest.approx(20.0 * 40 * 0.1874 / 47.5)     # relative rate x the reference
    assert a["ls-sto"] < 0 < a["ch-ch"] and a["zy-zy"] == 0.0


# -- landmarks ---------------------------------------------------------------------------------------
def test_ibug_landmark_order(m):
    v = m.mean_shape[m.landmarks].astype(np.float64)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    assert len(set(m.landmarks.tolist())) == 68
    assert x[0] < 0 < x[16] and np.all(np.diff(x[:17]) > 0)          # jaw: face's right to left
    assert m.landmarks[8] == m.points["gn"] and y[8] == y[:17].min()
    assert np.all(y[17:27] > y[36:48].max())                         # brows above eyes
    assert np.all(np.diff(x[17:22]) > 0) and np.all(np.diff(x[22:27]) > 0)
    assert x[36] < x[39] < 0 < x[42] < x[45]                         # eye corners
    assert y[37] > y[41] and y[38] > y[40] and y[43] > y[47] and y[44] > y[46]
    assert np.argmax(z) == 30 and np.all(np.diff(y[27:31]) < 0)     # nose bridge down to the tip
    assert np.all(np.diff(x[31:36]) > 0) and y[33] < y[30]
    assert x[48] < x[51] < x[54] and x[60] < x[62] < x[64]
    assert y[51] > y[62] > y[66] > y[57] and y[51] < y[33]
    assert np.all(np.diff(x[48:55]) > 0) and np.all(np.diff(x[54:60]) < 0)


def test_jaw_contour_and_bridge_follow_the_300w_convention(m):
    # 300-W starts the contour about level with the eyes (by the tragus) and puts point 27 on the
    # bridge at eye level; the model's nasion (n) lies above it, at the upper lid crease
    v = m.mean_shape[m.landmarks].astype(np.float64)
    eye_y = v[36:48, 1].mean()
    assert abs(v[0, 1] - eye_y) < 12.0 and abs(v[16, 1] - eye_y) < 12.0
    assert v[0, 1] > v[30, 1] and v[16, 1] > v[30, 1]                  # above the nose tip
    assert abs(v[27, 1] - eye_y) < 4.0 and v[27, 1] < m.mean_shape[m.points["n"], 1]
    assert np.allclose(np.diff(v[27:31, 1]), np.diff(v[27:31, 1]).mean(), atol=3.0)   # evenly spaced


def test_hair_and_beard_follow_gender_and_ethnicity(m):
    from facegen.model.embedded.albedo import BEARD, HAIR
    from facegen.model.embedded.factors import HAIR_TONES

    f = m.factors
    v = m.mean_shape
    scalp = m.regions["scalp"]
    crown = scalp[v[scalp, 1] > np.percentile(v[scalp, 1], 50)]       # well above any hairline
    # the levels' hair colours are those before greying starts, at the youngest age
    alb = {e: m.compose(_neutral(m, "female", e, f.age_range[0]))[1] for e in f.ethnicities}
    for e in f.ethnicities:
        assert np.allclose(alb[e][crown].mean(0), HAIR_TONES[e], atol=0.02), e
    assert alb["european"][crown].mean() > 1.5 * alb["african"][crown].mean()
    assert np.allclose(np.mean(list(HAIR_TONES.values()), 0), HAIR)
    # the beard shadow is men's: on the chin men are darker than women by about BEARD beyond the
    # general male-female skin difference (seen on the forehead)
    fem = m.compose(_neutral(m, "female", "european", f.age_reference))[1]
    mal = m.compose(_neutral(m, "male", "european", f.age_reference))[1]
    ratio = {r: mal[m.regions[r]].mean(0) / fem[m.regions[r]].mean(0) for r in ("chin", "forehead")}
    beard = ratio["chin"] / ratio["forehead"]
    assert np.all(beard < 1.0 - 0.5 * BEARD) and np.all(beard > 1.0 - 1.5 * BEARD), beard
    # grey hair with age
    old = m.compose(_neutral(m, "female", "european", 70.0))[1]
    young = m.compose(_neutral(m, "female", "european", 20.0))[1]
    assert old[crown].mean() > young[crown].mean() + 0.02


def test_the_eye_fissure_has_rows_enough_for_iris_and_pupil():
    """Paint lives on vertices, so the eye needs them: the left eye's fissure spans 6 rows (it had 4
    before ``geometry.EYE_ROWS``), its iris at least 20 vertices over 5 rows, its pupil several."""
    from facegen.model.embedded.albedo import paint_masks
    from facegen.model.embedded.geometry import build_grid

    g = build_grid()
    v = g.vertices
    masks = paint_masks(v[:, 0], v[:, 1], g.front)
    left = v[:, 0] > 0
    rows = {k: np.unique(np.nonzero((masks[k] > 0.5) & left)[0] // g.cols) for k in ("eye", "iris", "pupil")}
    assert len(rows["eye"]) >= 6 and len(rows["iris"]) >= 5 and len(rows["pupil"]) >= 2, rows
    assert ((masks["iris"] > 0.5) & left).sum() >= 20 and ((masks["pupil"] > 0.5) & left).sum() >= 4
    # the upper-lid crease, about 4 mm above the lash line, falls on a row (a line between two rows
    # would be painted at half strength on both and blur away)
    assert masks["crease"][left].max() > 0.8


def _hue_angle(linear_rgb: np.ndarray) -> np.ndarray:
    """CIELAB hue angle h_ab = atan2(b*, a*) in degrees of linear sRGB colours (D65)."""
    xyz = linear_rgb @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(np.clip(xyz, 1e-12, None)), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.degrees(np.arctan2(200 * (f[:, 1] - f[:, 2]), 500 * (f[:, 0] - f[:, 1])))


def test_random_identities_keep_a_skin_hue_on_every_skin(embedded):
    """The identity texture fields vary the skin along the melanin, haemoglobin and luminance axes
    with random signs; on every group they must leave the cheeks skin-coloured (between orange-red and
    yellow: CIELAB hue angle 35-75 deg), not grey-blue or orange (twice the model's texture s.d. does
    leave that range: african cheeks reach 20 deg, south asian 79)."""
    m = embedded
    cheeks = m.regions["cheeks"]
    rng = np.random.default_rng(0)
    for eth in m.factors.ethnicities:
        hues = []
        for _ in range(50):
            _, alb = m.factors.apply(m.mean_shape, m.albedo(rng.standard_normal(m.n_texture)),
                                     str(rng.choice(m.factors.genders)), eth, rng.uniform(20, 70))
            hues.append(_hue_angle(np.clip(alb[cheeks].astype(np.float64), 0.0, 1.0)))
        lo, hi = np.percentile(np.concatenate(hues), [0.5, 99.5])
        assert 35.0 < lo and hi < 75.0, (eth, lo, hi)
