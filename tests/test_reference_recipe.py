"""scripts/reference_report.py's rescaled recipe: the training design and the three probe designs
keep mini's seed and factors, so the probes show the trained people, at the asked scale."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from facegen.design import PRESETS, identity_for, parse_config
from facegen.model import load_model

_spec = importlib.util.spec_from_file_location("reference_report",
                                               Path(__file__).parents[1] / "scripts" / "reference_report.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


def test_default_recipe_uses_the_presets():
    assert ref.scaled_designs(None, None, None, None) == {k: None for k in ("mini", *ref.PROBES)}


def test_rescaled_designs_show_the_same_people_at_the_asked_scale():
    m = load_model("embedded")
    d = {k: parse_config(v) for k, v in ref.scaled_designs(200, 112, 64, 50).items()}
    train = d["mini"]
    assert (train.n_identities, train.image_size, train.samples_per_identity) == (200, 112, 64)
    assert d["probe-revcorr"].samples_per_identity == 50
    assert d["probe-morph"].samples_per_identity == PRESETS["probe-morph"]["samples"]["per_identity"]
    for name, cfg in d.items():
        assert cfg.seed == train.seed and cfg.n_identities == 200 and cfg.image_size == 112, name
        assert cfg.name == f"{name}-200x112"
    for i in (0, 57, 199):   # the same person in training and in every probe design
        a = identity_for(train, m, i)
        for p in ref.PROBES:
            b = identity_for(d[p], m, i)
            assert (a.shape == b.shape).all() and (a.texture == b.texture).all() and a.gender == b.gender
