"""Shared fixtures. Real third-party models are read from ../shared/data/models (or $FACEGEN_TEST_MODELS)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _models_dir() -> Path:
    env = os.environ.get("FACEGEN_TEST_MODELS")
    return Path(env) if env else ROOT.parent / "shared" / "data" / "models"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Folder of real third-party face models; skips the test with a reason when it is absent."""
    d = _models_dir()
    if not d.is_dir():
        pytest.skip(f"real face models not found at {d} (set FACEGEN_TEST_MODELS to their folder)")
    return d


def _model_folder(models_dir: Path, name: str) -> Path:
    d = models_dir / name
    if not d.is_dir():
        pytest.skip(f"{name} not found at {d}")
    return d


@pytest.fixture(scope="session")
def ict_dir(models_dir) -> Path:
    """The ICT-FaceKit subset (skips when absent)."""
    return _model_folder(models_dir, "ict-facekit-subset")


@pytest.fixture(scope="session")
def sfm_dir(models_dir) -> Path:
    """The Surrey Face Model, 3,448 vertices (skips when absent)."""
    return _model_folder(models_dir, "sfm-3448")


@pytest.fixture(scope="session")
def embedded():
    """The embedded default face model (built once per session)."""
    from facegen.model import load_model

    return load_model("embedded")
