"""Image and array encoders for shard members; deterministic for a given library version.

PNG uses zlib level 1: default-level PNG costs 7-10x the render itself at these sizes, and level 1
is within a few percent of its size on rendered faces (scripts/bench_sample.py measures both).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["encode_image", "encode_npy", "decode_image"]


def encode_image(img: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    """uint8 (H, W, 3) RGB or (H, W) grey -> PNG or JPEG bytes (4:2:0 chroma, no optimisation pass)."""
    buf = io.BytesIO()
    im = Image.fromarray(img)
    if fmt == "png":
        im.save(buf, format="PNG", compress_level=1)
    elif fmt == "jpg":
        im.save(buf, format="JPEG", quality=int(quality))
    else:
        raise ValueError(f"image format {fmt!r} is not supported; allowed: ['png', 'jpg']")
    return buf.getvalue()


def decode_image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encode_npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()
