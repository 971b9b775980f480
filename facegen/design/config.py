"""Design configs: parsed from YAML (or a dict), validated completely before any work starts.

Every error names the dotted key, the value received and what is allowed. The schema, with the
allowed range of every factor, is the table ``FACTORS`` below and the sections of
:class:`DesignConfig`; ``facegen sample --preset mini --print-config`` prints a full example.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .probe import ProbeSpec, parse_probe
from .spec import ConfigError, FactorSpec, parse_spec

__all__ = ["DesignConfig", "parse_config", "load_config", "FACTORS", "ConfigError"]

# Factor name -> (section, numeric, allowed range). Order is the canonical order used for grid
# enumeration and random draws; changing it changes every dataset, so append only.
FACTORS: dict[str, tuple[str, bool, tuple[float, float] | None]] = {
    "age": ("intrinsic", True, (0.0, 120.0)),
    "expression": ("intrinsic", False, None),
    "expression_intensity": ("intrinsic", True, (0.0, 1.0)),
    "yaw": ("extrinsic", True, (-90.0, 90.0)),
    "pitch": ("extrinsic", True, (-60.0, 60.0)),
    "roll": ("extrinsic", True, (-60.0, 60.0)),
    "light_azimuth": ("extrinsic", True, (-90.0, 90.0)),
    "light_elevation": ("extrinsic", True, (-90.0, 90.0)),
    "light_intensity": ("extrinsic", True, (0.0, 5.0)),
    "ambient": ("extrinsic", True, (0.0, 1.0)),
    "scale": ("extrinsic", True, (0.2, 5.0)),
    "translation_x": ("extrinsic", True, (-1000.0, 1000.0)),
    "translation_y": ("extrinsic", True, (-1000.0, 1000.0)),
    "background": ("extrinsic", True, (0.0, 1.0)),
}
DEFAULT_FACTORS: dict[str, Any] = {
    "age": "base", "expression": "neutral", "expression_intensity": 1.0,
    "yaw": 0.0, "pitch": 0.0, "roll": 0.0, "light_azimuth": 0.0, "light_elevation": 0.0,
    "light_intensity": 0.7, "ambient": 0.35, "scale": 1.0, "translation_x": 0.0, "translation_y": 0.0,
    "background": 0.5,
}
#: ``identities`` defaults: what a design without those keys gets (and all a model without a factor
#: model accepts, see ``facegen.generate.check_design``).
DEFAULT_GENDERS = ("female", "male")
DEFAULT_ETHNICITIES = ("african", "east_asian", "european", "south_asian")
DEFAULT_BASE_AGE = {"uniform": [25, 45]}
EXPRESSIONS = ("neutral", "happy", "surprise", "fear", "disgust", "anger", "sad")
SPLIT_MODES = ("image", "identity", "factors")
FORMATS = ("png", "jpg")
EXTRAS = ("mask", "depth", "coeffs")
#: ``render.detail``: "auto" (by image size, ``facegen.model.lod.auto_fraction``), "full", or a
#: fraction of the model's triangles (``facegen.model.lod.DETAIL_LEVELS``).
DETAILS = ("auto", "full", 1.0, 0.5, 0.25)
#: ``render.exposure``: "fixed" (one exposure for every image: a darker skin renders darker) or
#: "face" (each image exposed for its face, as a camera's face metering does; ``facegen.sampler``)
EXPOSURES = ("fixed", "face")

_TOP = {"name", "description", "model", "seed", "identities", "samples", "intrinsic", "extrinsic",
        "render", "splits", "shards", "probe"}


@dataclass(frozen=True)
class DesignConfig:
    """A validated design. ``factors`` maps every name in FACTORS to its FactorSpec ('age' may be
    the constant 'base': the identity's own base age). See module docstring for the YAML form."""

    name: str
    description: str
    model: str
    seed: int
    n_identities: int
    genders: tuple[str, ...]
    ethnicities: tuple[str, ...]
    base_age: FactorSpec
    truncation: float
    mode: str  # 'factorial' or 'random'
    per_identity: int  # random mode: samples per identity; factorial: repeats of the full grid
    factors: Mapping[str, FactorSpec]
    image_size: int
    image_format: str
    quality: int
    backend: str
    extras: tuple[str, ...]
    split_by: str
    fractions: Mapping[str, float]
    heldout: tuple[Mapping[str, tuple], ...]
    samples_per_shard: int
    probe: ProbeSpec | None = None
    detail: str | float = "auto"  # render.detail, see DETAILS
    exposure: str = "fixed"  # render.exposure, see EXPOSURES
    identity_seed: int | None = None  # identities.seed: who the people are, apart from the sample seed
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @property
    def grid_factors(self) -> list[str]:
        return [k for k in FACTORS if self.factors[k].is_grid]

    @property
    def n_cells(self) -> int:
        n = 1
        for k in self.grid_factors:
            n *= self.factors[k].n_levels
        return n

    @property
    def samples_per_identity(self) -> int:
        return self.n_cells * self.per_identity if self.mode == "factorial" else self.per_identity

    @property
    def n_samples(self) -> int:
        return self.n_identities * self.samples_per_identity

    def to_dict(self) -> dict:
        """The full config in canonical YAML form (every default filled in)."""
        return {
            "name": self.name, "description": self.description, "model": self.model, "seed": self.seed,
            "identities": {"count": self.n_identities, "genders": list(self.genders),
                           "ethnicities": list(self.ethnicities), "base_age": self.base_age.to_yaml(),
                           "truncation": self.truncation,
                           **({"seed": self.identity_seed} if self.identity_seed is not None else {})},
            "samples": {"mode": self.mode, ("repeats" if self.mode == "factorial" else "per_identity"):
                        self.per_identity},
            "intrinsic": {k: self.factors[k].to_yaml() for k, v in FACTORS.items() if v[0] == "intrinsic"},
            "extrinsic": {k: self.factors[k].to_yaml() for k, v in FACTORS.items() if v[0] == "extrinsic"},
            "render": {"image_size": self.image_size, "format": self.image_format, "quality": self.quality,
                       "backend": self.backend, "detail": self.detail, "exposure": self.exposure,
                       "extras": list(self.extras)},
            "splits": {"by": self.split_by, "fractions": dict(self.fractions),
                       **({"heldout": [{k: list(v) for k, v in h.items()} for h in self.heldout]}
                          if self.heldout else {})},
            "shards": {"samples_per_shard": self.samples_per_shard},
            **({"probe": self.probe.to_dict()} if self.probe else {}),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)


def _section(raw: Mapping, key: str, allowed: set[str]) -> dict:
    sec = raw.get(key, {}) or {}
    if not isinstance(sec, dict):
        raise ConfigError(f"{key}: got {sec!r}; expected a mapping")
    unknown = set(sec) - allowed
    if unknown:
        raise ConfigError(f"{key}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return sec


def _int(key: str, v: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(f"{key}: got {v!r}; expected an integer {rng}")
    return v


def _choice(key: str, v: Any, allowed) -> Any:
    if v not in allowed:
        raise ConfigError(f"{key}: got {v!r}; allowed: {list(allowed)}")
    return v


def _names(key: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{key}: got {v!r}; expected a non-empty list of names")
    if len(set(v)) != len(v):
        raise ConfigError(f"{key}: {list(v)} has duplicates")
    return tuple(v)


def parse_config(raw: Mapping[str, Any]) -> DesignConfig:
    """Validate a config mapping (as loaded from YAML) into a DesignConfig; raise ConfigError."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config: got {type(raw).__name__}; expected a mapping of sections {sorted(_TOP)}")
    unknown = set(raw) - _TOP
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP)}")
    ids = _section(raw, "identities", {"count", "genders", "ethnicities", "base_age", "truncation", "seed"})
    smp = _section(raw, "samples", {"mode", "per_identity", "repeats"})
    intr = _section(raw, "intrinsic", {k for k, v in FACTORS.items() if v[0] == "intrinsic"})
    extr = _section(raw, "extrinsic", {k for k, v in FACTORS.items() if v[0] == "extrinsic"})
    ren = _section(raw, "render", {"image_size", "format", "quality", "backend", "detail", "exposure", "extras"})
    spl = _section(raw, "splits", {"by", "fractions", "heldout"})
    sh = _section(raw, "shards", {"samples_per_shard"})

    seed = _int("seed", raw.get("seed", 0), 0, 2**63 - 1)
    model = raw.get("model", "embedded")
    if not isinstance(model, str):
        raise ConfigError(f"model: got {model!r}; expected 'embedded' or a path to a model file")
    mode = _choice("samples.mode", smp.get("mode", "factorial"), ("factorial", "random"))
    if mode == "factorial" and "per_identity" in smp:
        raise ConfigError("samples.per_identity: only for mode 'random'; factorial designs use samples.repeats")
    if mode == "random" and "repeats" in smp:
        raise ConfigError("samples.repeats: only for mode 'factorial'; random designs use samples.per_identity")
    per = _int("samples.per_identity" if mode == "random" else "samples.repeats",
               smp.get("per_identity" if mode == "random" else "repeats", 1), 1)
    image_size = _int("render.image_size", ren.get("image_size", 128), 16, 2048)

    factors: dict[str, FactorSpec] = {}
    for k, (sec, numeric, bounds) in FACTORS.items():
        src = intr if sec == "intrinsic" else extr
        v = src.get(k, DEFAULT_FACTORS[k])
        if k == "age" and v == "base":
            factors[k] = FactorSpec("constant", ("base",))
            continue
        if k.startswith("translation_"):
            bounds = (-image_size / 2, image_size / 2)
        factors[k] = parse_spec(f"{sec}.{k}", v, numeric=numeric, bounds=bounds,
                                choices=EXPRESSIONS if k == "expression" else None)

    fr = spl.get("fractions", {"train": 0.8, "val": 0.1, "test": 0.1})
    if not isinstance(fr, dict) or not fr or not all(isinstance(v, (int, float)) and v >= 0 for v in fr.values()):
        raise ConfigError(f"splits.fractions: got {fr!r}; expected a mapping split name -> fraction >= 0")
    if abs(sum(fr.values()) - 1.0) > 1e-9:
        raise ConfigError(f"splits.fractions: {fr!r} sums to {sum(fr.values())}; fractions must sum to 1")
    for name in fr:
        if not name.isidentifier() or "-" in name:
            raise ConfigError(f"splits.fractions: split name {name!r} must be letters, digits and '_'")
    split_by = _choice("splits.by", spl.get("by", "image"), SPLIT_MODES)
    heldout = tuple(_heldout(spl.get("heldout", []), factors, split_by, fr))

    extras = ren.get("extras", [])
    if not isinstance(extras, list) or any(e not in EXTRAS for e in extras):
        raise ConfigError(f"render.extras: got {extras!r}; allowed items: {list(EXTRAS)}")
    fmt = _choice("render.format", ren.get("format", "png"), FORMATS)
    quality = _int("render.quality", ren.get("quality", 90), 1, 100)
    backend = ren.get("backend", "numba")
    if not isinstance(backend, str):
        raise ConfigError(f"render.backend: got {backend!r}; expected a backend name")
    detail = ren.get("detail", "auto")
    if isinstance(detail, bool) or detail not in DETAILS:
        raise ConfigError(f"render.detail: got {detail!r}; allowed: {list(DETAILS)} (fractions of the model's "
                          "triangles; 'auto' picks by image size)")
    detail = float(detail) if isinstance(detail, (int, float)) else detail
    exposure = _choice("render.exposure", ren.get("exposure", "fixed"), EXPOSURES)
    truncation = ids.get("truncation", 3.0)
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not 0.5 <= truncation <= 10:
        raise ConfigError(f"identities.truncation: got {truncation!r}; expected a number in [0.5, 10] (s.d.)")
    name = raw.get("name", "custom")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name: got {name!r}; expected a non-empty string")
    n_ids = _int("identities.count", ids.get("count", 16), 1, 10**7)
    genders = _names("identities.genders", ids.get("genders", list(DEFAULT_GENDERS)))
    ethnicities = _names("identities.ethnicities", ids.get("ethnicities", list(DEFAULT_ETHNICITIES)))
    probe = parse_probe(raw.get("probe"), n_ids, n_cells=len(genders) * len(ethnicities))
    if probe is not None and mode != "random":
        raise ConfigError("probe: probe designs draw pose and light per sample; set samples.mode: random")
    if probe is not None and per % probe.n_conditions:
        raise ConfigError(f"samples.per_identity: {per} is not a multiple of the probe's {probe.n_conditions} "
                          "conditions; every condition must appear equally often")
    return DesignConfig(
        name=name, description=str(raw.get("description", "")), model=model, seed=seed,
        n_identities=n_ids, probe=probe,
        identity_seed=None if ids.get("seed") is None else _int("identities.seed", ids["seed"], 0, 2**63 - 1),
        genders=genders, ethnicities=ethnicities,
        base_age=parse_spec("identities.base_age", ids.get("base_age", DEFAULT_BASE_AGE),
                            bounds=(0.0, 120.0)),
        truncation=float(truncation), mode=mode, per_identity=per, factors=factors,
        image_size=image_size, image_format=fmt, quality=quality, backend=backend, detail=detail,
        exposure=exposure, extras=tuple(extras), split_by=split_by, fractions={k: float(v) for k, v in fr.items()},
        heldout=heldout,
        samples_per_shard=_int("shards.samples_per_shard", sh.get("samples_per_shard", 1000), 1, 10**6),
        raw=dict(raw),
    )


def _heldout(rules: Any, factors: Mapping[str, FactorSpec], split_by: str, fr: Mapping) -> list[dict]:
    if split_by != "factors":
        if rules:
            raise ConfigError("splits.heldout: only used with splits.by = 'factors'")
        return []
    if not isinstance(rules, list) or not rules:
        raise ConfigError("splits.heldout: splits.by = 'factors' needs a non-empty list of rules such as "
                          "[{yaw: [-30, 30], light_azimuth: [-30, 30]}] (a sample matching every factor of a "
                          "rule goes to split 'heldout')")
    if "heldout" in fr:
        raise ConfigError("splits.fractions: 'heldout' is reserved for held-out factor combinations")
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            raise ConfigError(f"splits.heldout[{i}]: got {rule!r}; expected a mapping factor -> list of levels")
        for k, levels in rule.items():
            if k not in factors or not factors[k].is_grid:
                grid = [f for f in FACTORS if factors[f].is_grid]
                raise ConfigError(f"splits.heldout[{i}].{k}: held-out rules use grid factors; grid factors "
                                  f"of this design: {grid}")
            if not isinstance(levels, list) or any(lv not in factors[k].values for lv in levels):
                raise ConfigError(f"splits.heldout[{i}].{k}: got {levels!r}; expected a list of levels from "
                                  f"{list(factors[k].values)}")
        out.append({k: tuple(v) for k, v in rule.items()})
    return out


def load_config(path: str | Path) -> DesignConfig:
    """Read and validate a YAML design file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    try:
        return parse_config(raw or {})
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
