#!/usr/bin/env python
"""Judge rendered faces with real face networks trained on photographs (dlib).

dlib's HOG face detector, its 68-point shape predictor (iBUG 300-W) and its ResNet face-recognition
network (99.38% on LFW) look at renders of ``--identities`` identities of a model:

* gallery: one neutral, frontal, frontally lit image per identity at its base age (uniform over
  the model's age range, when it has a factor model);
* probes: ``--per-identity`` images per identity with yaw and pitch uniform in +-15 deg, light
  azimuth and elevation uniform in +-30 deg and a random expression of the model (intensity 0.5-1);
* both exposed for the face (``render.exposure: face``), as photographs are; ``--exposure fixed``
  renders every face under the same light instead (darker skin renders darker).

Figures (printed, and written as JSON with ``--json``):

* detection: fraction of probe images where HOG finds a face, pooled and per gender, ethnicity,
  expression (factor level);
* NME: mean over detected probes of  mean_k ||p_k - q_k|| / ||q_36 - q_45||  (p: dlib's 68 points,
  q: the record's ``landmarks_2d``, normalised by the outer-eye-corner distance), all 68 points and
  the 17 jaw points;
* identification rank-1: fraction of probes whose nearest gallery embedding (Euclidean) is their own
  identity's;
* verification at dlib's threshold 0.6: balanced accuracy of "distance < 0.6" over all
  probe-gallery pairs (mean of the same-identity acceptance and different-identity rejection rates);
* nearest-identity distance: per identity, the distance of its gallery embedding to the nearest
  other identity's; the fraction of identities within 0.6 of another (dlib: same person);
* distances between people by what they share (gender, ethnicity, age gap), see ``pair_distances``;
* sensitivity: embedding distance from the mean face when one thing changes (light, pose, gender,
  ethnicity, a random identity from the shape or texture modes), see ``sensitivity``;
* regions (``--regions``): the share of the embedding distance between two people that one face
  part of the one carries, see ``region_shares``;
* labels: gender, ethnicity and age read from the gallery+probe embeddings by a linear model
  (logistic regression / ridge), cross-validated by identity (GroupKFold, 5 folds): accuracy and
  chance, and age R^2.

Targets of issue 15: detection >= 95% pooled and >= 90% in every ethnicity, NME <= 0.06, rank-1
>= 97%, verification >= 90%, < 10% of identities within 0.6 of another.

    pip install dlib-bin face-recognition-models   # the networks (about 130 MB)
    python scripts/judge_faces.py                                # embedded model, 100 x 8
    python scripts/judge_faces.py --identities 40 --per-identity 4 --size 160   # quicker
    python scripts/judge_faces.py --seed 15 16 17      # three populations: each, then mean [min, max]
    python scripts/judge_faces.py --identities 40 --per-identity 4 --regions   # which parts carry identity
    python scripts/judge_faces.py --model path/to/ict-facekit --json judge.json --sheet sheet.png
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

THRESHOLD = 0.6


def _dlib():
    try:
        import dlib
    except ImportError:
        sys.exit("judge_faces needs dlib: pip install dlib-bin face-recognition-models")
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("judge_faces needs the dlib model files: pip install face-recognition-models")
    # the package's __init__ imports pkg_resources (gone from new setuptools); read its folder directly
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    return (dlib, dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat")),
            dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")))


def designs(model: str, n: int, per: int, size: int, seed: int, expressions: list[str],
            ages: tuple[float, float] | None = None, exposure: str = "face") -> tuple[dict, dict]:
    """(gallery, probe) design configs over the same identities (same seed and identities section);
    base ages uniform over ``ages`` (the model's age range) when the model has a factor model;
    ``exposure`` the designs' ``render.exposure``."""
    ids = {"count": n} if ages is None else {"count": n, "base_age": {"uniform": list(ages)}}
    base = {
        "model": model, "seed": seed, "identities": ids,
        "render": {"image_size": size, "format": "png", "exposure": exposure},
        "splits": {"by": "image", "fractions": {"test": 1.0}},
        "shards": {"samples_per_shard": 1000},
    }
    gallery = {**base, "name": "judge-gallery", "samples": {"mode": "random", "per_identity": 1},
               "intrinsic": {"age": "base", "expression": "neutral"},
               "extrinsic": {"yaw": 0, "pitch": 0, "light_azimuth": 0, "light_elevation": 0}}
    probe = {**base, "name": "judge-probe", "samples": {"mode": "random", "per_identity": per},
             "intrinsic": {"age": "base", "expression": {"levels": expressions},
                           "expression_intensity": {"uniform": [0.5, 1.0]}},
             "extrinsic": {"yaw": {"uniform": [-15, 15]}, "pitch": {"uniform": [-15, 15]},
                           "light_azimuth": {"uniform": [-30, 30]}, "light_elevation": {"uniform": [-30, 30]}}}
    return gallery, probe


def render(raw: dict):
    """Yield (record, RGB uint8 image) of every sample of design ``raw``, in order."""
    from PIL import Image

    from facegen.design import parse_config, plan_shards
    from facegen.generate import check_design
    from facegen.model import load_model
    from facegen.sampler import render_samples

    cfg = parse_config(raw)
    check_design(cfg, load_model(cfg.model))
    for shard in plan_shards(cfg):
        for item in render_samples(cfg, shard):
            yield json.loads(item["json"]), np.asarray(Image.open(io.BytesIO(item["png"])).convert("RGB"))


#: what of the image the embedding sees (``--region``): all of dlib's aligned crop; the face alone
#: (inside the jaw contour and up to a forehead line a quarter of the brow-chin height above the
#: brows), hair, ears, neck and background made grey; the inner face (jaw contour and brows)
REGIONS = ("full", "face", "inner")


def region_mask(pts: np.ndarray, hw: tuple[int, int], region: str) -> np.ndarray | None:
    """(H, W) bool mask of ``region`` of ``REGIONS`` from the 68 iBUG points ``pts`` (68, 2) x, y of an
    image of size ``hw``; None for "full". The polygon is the jaw contour (points 0-16) closed by
    the brows (17-26), for "face" moved up by a quarter of the distance from the chin (8) to the
    brows' mean, along that direction (so a rolled head keeps its forehead)."""
    if region not in REGIONS:
        raise ValueError(f"region {region!r}: allowed {', '.join(REGIONS)}")
    if region == "full":
        return None
    from PIL import Image, ImageDraw

    brows = pts[17:27].copy()
    if region == "face":
        brows += 0.25 * (brows.mean(0) - pts[8])
    poly = np.concatenate([pts[:17], brows[::-1]])
    m = Image.new("L", (hw[1], hw[0]), 0)
    ImageDraw.Draw(m).polygon([tuple(map(float, p)) for p in poly], fill=255)
    return np.asarray(m) > 127


def look(nets, img: np.ndarray, region: str = "full"):
    """(detected, 68x2 landmarks or None, 128-d embedding or None) of one image. The embedding is
    computed on the detected face; with no detection, on the whole image's central box (so
    identification is scored on every probe, as a face network behind any detector would).
    ``region`` of ``REGIONS``: what the embedding sees (the rest grey, ``region_mask``)."""
    found, shape = detect(nets, img)
    pts = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    return found, (pts if found else None), describe(nets, img, shape, region)


def detect(nets, img: np.ndarray):
    """(detected, dlib's 68 points) of the largest face HOG finds, else of the image's central box."""
    dlib, det, sp, _ = nets
    boxes = det(img, 1)
    if boxes:
        return True, sp(img, max(boxes, key=lambda r: r.area()))
    h, w = img.shape[:2]
    return False, sp(img, dlib.rectangle(int(0.2 * w), int(0.2 * h), int(0.8 * w), int(0.8 * h)))


def describe(nets, img: np.ndarray, shape, region: str = "full") -> np.ndarray:
    """dlib's 128-d embedding of the face at ``shape`` (its 68 points), seeing ``region``."""
    pts = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    keep = region_mask(pts, img.shape[:2], region)
    if keep is not None:
        img = np.where(keep[..., None], img, np.uint8(128))
    return np.array(nets[3].compute_face_descriptor(img, shape), np.float64)


#: scales (px of dlib's aligned 150 px crop, about 1.2 mm each on a face) of ``chip_contrast``
CONTRAST_SCALES = (0.7, 1.5, 3.0, 6.0)


def chip_contrast(nets, img: np.ndarray, shape) -> np.ndarray:
    """Luminance contrast of the inner face at ``CONTRAST_SCALES``, in dlib's aligned 150 px crop
    of the face ``shape`` (its 68 points): ``band_contrast`` of the linear luminance over the inner
    face (``region_mask``, 6 px in from its edge), which does not depend on exposure."""
    from scipy import ndimage

    from facegen.render.colour import LUMA, decode_srgb

    dlib, _, sp, _ = nets
    chip = np.asarray(dlib.get_face_chip(img, shape, size=150, padding=0.25))
    pts = np.array([[p.x, p.y] for p in sp(chip, dlib.rectangle(0, 0, 149, 149)).parts()], np.float64)
    inner = ndimage.binary_erosion(region_mask(pts, chip.shape[:2], "inner"), iterations=6)
    return band_contrast(decode_srgb(chip / 255.0) @ LUMA, inner)


def band_contrast(y: np.ndarray, keep: np.ndarray, scales=CONTRAST_SCALES) -> np.ndarray:
    """Per scale s (px): sqrt(mean over ``keep`` of ((G_s - G_2s) * y)^2) / mean over ``keep`` of y,
    for a linear luminance image ``y`` (H, W) and a bool mask ``keep``; G_s a Gaussian of s.d. s."""
    from scipy import ndimage

    return np.array([np.sqrt(np.mean((ndimage.gaussian_filter(y, s) - ndimage.gaussian_filter(y, 2 * s))[keep] ** 2))
                     / y[keep].mean() for s in scales])


def face_contrasts(nets, img: np.ndarray) -> list[np.ndarray]:
    """``chip_contrast`` of every face HOG finds in ``img``, the largest first."""
    _, det, sp, _ = nets
    boxes = sorted(det(img, 1), key=lambda r: -r.area())
    return [chip_contrast(nets, img, sp(img, b)) for b in boxes]


def _rate(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if mask.size else float("nan")


def label_readout(emb: np.ndarray, recs: list[dict]) -> dict:
    """Gender, ethnicity (accuracy, chance) and age (R^2) predicted linearly from embeddings,
    cross-validated with identities kept apart."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.model_selection import GroupKFold, cross_val_predict

    groups = np.array([r["identity"] for r in recs])
    out = {}
    folds = GroupKFold(n_splits=min(5, len(set(groups))))
    for key in ("gender", "ethnicity"):
        y = np.array([str(r[key]) for r in recs])
        if recs[0][key] is None or len(set(y)) < 2:
            continue
        pred = cross_val_predict(LogisticRegression(max_iter=2000), emb, y, groups=groups, cv=folds)
        _, counts = np.unique(y, return_counts=True)
        out[key] = {"accuracy": float(np.mean(pred == y)), "chance": float(counts.max() / counts.sum())}
    if recs[0]["age"] is not None:
        age = np.array([r["age"] for r in recs], np.float64)
        if age.std() > 0:
            pred = cross_val_predict(RidgeCV(alphas=np.logspace(-3, 3, 13)), emb, age, groups=groups, cv=folds)
            out["age"] = {"r2": float(1 - ((pred - age) ** 2).sum() / ((age - age.mean()) ** 2).sum()),
                          "sd_years": float(age.std())}
    return out


#: age gaps (years) that ``pair_distances`` groups the pairs of people of one gender and ethnicity by
AGE_GAPS = ((0.0, 10.0), (10.0, 25.0), (25.0, np.inf))


def pair_distances(emb: np.ndarray, recs: list[dict]) -> dict:
    """Mean embedding distance between the gallery images of two different people, by what the two
    share: gender and ethnicity (both, one, neither), and for people of the same gender and ethnicity
    by their age gap (``AGE_GAPS``). Each entry: {"pairs": n, "mean": distance, "over_threshold":
    fraction of pairs >= 0.6 (told apart by dlib)}. Shows how far each factor separates people;
    entries with no pairs (e.g. labels absent for a model without a factor model) are left out."""
    iu = np.triu_indices(len(emb), 1)
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)[iu]

    def col(key):
        return np.array([r.get(key) for r in recs], dtype=object)

    out = {}

    def add(name, mask):
        if mask.any():
            out[name] = {"pairs": int(mask.sum()), "mean": float(d[mask].mean()),
                         "over_threshold": float(np.mean(d[mask] >= THRESHOLD))}

    add("all", np.ones(d.shape, bool))
    g, e = col("gender"), col("ethnicity")
    if g[0] is None or e[0] is None:
        return out
    sg, se = (g[:, None] == g[None])[iu], (e[:, None] == e[None])[iu]
    add("same gender and ethnicity", sg & se)
    add("other ethnicity", sg & ~se)
    add("other gender", ~sg & se)
    add("other gender and ethnicity", ~sg & ~se)
    if recs[0].get("age") is not None:
        a = np.array([r["age"] for r in recs], np.float64)
        gap = np.abs(a[:, None] - a[None])[iu]
        for lo, hi in AGE_GAPS:
            add(f"same gender and ethnicity, age gap {lo:g}-{hi:g} y", sg & se & (gap >= lo) & (gap < hi))
    return out


def embedding_spread(emb: np.ndarray, n: int = 20, draws: int = 50, seed: int = 0) -> dict:
    """How a set of people's embeddings (N, D) spread, on subsets of ``n`` of them (so that sets of any
    size compare; every draw is the whole set when N <= n): with lambda the eigenvalues of a subset's
    covariance, the total variance sum(lambda), the RMS distance from the centroid sqrt(sum(lambda)),
    and the participation ratio (sum lambda)^2 / sum(lambda^2), the number of directions the people
    effectively vary along; means over ``draws`` subsets."""
    rng = np.random.default_rng(seed)
    tv, pr = [], []
    for _ in range(draws if len(emb) > n else 1):
        sub = emb[rng.choice(len(emb), n, replace=False)] if len(emb) > n else emb
        lam = np.clip(np.linalg.eigvalsh(np.cov(sub.T)), 0.0, None)
        tv.append(lam.sum())
        pr.append(lam.sum() ** 2 / (lam ** 2).sum())
    return {"people": int(min(n, len(emb))), "total_variance": float(np.mean(tv)),
            "rms_from_centroid": float(np.sqrt(np.mean(tv))), "participation_ratio": float(np.mean(pr))}


def identity_figures(g_emb: np.ndarray, p_emb: np.ndarray, pid: np.ndarray, gallery_recs: list[dict] | None = None) -> dict:
    """Identification and verification of probes against a gallery of one embedding per identity.

    ``g_emb`` (N, D) the gallery, identity i at row i; ``p_emb`` (P, D) the probes, of identities
    ``pid`` (P,). With D_pi = ||p - g_i||:

    * rank1 = mean_p [argmin_i D_pi = pid_p];
    * verification: same_accepted = mean over own pairs of [D < 0.6], different_rejected = mean over
      other pairs of [D >= 0.6], balanced_accuracy their mean;
    * distances: mean D over own and other pairs; per identity, the distance of its gallery
      embedding to the nearest other one (median, and the fraction below 0.6); the gallery pairs by
      what the two people share (``pair_distances``; all pairs only without ``gallery_recs``); how
      the gallery spreads (``embedding_spread``).
    """
    D = np.linalg.norm(p_emb[:, None, :] - g_emb[None, :, :], axis=-1)       # probes x identities
    same = np.zeros_like(D, bool)
    same[np.arange(len(pid)), pid] = True
    accept = D < THRESHOLD
    tar, tnr = _rate(accept[same]), _rate(~accept[~same])
    G = np.linalg.norm(g_emb[:, None] - g_emb[None], axis=-1)
    np.fill_diagonal(G, np.inf)
    nearest = G.min(1)
    pairs = pair_distances(g_emb, gallery_recs or [{} for _ in range(len(g_emb))])
    return {
        "rank1": _rate(D.argmin(1) == pid),
        "verification": {"balanced_accuracy": 0.5 * (tar + tnr), "same_accepted": tar, "different_rejected": tnr},
        "distances": {"same_mean": float(D[same].mean()), "different_mean": float(D[~same].mean()),
                      "gallery_pairs_mean": pairs["all"]["mean"],
                      "nearest_identity_median": float(np.median(nearest)),
                      "identities_within_threshold": float(np.mean(nearest < THRESHOLD)),
                      "gallery_pairs": pairs, "gallery_spread": embedding_spread(g_emb)},
    }


def judge(model: str, n: int, per: int, size: int, seed: int, nets, exposure: str = "face",
          region: str = "full") -> dict:
    from facegen.model import load_model

    m = load_model(model)
    expressions = sorted(set(m.expressions) | {"neutral"})
    ages = None if m.factors is None else tuple(float(a) for a in m.factors.age_range)
    gal_raw, prb_raw = designs(model, n, per, size, seed, expressions, ages, exposure)
    t0 = time.perf_counter()
    gallery = sorted(render(gal_raw), key=lambda ri: ri[0]["identity"])   # splits shuffle the order
    probes = list(render(prb_raw))
    t_render = time.perf_counter() - t0

    t0 = time.perf_counter()
    g_emb, contrast = [], []
    for _, img in gallery:
        found, shape = detect(nets, img)
        g_emb.append(describe(nets, img, shape, region))
        if found:
            contrast.append(chip_contrast(nets, img, shape))
    g_emb = np.stack(g_emb)
    looked = [look(nets, img, region) for _, img in probes]
    t_judge = time.perf_counter() - t0
    recs = [r for r, _ in probes]
    found = np.array([f for f, _, _ in looked])
    p_emb = np.stack([e for _, _, e in looked])
    pid = np.array([r["identity"] for r in recs])

    # detection per factor level
    detection = {"pooled": _rate(found)}
    for key in ("gender", "ethnicity", "expression"):
        vals = np.array([str(r[key]) for r in recs])
        if recs[0][key] is not None:
            detection[key] = {v: _rate(found[vals == v]) for v in sorted(set(vals))}

    # landmark error of detected probes, normalised by the outer-eye-corner distance
    nme, nme_jaw = [], []
    for (f, pts, _), r in zip(looked, recs):
        if not f or r.get("landmarks_2d") is None:
            continue
        q = np.asarray(r["landmarks_2d"], np.float64)[:, :2]
        d = np.linalg.norm(q[36] - q[45])
        err = np.linalg.norm(pts - q, axis=1) / d
        nme.append(err.mean())
        nme_jaw.append(err[:17].mean())

    return {
        "model": model, "identities": n, "per_identity": per, "image_size": size, "seed": seed, "exposure": exposure,
        "region": region, "detection": detection,
        "nme": float(np.mean(nme)) if nme else float("nan"),
        "nme_jaw": float(np.mean(nme_jaw)) if nme_jaw else float("nan"),
        **identity_figures(g_emb, p_emb, pid, [r for r, _ in gallery]),
        "contrast": {"scales_px": list(CONTRAST_SCALES),
                     "gallery_mean": np.mean(contrast, 0).tolist() if contrast else None},
        "labels": label_readout(np.concatenate([g_emb, p_emb]), [r for r, _ in gallery] + recs),
        "seconds": {"render": round(t_render, 1), "dlib": round(t_judge, 1)},
        "_images": [img for _, img in gallery[:12]] + [img for _, img in probes[:12]],
    }


def _embedder(m, nets, size: int):
    """embed(v, a, az=0, el=0, yaw=0): the embedding of mesh vertices ``v`` with albedo ``a`` of model
    ``m``, rendered at ``size`` px before a grey background with one light (azimuth, elevation deg)
    and ambient 0.3, the camera framing the model's mean shape, turned by ``yaw`` deg."""
    from facegen.render import Camera, DirectionalLight, Lighting
    from facegen.render.api import render as render_mesh

    lo, hi = m.mean_shape.min(0), m.mean_shape.max(0)

    def embed(v, a, az=0.0, el=0.0, yaw=0.0):
        out = render_mesh(np.asarray(v, np.float32), m.triangles, np.clip(a, 0, 1).astype(np.float32),
                          camera=Camera(center=tuple((lo + hi) / 2), yaw=yaw), size=size, background=(0.5, 0.5, 0.5),
                          lighting=Lighting(lights=(DirectionalLight(azimuth=az, elevation=el),), ambient=0.3))
        return look(nets, out.image)[2]
    return embed


def _reference_face(m, sc=None, tc=None, gender="female", ethnicity="european", age=None):
    """(vertices, albedo) of identity coefficients ``sc``, ``tc`` (None: the mean), with the factor
    offsets of ``gender`` and ``ethnicity`` at ``age`` (default: the reference age) when the model
    has factors."""
    v, a = m.shape(sc), m.albedo(tc)
    if m.factors is not None:
        v, a = m.factors.apply(v, a, gender, ethnicity, m.factors.age_reference if age is None else age)
    return v, a


def sensitivity(model: str, size: int, nets, n_random: int = 8, seed: int = 0) -> dict:
    """Embedding distance from the model's mean face (neutral, frontal, frontal light; female
    european at the reference age when the model has factors) to the same face with one thing
    changed: the light (30 deg up / to the side), the pose (15 deg yaw), gender, each ethnicity,
    age (the youngest against the oldest age of the model, as the distance between the two, not
    from the mean face), and random identities drawn from the shape modes only, the texture modes
    only, and both (mean over ``n_random`` draws). Identity has to move the embedding further than light and pose do,
    and about 0.6 (dlib's same-person threshold) to make another person."""
    from facegen.model import load_model

    m = load_model(model)
    f = m.factors
    embed = _embedder(m, nets, size)

    def face(sc=None, tc=None, gender="female", ethnicity="european", age=None, **light):
        return embed(*_reference_face(m, sc, tc, gender, ethnicity, age), **light)

    e0 = face()
    dist = lambda **kw: float(np.linalg.norm(face(**kw) - e0))  # noqa: E731
    out = {"light elevation 30": dist(el=30.0), "light azimuth 30": dist(az=30.0), "yaw 15": dist(yaw=15.0)}
    if f is not None:
        out["gender (male)"] = dist(gender="male")
        for e in f.ethnicities:
            if e != "european":
                out[f"ethnicity {e}"] = dist(ethnicity=e)
        lo, hi = f.age_range
        out[f"age {lo:g} to {hi:g}"] = float(np.linalg.norm(face(age=lo) - face(age=hi)))
    rng = np.random.default_rng(seed)
    ks, kt = m.n_shape, m.n_texture
    out["random shape"] = float(np.mean([dist(sc=rng.standard_normal(ks)) for _ in range(n_random)]))
    if kt:
        out["random texture"] = float(np.mean([dist(tc=rng.standard_normal(kt)) for _ in range(n_random)]))
        out["random identity"] = float(np.mean([dist(sc=rng.standard_normal(ks), tc=rng.standard_normal(kt))
                                                for _ in range(n_random)]))
    return out


#: face parts for ``region_shares``: a name -> the model regions it joins
REGION_GROUPS = {"eyes and brows": ("eyes", "brows", "catchlights"), "nose": ("nose",), "mouth": ("mouth", "teeth"),
                 "chin, jaw and cheeks": ("chin", "jaw", "cheeks"), "forehead": ("forehead",), "scalp": ("scalp",),
                 "ears and neck": ("ears", "neck")}


def region_shares(model: str, size: int, nets, pairs: int = 8, seed: int = 3, radius: float = 6.0) -> dict:
    """Where the face network finds identity. For ``pairs`` pairs of random identities A, B (female
    european at the reference age when the model has factors; frontal, frontal light):

        share(R) = ||e(A with R from B) - e(A)|| / ||e(B) - e(A)||

    where "A with R from B" takes B's shape and albedo on the vertices of face part R, blended
    linearly to A's over ``radius`` mm around it, and e is the embedding. Also B's shape alone (with
    A's albedo) and B's albedo alone. Means over pairs; a share near 1 means that part alone makes
    the other person. Parts are ``REGION_GROUPS`` of the model's regions (those it has)."""
    from scipy.spatial import cKDTree

    from facegen.model import load_model

    m = load_model(model)
    embed = _embedder(m, nets, size)
    v0 = np.asarray(m.mean_shape, np.float64)
    weights = {}
    for name, parts in REGION_GROUPS.items():
        idx = [np.asarray(m.regions[p]) for p in parts if p in m.regions]
        if idx:
            d, _ = cKDTree(v0[np.concatenate(idx)]).query(v0)
            weights[name] = np.clip(1.0 - d / radius, 0.0, 1.0)[:, None]
    rng = np.random.default_rng(seed)
    shares = {k: [] for k in list(weights) + ["shape only", "albedo only"]}
    dists = []
    for _ in range(pairs):
        (va, aa), (vb, ab) = (_reference_face(m, rng.standard_normal(m.n_shape),
                                              rng.standard_normal(m.n_texture) if m.n_texture else None)
                              for _ in range(2))
        ea = embed(va, aa)
        d = float(np.linalg.norm(embed(vb, ab) - ea))
        dists.append(d)
        for name, w in weights.items():
            shares[name].append(np.linalg.norm(embed(va + w * (vb - va), aa + w * (ab - aa)) - ea) / d)
        shares["shape only"].append(np.linalg.norm(embed(vb, aa) - ea) / d)
        shares["albedo only"].append(np.linalg.norm(embed(va, ab) - ea) / d)
    return {"pair_distance": float(np.mean(dists)), "shares": {k: float(np.mean(v)) for k, v in shares.items()}}


TARGETS = (("detection pooled", lambda r: r["detection"]["pooled"], ">=", 0.95),
           ("detection worst ethnicity", lambda r: min(r["detection"].get("ethnicity", {"-": float("nan")}).values()),
            ">=", 0.90),
           ("NME", lambda r: r["nme"], "<=", 0.06),
           ("rank-1", lambda r: r["rank1"], ">=", 0.97),
           ("verification @0.6", lambda r: r["verification"]["balanced_accuracy"], ">=", 0.90),
           ("identities within 0.6", lambda r: r["distances"]["identities_within_threshold"], "<", 0.10))


def _meets(v: float, op: str, want: float) -> bool:
    return {">=": v >= want, "<=": v <= want, "<": v < want}[op]


def report(r: dict) -> str:
    lines = [f"model {r['model']}: {r['identities']} identities x {r['per_identity']} probes at {r['image_size']} px, "
             f"exposure {r.get('exposure', 'fixed')}, region {r.get('region', 'full')} "
             f"(render {r['seconds']['render']} s, dlib {r['seconds']['dlib']} s)"]
    for name, get, op, want in TARGETS:
        v = get(r)
        if v != v:  # NaN: not applicable (no ethnicity labels without a factor model)
            lines.append(f"  {name:28s}     n/a")
            continue
        ok = _meets(v, op, want)
        lines.append(f"  {name:28s} {v:7.3f}   target {op} {want:<5}  {'ok' if ok else 'MISSED'}")
    if r["nme_jaw"] == r["nme_jaw"]:
        lines.append(f"  NME jaw                      {r['nme_jaw']:7.3f}")
    d = r["distances"]
    lines.append(f"  distances: same {d['same_mean']:.3f}, different {d['different_mean']:.3f}, "
                 f"nearest-identity median {d['nearest_identity_median']:.3f}")
    if d.get("gallery_spread"):
        sp = d["gallery_spread"]
        lines.append(f"  gallery spread (subsets of {sp['people']} people): RMS from the centroid "
                     f"{sp['rms_from_centroid']:.3f}, participation ratio {sp['participation_ratio']:.1f}")
    if d.get("gallery_pairs"):
        lines.append("  distance between people (share >= 0.6): " + "; ".join(
            f"{k} {v['mean']:.3f} ({v['over_threshold']:.2f})" for k, v in d["gallery_pairs"].items()))
    if (r.get("contrast") or {}).get("gallery_mean"):
        lines.append("  inner-face contrast at " + "/".join(f"{x:g}" for x in r["contrast"]["scales_px"]) + " px: "
                     + ", ".join(f"{x:.3f}" for x in r["contrast"]["gallery_mean"]) + " (chip_contrast)")
    for key in ("gender", "ethnicity", "expression"):
        if key in r["detection"]:
            lines.append(f"  detection by {key}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["detection"][key].items()))
    for key, v in r["labels"].items():
        lines.append(f"  {key} from embedding: " + ", ".join(f"{a} {b:.3f}" for a, b in v.items()))
    if "sensitivity" in r:
        lines.append("  embedding distance from the mean face: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in r["sensitivity"].items()))
    if "regions" in r:
        lines.append(f"  share of the distance between two people ({r['regions']['pair_distance']:.2f}) that one part "
                     "makes: " + ", ".join(f"{k} {v:.2f}" for k, v in r["regions"]["shares"].items()))
    return "\n".join(lines)


def summarise(results: list[dict]) -> dict:
    """Per target of ``TARGETS`` over the populations of several seeds: mean, min, max and whether
    the mean meets the target (NaN figures, e.g. ethnicity without labels, are left out)."""
    out = {}
    for name, get, op, want in TARGETS:
        vals = np.array([get(r) for r in results], np.float64)
        vals = vals[~np.isnan(vals)]
        if not vals.size:
            continue
        m = float(vals.mean())
        out[name] = {"mean": m, "min": float(vals.min()), "max": float(vals.max()), "n": int(vals.size),
                     "met": bool(_meets(m, op, want))}
    return out


def summary_report(model: str, seeds: list[int], summary: dict) -> str:
    lines = [f"model {model}: mean over seeds {', '.join(map(str, seeds))} [min, max]"]
    for name, _, op, want in TARGETS:
        if name in summary:
            v = summary[name]
            lines.append(f"  {name:28s} {v['mean']:7.3f} [{v['min']:.3f}, {v['max']:.3f}]   target {op} {want:<5}  "
                         f"{'ok' if v['met'] else 'MISSED'}")
    return "\n".join(lines)


def contact_sheet(images: list[np.ndarray], path: Path, cols: int = 6) -> None:
    from PIL import Image

    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    sheet = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for k, img in enumerate(images):
        sheet[(k // cols) * h:(k // cols + 1) * h, (k % cols) * w:(k % cols + 1) * w] = img
    Image.fromarray(sheet).save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=None,
                    help="model spec (as in a design's 'model'); repeat to judge several (default: embedded)")
    ap.add_argument("--identities", type=int, default=100)
    ap.add_argument("--per-identity", type=int, default=8)
    ap.add_argument("--size", type=int, default=224, help="image side in pixels (default 224)")
    ap.add_argument("--seed", type=int, nargs="+", default=[15],
                    help="seed of the identities and probes (default 15); several seeds judge several "
                         "populations of people and add their mean and range, since which 100 people are "
                         "drawn moves rank-1 by a couple of points")
    ap.add_argument("--exposure", choices=("face", "fixed"), default="face",
                    help="render.exposure of the designs: 'face' exposes each image for its face, as a "
                         "photograph is (default); 'fixed' renders every face under the same light")
    ap.add_argument("--region", choices=REGIONS, default="full",
                    help="what the embedding sees: 'full' dlib's aligned crop (default); 'face' the face alone, "
                         "hair, ears, neck and background grey; 'inner' the jaw contour and brows. Detection and "
                         "landmarks are unchanged")
    ap.add_argument("--regions", action="store_true",
                    help="also measure which face parts carry identity for the network (region_shares: "
                         "one part of person B put on person A, against all of B; 8 pairs)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--sheet", type=Path, help="write a contact sheet (12 gallery + 12 probe images) here")
    a = ap.parse_args(argv)
    if a.identities < 2 or a.per_identity < 1:
        ap.error("--identities must be >= 2 and --per-identity >= 1")
    nets = _dlib()
    results = []
    for k, model in enumerate(a.model or ["embedded"]):
        sens = sensitivity(model, a.size, nets)
        regions = region_shares(model, a.size, nets) if a.regions else None
        per_seed = []
        for j, seed in enumerate(a.seed):
            r = judge(model, a.identities, a.per_identity, a.size, seed, nets, a.exposure, a.region)
            r["sensitivity"] = sens
            if regions is not None:
                r["regions"] = regions
            images = r.pop("_images")
            if a.sheet and j == 0:
                sheet = a.sheet if k == 0 else a.sheet.with_name(f"{a.sheet.stem}-{k}{a.sheet.suffix}")
                contact_sheet(images, sheet)
            print(report(r), flush=True)
            per_seed.append(r)
        if len(per_seed) == 1:
            results.append(per_seed[0])
        else:
            summary = summarise(per_seed)
            print(summary_report(model, a.seed, summary), flush=True)
            results.append({"model": model, "seeds": per_seed, "summary": summary})
    if a.json:
        a.json.write_text(json.dumps(results if len(results) > 1 else results[0], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
