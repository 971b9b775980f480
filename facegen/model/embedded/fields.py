"""Smooth random fields on the head surface, and a deterministic PCA of displacement fields.

A field of correlation length ``L`` mm is white noise on a regular raster over the surface
coordinates ``Grid.surf`` (azimuth x 80 mm, row arc length; cell size L/4, wrapped around the
head), smoothed with a Gaussian of s.d. ``L`` (scipy.ndimage, separable, no BLAS) and read back at
the vertices by bilinear interpolation. Seeds come from one ``numpy.random.Generator`` per field
(``SeedSequence((SEED, tag, k))``), so each field is reproducible on its own.

``pca_modes`` turns K displacement fields (each the effect of a unit-variance latent) into
orthonormal principal modes with decreasing s.d. using only element-wise numpy operations in a
fixed order plus a K x K symmetric eigendecomposition, so the bytes do not depend on BLAS threads.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["SEED", "rng_for", "smooth_field", "pca_modes"]

SEED = 20181119   # Xu et al. 2018 appeared on arXiv on 19 Nov 2018


def rng_for(tag: int, k: int) -> np.random.Generator:
    """The generator of random field ``k`` of kind ``tag``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence((SEED, tag, k))))


def smooth_field(surf: np.ndarray, length_mm: float, rng: np.random.Generator, weight: np.ndarray,
                 channels: int = 1) -> np.ndarray:
    """A smooth random field (V, channels) with unit weighted RMS.

    Args:
        surf: (V, 2) surface coordinates, mm.
        length_mm: correlation length (Gaussian smoothing s.d.), mm.
        rng: source of the white noise.
        weight: (V,) non-negative weights of the vertices that count in the RMS (the face region).
        channels: number of independent channels (3 for a displacement field).
    """
    cell = length_mm / 4.0
    lo = surf.min(0)
    span = surf.max(0) - lo
    period = 2.0 * np.pi * 80.0
    nu = int(np.ceil(period / cell))
    nv = int(np.ceil(span[1] / cell)) + 9
    u = (surf[:, 0] - (-np.pi * 80.0)) / period * nu
    v = (surf[:, 1] - lo[1]) / cell + 4.0
    out = np.empty((surf.shape[0], channels))
    for c in range(channels):
        noise = rng.standard_normal((nv, nu))
        sm = ndimage.gaussian_filter(noise, sigma=4.0, mode=("nearest", "wrap"), truncate=3.0)
        out[:, c] = ndimage.map_coordinates(sm, [v, u], order=1, mode="grid-wrap")
    w = weight / weight.sum()
    rms = np.sqrt((w[:, None] * out ** 2).sum())
    return out / rms


def pca_modes(fields: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Principal modes of ``sum_k c_k fields[k]`` with c ~ N(0, I).

    Args:
        fields: K arrays (V, 3), mm: the displacement caused by one s.d. of latent k.

    Returns:
        basis (K, V, 3) float64 orthonormal (sum of squares 1 per mode) and sd (K,) mm, decreasing:
        the same Gaussian distribution of shapes, re-expressed in uncorrelated modes.

    The Gram matrix and the mode sums use ``np.einsum`` without ``optimize`` (numpy's own loops in
    a fixed order, never BLAS), so the result does not depend on the number of BLAS threads.
    """
    K = len(fields)
    F = np.stack([np.asarray(f, dtype=np.float64).ravel() for f in fields])       # K x 3V
    gram = np.einsum("iv,jv->ij", F, F, optimize=False)
    gram = np.round(0.5 * (gram + gram.T), 6)        # guard the eigensolver against last-bit noise
    evals, evecs = np.linalg.eigh(gram)
    order = np.argsort(-evals, kind="stable")
    evals, evecs = np.clip(evals[order], 0.0, None), evecs[:, order]
    sd = np.sqrt(evals)
    basis = np.einsum("km,kv->mv", evecs, F, optimize=False) / np.maximum(sd, 1e-12)[:, None]
    # sign convention: each mode's largest-magnitude coordinate is positive
    big = basis[np.arange(K), np.argmax(np.abs(basis), axis=1)]
    basis = basis * np.where(big < 0, -1.0, 1.0)[:, None]
    return basis.reshape((K,) + np.shape(fields[0])), sd
