"""Loaders for real face models, each written against the source's published file layout.

:func:`load_path` picks the loader from the path:

=======================================  ==============================================
path                                     loader
=======================================  ==============================================
folder with ``generic_neutral_mesh.obj``  ICT-FaceKit (:mod:`.ict`)
``*.bin``                                Surrey Face Model, eos cereal binary (:mod:`.sfm`)
``*.mat``                                Basel Face Model 2009 (:mod:`.bfm`)
``*.h5``                                 Basel Face Model 2017 (:mod:`.bfm`)
``*.pkl``                                FLAME pickle, read without chumpy (:mod:`.flame`)
``*.npz``                                facegen model if it has ``meta``, else FLAME npz
=======================================  ==============================================

Every loader returns a :class:`~facegen.model.types.FaceModel` in millimetres with identity modes in
s.d. units, and raises :class:`~facegen.model.types.ModelFileError` naming the file and the problem.
Sources without a colour model (ICT, SFM, FLAME) get albedo transferred from ``albedo_source``
(default: the embedded model) through the 68 iBUG landmarks (:mod:`facegen.model.transfer`), with the
shading that the embedded model bakes into its albedo divided out (:func:`baked_shading`); without
landmarks, or when that source is unavailable, they get a flat grey albedo with no texture modes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Union

import numpy as np

from ..types import FaceModel, ModelFileError

__all__ = ["load_path", "LOADER_FORMATS", "GREY_ALBEDO", "AlbedoSource", "untextured_albedo", "make_model",
           "baked_shading"]

log = logging.getLogger(__name__)

LOADER_FORMATS = {
    "ICT-FaceKit folder": "a folder holding generic_neutral_mesh.obj, identityNNN.obj, expression OBJs",
    ".bin": "Surrey Face Model (eos cereal binary), expression_blendshapes_*.bin beside it is used",
    ".mat": "Basel Face Model 2009 (01_MorphableModel.mat)",
    ".h5": "Basel Face Model 2017 (model2017-1_*.h5)",
    ".pkl": "FLAME (generic_model.pkl, flame2020 / flame2023 pickles)",
    ".npz": "facegen model (save_npz) or FLAME arrays saved with numpy",
}

#: Linear RGB of the flat albedo used when no colour model can be transferred.
GREY_ALBEDO = 0.5

#: ``"embedded"`` (the default model, if importable), a FaceModel, or None (flat grey, no warning).
AlbedoSource = Union[str, FaceModel, None]


def load_path(path: str | Path, *, albedo_source: AlbedoSource = "embedded") -> FaceModel:
    """Load the face model at ``path`` (see the module docstring for the formats)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_dir():
        if (path / "generic_neutral_mesh.obj").is_file():
            from .ict import load_ict

            return load_ict(path, albedo_source=albedo_source)
    elif suffix == ".bin":
        from .sfm import load_sfm

        return load_sfm(path, albedo_source=albedo_source)
    elif suffix == ".mat":
        from .bfm import load_bfm2009

        return load_bfm2009(path)
    elif suffix == ".h5":
        from .bfm import load_bfm2017

        return load_bfm2017(path)
    elif suffix == ".pkl":
        from .flame import load_flame

        return load_flame(path, albedo_source=albedo_source)
    elif suffix == ".npz":
        if _npz_has_meta(path):
            from ..npz import load_npz

            return load_npz(path)
        from .flame import load_flame

        return load_flame(path, albedo_source=albedo_source)
    allowed = "; ".join(f"{k}: {v}" for k, v in LOADER_FORMATS.items())
    raise ModelFileError(f"{path}: unknown face-model format (suffix {suffix or 'none'!r}). Allowed: {allowed}")


def _npz_has_meta(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return "meta.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelFileError(f"{path}: not a readable .npz (truncated or corrupt?): {e}") from None


def make_model(path: str | Path, **fields) -> FaceModel:
    """Build a FaceModel, re-raising any consistency error with ``path`` named first."""
    try:
        return FaceModel(**fields)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from None


def untextured_albedo(
    path: str | Path,
    vertices: np.ndarray,
    triangles: np.ndarray,
    landmarks: np.ndarray | None,
    albedo_source: AlbedoSource,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Albedo for a model with no colour model: ``(mean_albedo (V,3), texture_basis (Kt,V,3), texture_sd (Kt,), bands)``.

    ``landmarks`` is (68,) iBUG vertex indices of ``vertices`` with -1 where a point is not defined, or
    None. The albedo comes from ``albedo_source`` via :func:`facegen.model.transfer.transfer_albedo`;
    when there are no landmarks or no source, it is flat grey (:data:`GREY_ALBEDO`) with 0 texture modes.
    """
    V = vertices.shape[0]
    grey = (np.full((V, 3), GREY_ALBEDO, np.float32), np.zeros((0, V, 3), np.float32), np.zeros(0, np.float32), None)
    if albedo_source is None:
        return grey
    if landmarks is None:
        log.warning("%s: no iBUG landmarks, so no albedo can be transferred; using flat grey albedo "
                    "with no texture modes", path)
        return grey
    source = albedo_source
    if isinstance(source, str):
        if source != "embedded":
            raise ValueError(f"albedo_source={source!r}; expected 'embedded', a FaceModel or None")
        try:
            from ..embedded import embedded_model
        except ImportError as e:
            log.warning("%s: the embedded model is not available (%s); using flat grey albedo with no "
                        "texture modes", path, e)
            return grey
        source = embedded_model()
    if source.landmarks is None:
        log.warning("%s: albedo source %r has no landmarks; using flat grey albedo", path, source.name)
        return grey
    from ..transfer import transfer_albedo

    t = transfer_albedo(source, vertices, triangles, landmarks, source_shading=baked_shading(source))
    return t.mean_albedo, t.texture_basis, t.texture_sd, t.texture_bands


def baked_shading(source: FaceModel) -> np.ndarray | None:
    """(Vs,) shading factor baked into ``source``'s albedo, for :func:`~facegen.model.transfer.transfer_albedo`
    to divide out; None when the source bakes none (every model but the embedded one).

    The embedded model (from generator version 2) darkens its head surface where it faces down by
    ``1 - UNDERSIDE * max(0, -n_y)`` (``facegen.model.embedded.albedo``); its teeth are not darkened.
    The normals are those of its mean shape (the model baked those of its uncalibrated grid, a few
    degrees away: the factor differs by at most about 0.05).
    """
    if source.name != "embedded" or source.version == "1":
        return None
    try:
        from ..embedded.albedo import UNDERSIDE
    except ImportError:
        return None
    from ..transfer import underside_shading

    f = underside_shading(source.mean_shape, source.triangles, UNDERSIDE)
    teeth = source.regions.get("teeth")
    if teeth is not None:
        f[np.asarray(teeth)] = 1.0
    return f
