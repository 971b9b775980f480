#!/usr/bin/env python
"""Judge photographs of real people the way judge_faces.py judges renders, to set its targets.

The identity targets of ``judge_faces.py`` (rank-1, verification at 0.6, identities within 0.6 of
another) ask renders to be told apart as photographs of different people are. This script gives the
same figures for a folder of photographs, with the same dlib networks and the same scoring
(``judge_faces.identity_figures``), so the targets can be checked against photographs first.

The folder has one subfolder per person holding that person's images (.jpg, .jpeg, .png), as LFW
is laid out (``lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg``). People with at least two images take
part; ``--identities`` of them are drawn with ``--seed``. Per person, the first image (sorted by
name) is the gallery and up to ``--per-identity`` of the next ones are the probes. Detection is
HOG's on the probes; as for renders, a probe with no detection is embedded from its central box.
NME and the label readouts need records, so photographs have none.

With ``--group-photos`` the folder holds photographs of several unknown people each: the faces of one
photograph are different people, and their distances are the reference for how far apart dlib puts
strangers in photographs (``strangers``).

    pip install dlib-bin face-recognition-models
    python scripts/judge_photos.py path/to/lfw --identities 100 --per-identity 8 --seed 15 16 17
    python scripts/judge_photos.py path/to/group-photos --group-photos
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import judge_faces  # noqa: E402

#: image suffixes read as photographs
SUFFIXES = (".jpg", ".jpeg", ".png")


class PhotoFolderError(ValueError):
    """The folder is not one subfolder of images per person, or has too few people."""


def people(root: Path) -> dict[str, list[Path]]:
    """Person (subfolder name) -> that person's image paths, sorted by name, for every person with at
    least two images."""
    root = Path(root)
    if not root.is_dir():
        raise PhotoFolderError(f"{root}: no such folder; give a folder with one subfolder of images per person "
                               "(as LFW: lfw/NAME/NAME_0001.jpg)")
    out = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        imgs = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if len(imgs) >= 2:
            out[d.name] = imgs
    if len(out) < 2:
        raise PhotoFolderError(f"{root}: {len(out)} subfolder(s) with two or more images "
                               f"({', '.join(SUFFIXES)}); at least two people with two images each are needed")
    return out


def choose(folders: dict[str, list[Path]], n: int, per: int, seed: int) -> list[tuple[str, Path, list[Path]]]:
    """(person, gallery image, probe images) of ``n`` people drawn with ``seed``, in name order: the
    first image is the gallery, up to ``per`` of the next ones the probes."""
    names = sorted(folders)
    if not 2 <= n <= len(names):
        raise PhotoFolderError(f"--identities {n}: the folder has {len(names)} people with two or more images; "
                               f"choose 2 to {len(names)}")
    if per < 1:
        raise PhotoFolderError(f"--per-identity {per}: must be 1 or more")
    picked = sorted(np.random.default_rng(seed).choice(len(names), n, replace=False))
    return [(names[i], folders[names[i]][0], folders[names[i]][1:1 + per]) for i in picked]


def _read(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (OSError, UnidentifiedImageError) as e:
        raise PhotoFolderError(f"{path}: not a readable image ({e})") from e


def judge_photos(root: Path, n: int, per: int, seed: int,
                 look: Callable[[np.ndarray], tuple[bool, np.ndarray | None, np.ndarray]]) -> dict:
    """The figures of ``judge_faces.judge`` that photographs allow (detection, identification,
    verification, distances) for ``n`` people of the folder ``root``; ``look(image)`` returns
    (detected, landmarks, embedding) as ``judge_faces.look`` does."""
    chosen = choose(people(root), n, per, seed)
    t0 = time.perf_counter()
    g_emb, p_emb, pid, found, widths = [], [], [], [], []
    for i, (_, gal, probes) in enumerate(chosen):
        img = _read(gal)
        widths.append(img.shape[1])
        g_emb.append(look(img)[2])
        for p in probes:
            f, _, e = look(_read(p))
            found.append(f)
            p_emb.append(e)
            pid.append(i)
    t_judge = time.perf_counter() - t0
    return {
        "model": f"photographs in {root}", "identities": n, "per_identity": per,
        "image_size": int(np.median(widths)), "seed": seed, "exposure": "photographs",
        "people": [c[0] for c in chosen], "probes": len(pid),
        "detection": {"pooled": judge_faces._rate(np.array(found))},
        "nme": float("nan"), "nme_jaw": float("nan"),
        **judge_faces.identity_figures(np.stack(g_emb), np.stack(p_emb), np.array(pid)),
        "labels": {},
        "seconds": {"render": 0.0, "dlib": round(t_judge, 1)},
    }


def group_photos(root: Path) -> list[Path]:
    """The images under ``root`` (any depth), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise PhotoFolderError(f"{root}: no such folder; give a folder of group photographs")
    out = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not out:
        raise PhotoFolderError(f"{root}: no images ({', '.join(SUFFIXES)})")
    return out


def strangers(paths: list[Path], faces: Callable[[np.ndarray], list[np.ndarray]]) -> dict:
    """Distances between different people in photographs: the faces found in one photograph are
    different people, so every pair within a photograph is a pair of strangers. ``faces(image)``
    returns the embeddings of the faces in it. Reports the number of faces and pairs, the mean and
    smallest distance, the share of pairs >= 0.6 (told apart), and how all the faces spread
    (``judge_faces.embedding_spread``; faces of two photographs may be one person)."""
    d, every = [], []
    for p in paths:
        e = faces(_read(p))
        every += e
        for i in range(len(e)):
            for j in range(i + 1, len(e)):
                d.append(float(np.linalg.norm(e[i] - e[j])))
    if not d:
        raise PhotoFolderError(f"no photograph with two or more faces found among {len(paths)} image(s)")
    d = np.array(d)
    return {"photographs": len(paths), "faces": len(every), "pairs": int(d.size), "mean": float(d.mean()),
            "min": float(d.min()), "over_threshold": float(np.mean(d >= judge_faces.THRESHOLD)),
            "spread": judge_faces.embedding_spread(np.stack(every))}


def _dlib_faces(nets, region: str = "full"):
    """faces(image) -> the embeddings of every face HOG finds, each seeing ``region``."""
    _, det, sp, _ = nets
    return lambda img: [judge_faces.describe(nets, img, sp(img, box), region) for box in det(img, 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("folder", type=Path, help="one subfolder of images per person (LFW's layout)")
    ap.add_argument("--identities", type=int, default=100, help="people drawn (default 100, as judge_faces.py)")
    ap.add_argument("--per-identity", type=int, default=8,
                    help="most probes per person after the gallery image (default 8, as judge_faces.py)")
    ap.add_argument("--seed", type=int, nargs="+", default=[15],
                    help="seed of the draw of people (default 15); several seeds judge several populations")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--region", choices=judge_faces.REGIONS, default="full",
                    help="what the embedding sees, as judge_faces.py --region (default full)")
    ap.add_argument("--group-photos", action="store_true",
                    help="the folder holds group photographs of unknown people instead: report the distances "
                         "between the faces of each photograph (different people), see strangers()")
    a = ap.parse_args(argv)
    if a.group_photos:
        try:
            paths = group_photos(a.folder)
        except PhotoFolderError as e:
            ap.error(str(e))
        nets = judge_faces._dlib()
        r = strangers(paths, _dlib_faces(nets, a.region))
        r["region"] = a.region
        contrast = [c for p in paths for c in judge_faces.face_contrasts(nets, _read(p))]
        r["contrast"] = {"scales_px": list(judge_faces.CONTRAST_SCALES), "mean": np.mean(contrast, 0).tolist()}
        print(f"different people in {r['photographs']} photographs of {a.folder} (region {a.region}): "
              f"{r['faces']} faces, {r['pairs']} pairs, distance mean {r['mean']:.3f}, smallest {r['min']:.3f}, "
              f"share >= 0.6 {r['over_threshold']:.2f}; spread of the faces (subsets of "
              f"{r['spread']['people']}): RMS from the centroid {r['spread']['rms_from_centroid']:.3f}, participation "
              f"ratio {r['spread']['participation_ratio']:.1f}; inner-face contrast at "
              + "/".join(f"{x:g}" for x in judge_faces.CONTRAST_SCALES) + " px: "
              + ", ".join(f"{x:.3f}" for x in r["contrast"]["mean"]))
        if a.json:
            a.json.write_text(json.dumps(r, indent=2) + "\n")
        return 0
    try:
        folders = people(a.folder)
        for seed in a.seed:                     # every draw is checked before any image is read
            choose(folders, a.identities, a.per_identity, seed)
    except PhotoFolderError as e:
        ap.error(str(e))
    nets = judge_faces._dlib()
    results = []
    for seed in a.seed:
        r = judge_photos(a.folder, a.identities, a.per_identity, seed, lambda img: judge_faces.look(nets, img, a.region))
        r["region"] = a.region
        print(judge_faces.report(r), flush=True)
        results.append(r)
    out = results[0]
    if len(results) > 1:
        summary = judge_faces.summarise(results)
        print(judge_faces.summary_report(results[0]["model"], a.seed, summary), flush=True)
        out = {"model": results[0]["model"], "seeds": results, "summary": summary}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
