"""Contact sheets of a face model, and mesh export: what `facegen model preview/export` do."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .types import FaceModel, Identity

__all__ = ["contact_sheet", "face_for", "export_mesh", "EXPRESSIONS"]

EXPRESSIONS = ("neutral", "happy", "surprise", "fear", "disgust", "anger", "sad")


def face_for(model: FaceModel, *, seed: int | None = None, gender: str | None = None,
             ethnicity: str | None = None, age: float | None = None, expression: str = "neutral",
             intensity: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) mm and albedo (V, 3) of the mean face (``seed`` None) or a random identity."""
    f = model.factors
    gender = gender or (f.genders[0] if f else "unknown")
    ethnicity = ethnicity or (f.ethnicities[0] if f else "unknown")
    base = age if age is not None else (f.age_reference if f else 0.0)
    if seed is None:
        ident = Identity(np.zeros(model.n_shape), np.zeros(model.n_texture), gender, ethnicity, base)
    else:
        ident = model.sample_identity(np.random.default_rng(seed), gender=gender, ethnicity=ethnicity, base_age=base)
    return model.compose(ident, expression=expression, intensity=intensity)


def _row(model, faces, size, yaws=None):
    from ..render import quick_render

    tiles = []
    for k, (v, a) in enumerate(faces):
        tiles.append(quick_render(v, model.triangles, a, size=size, yaw=0.0 if yaws is None else yaws[k],
                                  light_azimuth=-20.0, light_elevation=20.0))
    return tiles


def contact_sheet(model: FaceModel, out: str | Path, *, size: int = 160, seed: int = 0) -> Path:
    """A labelled PNG: random identities; gender x age; ethnicity x gender; the 7 expressions; yaw.

    Rows (left to right within a row):
      1. eight random identities (alternating genders), frontal;
      2. female then male at ages 25, 45, 65 (same identity coefficients);
      3. each ethnicity, female and male (mean identity);
      4. the seven expressions at full intensity (one identity);
      5. yaw -45 ... +45 degrees.
    """
    from PIL import Image, ImageDraw

    f = model.factors
    genders = f.genders if f else ("unknown",)
    eths = f.ethnicities if f else ("unknown",)
    rows: list[tuple[str, list, list[str]]] = []
    faces = [face_for(model, seed=seed + k, gender=genders[k % len(genders)],
                      ethnicity=eths[(k // len(genders)) % len(eths)]) for k in range(8)]
    rows.append(("random identities", _row(model, faces, size), [f"id {seed + k}" for k in range(8)]))
    if f:
        ages = [a for a in (25, 45, 65) if f.age_range[0] <= a <= f.age_range[1]]
        combos = [(g, a) for g in genders for a in ages]
        faces = [face_for(model, seed=seed + 100, gender=g, age=a) for g, a in combos]
        rows.append(("gender x age", _row(model, faces, size), [f"{g} {a}" for g, a in combos]))
        combos = [(e, g) for e in eths for g in genders]
        faces = [face_for(model, gender=g, ethnicity=e) for e, g in combos]
        rows.append(("ethnicity x gender", _row(model, faces, size), [f"{e} {g[0]}" for e, g in combos]))
    exprs = [e for e in EXPRESSIONS if e == "neutral" or e in model.expressions]
    faces = [face_for(model, seed=seed + 200, expression=e) for e in exprs]
    rows.append(("expressions", _row(model, faces, size), list(exprs)))
    yaws = [-45, -30, -15, 0, 15, 30, 45]
    faces = [face_for(model, seed=seed + 300)] * len(yaws)
    rows.append(("yaw", _row(model, faces, size, yaws), [f"yaw {y:+d}" for y in yaws]))

    label_w, pad = 150, 18
    cols = max(len(t) for _, t, _ in rows)
    sheet = Image.new("RGB", (label_w + cols * size, len(rows) * (size + pad)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (title, tiles, captions) in enumerate(rows):
        y = r * (size + pad)
        draw.text((6, y + size // 2), title, fill=(0, 0, 0))
        for c, (tile, cap) in enumerate(zip(tiles, captions)):
            sheet.paste(Image.fromarray(tile), (label_w + c * size, y))
            draw.text((label_w + c * size + 4, y + size + 3), cap, fill=(0, 0, 0))
    out = Path(out)
    sheet.save(out)
    return out


def export_mesh(vertices: np.ndarray, triangles: np.ndarray, albedo: np.ndarray | None, out: str | Path) -> Path:
    """Write an OBJ (``v x y z r g b`` vertex colours, 1-based faces) or binary little-endian PLY."""
    out = Path(out)
    v = np.asarray(vertices, np.float32)
    t = np.asarray(triangles, np.int32)
    col = None if albedo is None else np.clip(np.asarray(albedo, np.float32), 0, 1)
    if out.suffix.lower() == ".obj":
        with open(out, "w") as fh:
            fh.write("# facegen export: millimetres, +x face's left, +y up, +z towards the viewer\n")
            vv = v if col is None else np.hstack([v, col])
            fmt = " ".join(["%.5f"] * vv.shape[1])
            np.savetxt(fh, vv, fmt="v " + fmt)
            np.savetxt(fh, t + 1, fmt="f %d %d %d")
    elif out.suffix.lower() == ".ply":
        vdt = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
        if col is not None:
            vdt += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
        verts = np.empty(len(v), dtype=vdt)
        verts["x"], verts["y"], verts["z"] = v.T
        if col is not None:
            rgb = np.round(col * 255).astype(np.uint8)
            verts["red"], verts["green"], verts["blue"] = rgb.T
        faces = np.empty(len(t), dtype=[("n", "u1"), ("i", "<i4", (3,))])
        faces["n"], faces["i"] = 3, t
        props = "".join(f"property {'float' if d == '<f4' else 'uchar'} {n}\n" for n, d in vdt)
        header = (f"ply\nformat binary_little_endian 1.0\ncomment facegen export, millimetres\n"
                  f"element vertex {len(v)}\n{props}element face {len(t)}\n"
                  "property list uchar int vertex_indices\nend_header\n")
        with open(out, "wb") as fh:
            fh.write(header.encode())
            fh.write(verts.tobytes())
            fh.write(faces.tobytes())
    else:
        raise ValueError(f"--out {out.name!r}: unsupported mesh format {out.suffix!r}; allowed: .obj, .ply")
    return out
