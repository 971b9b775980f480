"""One entry point that turns a model spec (``embedded``, a file or a folder) into a FaceModel."""
from __future__ import annotations

import os
from collections import OrderedDict
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
    ``.bin``; a Basel 2009 ``.mat`` or 2017 ``.h5``; a FLAME ``.pkl`` or ``.npz``. A model loaded
    from a path is kept in memory (the last two) and returned again while its files are unchanged;
    treat it as read-only.
    """
    if str(spec) == "embedded":
        from .embedded import embedded_model

        return embedded_model()
    path = Path(spec)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder; give 'embedded' or a model path "
                             f"({', '.join(MODEL_FORMATS)})")
    key = _signature(path)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    from .loaders import load_path

    model = load_path(path)
    _LOADED[key] = model
    while len(_LOADED) > _KEEP:
        _LOADED.popitem(last=False)
    return model


#: models loaded from files in this process, by ``_signature``: one ``facegen sample`` asks for its
#: model in the design check, the renderer's context and the datasheet, and a file model (an ICT
#: folder with its albedo transfer) takes seconds to load
_LOADED: OrderedDict[tuple, FaceModel] = OrderedDict()
_KEEP = 2


def _signature(path: Path) -> tuple:
    """The resolved path with (name, size, mtime_ns, inode) of the file, or of every file under the
    folder, so that a model file rewritten in place loads again."""
    path = path.resolve()
    files = [path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())
    stats = []
    for q in files:
        st = os.stat(q)
        stats.append((str(q.relative_to(path)) if q != path else "", st.st_size, st.st_mtime_ns, st.st_ino))
    return (str(path), tuple(stats))
