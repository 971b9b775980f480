"""The score report: ``scores.json`` (schema ``benchmark.scores/1``), figures and ``report.html``.

scores.json layout::

    {"schema": "benchmark.scores/1",
     "software": {"benchmark": ..., "numpy": ...},
     "model":    {"kind", "source", "sha256", "output_kind", "classes", "preprocessing",
                  "hidden_layers", "decision_rule"},
     "probes":   [{"name", "kind", "source", "manifest_sha256", "samples", "identities", "image_size"}],
     "gallery":  {...same fields...}                              (gallery decisions only)
     "settings": {"n_boot", "n_boot_mi", "n_perm", "level", "alpha", "seed", "layer_pcs"},
     "scores": {
        "retention": {"shape"|"texture": {"distances", "p_same_identity", "ci_low", "ci_high", "n", "d50"}},
        "d50_shape", "d50_texture": {"value", "ci": [low, high], "level", "n_boot", "beyond_range", ...,
                                     "accuracy_at_zero", "low_accuracy_at_zero"},
        "accuracy_at_zero": float,
        "morph_information": {"I_shape_distance", "I_texture_distance": estimate + p_perm, null_q95},
        "shape_bias": {"value", "ci", ..., "n_shape", "n_texture", "n_other", "n", "bootstrap"},
        "I_shape", "I_texture": {"value", "ci", ..., "p_perm", "null_q95", "n_perm", "units": "bits"},
        "I_total": {"value" (= I_shape + I_texture), "ci", "p_perm", "null_q95", "significant", "alpha"},
        "shape_reliance": {"value" (null unless significant), "ci", ..., "significant", "p_perm_total",
                           "alpha", "reason" (when not significant)},
        "coefficient_information": {"shape"|"texture": {"mi": [...], "p_fwe": [...]}},
        "maps": {"shape"|"texture": {"max", "mean", "argmax_vertex", "threshold", "n_significant",
                                     "p_fwe_min", "alpha", "n_perm"}, "files": {...}},
        "layers": [{"layer", "I_shape", "I_texture", "I_shape_given_pose", "I_shape_pooled",
                    "pose_invariance_shape" (in [0, 1]), ...}]},
     "warnings": [{"code", "scores", "message", ...}],
     "figures": {name: file}}

Every estimate carries its interval; non-finite numbers are written as null (``beyond_range``
says when d50 lies past the largest tested distance). ``warnings`` (also at the top of
report.html and under the printed summary) says which headline numbers cannot be read as they
stand: ``low_accuracy_at_zero`` (d50 of a model that misidentifies unmorphed faces) and
``information_not_significant`` (shape reliance withheld). No timestamps: equal inputs, equal bytes.
"""
from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np

from .metrics import MIN_ACCURACY_AT_ZERO
from .pipeline import ScoreResult

__all__ = ["write_report", "summary_rows", "format_summary", "draw_figures"]

log = logging.getLogger(__name__)


def _software() -> dict:
    import platform

    import scipy

    from .. import __version__

    return {"benchmark": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version()}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(e: dict | None, digits: int = 3) -> str:
    if not e:
        return "-"
    if e.get("significant") is False and e.get("value") is None:
        return "n/a (not significant)"
    v, (lo, hi) = e.get("value"), e.get("ci", [None, None])
    nf = e.get("nonfinite", {})
    if v is None and "value" in nf:
        v = float(nf["value"])
    lo = float(nf["low"]) if lo is None and "low" in nf else lo
    hi = float(nf["high"]) if hi is None and "high" in nf else hi
    f = lambda x: "n/a" if x is None else f"{x:.{digits}f}"  # noqa: E731
    beyond = f"> {e.get('max_distance')}"
    hi_s = beyond if e.get("ci_beyond_range") and hi == float("inf") else f(hi)
    lo_s = beyond if e.get("beyond_range") and lo == float("inf") else f(lo)
    return f"{beyond if e.get('beyond_range') else f(v)} [{lo_s}, {hi_s}]"



def summary_rows(scores: dict) -> list[tuple[str, str, str]]:
    """(score, value [95% CI], note) rows of the headline numbers."""
    s = scores["scores"]
    rows = []
    for c, r in s.get("retention", {}).items():
        rows.append((f"retention_{c}@{r['distances'][-1]:g}",
                     _fmt({"value": r["p_same_identity"][-1], "ci": [r["ci_low"][-1], r["ci_high"][-1]]}),
                     "P(same identity) at the largest distance"))
    if s.get("accuracy_at_zero") is not None:
        low = s["accuracy_at_zero"] < MIN_ACCURACY_AT_ZERO
        rows.append(("accuracy_at_zero", f"{s['accuracy_at_zero']:.3f}",
                     "identity accuracy on unmorphed faces" + (f"; WARNING below {MIN_ACCURACY_AT_ZERO:g}: d50 "
                                                               "unreadable" if low else "")))
    for k, note in (("d50_shape", "s.d.; retention falls to 50%"), ("d50_texture", "s.d."),
                    ("shape_bias", "cue conflict"), ("I_shape", "bits"), ("I_texture", "bits"),
                    ("I_total", "bits; I_shape + I_texture"),
                    ("shape_reliance", "max(I_shape,0) / (max(I_shape,0) + max(I_texture,0))")):
        if k in s:
            extra = f"; p_perm={s[k]['p_perm']:.3g}" if "p_perm" in s[k] else ""
            if k == "shape_reliance" and "p_perm_total" in s[k]:
                extra = (f"; I_total p_perm={s[k]['p_perm_total']:.3g}"
                         + ("" if s[k].get("significant") else f" > alpha={s[k]['alpha']:g}: withheld"))
            if k.startswith("d50") and s[k].get("low_accuracy_at_zero"):
                extra = f"; WARNING accuracy at 0 = {s[k]['accuracy_at_zero']:.3f}"
            rows.append((k, _fmt(s[k]), note + extra))
    maps = s.get("maps") or {}
    for c in ("shape", "texture"):
        m = maps.get(c)
        if isinstance(m, dict) and "n_significant" in m:
            thr = "inf" if m["threshold"] is None else f"{m['threshold']:.4g}"
            rows.append((f"map_{c}", f"{m['n_significant']} of {maps['vertices']} vertices",
                         f"FWE-significant (alpha={m['alpha']:g}, threshold {thr} bits, max {m['max']:.4g})"))
    return rows


def format_summary(scores: dict) -> str:
    """The summary table printed on stdout, then the warnings."""
    rows = [("score", "value [95% CI]", "note")] + summary_rows(scores)
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    lines += [f"WARNING ({x['code']}): {x['message']}" for x in scores.get("warnings", [])]
    return "\n".join(lines)


def _retention_figure(arrays: dict, path: Path) -> bool:
    curves = [arrays[k] for k in ("curve_shape", "curve_texture") if k in arrays]
    if not curves:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for c, col in zip(curves, ("tab:blue", "tab:orange")):
        ax.fill_between(c.distances, c.low, c.high, color=col, alpha=0.2)
        ax.plot(c.distances, c.p, "o-", color=col, label=f"{c.component} morph")
    ax.axhline(0.5, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("Mahalanobis distance of the change (s.d.)")
    ax.set_ylabel("P(same identity)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _information_figure(scores: dict, path: Path) -> bool:
    s = scores["scores"]
    if "I_shape" not in s:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 3.4))
    for k, (name, col) in enumerate((("I_shape", "tab:blue"), ("I_texture", "tab:orange"))):
        e = s[name]
        v, (lo, hi) = e["value"], e["ci"]
        if v is None:  # unbounded (perfect dependence)
            ax.text(k, 0, "inf", ha="center", va="bottom")
            continue
        ok = lo is not None and hi is not None
        err = [[max(v - lo, 0.0)], [max(hi - v, 0.0)]] if ok else None  # the CI may exclude the estimate
        ax.bar(k, v, color=col, yerr=err, capsize=4)
        ax.hlines(e["null_q95"], k - 0.4, k + 0.4, color="k", ls="--", lw=1)
    ax.set_xticks([0, 1], ["shape", "texture"])
    ax.set_ylabel("GCMI (bits)")
    ax.set_title("response information (dashed: 95% of null)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _coefficient_figure(scores: dict, path: Path) -> bool:
    ci = scores["scores"].get("coefficient_information")
    if not ci:
        return False
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, c, col in zip(axes, ("shape", "texture"), ("tab:blue", "tab:orange")):
        mi, p = np.array(ci[c]["mi"]), np.array(ci[c]["p_fwe"])
        ax.bar(np.arange(mi.size), mi, color=np.where(p < 0.05, col, "lightgrey"))
        ax.set_title(f"{c} coefficients (coloured: FWE p < 0.05)", fontsize=9)
        ax.set_xlabel("mode")
        ax.set_ylabel("bits")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def draw_figures(result: ScoreResult, out: Path) -> dict[str, str]:
    """Write every figure the result allows into ``out``; returns {name: file name}."""
    figs = {}
    if _retention_figure(result.arrays, out / "retention.png"):
        figs["retention"] = "retention.png"
    if _information_figure(result.scores, out / "information.png"):
        figs["information"] = "information.png"
    if _coefficient_figure(result.scores, out / "coefficients.png"):
        figs["coefficients"] = "coefficients.png"
    maps = result.arrays.get("maps")
    if maps is not None:
        from .maps import draw_map

        for c in ("shape", "texture"):
            name = f"map_{c}.png"
            what = "displacement along the normal" if c == "shape" else "albedo luminance change"
            test = getattr(maps, f"{c}_test")
            sig = None if test is None else test.significant
            title = f"MI(response; {what})" + ("" if test is None else f"\n{int(test.significant.sum())} "
                                               f"FWE-significant vertices (alpha {test.alpha:g})")
            draw_map(maps.vertices, maps.triangles, getattr(maps, c), out / name, title, significant=sig)
            figs[f"map_{c}"] = name
    if result.arrays.get("layers"):
        from .layers import plot_profile

        plot_profile(result.arrays["layers"], out / "layers.png")
        figs["layers"] = "layers.png"
    return figs


def _html(scores: dict) -> str:
    e = html.escape
    m = scores["model"]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>benchmark score</title>",
             ("<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;"
              "text-align:left}table{border-collapse:collapse}tr:nth-child(even){background:#f4f4f4}</style>"),
             "</head><body>", "<h1>Shape versus texture scores</h1>",
             (f"<p>Model: <code>{e(str(m['source']))}</code> ({e(m['kind'])}, {e(m['output_kind'])}, decisions by "
              f"{e(m['decision_rule'])}), sha256 <code>{e(m['sha256'])}</code></p>")]
    if scores.get("warnings"):
        parts.append("<div class='warnings' style='border:2px solid #c60;background:#fff4e6;padding:0 1em'>"
                     "<h2>Warnings</h2><ul>")
        parts += [f"<li class='warning' id='warning-{e(x['code'])}'><b>{e(x['code'])}</b>: {e(x['message'])}</li>"
                  for x in scores["warnings"]]
        parts.append("</ul></div>")
    parts += ["<h2>Summary</h2><table>", "<tr><th>score</th><th>value [95% CI]</th><th>note</th></tr>"]
    parts += [f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in summary_rows(scores)]
    parts.append("</table><h2>Probe sets</h2><table><tr><th>name</th><th>kind</th><th>samples</th>"
                 "<th>manifest sha256</th></tr>")
    parts += [f"<tr><td>{e(p['name'])}</td><td>{e(p['kind'])}</td><td>{p['samples']}</td>"
              f"<td><code>{e(p['manifest_sha256'])}</code></td></tr>" for p in scores["probes"]]
    parts.append("</table>")
    captions = {"retention": "Identity retention: P(same identity | distance) for shape-only and texture-only morphs "
                             "(bands: 95% bootstrap over identities).",
                "information": "GCMI between the correct-identity response and the shape / texture perturbation.",
                "coefficients": "GCMI per coefficient (max-statistic permutation FWE).",
                "map_shape": "Per-vertex MI: displacement along the normal and its magnitude vs response, "
                             "on the mean face; "
                             "grey: not significant after the max-statistic family-wise correction.",
                "map_texture": "Per-vertex MI: albedo luminance change and its magnitude vs response, "
                               "on the mean face; "
                               "grey: not significant after the max-statistic family-wise correction.",
                "layers": "Hidden layers: MI of the top principal components with shape and texture features, "
                          "and pose invariance."}
    if scores.get("figures"):
        parts.append("<h2>Figures</h2>")
    for k, f in scores.get("figures", {}).items():
        parts.append(f"<figure><img src='{e(f)}' style='max-width:100%'><figcaption>{e(captions.get(k, k))}"
                     "</figcaption></figure>")
    if scores["scores"].get("layers"):
        heads = ["layer", "I_shape [95% CI]", "I_texture [95% CI]", "pose invariance (shape)",
                 "pose invariance (texture)"]
        parts.append("<h2>Layers</h2><table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>")
        for r in scores["scores"]["layers"]:
            cells = [r["layer"]] + [_fmt({"value": r.get(f"I_{c}"), "ci": r.get(f"ci_I_{c}", [None, None])}, 4)
                                    for c in ("shape", "texture")]
            cells += ["-" if r.get(f"pose_invariance_{c}") is None else f"{r[f'pose_invariance_{c}']:.3f}"
                      for c in ("shape", "texture")]
            parts.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    parts.append("<p>Formulas: see <code>benchmark.score.metrics</code>; all numbers in scores.json.</p></body></html>")
    return "\n".join(parts)


def write_report(result: ScoreResult, out: str | Path, *, figures: bool = True) -> Path:
    """Write ``out/scores.json``, the figures and ``out/report.html``; returns the scores.json path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scores = dict(result.scores)
    scores["software"] = _software()
    scores["figures"] = draw_figures(result, out) if figures else {}
    if "maps" in scores["scores"] and isinstance(scores["scores"]["maps"], dict):
        scores["scores"]["maps"]["files"] = {k: v for k, v in scores["figures"].items() if k.startswith("map_")}
    p = out / "scores.json"
    p.write_text(json.dumps(scores, indent=1, allow_nan=False) + "\n")
    (out / "report.html").write_text(_html(scores))
    log.info("wrote %s and %s", p, out / "report.html")
    return p
