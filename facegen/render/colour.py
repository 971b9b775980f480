"""The sRGB transfer function (IEC 61966-2-1:1999, "sRGB"), and the table every backend encodes with.

Backends shade in linear light (``facegen.render.camera``). With ``encoding="srgb"`` (the default)
the image holds sRGB-encoded display values, as a camera writes a JPEG: a pixel's linear colour
``x`` (after compositing, clipped to [0, 1]) becomes the byte ``SRGB_LUT[floor(x * (N - 1) + 0.5)]``,
N = ``SRGB_LUT_SIZE`` = 4096: one table lookup per channel instead of a power per pixel, the same
in the numpy reference and the compiled code, so backends agree bit for bit. The table's byte is
within 0.5 + 255 * 12.92 * 0.5 / (N - 1) = 0.90 of ``255 * encode_srgb(x)`` (``encode_srgb``'s
slope is at most 12.92, on its linear segment), so it is the exactly rounded byte or its neighbour;
every 8-bit value ``b`` survives ``decode_srgb(b / 255)`` and the table unchanged. With
``encoding="linear"`` the byte is ``floor(clip(x, 0, 1) * 255 + 0.5)`` (linear values shown as
display values: the renderer's output before sRGB encoding existed).

A ``background`` given to the renderer is a display value in both encodings: in "srgb" it is
decoded (``decode_srgb``) and composited and box-filtered in linear light, so it shows as it was
given: a flat background's uncovered pixels are within one byte of ``255 * background`` (0.5 gives
127, a rounding tie in "linear" too) and exactly ``b`` for a value ``b / 255``.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["LUMA", "ENCODINGS", "SRGB_LUT", "SRGB_LUT_SIZE", "decode_srgb", "encode_srgb", "linear_background"]

#: Output encodings a render accepts; the first is the default.
ENCODINGS = ("srgb", "linear")

#: Entries of ``SRGB_LUT``: linear [0, 1] is sampled at i / (N - 1).
SRGB_LUT_SIZE = 4096


#: Rec. 709 luminance weights of linear RGB: Y = LUMA . rgb
LUMA = np.array([0.2126, 0.7152, 0.0722])


def encode_srgb(x) -> np.ndarray:
    """sRGB encoding (IEC 61966-2-1:1999, section 5.2, the "gamma" of a display value) of linear
    ``x``, float64::

        V = 12.92 x                        for x <= 0.0031308
        V = 1.055 x ** (1 / 2.4) - 0.055    otherwise

    Meant for x in [0, 1] (maps onto [0, 1]); below 0 the linear segment continues."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 0.0031308), 1.0 / 2.4) - 0.055)


def decode_srgb(v) -> np.ndarray:
    """Inverse of ``encode_srgb`` (IEC 61966-2-1:1999, section 5.2): linear value of the sRGB display
    value ``v``, float64::

        x = v / 12.92                       for v <= 0.04045
        x = ((v + 0.055) / 1.055) ** 2.4    otherwise

    Meant for v in [0, 1] (maps onto [0, 1]); below 0 the linear segment continues."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, np.power((np.maximum(v, 0.04045) + 0.055) / 1.055, 2.4))


def _table() -> np.ndarray:
    lut = np.floor(255.0 * encode_srgb(np.arange(SRGB_LUT_SIZE) / (SRGB_LUT_SIZE - 1)) + 0.5).astype(np.uint8)
    lut.setflags(write=False)
    return lut


#: (N,) uint8, read-only: ``SRGB_LUT[i] = floor(255 * encode_srgb(i / (N - 1)) + 0.5)``.
SRGB_LUT = _table()


@functools.lru_cache(maxsize=256)
def _decoded_colour(raw: bytes) -> np.ndarray:
    out = decode_srgb(np.frombuffer(raw, np.float64))
    out.setflags(write=False)
    return out


def linear_background(background: np.ndarray, encoding: str) -> np.ndarray:
    """The linear-light values the resolve step composites of a (display-value) ``background``:
    (H, W, 3) image or (3,) colour, float64 in [0, 1]. "linear": ``background`` itself; "srgb":
    ``decode_srgb(background)`` (cached for (3,) colours, read-only)."""
    if encoding == "linear":
        return background
    if background.ndim == 1:
        return _decoded_colour(np.ascontiguousarray(background, np.float64).tobytes())
    return decode_srgb(background)
