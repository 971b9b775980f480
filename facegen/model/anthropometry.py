"""Craniofacial anthropometry on a model's named points: published norms and a measurement function.

Measurements are straight-line (Euclidean) distances in mm between two named vertices of
``FaceModel.points`` (Farkas's landmark abbreviations: ``zy`` zygion, ``al`` alare, ``en``
endocanthion, ``ch`` cheilion, ``n`` nasion, ``gn`` gnathion; ``_r`` the face's right, ``_l`` its
left), the way a caliper measures them on a person.

Norms: adult North American Whites (NAW, 18-25 years), from the tables of

* L. G. Farkas (ed.), *Anthropometry of the Head and Face*, 2nd ed., Raven Press, New York, 1994; and
* L. G. Farkas, M. J. Katic, C. R. Forrest, "International anthropometric study of facial
  morphology in various ethnic groups/races", *J. Craniofac. Surg.* 16(4):615-646, 2005, which
  reprints the NAW norms as its reference column.

=========  ==========================  ================  ================
measure    points                      female mean (sd)  male mean (sd)
=========  ==========================  ================  ================
zy-zy      face width (bizygomatic)    129.9 (5.3)       137.1 (4.3)
al-al      nose width                  31.4 (2.0)        34.9 (2.1)
en-en      intercanthal width          31.8 (2.3)        33.3 (2.7)
ch-ch      mouth width                 50.2 (3.2)        53.3 (3.3)
n-gn       face height (morphological) 111.8 (5.2)       121.3 (6.8)
=========  ==========================  ================  ================

(mm; the numbers were transcribed for this module from the NAW columns of those tables, and
should be checked against the printed page before being quoted elsewhere.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["Norm", "NORMS", "MEASURES", "measure", "measure_batch", "within_sd"]


@dataclass(frozen=True)
class Norm:
    """One published norm: mean and s.d. (mm) per sex, and the source."""

    female: tuple[float, float]
    male: tuple[float, float]
    source: str = "Farkas 1994; Farkas, Katic & Forrest 2005 (NAW, 18-25 y)"

    def of(self, sex: str) -> tuple[float, float]:
        if sex not in ("female", "male"):
            raise ValueError(f"sex={sex!r}; expected 'female' or 'male'")
        return self.female if sex == "female" else self.male


#: measure name -> (point a, point b)
MEASURES: dict[str, tuple[str, str]] = {
    "zy-zy": ("zy_r", "zy_l"),
    "al-al": ("al_r", "al_l"),
    "en-en": ("en_r", "en_l"),
    "ch-ch": ("ch_r", "ch_l"),
    "n-gn": ("n", "gn"),
}

NORMS: dict[str, Norm] = {
    "zy-zy": Norm(female=(129.9, 5.3), male=(137.1, 4.3)),
    "al-al": Norm(female=(31.4, 2.0), male=(34.9, 2.1)),
    "en-en": Norm(female=(31.8, 2.3), male=(33.3, 2.7)),
    "ch-ch": Norm(female=(50.2, 3.2), male=(53.3, 3.3)),
    "n-gn": Norm(female=(111.8, 5.2), male=(121.3, 6.8)),
}


def _indices(points: Mapping[str, int], who: str) -> dict[str, tuple[int, int]]:
    out = {}
    for name, (a, b) in MEASURES.items():
        missing = [p for p in (a, b) if p not in points]
        if missing:
            raise ValueError(f"{who}: model has no point(s) {missing} needed for {name}; "
                             f"it defines {sorted(points)}")
        out[name] = (int(points[a]), int(points[b]))
    return out


def measure(vertices: np.ndarray, model) -> dict[str, float]:
    """Distances (mm) of every measure in ``MEASURES`` on one face ``vertices`` (V, 3) mm of ``model``."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices has shape {v.shape}; expected (V, 3)")
    return {k: float(np.linalg.norm(v[a] - v[b])) for k, (a, b) in _indices(model.points, "measure").items()}


def measure_batch(vertices: np.ndarray, model) -> dict[str, np.ndarray]:
    """Like :func:`measure` for a batch (N, V, 3) of faces: name -> (N,) mm."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 3 or v.shape[2] != 3:
        raise ValueError(f"vertices has shape {v.shape}; expected (N, V, 3)")
    idx = _indices(model.points, "measure_batch")
    return {k: np.sqrt(((v[:, a] - v[:, b]) ** 2).sum(-1)) for k, (a, b) in idx.items()}


def within_sd(values: np.ndarray, name: str, sex: str, k: float = 2.0) -> np.ndarray:
    """Boolean (N,): whether each value of measure ``name`` lies within ``k`` s.d. of the sex's norm."""
    mu, sd = NORMS[name].of(sex)
    return np.abs(np.asarray(values, dtype=np.float64) - mu) <= k * sd
