"""ICT-FaceKit ("ICT Face Model Light") loader: a folder of OBJ meshes of one topology.

Published layout (github ICT-VGL/ICT-FaceKit, folder ``FaceXModel/``):

* ``generic_neutral_mesh.obj``: the mean face, 26,719 vertices, mostly quads, UVs, centimetres.
* ``identityNNN.obj`` (``000`` ... ``099``): full meshes, each = neutral + 1 s.d. of principal
  component NNN. Identity mode k is loaded as ``(identity_k - neutral) * 10`` mm with s.d. 1, so
  identity coefficient k = 1 (others 0) reproduces ``identity00k.obj`` in mm.
* ARKit-style expression meshes (``jawOpen.obj``, ``mouthSmile_L.obj`` ...): full meshes at full
  activation; expression unit = ``(expression - neutral) * 10`` mm, named after the file.
* ``vertex_indices.json``: ``idx_to_landmark_verts`` (68 Multi-PIE / iBUG points, 0-based) and the
  expression names (``expressions``).

Quads are fan-split to triangles. UVs: the OBJ has UV seams (more ``vt`` than ``v``); each vertex keeps
the first UV that a face gives it. Regions are the published vertex ranges of the model's parts.

The 7 paper expressions are APPROXIMATE combinations of the ARKit units, chosen by the FACS action units
of each prototype (Ekman & Friesen): happy AU6+12, surprise AU1+2+5+26, fear AU1+2+4+5+20+26,
disgust AU9+10(+4), anger AU4+5+7+23, sad AU1+4+15. An expression is defined only when every unit it
uses is present in the folder; ``neutral`` is always defined (no units).
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from ..types import FaceModel, ModelFileError
from . import AlbedoSource, make_model, untextured_albedo
from .obj import read_obj, read_obj_vertices

__all__ = ["load_ict", "ICT_EXPRESSIONS", "ICT_REGIONS"]

log = logging.getLogger(__name__)

CM_TO_MM = 10.0

#: Paper expression -> ARKit-style unit weights (approximate; see the module docstring).
ICT_EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"mouthSmile_L": 1.0, "mouthSmile_R": 1.0, "cheekSquint_L": 0.6, "cheekSquint_R": 0.6,
              "eyeSquint_L": 0.3, "eyeSquint_R": 0.3},
    "surprise": {"browInnerUp_L": 1.0, "browInnerUp_R": 1.0, "browOuterUp_L": 1.0, "browOuterUp_R": 1.0,
                 "eyeWide_L": 0.8, "eyeWide_R": 0.8, "jawOpen": 0.5},
    "fear": {"browInnerUp_L": 1.0, "browInnerUp_R": 1.0, "browOuterUp_L": 0.5, "browOuterUp_R": 0.5,
             "browDown_L": 0.3, "browDown_R": 0.3, "eyeWide_L": 1.0, "eyeWide_R": 1.0,
             "mouthStretch_L": 0.7, "mouthStretch_R": 0.7, "jawOpen": 0.2},
    "disgust": {"noseSneer_L": 1.0, "noseSneer_R": 1.0, "mouthUpperUp_L": 0.7, "mouthUpperUp_R": 0.7,
                "browDown_L": 0.4, "browDown_R": 0.4, "cheekSquint_L": 0.3, "cheekSquint_R": 0.3},
    "anger": {"browDown_L": 1.0, "browDown_R": 1.0, "eyeWide_L": 0.3, "eyeWide_R": 0.3,
              "eyeSquint_L": 0.4, "eyeSquint_R": 0.4, "mouthPress_L": 0.8, "mouthPress_R": 0.8},
    "sad": {"browInnerUp_L": 0.8, "browInnerUp_R": 0.8, "browDown_L": 0.3, "browDown_R": 0.3,
            "mouthFrown_L": 1.0, "mouthFrown_R": 1.0},
}

#: Published vertex ranges (inclusive start, exclusive end) of the 26,719-vertex topology.
ICT_REGIONS: dict[str, tuple[int, int]] = {
    "face": (0, 9409), "face_narrow": (0, 6706), "head_neck": (9409, 11248), "mouth_socket": (11248, 13294),
    "eye_socket_left": (13294, 13678), "eye_socket_right": (13678, 14062), "gums_tongue": (14062, 17039),
    "teeth": (17039, 21451), "eyeball_left": (21451, 23021), "eyeball_right": (23021, 24591),
    "eyelashes_left": (25351, 26035), "eyelashes_right": (26035, 26719),
}
_ICT_VERTICES = 26719
_IDENTITY = re.compile(r"identity(\d{3})\.obj$")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        log.warning("%s: missing; the ICT model gets no landmarks", path)
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not readable JSON ({e})") from None


def _offsets(paths: list[Path], neutral_cm: np.ndarray) -> np.ndarray:
    """(K, V, 3) float32 mm offsets of each mesh from the neutral mesh."""
    out = np.empty((len(paths),) + neutral_cm.shape, np.float32)
    for k, p in enumerate(paths):
        v = read_obj_vertices(p)
        if v.shape != neutral_cm.shape:
            raise ModelFileError(f"{p}: {v.shape[0]} vertices; expected {neutral_cm.shape[0]} like "
                                 "generic_neutral_mesh.obj (all ICT meshes share one topology)")
        out[k] = (v - neutral_cm) * CM_TO_MM
    return out


def load_ict(folder: str | Path, *, albedo_source: AlbedoSource = "embedded", max_identity: int | None = None) -> FaceModel:
    """Load an ICT-FaceKit folder into a FaceModel (mm; identity modes in s.d. units).

    Args:
        folder: holds ``generic_neutral_mesh.obj`` and optionally ``identityNNN.obj``, expression OBJs and
            ``vertex_indices.json``.
        albedo_source: where the albedo comes from (ICT has no colour model); see
            :func:`facegen.model.loaders.untextured_albedo`.
        max_identity: load at most this many identity modes (default: all present).
    """
    folder = Path(folder)
    neutral_path = folder / "generic_neutral_mesh.obj"
    if not neutral_path.is_file():
        raise ModelFileError(f"{folder}: no generic_neutral_mesh.obj; not an ICT-FaceKit folder")
    mesh = read_obj(neutral_path)
    neutral = mesh.vertices
    V = neutral.shape[0]

    ids = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _IDENTITY.fullmatch(p.name)))
    numbers = [n for n, _ in ids]
    if numbers != list(range(len(numbers))):
        missing = sorted(set(range(max(numbers, default=-1) + 1)) - set(numbers))
        raise ModelFileError(f"{folder}: identity meshes must be numbered 000, 001, ... without gaps; "
                             f"missing {['identity%03d.obj' % n for n in missing]}")
    if max_identity is not None:
        ids = ids[:max_identity]
    shape_basis = _offsets([p for _, p in ids], neutral)

    meta = _read_json(folder / "vertex_indices.json")
    known = list(meta.get("expressions", []))
    present = {p.stem for p in folder.glob("*.obj")} - {"generic_neutral_mesh"} - {p.stem for _, p in ids}
    present -= {p.stem for p in folder.glob("identity*.obj")}
    names = [n for n in known if n in present] if known else sorted(present)
    if known and present - set(known):
        log.info("%s: ignoring OBJs not listed as expressions in vertex_indices.json: %s",
                 folder, sorted(present - set(known)))
    expression_basis = _offsets([folder / f"{n}.obj" for n in names], neutral)
    expressions = {e: w for e, w in ICT_EXPRESSIONS.items() if all(u in names for u in w)}

    landmarks = None
    lm = meta.get("idx_to_landmark_verts")
    if lm is not None:
        lm = np.asarray(lm, dtype=np.int64)
        if lm.shape == (68,) and lm.min() >= 0 and lm.max() < V:
            landmarks = lm.astype(np.int32)
        else:
            log.warning("%s: idx_to_landmark_verts is not 68 vertex indices in 0..%d; no landmarks",
                        folder / "vertex_indices.json", V - 1)

    mean_shape = (neutral * CM_TO_MM).astype(np.float32)
    alb = untextured_albedo(folder, mean_shape, mesh.triangles, landmarks, albedo_source)
    regions = {k: np.arange(a, b, dtype=np.int32) for k, (a, b) in ICT_REGIONS.items()} if V == _ICT_VERTICES else {}
    return make_model(
        folder,
        name="ict-facekit", version="light", mean_shape=mean_shape, shape_basis=shape_basis,
        shape_sd=np.ones(len(shape_basis), np.float32), mean_albedo=alb[0], texture_basis=alb[1],
        texture_sd=alb[2], texture_bands=alb[3], triangles=mesh.triangles, expression_basis=expression_basis,
        expression_names=tuple(names), expressions=expressions,
        uvs=None if mesh.uvs is None else mesh.uvs.astype(np.float32), landmarks=landmarks, regions=regions,
        provenance=f"ICT-FaceKit (ICT Face Model Light, MIT licence) read from {folder}; "
                   f"{len(ids)} identity modes, {len(names)} expression units; cm converted to mm",
    )
