"""The per-process identity cache: sized in megabytes, least recently used out, same faces either way."""
from __future__ import annotations

import numpy as np
import pytest

from facegen.design import PRESETS, parse_config
from facegen.sampler import _cache_capacity, context_for


def test_capacity_follows_the_megabyte_budget(monkeypatch):
    monkeypatch.setenv("FACEGEN_IDENTITY_CACHE_MB", "1")
    assert _cache_capacity(2**20 // 100) == 100
    assert _cache_capacity(2**20) == 16  # never fewer than 16
    monkeypatch.delenv("FACEGEN_IDENTITY_CACHE_MB")
    assert _cache_capacity(254_592) >= 2000  # the default holds xu2018's embedded identities
    monkeypatch.setenv("FACEGEN_IDENTITY_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="FACEGEN_IDENTITY_CACHE_MB='lots'"):
        _cache_capacity(1000)


def test_evicted_identities_come_back_identical(monkeypatch):
    monkeypatch.setenv("FACEGEN_IDENTITY_CACHE_MB", "0")  # the floor: 16 identities
    raw = PRESETS["mini"] | {"name": "cache-test", "identities": {"count": 40}}
    ctx = context_for(parse_config(raw))
    first = [ctx.identity(i)[1].copy() for i in range(3)]
    for i in range(40):
        ctx.identity(i)
    assert len(ctx.cache) == 16 and 0 not in ctx.cache
    for i in range(3):
        assert np.array_equal(ctx.identity(i)[1], first[i])
