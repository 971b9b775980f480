"""Hidden layers: how much each layer's activations say about shape and texture, and how pose-invariant that is.

For each exposed layer (reverse-correlation trials, N samples):

1. the activation is pooled to a 2x2 spatial grid per channel (:func:`pool_activation`; vectors
   are kept), then reduced to its top ``k`` principal components ``X`` (k, N) (SVD of the centred
   (N, F) matrix; :func:`top_components`);
2. shape and texture features are ``F_s = [ds, |ds|]``, ``F_t = [dt, |dt|]`` as in
   :mod:`.metrics`, everything copula-normalised within identity (``cn_id``);
3. ``I_layer_shape = mi_gg(cn_id(X), cn_id(F_s), biascorrect=True, demeaned=True)`` bits, i.e.
   GCMI conditioned on identity (likewise texture), with a 95% cluster-bootstrap interval
   (identities resampled, percentile shifted by the bootstrap bias as in :mod:`.metrics`);
4. pose invariance with ``gccmi_ccd(cn_id(X), cn_id(F), yaw level, Zm)``, which returns
   ``(I(X; F | pose), I_pooled)``: the information within each pose, averaged over poses with
   weights p(pose), and the information of the data pooled over poses (each pose copula-normalised
   separately). With ``I_pooled`` clipped at 0::

       pose_invariance = min(1, max(I_pooled, 0) / I(X; F | pose))     in [0, 1]

   (None when ``I(X; F | pose) <= 0``: nothing to be invariant about): about 1 when the layer
   codes the feature the same way at every pose, towards 0 when the code changes with pose. The
   raw ratio exceeds 1 when pooling over poses adds information beyond the within-pose average
   (estimation noise on weak information, or a code whose between-pose differences themselves
   follow the feature); such a code is no more than fully invariant, so the ratio is clipped at 1
   and ``I_pooled``, ``I_given_pose`` are reported beside it (their ratio is the unclipped value).
   It is descriptive (no interval or test of its own), and a ratio of noise is noise: with the
   bootstrap on (``n_boot > 0``) it is withheld (None, reason in ``pose_note_{shape,texture}``)
   where the 95% interval of the layer's ``I_{shape,texture}`` reaches down to 0.

Yaw is the pose factor (the probe presets vary yaw and pitch over the same levels); more than 12
distinct yaw values are binned into 5 quantile bins. A pose class needs more samples than
``k + features`` for ``gccmi_ccd``; otherwise pose invariance is reported as None with the reason.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np

from ..info import gccmi_ccd, mi_gg
from .information import _FEATURES, _RESPONSE, perturbation_features, within_copnorm

__all__ = ["pool_activation", "top_components", "pose_levels", "pose_invariance", "layer_profile", "plot_profile"]

log = logging.getLogger(__name__)


def pool_activation(a: np.ndarray, grid: int = 2) -> np.ndarray:
    """(B, C, H, W) -> (B, C * g * g) mean over a g x g grid of spatial cells (g = min(grid, H, W));
    (B, D) is returned as is."""
    a = np.asarray(a)
    if a.ndim == 2:
        return a
    if a.ndim != 4:
        return a.reshape(a.shape[0], -1)
    gh, gw = min(grid, a.shape[2]), min(grid, a.shape[3])
    cells = [c.mean(axis=(2, 3)) for rows in np.array_split(a, gh, axis=2) for c in np.array_split(rows, gw, axis=3)]
    return np.concatenate(cells, axis=1)


def top_components(x: np.ndarray, k: int) -> np.ndarray:
    """(N, F) -> (min(k, rank), N) scores on the top principal components (SVD of the centred data)."""
    x = np.asarray(x, np.float64)
    xc = x - x.mean(axis=0)
    u, sv, _ = np.linalg.svd(xc, full_matrices=False)
    keep = int(min(k, np.sum(sv > sv[0] * 1e-9))) if sv.size and sv[0] > 0 else 0
    return (u[:, :keep] * sv[:keep]).T


def pose_levels(yaw: np.ndarray) -> tuple[np.ndarray, int]:
    """Yaw (N,) degrees -> (class labels 0..Zm-1, Zm): distinct values, or 5 quantile bins if > 12."""
    vals = np.unique(yaw)
    if vals.size <= 12:
        return np.searchsorted(vals, yaw), int(vals.size)
    edges = np.quantile(yaw, [0.2, 0.4, 0.6, 0.8])
    z = np.searchsorted(edges, yaw, side="right")
    _, z = np.unique(z, return_inverse=True)
    return z, int(z.max() + 1)


def pose_invariance(i_given_pose: float, i_pooled: float) -> float | None:
    """``min(1, max(I_pooled, 0) / I(X; F | pose))`` in [0, 1]; None when ``I(X; F | pose) <= 0`` (module doc)."""
    cmi, pooled = float(i_given_pose), float(i_pooled)
    if not cmi > 0:
        return None
    return float(min(1.0, max(pooled, 0.0) / cmi))


def _layer_boot(pcs: dict, fs, ft, ident, n_boot: int, level: float, seed: int) -> dict:
    """Cluster-bootstrap intervals (identities drawn with replacement, each draw its own group) of
    I(PCs; shape) and I(PCs; texture) per layer: {layer: {"shape": (lo, hi), "texture": (lo, hi)}}."""
    from .information import _clusters, _mi_cn

    reps = {name: np.empty((n_boot, 2)) for name in pcs}
    for b, (idx, g) in enumerate(_clusters(ident, n_boot, np.random.default_rng(seed))):
        f = [within_copnorm(fs[:, idx], g, seed=(b + 1, _FEATURES)),
             within_copnorm(ft[:, idx], g, seed=(b + 1, _FEATURES))]
        for name, x in pcs.items():
            xb = within_copnorm(x[:, idx], g, seed=(b + 1, _RESPONSE))[None]
            reps[name][b] = _mi_cn(xb, f[0])[0], _mi_cn(xb, f[1])[0]
    return reps


def layer_profile(acts: dict[str, np.ndarray], shape_delta, texture_delta, identity, yaw, *,
                  n_pcs: int = 8, n_boot: int = 50, level: float = 0.95, seed: int = 0) -> list[dict]:
    """Per layer: I(PCs; shape), I(PCs; texture) in bits with bias-shifted cluster-bootstrap
    intervals (``ci_I_shape``, ``ci_I_texture``; see :func:`benchmark.score.metrics.shifted_ci`),
    their pose-conditional and pooled versions, and pose invariance (descriptive, no interval)."""
    from .metrics import shifted_ci

    ident = np.asarray(identity)
    fs, ft = perturbation_features(shape_delta), perturbation_features(texture_delta)
    feats = {c: within_copnorm(f, ident, seed=(0, _FEATURES)) for c, f in (("shape", fs), ("texture", ft))}
    z, zm = pose_levels(np.asarray(yaw, np.float64))
    counts = np.bincount(z, minlength=zm)
    out, pcs_all = [], {}
    for name, a in acts.items():
        pcs = top_components(a, n_pcs)
        row: dict = {"layer": name, "features": int(a.shape[1]), "pcs": int(pcs.shape[0])}
        if pcs.shape[0] == 0:
            row["skipped"] = "activations are constant"
            out.append(row)
            continue
        pcs_all[name] = pcs
        x = within_copnorm(pcs, ident, seed=(0, _RESPONSE))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tied values")
            for c, f in feats.items():
                row[f"I_{c}"] = float(mi_gg(x, f, True, True))
                need = x.shape[0] + f.shape[0] + 1
                if zm < 2 or counts.min() < need:
                    row[f"I_{c}_given_pose"] = row[f"I_{c}_pooled"] = row[f"pose_invariance_{c}"] = None
                    row["pose_note"] = f"{zm} yaw classes, smallest {int(counts.min())} samples; need >= {need}"
                    continue
                cmi, pooled = gccmi_ccd(x, f, z, zm)
                row[f"I_{c}_given_pose"], row[f"I_{c}_pooled"] = float(cmi), float(pooled)
                row[f"pose_invariance_{c}"] = pose_invariance(cmi, pooled)
        out.append(row)
    if n_boot and pcs_all:
        reps = _layer_boot(pcs_all, fs, ft, ident, n_boot, level, seed)
        for row in out:
            if row["layer"] in reps:
                lo, hi = shifted_ci(reps[row["layer"]], [row["I_shape"], row["I_texture"]], level)
                row["ci_I_shape"], row["ci_I_texture"] = [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]
                row["level"], row["n_boot"] = level, n_boot
                for k, c in enumerate(("shape", "texture")):
                    if row.get(f"pose_invariance_{c}") is not None and not lo[k] > 0:
                        row[f"pose_invariance_{c}"] = None
                        row[f"pose_note_{c}"] = (f"withheld: the {level:.0%} interval of I_{c} reaches 0 "
                                                 f"({lo[k]:.3g} bits), so the ratio would be noise")
    return out


def plot_profile(profile: list[dict], path) -> None:
    """Line plot of I_shape, I_texture (bits) and pose invariance per layer, in forward order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in profile if "I_shape" in r]
    names = [r["layer"] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for c, col in (("shape", "tab:blue"), ("texture", "tab:orange")):
        a1.plot(names, [r[f"I_{c}"] for r in rows], "o-", color=col, label=f"I(layer; {c})")
        inv = [np.nan if r.get(f"pose_invariance_{c}") is None else r[f"pose_invariance_{c}"] for r in rows]
        a2.plot(names, inv, "o-", color=col, label=c)
        lo = [r.get(f"ci_I_{c}", [np.nan, np.nan])[0] for r in rows]
        hi = [r.get(f"ci_I_{c}", [np.nan, np.nan])[1] for r in rows]
        a1.fill_between(range(len(rows)), lo, hi, color=col, alpha=0.2)
    a1.set_ylabel("bits")
    a1.set_title("information per layer")
    a1.legend(fontsize=8)
    a2.axhline(1.0, color="grey", lw=0.8, ls=":")
    a2.set_title("pose invariance = min(1, I_pooled / I(.|pose))")
    a2.legend(fontsize=8)
    for a in (a1, a2):
        a.tick_params(axis="x", rotation=45, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
