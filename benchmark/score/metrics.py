"""Shape-versus-texture scores from decisions, with 95% bootstrap intervals (pure functions on arrays);
the information scores are in :mod:`.information`.

Notation: sample n of identity i_n; ``correct_n = [decision_n == i_n]``; ``R_n`` the response
(correct-identity logit or cosine similarity, :mod:`.decisions`); ``ds_n`` (Ks,) and ``dt_n`` (Kt,)
the shape and texture coefficient perturbations in s.d. units (so ``|ds_n|`` is a Mahalanobis
distance under the model's prior).

* **Retention curve** (morph probes), per component c in {shape, texture} and distance d::

      P_c(d) = sum_n [c_n = c, d_n = d] correct_n / sum_n [c_n = c, d_n = d]

* **d50_c**: where P_c falls to 50%, interpolated linearly between the tested distances
  ``d_(j-1) < d_j`` around the first ``P_c(d_j) < 0.5``::

      d50 = d_(j-1) + (P(d_(j-1)) - 0.5) / (P(d_(j-1)) - P(d_j)) * (d_j - d_(j-1))

  ``d_0`` when already ``P_c(d_0) < 0.5``; ``inf`` (reported as beyond the range) when P_c never
  falls below 50% within the tested distances. d50 reads as a tolerance to the change only when
  the unmorphed faces are recognised: each d50 carries ``accuracy_at_zero = P_c(0)``, and
  ``low_accuracy_at_zero`` is true when ``P_c(0) < MIN_ACCURACY_AT_ZERO = 0.8`` (then at least a
  fifth of the unmorphed faces are already misidentified, and d50 mixes that baseline failure
  with the tolerance; below 0.5, d50 = 0 by definition). 0.8 is a fixed line, not one relative
  to chance (1/K for K candidates): half-way between chance and 1 is barely above the 0.5
  criterion itself for any K >= 3, too close to flag a d50 that cannot be read (:func:`accuracy_warning`).
* **Shape bias** (cue conflict: the shape of identity i with the texture of identity j != i), the
  definition of Geirhos et al. (2019)::

      shape_bias = #[decision = i] / (#[decision = i] + #[decision = j])

  decisions for neither identity count in neither term (their share is reported too).
**Intervals**: 95% bootstrap over identities (clusters: samples of one identity are not
independent). Counts use percentile intervals. Replicates where a quantity is
undefined (NaN) are left out of its percentiles. **Shape bias** is a crossed design (hybrid =
shape donor x texture donor, each identity a donor of both kinds in many hybrids), so one-way
resampling of shape donors misses the texture donors' variance: it uses the two-way
*pigeonhole* bootstrap (Owen 2007, Ann. Appl. Stat. 1:2), shape donors and texture donors
resampled independently with replacement and each hybrid weighted by the product of its two
donors' multiplicities::

      w_b(n) = W_b[shape_donor_n] * V_b[texture_donor_n],  W_b, V_b ~ Multinomial(I, 1/I) per factor
      shape_bias_b = sum_n w_b(n) [decision = i] / sum_n w_b(n) ([decision = i] + [decision = j])

Owen shows its variance is mildly conservative (it counts the cell-level term up to twice).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Estimate", "Curve", "d50", "retention_curve", "shape_bias", "percentile_ci", "shifted_ci",
           "accuracy_warning", "MIN_ACCURACY_AT_ZERO", "ALPHA"]

#: accuracy on the unmorphed faces below which d50 is flagged as unreadable (module doc)
MIN_ACCURACY_AT_ZERO = 0.8
#: significance level of the permutation tests behind ``shape_reliance`` and the vertex maps
ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its ``level`` percentile bootstrap interval [low, high] from ``n_boot``
    replicates; ``extra`` holds context (counts, p-values) for scores.json."""

    value: float
    low: float
    high: float
    level: float
    n_boot: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON form; a non-finite value or bound is written as null and named in ``nonfinite``."""
        f = _num
        d = {"value": f(self.value), "ci": [f(self.low), f(self.high)], "level": self.level,
             "n_boot": self.n_boot, **self.extra}
        bad = {k: str(float(v)) for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
               if not math.isfinite(float(v))}
        if bad:
            d["nonfinite"] = bad
        return d


def _num(x):
    """JSON number or None for NaN / inf."""
    x = float(x)
    return x if math.isfinite(x) else None


def percentile_ci(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 of ``reps``; order statistics (no interpolation) where a
    replicate is +-inf, linear interpolation otherwise; NaN replicates are ignored."""
    tail = (1.0 - level) / 2.0
    r = np.asarray(reps, np.float64)
    method = "linear" if np.all(np.isfinite(r[~np.isnan(r)])) else "nearest"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo, hi = np.nanquantile(r, [tail, 1.0 - tail], axis=0, method=method)
    return lo, hi


def shifted_ci(reps: np.ndarray, estimate, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval shifted by the bootstrap's own bias ``median(reps) - estimate`` (axis 0).

    Used for information quantities: a cluster bootstrap repeats whole identities, and repeated
    samples bias the (sample-size) bias-corrected MI upwards, so raw percentiles can miss the
    estimate altogether; the shift keeps the bootstrap's spread and removes that bias.
    """
    bias = _boot_bias(reps, estimate)
    lo, hi = percentile_ci(reps, level)
    return lo - bias, hi - bias


def _boot_bias(reps: np.ndarray, estimate) -> np.ndarray:
    """The bootstrap's bias ``median(finite reps) - estimate`` over axis 0; 0 where undefined."""
    r = np.asarray(reps, np.float64)
    est = np.asarray(estimate, np.float64)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        bias = np.nanmedian(np.where(np.isfinite(r), r, np.nan), axis=0) - est
    return np.where(np.isfinite(bias), bias, 0.0)


def d50(distances, p) -> float:
    """Distance where retention ``p`` first falls below 0.5, linearly interpolated (see module doc)."""
    d, p = np.asarray(distances, np.float64), np.asarray(p, np.float64)
    below = np.flatnonzero(p < 0.5)
    if below.size == 0:
        return math.inf
    j = int(below[0])
    if j == 0:
        return float(d[0])
    return float(d[j - 1] + (p[j - 1] - 0.5) / (p[j - 1] - p[j]) * (d[j] - d[j - 1]))


def _cluster_weights(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_clusters) multiplicities of a resample of clusters with replacement."""
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(np.float64)


@dataclass(frozen=True)
class Curve:
    """Retention of one component: ``distances`` (D,) s.d. units; ``p``, ``low``, ``high`` (D,);
    ``n`` (D,) samples per distance; ``d50`` an :class:`Estimate` (``inf`` = beyond the range)."""

    component: str
    distances: np.ndarray
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    d50: Estimate

    def to_dict(self) -> dict:
        return {"component": self.component, "distances": self.distances.tolist(),
                "p_same_identity": [_num(x) for x in self.p], "ci_low": [_num(x) for x in self.low],
                "ci_high": [_num(x) for x in self.high], "n": self.n.tolist(), "d50": self.d50.to_dict()}


def retention_curve(correct, distance, cluster, *, component: str, n_boot: int = 1000, level: float = 0.95,
                    seed: int = 0) -> Curve:
    """P(same identity | distance) with identity-cluster bootstrap intervals, and d50 (module doc)."""
    correct, distance, cluster = (np.asarray(correct, bool), np.asarray(distance, np.float64),
                                  np.asarray(cluster))
    ds = np.unique(distance)
    cl, ci = np.unique(cluster, return_inverse=True)
    di = np.searchsorted(ds, distance)
    hits = np.zeros((cl.size, ds.size))
    tot = np.zeros((cl.size, ds.size))
    np.add.at(hits, (ci, di), correct)
    np.add.at(tot, (ci, di), 1.0)
    p = hits.sum(0) / tot.sum(0)
    w = _cluster_weights(cl.size, n_boot, np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (w @ hits) / (w @ tot)
    lo, hi = percentile_ci(reps, level)
    d50_reps = np.array([d50(ds, r) for r in reps])
    dlo, dhi = percentile_ci(d50_reps, level)
    value = d50(ds, p)
    acc0 = float(p[0]) if ds[0] == 0 else None
    est = Estimate(value, float(dlo), float(dhi), level, n_boot,
                   {"beyond_range": bool(math.isinf(value)), "max_distance": float(ds[-1]),
                    "ci_beyond_range": bool(math.isinf(dhi)), "accuracy_at_zero": acc0,
                    "low_accuracy_at_zero": acc0 is not None and acc0 < MIN_ACCURACY_AT_ZERO})
    return Curve(component, ds, p, lo, hi, tot.sum(0).astype(np.int64), est)


def accuracy_warning(accuracy_at_zero: float | None, n_candidates: int | None = None, *,
                     threshold: float = MIN_ACCURACY_AT_ZERO) -> str | None:
    """The warning that goes beside d50 when the unmorphed faces (distance 0) are recognised with
    accuracy below ``threshold`` (module doc), or None; ``n_candidates`` K gives chance = 1/K."""
    if accuracy_at_zero is None or accuracy_at_zero >= threshold:
        return None
    chance = f" (chance {1.0 / n_candidates:.3f} for {n_candidates} candidates)" if n_candidates else ""
    note = ("d50 = 0 by definition, since retention starts below 0.5" if accuracy_at_zero < 0.5 else
            "d50 mixes that baseline failure with the tolerance to shape and texture changes")
    return (f"accuracy at distance 0 is {accuracy_at_zero:.3f}{chance}, below {threshold:g}: the model "
            f"misidentifies many unmorphed faces, so d50_shape and d50_texture do not measure tolerance to "
            f"change; {note}")


def shape_bias(decision, shape_identity, texture_identity, *, n_boot: int = 1000, level: float = 0.95,
               seed: int = 0) -> Estimate:
    """Cue-conflict shape bias #shape / (#shape + #texture) with a two-way (pigeonhole) bootstrap over
    shape donors and texture donors resampled independently (module doc)."""
    dec, si, ti = (np.asarray(a, np.int64) for a in (decision, shape_identity, texture_identity))
    if np.any(si == ti):
        raise ValueError("shape_bias: some samples have the same shape and texture identity; cue-conflict "
                         "samples need two different identities")
    s, t = (dec == si).astype(float), (dec == ti).astype(float)
    rows, ri = np.unique(si, return_inverse=True)
    cols, ci = np.unique(ti, return_inverse=True)
    S, T = np.zeros((rows.size, cols.size)), np.zeros((rows.size, cols.size))  # counts per (shape, texture) donor
    np.add.at(S, (ri, ci), s)
    np.add.at(T, (ri, ci), t)
    rng = np.random.default_rng(seed)
    wr, wc = _cluster_weights(rows.size, n_boot, rng), _cluster_weights(cols.size, n_boot, rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = S.sum() / (S.sum() + T.sum())
        num, den_t = ((wr @ S) * wc).sum(1), ((wr @ T) * wc).sum(1)
        reps = num / (num + den_t)
    lo, hi = percentile_ci(reps, level)
    n = dec.size
    return Estimate(float(value), float(lo), float(hi), level, n_boot,
                    {"n_shape": int(s.sum()), "n_texture": int(t.sum()), "n_other": int(n - s.sum() - t.sum()),
                     "n": int(n), "bootstrap": "two-way pigeonhole (shape donors x texture donors)"})
