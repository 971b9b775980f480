"""Image and array encoders for shard members; deterministic for a given library version.

PNG uses zlib level 1: default-level PNG costs 7-10x the render itself at these sizes, and level 1
is within a few percent of its size on rendered faces (scripts/bench_sample.py measures both).
JPEG goes through simplejpeg (libjpeg-turbo without Pillow's per-image Python overhead: 2-4x faster
at 64-224 px, the same quality setting and 4:2:0 chroma; ``tests/test_encode.py`` keeps Pillow's
encoder as the reference).
"""
from __future__ import annotations

import io

import numpy as np
import simplejpeg
from PIL import Image

__all__ = ["encode_image", "encode_npy", "decode_image"]


def encode_image(img: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    """uint8 (H, W, 3) RGB or (H, W) grey -> PNG or JPEG bytes (4:2:0 chroma, no optimisation pass)."""
    if fmt == "jpg":
        a = np.ascontiguousarray(img, dtype=np.uint8)
        grey = a.ndim == 2
        return simplejpeg.encode_jpeg(a[..., None] if grey else a, quality=int(quality),
                                      colorspace="GRAY" if grey else "RGB", colorsubsampling="420")
    if fmt == "png":
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    raise ValueError(f"image format {fmt!r} is not supported; allowed: ['png', 'jpg']")


def decode_image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encode_npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()
