"""Probe designs: controlled changes of face shape or texture around the design's identities.

A probe design has the ``identities`` section of the design a model was trained on (same seed,
count, genders, ethnicities, base ages), so identity ``i`` of the probe is person ``i`` of training,
plus a ``probe`` section::

    probe:
      kind: morph          # morph | cue_conflict | revcorr
      distances: [0, 1, 2, 3, 4, 6]   # morph: Mahalanobis distance of the change, in s.d. units
      directions: 4        # morph: random unit directions per identity and component
      partners: 1          # cue_conflict: texture donors per identity, all of its own gender x ethnicity cell
      sigma: 1.0           # revcorr: s.d. of independent shape and texture coefficient perturbations

* **morph**: only the shape coefficients move (texture fixed), or only the texture coefficients
  (shape fixed), by ``distance * u`` with u a random unit vector. Coefficients are in s.d. units,
  so the Euclidean length of the change is its Mahalanobis distance under the model's prior.
* **cue_conflict**: the shape of identity i (its coefficients and factor shape offsets) with the
  albedo of identity j (coefficients and factor albedo offsets). j is always of i's own gender x
  ethnicity cell, so shape and texture never disagree on group: across groups, a model that tells
  groups apart by skin colour would score texture-biased on every hybrid whatever it uses within a
  group. Identities cycle through the cells (``identity_for``: identity i is in cell
  ``i % n_cells``), so cell k holds identities k, k + n_cells, k + 2 n_cells, ...; the
  c-th partner of the r-th member of a cell is its member ``(r + 1 + c) mod m`` (m members), which
  makes every identity the texture donor of exactly ``partners`` hybrids. Age needs no matching:
  both halves of a hybrid are rendered at the sample's age (the shape donor's base age when
  ``age: base``), and base age does not enter the coefficients.
* **revcorr**: shape and texture coefficients of identity i plus independent N(0, sigma^2) noise.

Sample ``s`` of identity ``i`` takes condition ``s % n_conditions``; pose, light and the other
factors are drawn per sample as in any design. Every perturbation is a function of
(seed, identity, sample or direction) alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ConfigError

__all__ = ["ProbeSpec", "parse_probe", "probe_condition", "probe_delta", "cue_partner", "PROBE_KINDS"]

PROBE_KINDS = ("morph", "cue_conflict", "revcorr")
_COMPONENTS = ("shape", "texture")


@dataclass(frozen=True)
class ProbeSpec:
    kind: str
    distances: tuple[float, ...] = ()
    directions: int = 0
    partners: int = 0
    sigma: float = 0.0
    #: gender x ethnicity cells the identities cycle through (from the ``identities`` section; not
    #: part of the probe section, so not in ``to_dict``)
    n_cells: int = 1

    @property
    def n_conditions(self) -> int:
        if self.kind == "morph":
            return len(_COMPONENTS) * len(self.distances) * self.directions
        if self.kind == "cue_conflict":
            return self.partners
        return 1

    def to_dict(self) -> dict:
        d = {"kind": self.kind}
        if self.kind == "morph":
            d.update(distances=list(self.distances), directions=self.directions)
        elif self.kind == "cue_conflict":
            d.update(partners=self.partners)
        else:
            d.update(sigma=self.sigma)
        return d


def parse_probe(raw, n_identities: int, *, n_cells: int) -> ProbeSpec | None:
    """The validated probe section, or None; ``n_cells`` = genders x ethnicities of the design."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"probe: got {raw!r}; expected a mapping with 'kind' in {list(PROBE_KINDS)}")
    kind = raw.get("kind")
    if kind not in PROBE_KINDS:
        raise ConfigError(f"probe.kind: got {kind!r}; allowed: {list(PROBE_KINDS)}")
    allowed = {"morph": {"kind", "distances", "directions"}, "cue_conflict": {"kind", "partners"},
               "revcorr": {"kind", "sigma"}}[kind]
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"probe: unknown key(s) {sorted(unknown)} for kind {kind!r}; allowed: {sorted(allowed)}")
    if kind == "morph":
        d = raw.get("distances", [0, 0.5, 1, 1.5, 2, 3, 4, 6])
        if (not isinstance(d, list) or not d or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                                     or not 0 <= x <= 20 for x in d)):
            raise ConfigError(f"probe.distances: got {d!r}; expected a list of numbers in [0, 20] (s.d. units)")
        n = raw.get("directions", 4)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
            raise ConfigError(f"probe.directions: got {n!r}; expected an integer in [1, 1000]")
        return ProbeSpec(kind, distances=tuple(float(x) for x in d), directions=n)
    if kind == "cue_conflict":
        n = raw.get("partners", 1)
        smallest = n_identities // n_cells  # members of the smallest cell (cells fill in turn)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < smallest:
            raise ConfigError(
                f"probe.partners: got {n!r}; expected an integer in [1, {smallest - 1}]: texture donors come "
                f"from the shape donor's own gender x ethnicity cell, and identities.count {n_identities} over "
                f"{n_cells} cells leaves {smallest} in the smallest; lower probe.partners, or raise "
                f"identities.count to {n_cells} x (partners + 1) or more")
        return ProbeSpec(kind, partners=n, n_cells=n_cells)
    s = raw.get("sigma", 1.0)
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 5:
        raise ConfigError(f"probe.sigma: got {s!r}; expected a number in (0, 5] (s.d. units)")
    return ProbeSpec(kind, sigma=float(s))


def probe_condition(spec: ProbeSpec, n_identities: int, i: int, s: int) -> dict:
    """The record's ``probe`` entry of sample (i, s): which change was applied."""
    c = s % spec.n_conditions
    if spec.kind == "morph":
        direction = c % spec.directions
        rest = c // spec.directions
        dist = spec.distances[rest % len(spec.distances)]
        comp = _COMPONENTS[rest // len(spec.distances)]
        return {"kind": "morph", "component": comp, "distance": dist, "direction": direction}
    if spec.kind == "cue_conflict":
        return {"kind": "cue_conflict", "shape_identity": i,
                "texture_identity": cue_partner(n_identities, spec.n_cells, i, c)}
    return {"kind": "revcorr", "sigma": spec.sigma}


def cue_partner(n_identities: int, n_cells: int, i: int, c: int) -> int:
    """Texture donor of the ``c``-th cue-conflict hybrid of identity ``i``: the member ``(r + 1 + c) mod m``
    of i's gender x ethnicity cell, where i is its member r and the cell has m members (module docstring)."""
    k, r = i % n_cells, i // n_cells
    m = (n_identities - 1 - k) // n_cells + 1
    return k + ((r + 1 + c) % m) * n_cells


def probe_delta(spec: ProbeSpec, seed: int, i: int, s: int, cond: dict, n_shape: int,
                n_texture: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient changes (shape (Ks,), texture (Kt,)) in s.d. units for sample (i, s)."""
    ds, dt = np.zeros(n_shape), np.zeros(n_texture)
    if spec.kind == "morph":
        k = _COMPONENTS.index(cond["component"])
        rng = np.random.default_rng([seed, 3, i, cond["direction"], k])
        u = rng.standard_normal(n_shape if k == 0 else n_texture)
        u *= cond["distance"] / np.linalg.norm(u)
        if k == 0:
            ds = u
        else:
            dt = u
    elif spec.kind == "revcorr":
        rng = np.random.default_rng([seed, 4, i, s])
        ds = spec.sigma * rng.standard_normal(n_shape)
        dt = spec.sigma * rng.standard_normal(n_texture)
    return ds, dt
