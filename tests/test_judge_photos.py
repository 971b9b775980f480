"""scripts/judge_photos.py: a folder of photographs (one subfolder per person) is judged with
judge_faces.py's identity scoring. dlib is not needed here: the tests give the judge a plain pixel
embedding, as ``look`` would give dlib's."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_scripts = Path(__file__).parents[1] / "scripts"
sys.path.insert(0, str(_scripts))
_spec = importlib.util.spec_from_file_location("judge_photos", _scripts / "judge_photos.py")
jp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jp)
jf = jp.judge_faces


def _pixels(img: np.ndarray):
    """A stand-in for dlib's (detected, landmarks, embedding): the 8 x 8 mean-pooled image."""
    h, w = img.shape[:2]
    small = img[: h // 8 * 8, : w // 8 * 8].reshape(8, h // 8, 8, w // 8, 3).mean((1, 3))
    return True, None, small.ravel() / 255.0


def _save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _folder(tmp_path: Path, counts: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for name, k in counts.items():
        (tmp_path / name).mkdir()
        for j in range(k):
            _save(tmp_path / name / f"{name}_{j + 1:04d}.png", rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    return tmp_path


def test_people_with_two_images_take_part_with_the_first_image_as_gallery(tmp_path):
    root = _folder(tmp_path, {"Ann": 3, "Bo": 2, "Cy": 1, "Di": 2, "Ed": 0})
    (root / "Di" / "notes.txt").write_text("not an image")
    (root / "stray.jpg").write_bytes(b"")
    folders = jp.people(root)
    assert list(folders) == ["Ann", "Bo", "Di"]
    assert [p.name for p in folders["Ann"]] == ["Ann_0001.png", "Ann_0002.png", "Ann_0003.png"]
    chosen = jp.choose(folders, 3, 1, seed=15)
    assert [(n, g.name, [p.name for p in ps]) for n, g, ps in chosen] == [
        ("Ann", "Ann_0001.png", ["Ann_0002.png"]), ("Bo", "Bo_0001.png", ["Bo_0002.png"]),
        ("Di", "Di_0001.png", ["Di_0002.png"])]
    assert [len(ps) for _, _, ps in jp.choose(folders, 3, 8, seed=15)] == [2, 1, 1]


def test_the_seed_draws_the_people_and_the_same_seed_the_same_ones(tmp_path):
    folders = jp.people(_folder(tmp_path, {f"p{k:02d}": 2 for k in range(12)}))
    draws = {seed: [c[0] for c in jp.choose(folders, 4, 1, seed)] for seed in range(6)}
    assert draws[3] == [c[0] for c in jp.choose(folders, 4, 1, 3)]
    assert len({tuple(d) for d in draws.values()}) > 1
    assert all(d == sorted(d) and len(set(d)) == 4 for d in draws.values())


def test_bad_folders_are_refused_naming_what_is_needed(tmp_path):
    with pytest.raises(jp.PhotoFolderError, match="no such folder.*one subfolder of images per person"):
        jp.people(tmp_path / "missing")
    with pytest.raises(jp.PhotoFolderError, match="1 subfolder.*at least two people"):
        jp.people(_folder(tmp_path, {"Ann": 2, "Bo": 1}))
    (tmp_path / "three").mkdir()
    folders = jp.people(_folder(tmp_path / "three", {"Ann": 2, "Bo": 2, "Cy": 2}))
    with pytest.raises(jp.PhotoFolderError, match="--identities 5: the folder has 3 people.*choose 2 to 3"):
        jp.choose(folders, 5, 1, 15)
    with pytest.raises(jp.PhotoFolderError, match="--per-identity 0"):
        jp.choose(folders, 2, 0, 15)


def test_an_unreadable_image_is_named(tmp_path):
    root = _folder(tmp_path, {"Ann": 2, "Bo": 2})
    (root / "Bo" / "Bo_0002.png").write_bytes(b"not a png")
    with pytest.raises(jp.PhotoFolderError, match="Bo_0002.png: not a readable image"):
        jp.judge_photos(root, 2, 1, 15, _pixels)


def test_the_command_line_refuses_a_bad_folder_before_loading_the_networks(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(jf, "_dlib", lambda: pytest.fail("the networks were loaded"))
    with pytest.raises(SystemExit) as e:
        jp.main([str(tmp_path / "missing")])
    assert e.value.code == 2 and "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        jp.main([str(_folder(tmp_path, {"Ann": 2, "Bo": 2})), "--identities", "100"])
    assert "--identities 100: the folder has 2 people" in capsys.readouterr().err


def test_renders_saved_as_photographs_score_as_the_renders_do(tmp_path, embedded):
    """The same images, judged from a folder or in memory, give the same identity figures: the folder
    maps each person's first image to the gallery and the rest to that person's probes."""
    gal_raw, prb_raw = jf.designs("embedded", 5, 2, 64, 15, ["happy", "neutral"], embedded.factors.age_range)
    gallery = sorted(jf.render(gal_raw), key=lambda ri: ri[0]["identity"])
    probes = sorted(jf.render(prb_raw), key=lambda ri: ri[0]["identity"])
    for rec, img in gallery:
        _save(tmp_path / f"person{rec['identity']}" / "a_gallery.png", img)
    for k, (rec, img) in enumerate(probes):
        _save(tmp_path / f"person{rec['identity']}" / f"b_probe{k:02d}.png", img)

    got = jp.judge_photos(tmp_path, 5, 2, 0, _pixels)
    want = jf.identity_figures(np.stack([_pixels(img)[2] for _, img in gallery]),
                               np.stack([_pixels(img)[2] for _, img in probes]),
                               np.array([r["identity"] for r, _ in probes]))
    assert got["people"] == [f"person{i}" for i in range(5)] and got["probes"] == 10
    assert got["rank1"] == want["rank1"]
    assert got["verification"] == want["verification"]
    assert got["distances"] == want["distances"]          # PNG keeps the pixels: the same numbers
    assert got["detection"]["pooled"] == 1.0 and np.isnan(got["nme"])
    assert "rank-1" in jf.report(got) and "NME                              n/a" in jf.report(got)


def test_identity_figures_follow_their_definitions():
    rng = np.random.default_rng(1)
    n, per = 6, 3
    gal = np.eye(n, 8)                                     # people sqrt(2) apart
    pid = np.repeat(np.arange(n), per)
    probes = gal[pid] + 0.05 * rng.standard_normal((n * per, 8))
    r = jf.identity_figures(gal, probes, pid)
    assert r["rank1"] == 1.0 and r["verification"]["balanced_accuracy"] == 1.0
    assert r["distances"]["identities_within_threshold"] == 0.0
    assert r["distances"]["gallery_pairs_mean"] == pytest.approx(np.sqrt(2))

    gal[1] = gal[0] + 0.2 * (gal[1] - gal[0])              # person 1 now looks like person 0
    probes[pid == 1] = gal[0]                              # and is photographed as person 0
    r = jf.identity_figures(gal, probes, pid)
    assert r["rank1"] == pytest.approx(1 - per / (n * per))
    assert r["distances"]["identities_within_threshold"] == pytest.approx(2 / n)
    assert r["verification"]["same_accepted"] == 1.0      # 0.28 from their own gallery: accepted
    # person 1's probes are accepted as person 0 and person 0's as person 1: 2 * per false matches
    assert r["verification"]["different_rejected"] == pytest.approx(1 - 2 * per / (n * per * (n - 1)))


def test_strangers_pairs_only_the_faces_of_one_photograph(tmp_path):
    """Faces of one group photograph are different people; faces of two photographs may be the same
    person, so they are never paired. Here a 'face' is a row of the image, embedded as its colour."""
    rng = np.random.default_rng(2)
    sizes = {"a/one.png": 3, "b/two.jpg": 1, "three.png": 2}
    for name, k in sizes.items():
        _save(tmp_path / name, rng.integers(0, 255, (k, 4, 3), dtype=np.uint8).repeat(4, 1))
    (tmp_path / "readme.txt").write_text("no image")
    paths = jp.group_photos(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["a/one.png", "b/two.jpg", "three.png"]

    def rows(img):
        return [img[i].mean(0) / 255.0 for i in range(img.shape[0])]

    r = jp.strangers(paths, rows)
    assert (r["photographs"], r["faces"], r["pairs"]) == (3, 6, 3 + 0 + 1)
    d = []
    for p in (paths[0], paths[2]):
        e = rows(np.asarray(Image.open(p).convert("RGB")))
        d += [np.linalg.norm(e[i] - e[j]) for i in range(len(e)) for j in range(i + 1, len(e))]
    assert r["mean"] == pytest.approx(np.mean(d)) and r["min"] == pytest.approx(min(d))
    assert r["over_threshold"] == pytest.approx(np.mean(np.array(d) >= 0.6))
    with pytest.raises(jp.PhotoFolderError, match="no photograph with two or more faces"):
        jp.strangers(paths[1:2], rows)
    (tmp_path / "empty").mkdir()
    with pytest.raises(jp.PhotoFolderError, match="no images"):
        jp.group_photos(tmp_path / "empty")


def test_region_masks_keep_the_face_and_grey_out_the_rest(embedded):
    """On a render's own 68 landmarks: the inner face lies inside the face, which lies inside the
    image; both hold the eyes, nose and mouth, the face reaches above the brows, and neither holds
    the image's corners (background, hair)."""
    gal, _ = jf.designs("embedded", 1, 1, 128, 15, ["neutral"], embedded.factors.age_range)
    rec, img = next(jf.render(gal))
    pts = np.asarray(rec["landmarks_2d"], np.float64)[:, :2]
    assert jf.region_mask(pts, img.shape[:2], "full") is None
    face, inner = (jf.region_mask(pts, img.shape[:2], r) for r in ("face", "inner"))
    assert face.shape == inner.shape == img.shape[:2]
    assert not (inner & ~face).any() and face.sum() > 1.1 * inner.sum()
    for k in (30, 36, 45, 48, 54, 57):                     # nose tip, eye corners, mouth
        x, y = np.round(pts[k]).astype(int)
        assert inner[y, x] and face[y, x], k
    brow_top = int(np.floor(pts[17:27, 1].min()))
    assert face[:brow_top - 2].any() and not inner[:brow_top - 2].any()
    assert not face[[0, 0, -1, -1], [0, -1, 0, -1]].any()
    with pytest.raises(ValueError, match="region 'hair': allowed full, face, inner"):
        jf.region_mask(pts, img.shape[:2], "hair")


def test_band_contrast_peaks_at_the_scale_of_the_pattern_and_ignores_exposure():
    yy, xx = np.mgrid[:150, :150]
    keep = np.zeros((150, 150), bool)
    keep[30:120, 30:120] = True
    peaks = []
    for wavelength in (6.0, 24.0):
        y = 0.3 * (1.0 + 0.2 * np.sin(2 * np.pi * xx / wavelength))
        c = jf.band_contrast(y, keep)
        np.testing.assert_allclose(jf.band_contrast(2.5 * y, keep), c)      # exposure divides out
        peaks.append(int(np.argmax(c)))
    assert peaks[0] < peaks[1]                                       # finer pattern, finer scale
    assert np.allclose(jf.band_contrast(np.full((150, 150), 0.4), keep), 0.0)
    # contrast grows in proportion to the pattern's amplitude
    y1, y2 = (0.3 * (1.0 + a * np.sin(2 * np.pi * xx / 12.0)) for a in (0.1, 0.2))
    np.testing.assert_allclose(jf.band_contrast(y2, keep), 2 * jf.band_contrast(y1, keep), rtol=0.01)


def test_embedding_spread_counts_the_directions_people_vary_along():
    line = np.outer(np.arange(-5.0, 5.0), np.eye(8)[0])               # 10 people along one direction
    r = jf.embedding_spread(line)
    assert r["people"] == 10 and r["participation_ratio"] == pytest.approx(1.0)
    assert r["total_variance"] == pytest.approx(np.var(np.arange(-5.0, 5.0), ddof=1))
    cross = np.concatenate([np.eye(8)[:2], -np.eye(8)[:2]]) * 0.3       # +-0.3 along two directions
    r = jf.embedding_spread(cross)
    assert r["participation_ratio"] == pytest.approx(2.0)
    assert r["rms_from_centroid"] == pytest.approx(np.sqrt(2 * 0.3 ** 2 * 2 / 3))
    # many people in 6 equal directions: subsets of 20 see about 6 of them, and the same seed the same
    many = np.random.default_rng(0).standard_normal((300, 6)) @ np.eye(6, 16)
    r = jf.embedding_spread(many)
    assert 4.0 < r["participation_ratio"] < 6.0 and r["people"] == 20
    assert jf.embedding_spread(many) == r and jf.embedding_spread(many, seed=1) != r
