"""One entry point that turns a model spec (``embedded``, a file or a folder) into a FaceModel."""
from __future__ import annotations

from pathlib import Path

from .types import FaceModel, ModelFileError

__all__ = ["load_model", "MODEL_FORMATS"]

def _formats() -> dict[str, str]:
    from .loaders import LOADER_FORMATS

    return {"embedded": "the default model shipped with facegen (generated deterministically, cached)",
            **LOADER_FORMATS}


MODEL_FORMATS = _formats()


def load_model(spec: str | Path = "embedded") -> FaceModel:
    """Load a face model.

    ``spec`` is ``"embedded"`` or a path: a facegen ``.npz``; an ICT-FaceKit folder; a Surrey
    ``.bin``; a Basel 2009 ``.mat`` or 2017 ``.h5``; a FLAME ``.pkl`` or ``.npz``.
    """
    if str(spec) == "embedded":
        from .embedded import embedded_model

        return embedded_model()
    path = Path(spec)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder; give 'embedded' or a model path "
                             f"({', '.join(MODEL_FORMATS)})")
    from .loaders import load_path

    return load_path(path)
