"""The one in-memory face model type that every source (embedded, ICT, SFM, BFM, FLAME, npz) loads into.

Conventions (written once, used everywhere):

* Geometry is in millimetres, right-handed, head-centred: +x is the face's left (the viewer's
  right when the face looks at the camera), +y is up, +z points out of the face towards the viewer.
* Colours (albedo) are linear RGB in [0, 1], per vertex.
* Identity coefficients are in standard-deviation units: coefficient k = 1 means one s.d. of mode k,
  so random identities draw coefficients from N(0, 1).
* Factors follow the Glasgow GMF recipe: a face is
  ``mean + sum_f factor_offset_f + identity_residual + expression``, where each factor offset is
  linear in the factor's code (per-level offsets for categorical factors, a per-year direction for
  age) and identity is the residual modelled by PCA.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["FactorModel", "FaceModel", "Identity", "ModelFileError"]


class ModelFileError(ValueError):
    """A face-model file is missing, malformed or inconsistent; the message names file and problem."""


@dataclass(frozen=True)
class FactorModel:
    """Linear factor directions acting on shape and albedo.

    Attributes:
        genders: level names, e.g. ``("female", "male")``.
        gender_shape: (G, V, 3) mm, offset of each gender level from the population mean.
        gender_albedo: (G, V, 3) albedo offset of each gender level.
        ethnicities: level names, e.g. ``("african", "east_asian", "european", "south_asian")``.
        ethnicity_shape: (E, V, 3) mm offsets.
        ethnicity_albedo: (E, V, 3) albedo offsets.
        age_reference: the age (years) at which the age offset is zero.
        age_range: (min, max) ages the model is valid for, in years.
        age_shape: (V, 3) mm per year of age above ``age_reference``.
        age_albedo: (V, 3) albedo per year.
        age_albedo_gain: (V, 3) relative albedo change per year above the youngest age
            (``age_range[0]``), or None: what appears with age on every skin alike (wrinkles, pigment,
            fading brows). The albedo of identity, gender and ethnicity is multiplied by
            ``1 + (age - age_range[0]) * age_albedo_gain`` before ``age_albedo`` is added (``apply``).
        gender_albedo_gain: (G, V, 3) factor on the identity's albedo of each gender level, or None
            (1): what a level changes relative to each face's own albedo (a beard shadow darkens dark
            and light skin by the same fraction).
        ethnicity_albedo_gain: (E, V, 3) likewise for each ethnicity level (skin tone), or None.
    """

    genders: tuple[str, ...]
    gender_shape: np.ndarray
    gender_albedo: np.ndarray
    ethnicities: tuple[str, ...]
    ethnicity_shape: np.ndarray
    ethnicity_albedo: np.ndarray
    age_reference: float
    age_range: tuple[float, float]
    age_shape: np.ndarray
    age_albedo: np.ndarray
    age_albedo_gain: np.ndarray | None = None
    gender_albedo_gain: np.ndarray | None = None
    ethnicity_albedo_gain: np.ndarray | None = None

    def offsets(self, gender: str, ethnicity: str, age: float) -> tuple[np.ndarray, np.ndarray]:
        """Shape (V, 3) mm and albedo (V, 3) offsets for one combination of factor values: the additive
        part of the factors (``apply`` adds the relative gains too)."""
        g, e, age = self._levels(gender, ethnicity, age)
        da = age - self.age_reference
        shape = self.gender_shape[g] + self.ethnicity_shape[e] + da * self.age_shape
        albedo = self.gender_albedo[g] + self.ethnicity_albedo[e] + da * self.age_albedo
        return shape, albedo

    def _age(self, age: float) -> float:
        lo, hi = self.age_range
        if not lo <= float(age) <= hi:
            raise ValueError(f"age={age!r} is outside this model's range [{lo}, {hi}] years")
        return float(age)

    def _levels(self, gender: str, ethnicity: str, age: float) -> tuple[int, int, float]:
        """(gender index, ethnicity index, age), each checked."""
        return (_level(gender, self.genders, "gender"), _level(ethnicity, self.ethnicities, "ethnicity"),
                self._age(age))

    def age_gain(self, age: float) -> np.ndarray | None:
        """(V, 3) albedo gain ``1 + (age - age_range[0]) * age_albedo_gain`` at ``age``, or None."""
        return self._age_gain(self._age(age))

    def _age_gain(self, age: float) -> np.ndarray | None:
        if self.age_albedo_gain is None:
            return None
        return 1.0 + (age - self.age_range[0]) * self.age_albedo_gain

    def group_gain(self, gender: str, ethnicity: str) -> np.ndarray | None:
        """(V, 3) ``gender_albedo_gain[g] * ethnicity_albedo_gain[e]`` (a missing one counts as 1), or
        None when the model has neither."""
        return self._group_gain(_level(gender, self.genders, "gender"),
                                _level(ethnicity, self.ethnicities, "ethnicity"))

    def _group_gain(self, g: int, e: int) -> np.ndarray | None:
        out = None
        for gains, k in ((self.gender_albedo_gain, g), (self.ethnicity_albedo_gain, e)):
            if gains is not None:
                out = gains[k] if out is None else out * gains[k]
        return out

    def apply(self, vertices: np.ndarray, albedo: np.ndarray, gender: str, ethnicity: str,
              age: float) -> tuple[np.ndarray, np.ndarray]:
        """(vertices, albedo) of a face with these factor values, from its identity's ``vertices``
        (V, 3) mm and ``albedo`` (V, 3) (unclipped)::

            vertices + gender_shape[g] + ethnicity_shape[e] + da * age_shape
            (albedo * group_gain + gender_albedo[g] + ethnicity_albedo[e]) * age_gain(age) + da * age_albedo

        with da = age - age_reference, and either gain 1 where the model has none.
        """
        g, e, age = self._levels(gender, ethnicity, age)
        da = age - self.age_reference
        group = self._group_gain(g, e)
        alb = (albedo if group is None else albedo * group) + self.gender_albedo[g] + self.ethnicity_albedo[e]
        gain = self._age_gain(age)
        if gain is not None:
            alb = alb * gain
        return (vertices + self.gender_shape[g] + self.ethnicity_shape[e] + da * self.age_shape,
                alb + da * self.age_albedo)


def _level(value: str, allowed: tuple[str, ...], name: str) -> int:
    try:
        return allowed.index(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a level of this model; allowed: {list(allowed)}") from None


@dataclass(frozen=True)
class Identity:
    """One synthetic person: identity residual coefficients plus the factors that belong to the person.

    ``shape`` (Ks,) and ``texture`` (Kt,) are in s.d. units. ``base_age`` is in years.
    """

    shape: np.ndarray
    texture: np.ndarray
    gender: str
    ethnicity: str
    base_age: float

    def to_json(self) -> dict:
        return {
            "gender": self.gender,
            "ethnicity": self.ethnicity,
            "base_age": float(self.base_age),
            "shape_coeffs": [round(float(c), 6) for c in self.shape],
            "texture_coeffs": [round(float(c), 6) for c in self.texture],
        }


@dataclass(frozen=True)
class FaceModel:
    """A linear 3D morphable face model.

    Shapes (V vertices, F triangles, Ks / Kt / Ke modes):

    * ``mean_shape`` (V, 3) float32, mm. ``shape_basis`` (Ks, V, 3) float32, unit-norm-free modes:
      vertices = mean_shape + sum_k c_k * shape_sd[k] * shape_basis[k]; ``shape_sd`` (Ks,).
    * ``mean_albedo`` (V, 3) float32 in [0, 1]; ``texture_basis`` (Kt, V, 3); ``texture_sd`` (Kt,);
      ``texture_bands`` (Kt,) int, the spatial-frequency band of each texture mode (0 = coarsest),
      or None when the source has no banding.
    * ``expression_basis`` (Ke, V, 3) mm at full activation; ``expression_names`` (Ke,) names the
      units (FACS action units such as ``"AU12"``, or a source's blendshape names).
      ``expressions`` maps an expression name (``"happy"``) to weights over those units.
    * ``triangles`` (F, 3) int32, counter-clockwise seen from outside. ``uvs`` (V, 2) or None.
    * ``landmarks`` (68,) int32 vertex indices in iBUG 68-point order, or None.
    * ``regions`` names vertex index sets (``"face"``, ``"eyes"`` ...); ``points`` names single
      anthropometric vertices (``"n"``, ``"gn"``, ``"zy_r"`` ...), Farkas's abbreviations.
    * ``factors`` the gender/ethnicity/age factor model, or None when the source has none.
    * ``provenance`` free text: where the data came from and its licence.
    """

    name: str
    version: str
    mean_shape: np.ndarray
    shape_basis: np.ndarray
    shape_sd: np.ndarray
    mean_albedo: np.ndarray
    texture_basis: np.ndarray
    texture_sd: np.ndarray
    triangles: np.ndarray
    expression_basis: np.ndarray
    expression_names: tuple[str, ...]
    expressions: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    texture_bands: np.ndarray | None = None
    uvs: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    regions: Mapping[str, np.ndarray] = field(default_factory=dict)
    points: Mapping[str, int] = field(default_factory=dict)
    factors: FactorModel | None = None
    provenance: str = ""

    def __post_init__(self) -> None:
        from .validate import check_model

        check_model(self, source=f"FaceModel {self.name!r}")

    @property
    def n_vertices(self) -> int:
        return int(self.mean_shape.shape[0])

    @property
    def n_shape(self) -> int:
        return int(self.shape_basis.shape[0])

    @property
    def n_texture(self) -> int:
        return int(self.texture_basis.shape[0])

    def sha256(self) -> str:
        from .npz import model_sha256

        return model_sha256(self)

    # -- composition -------------------------------------------------------------------------
    def shape(self, coeffs: np.ndarray | None = None) -> np.ndarray:
        """Identity shape (V, 3) mm from coefficients (Ks,) in s.d. units (missing trailing ones = 0)."""
        return self.mean_shape + _combine(self.shape_basis, self.shape_sd, coeffs, "shape")

    def albedo(self, coeffs: np.ndarray | None = None) -> np.ndarray:
        """Identity albedo (V, 3) from coefficients (Kt,) in s.d. units."""
        return self.mean_albedo + _combine(self.texture_basis, self.texture_sd, coeffs, "texture")

    def expression_offset(self, expression: str | Mapping[str, float], intensity: float = 1.0,
                          dtype=None) -> np.ndarray:
        """Vertex offset (V, 3) mm of a named expression (or unit weights) at intensity in [0, 1],
        summed unit by unit in ``dtype`` (default: the model's own, float32 for stored models)."""
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"intensity={intensity!r} must be within [0, 1]")
        if isinstance(expression, str):
            if expression not in self.expressions:
                raise ValueError(
                    f"expression={expression!r} is not defined by model {self.name!r}; "
                    f"allowed: {sorted(self.expressions)}"
                )
            weights = self.expressions[expression]
        else:
            weights = expression
        out = np.zeros(self.mean_shape.shape, dtype or self.mean_shape.dtype)
        for unit, w in weights.items():
            try:
                k = self.expression_names.index(unit)
            except ValueError:
                raise ValueError(
                    f"expression unit {unit!r} is not in model {self.name!r}; allowed: {list(self.expression_names)}"
                ) from None
            out += (float(w) * float(intensity)) * self.expression_basis[k].astype(out.dtype, copy=False)
        return out

    def compose(
        self,
        identity: Identity,
        *,
        age: float | None = None,
        expression: str | Mapping[str, float] = "neutral",
        intensity: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (V, 3) float32 mm and albedo (V, 3) float32 in [0, 1] of one face.

        ``age`` defaults to the identity's base age. Factor offsets apply only if the model has factors.
        """
        verts = self.shape(identity.shape)
        alb = self.albedo(identity.texture)
        if self.factors is not None:
            verts, alb = self.factors.apply(verts, alb, identity.gender, identity.ethnicity,
                                            identity.base_age if age is None else age)
        if not (expression == "neutral" and "neutral" not in self.expressions):
            verts = verts + self.expression_offset(expression, intensity)
        return verts.astype(np.float32), np.clip(alb, 0.0, 1.0).astype(np.float32)

    def sample_identity(
        self,
        rng: np.random.Generator,
        *,
        gender: str | None = None,
        ethnicity: str | None = None,
        base_age: float | None = None,
        truncation: float = 3.0,
    ) -> Identity:
        """Draw an identity: coefficients from N(0, 1) truncated at ``truncation`` s.d. (resampled, not clipped).

        Unspecified factors are drawn uniformly from the model's levels (age uniform over its range).
        """
        shape = _truncnorm(rng, self.n_shape, truncation)
        texture = _truncnorm(rng, self.n_texture, truncation)
        f = self.factors
        if gender is None:
            gender = str(rng.choice(f.genders)) if f else "unknown"
        if ethnicity is None:
            ethnicity = str(rng.choice(f.ethnicities)) if f else "unknown"
        if base_age is None:
            base_age = float(rng.uniform(*f.age_range)) if f else 0.0
        return Identity(shape=shape, texture=texture, gender=gender, ethnicity=ethnicity, base_age=float(base_age))


def _combine(basis: np.ndarray, sd: np.ndarray, coeffs: np.ndarray | None, what: str) -> np.ndarray:
    if coeffs is None:
        return np.zeros(basis.shape[1:], dtype=np.float32)
    c = np.asarray(coeffs, dtype=np.float64).ravel()
    if c.size > basis.shape[0]:
        raise ValueError(f"got {c.size} {what} coefficients; this model has {basis.shape[0]} {what} modes")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{what} coefficients contain NaN or inf")
    w = (c * sd[: c.size]).astype(np.float32)
    return np.tensordot(w, basis[: c.size], axes=1)


def _truncnorm(rng: np.random.Generator, n: int, limit: float) -> np.ndarray:
    x = rng.standard_normal(n)
    bad = np.abs(x) > limit
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > limit
    return x
