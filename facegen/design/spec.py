"""Factor value specifications: a constant, a grid of levels, or a distribution.

In YAML a factor is written as one of::

    yaw: 0                          # constant
    yaw: {levels: [-30, 0, 30]}     # grid: factorial designs cross it, random designs draw a level
    yaw: {uniform: [-30, 30]}       # continuous draw, per sample
    yaw: {normal: [0, 10]}          # mean, s.d.; values outside the factor's allowed range are errors
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["FactorSpec", "parse_spec", "ConfigError"]


class ConfigError(ValueError):
    """A design config is invalid; the message names the key, the value and what is allowed."""


@dataclass(frozen=True)
class FactorSpec:
    """One factor: ``kind`` is 'constant', 'levels', 'uniform' or 'normal'; ``values`` its parameters."""

    kind: str
    values: tuple

    @property
    def is_grid(self) -> bool:
        return self.kind == "levels"

    @property
    def n_levels(self) -> int:
        return len(self.values) if self.kind == "levels" else 1

    def level(self, i: int) -> Any:
        return self.values[i] if self.kind == "levels" else self.values[0]

    def draw(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng`` (always consumes exactly one draw, so streams stay aligned)."""
        if self.kind == "constant":
            rng.random()
            return self.values[0]
        if self.kind == "levels":
            return self.values[int(rng.integers(len(self.values)))]
        if self.kind == "uniform":
            lo, hi = self.values
            return float(lo + (hi - lo) * rng.random())
        mu, sd = self.values
        return float(mu + sd * rng.standard_normal())

    def support(self) -> tuple:
        """Every value a sample can take (levels, constant) or the (lo, hi) bounds reached with
        probability ~1 (uniform; normal at +-4 s.d.)."""
        if self.kind in ("constant", "levels"):
            return self.values
        if self.kind == "uniform":
            return self.values
        mu, sd = self.values
        return (mu - 4 * sd, mu + 4 * sd)

    def to_yaml(self) -> Any:
        if self.kind == "constant":
            return self.values[0]
        return {self.kind: list(self.values)}


def parse_spec(key: str, value: Any, *, numeric: bool = True,
               bounds: tuple[float, float] | None = None, choices: Sequence[str] | None = None) -> FactorSpec:
    """Parse and validate one factor spec; ``key`` is the dotted config key used in error messages."""
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("levels", "uniform", "normal"):
            raise ConfigError(f"{key}: got {value!r}; expected a constant, {{levels: [...]}}, "
                              "{uniform: [lo, hi]} or {normal: [mean, sd]}")
        kind, params = next(iter(value.items()))
        if not isinstance(params, (list, tuple)) or not params:
            raise ConfigError(f"{key}.{kind}: got {params!r}; expected a non-empty list")
        if kind in ("uniform", "normal"):
            if not numeric:
                raise ConfigError(f"{key}: {kind} is only allowed for numeric factors; use levels")
            if len(params) != 2:
                raise ConfigError(f"{key}.{kind}: got {params!r}; expected two numbers")
            params = [_num(f"{key}.{kind}", p) for p in params]
            if kind == "uniform" and not params[0] <= params[1]:
                raise ConfigError(f"{key}.uniform: got {params!r}; expected lo <= hi")
            if kind == "normal" and params[1] < 0:
                raise ConfigError(f"{key}.normal: s.d. {params[1]} must be >= 0")
        spec = FactorSpec(kind, tuple(params))
    else:
        spec = FactorSpec("constant", (value,))
    vals = spec.values if spec.kind in ("constant", "levels") else ()
    for v in vals:
        if numeric:
            _num(key, v)
        elif choices is not None and v not in choices:
            raise ConfigError(f"{key}: {v!r} is not allowed; allowed: {list(choices)}")
    if spec.kind == "levels" and len(set(map(str, vals))) != len(vals):
        raise ConfigError(f"{key}.levels: {list(vals)} has duplicates")
    if numeric:
        spec = FactorSpec(spec.kind, tuple(float(v) for v in spec.values))
        if bounds is not None:
            sup = spec.support()
            lo, hi = (min(sup), max(sup)) if spec.kind in ("constant", "levels") else sup
            if lo < bounds[0] or hi > bounds[1]:
                what = "reaches" if spec.kind == "normal" else "has"
                raise ConfigError(f"{key}: {spec.to_yaml()!r} {what} values outside the allowed range "
                                  f"[{bounds[0]}, {bounds[1]}]")
    return spec


def _num(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise ConfigError(f"{key}: got {v!r}; expected a finite number")
    return float(v)
