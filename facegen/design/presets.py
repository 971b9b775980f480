"""Named designs. ``facegen sample --preset NAME --print-config`` prints one as YAML to copy and edit."""
from __future__ import annotations

from .config import DesignConfig, parse_config
from .spec import ConfigError

__all__ = ["PRESETS", "preset", "preset_names"]

_LEVELS5 = {"levels": [-30, -15, 0, 15, 30]}
_EXPRESSIONS = ["neutral", "happy", "surprise", "fear", "disgust", "anger", "sad"]

PRESETS: dict[str, dict] = {
    # Xu et al. 2018 (arXiv 1811.07807): 2,000 identities x 3 ages x 7 expressions x 5x5 poses x 5x5
    # lights = 13,125 images per identity, 26,250,000 in all, 224 px, random scale and translation.
    "xu2018": {
        "name": "xu2018",
        "description": "The design of Xu et al. 2018: 2000 identities x ages 25/45/65 x 7 expressions x "
                       "yaw, pitch at 5 levels in [-30, 30] x light azimuth, elevation at 5 levels in "
                       "[-30, 30]; random scale and 2-D translation; 26,250,000 images at 224 px.",
        "model": "embedded", "seed": 2018,
        "identities": {"count": 2000, "base_age": 45},
        "samples": {"mode": "factorial", "repeats": 1},
        "intrinsic": {"age": {"levels": [25, 45, 65]}, "expression": {"levels": _EXPRESSIONS},
                      "expression_intensity": 1.0},
        "extrinsic": {"yaw": _LEVELS5, "pitch": _LEVELS5, "light_azimuth": _LEVELS5,
                      "light_elevation": _LEVELS5, "scale": {"uniform": [0.9, 1.1]},
                      "translation_x": {"uniform": [-11.2, 11.2]}, "translation_y": {"uniform": [-11.2, 11.2]}},
        "render": {"image_size": 224, "format": "jpg", "quality": 95},
        "splits": {"by": "image", "fractions": {"train": 0.8, "val": 0.1, "test": 0.1}},
        "shards": {"samples_per_shard": 5000},
    },
    # Small enough to render in about a minute on 2 cores and to train the reference ResNet-10 on a
    # CPU, yet varying every factor of the paper (drawn at random rather than crossed).
    "mini": {
        "name": "mini",
        "description": "A small random design over every factor of xu2018: 24 identities x 400 images "
                       "at 64 px; trainable on a CPU.",
        "model": "embedded", "seed": 0,
        "identities": {"count": 24, "base_age": {"uniform": [25, 45]}},
        "samples": {"mode": "random", "per_identity": 400},
        "intrinsic": {"age": {"levels": [25, 45, 65]}, "expression": {"levels": _EXPRESSIONS},
                      "expression_intensity": {"uniform": [0.5, 1.0]}},
        "extrinsic": {"yaw": _LEVELS5, "pitch": _LEVELS5, "light_azimuth": _LEVELS5,
                      "light_elevation": _LEVELS5, "scale": {"uniform": [0.9, 1.1]},
                      "translation_x": {"uniform": [-3, 3]}, "translation_y": {"uniform": [-3, 3]}},
        "render": {"image_size": 64, "format": "jpg", "quality": 90},
        "splits": {"by": "image", "fractions": {"train": 0.8, "val": 0.1, "test": 0.1}},
        "shards": {"samples_per_shard": 1000},
    },
}



def _probe(kind: str, per_identity: int, probe: dict, description: str) -> dict:
    """A probe design on the identities of 'mini' (same seed and identities section), at its image
    size, with pose and light drawn from the training ranges."""
    import copy

    raw = copy.deepcopy(PRESETS["mini"])
    raw.update(name=f"probe-{kind}", description=description, probe=probe)
    raw["samples"] = {"mode": "random", "per_identity": per_identity}
    raw["intrinsic"]["expression"] = "neutral"
    raw["render"]["extras"] = ["coeffs"]
    raw["splits"] = {"by": "image", "fractions": {"probe": 1.0}}
    return raw


# Two random identities lie about sqrt(2 * 50) = 10 s.d. apart, so distances up to 12 s.d. reach
# "another person" and let retention fall through 50%.
PRESETS["probe-morph"] = _probe(
    "morph", 108, {"kind": "morph", "distances": [0, 1, 2, 3, 4, 6, 8, 10, 12], "directions": 3},
    "Shape-only and texture-only morphs of the 24 mini identities at Mahalanobis distances 0-12 s.d., "
    "3 random directions each, 2 renders per condition under random training pose and light.")
# Hybrids pair within a gender x ethnicity cell, so shape and skin colour never disagree on group; the
# 24 mini identities fill 8 cells with 3 each, which allows 2 partners (all 48 within-cell pairs, each
# ordered both ways), rendered 12 times each: as many images as before (576).
PRESETS["probe-cue"] = _probe(
    "cue", 24, {"kind": "cue_conflict", "partners": 2},
    "Cue-conflict hybrids: the shape of each mini identity with the texture of each of the 2 others of its "
    "gender x ethnicity cell, 12 renders each under random training pose and light.")
PRESETS["probe-revcorr"] = _probe(
    "revcorr", 200, {"kind": "revcorr", "sigma": 1.0},
    "Reverse correlation: 200 trials per mini identity with independent N(0, 1) shape and texture "
    "coefficient noise.")


def preset_names() -> list[str]:
    return sorted(PRESETS)


def preset(name: str) -> DesignConfig:
    """The validated DesignConfig of preset ``name``."""
    if name not in PRESETS:
        raise ConfigError(f"preset {name!r} does not exist; allowed: {preset_names()}")
    return parse_config(PRESETS[name])
