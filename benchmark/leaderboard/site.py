"""The static leaderboard site: a sortable table, a page per model, and the same table as Markdown.

Rows are ranked by shape reliance (higher = identity decisions lean on face shape more than on
texture, as human observers' do), ties broken by accuracy. Every number is shown with its 95% CI.
No external assets: one HTML file per page with inline CSS and a few lines of JavaScript, so the
site works from a folder, a file:// URL or any static host.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

__all__ = ["COLUMNS", "markdown_table", "rank_entries", "render_site"]

# (key in entry["metrics"], header, number format)
COLUMNS = (
    ("accuracy", "accuracy", "{:.3f}"),
    ("shape_bias", "shape bias", "{:.3f}"),
    ("d50_shape", "d50 shape", "{:.2f}"),
    ("d50_texture", "d50 texture", "{:.2f}"),
    ("shape_reliance", "shape reliance", "{:.3f}"),
    ("I_shape", "I shape (bits)", "{:.4f}"),
    ("I_texture", "I texture (bits)", "{:.4f}"),
)

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
th,td{padding:.35em .7em;border-bottom:1px solid #ddd;text-align:right}th{cursor:pointer;background:#f4f4f4}
td.name,th.name{text-align:left}.ci{color:#888;font-size:.8em}th.sorted-asc:after{content:' \\25B2'}
th.sorted-desc:after{content:' \\25BC'}"""

_JS = """document.querySelectorAll('th[data-col]').forEach(function(th){th.addEventListener('click',function(){
var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,asc=!th.classList.contains('sorted-asc');
t.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc')});
th.classList.add(asc?'sorted-asc':'sorted-desc');var rows=Array.from(b.rows);
rows.sort(function(x,y){var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v;var na=parseFloat(a),nc=parseFloat(c);
if(a===''&&c!=='')return 1;if(c===''&&a!=='')return -1;
var r=(!isNaN(na)&&!isNaN(nc))?na-nc:String(a).localeCompare(String(c));return asc?r:-r});
rows.forEach(function(r){b.appendChild(r)})})});"""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"


def _value(entry: dict, key: str):
    m = entry.get("metrics", {}).get(key)
    return None if m is None or m.get("value") is None else float(m["value"])


def rank_entries(entries: list[dict]) -> list[dict]:
    """Entries sorted by (shape reliance desc, accuracy desc, name); each gets 'rank' and 'slug'."""
    def key(e):
        sr, acc = _value(e, "shape_reliance"), _value(e, "accuracy")
        return (-(sr if sr is not None else -1e9), -(acc if acc is not None else -1e9), e["model"])

    out = []
    seen: set[str] = set()
    for r, e in enumerate(sorted(entries, key=key), 1):
        slug = _slug(e["model"])
        while slug in seen:
            slug += "-x"
        seen.add(slug)
        out.append({**e, "rank": r, "slug": slug})
    return out


def _num(m: dict, which: str, fmt: str) -> str:
    """Text of m's ``value`` / ``low`` / ``high``: a number, '> max_distance' beyond the tested range
    (d50), '∞' for an infinite estimate (listed in ``nonfinite``), or 'n/a'."""
    x = m.get("value") if which == "value" else (m.get("ci") or [None, None])[which == "high"]
    if x is not None:
        return fmt.format(float(x))
    beyond = m.get("ci_beyond_range") if which == "high" else m.get("beyond_range")
    if beyond and m.get("max_distance") is not None:
        return "> " + fmt.format(float(m["max_distance"]))
    nf = (m.get("nonfinite") or {}).get(which)
    return {"inf": "∞", "-inf": "-∞"}.get(nf, "n/a")


def _sort_value(m: dict) -> str:
    """data-v for sorting: the number, 'Infinity' beyond range or infinite, '' when missing (sorts last)."""
    if m.get("value") is not None:
        return repr(float(m["value"]))
    if m.get("beyond_range") or (m.get("nonfinite") or {}).get("value") == "inf":
        return "Infinity"
    return ""


def _text(m: dict | None, fmt: str) -> tuple[str, str | None]:
    """(value text, '[low, high]' text or None) of one metric; ('–', None) when missing."""
    if m is None or (m.get("value") is None and _sort_value(m) == ""):
        return "–", None
    ci = m.get("ci")
    return _num(m, "value", fmt), (f"[{_num(m, 'low', fmt)}, {_num(m, 'high', fmt)}]" if ci else None)


def _cell(entry: dict, key: str, fmt: str) -> str:
    m = entry.get("metrics", {}).get(key)
    v, ci = _text(m, fmt)
    if v == "–":
        return '<td data-v="">&ndash;</td>'
    ci_s = f'<br><span class="ci">{html.escape(ci)}</span>' if ci else ""
    return f'<td data-v="{_sort_value(m)}">{html.escape(v)}{ci_s}</td>'


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}<script>{_JS}</script></body></html>\n")


def render_site(entries: list[dict], out: str | Path, *, title: str = "facegen shape/texture leaderboard",
                not_ranked: list[dict] = ()) -> Path:
    """Write ``out/index.html``, ``out/models/<slug>.html`` and ``out/leaderboard.md``; returns index path.

    Each entry: {"model", "authors", "paper_url"?, "code_url"?, "metrics": {key: {"value", "ci"}},
    "figures"?: [relative PNG paths already under out/], "submission_sha256"?}. A metric's value or
    bound may be null with ``beyond_range``/``ci_beyond_range`` and ``max_distance`` (d50 past the
    tested range: shown '> max') or ``nonfinite`` ({"value": "inf"}: shown '∞'); both sort above
    every finite number. ``not_ranked``: [{"entry", "status", "messages"}] of rejected or failed
    submissions, listed under the table with their messages.
    """
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    ranked = rank_entries(entries)
    head = '<th data-col="rank">rank</th><th class="name" data-col="model">model</th>' + "".join(
        f'<th data-col="{k}">{html.escape(h)}</th>' for k, h, _ in COLUMNS)
    rows = []
    for e in ranked:
        name = html.escape(e["model"])
        rows.append(f'<tr><td data-v="{e["rank"]}">{e["rank"]}</td>'
                    f'<td class="name" data-v="{name}"><a href="models/{e["slug"]}.html">{name}</a></td>'
                    + "".join(_cell(e, k, f) for k, _, f in COLUMNS) + "</tr>")
    body = (f"<h1>{html.escape(title)}</h1><p>{len(ranked)} models. Ranked by shape reliance "
            "I_shape / (I_shape + I_texture); click a column to sort. Brackets: 95% bootstrap CI.</p>"
            f'<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if not_ranked:
        items = "".join(f"<li><b>{html.escape(r['entry'])}</b> ({html.escape(r['status'])}): "
                        f"{html.escape('; '.join(r['messages']))}</li>" for r in not_ranked)
        body += f'<h2>Not ranked</h2><ul id="not-ranked">{items}</ul>'
    (out / "index.html").write_text(_page(title, body))
    for e in ranked:
        links = " ".join(f'<a href="{html.escape(e[k])}">{k.split("_")[0]}</a>'
                         for k in ("paper_url", "code_url") if e.get(k, "").startswith(("http://", "https://")))
        figs = "".join(f'<figure><img src="../{html.escape(f)}" alt="{html.escape(f)}" width=480></figure>'
                       for f in e.get("figures", []))
        table = "".join(f"<tr><th>{html.escape(h)}</th>{_cell(e, k, f)}</tr>" for k, h, f in COLUMNS)
        body = (f'<p><a href="../index.html">&larr; leaderboard</a></p><h1>{html.escape(e["model"])}</h1>'
                f"<p>rank {e['rank']} &middot; {html.escape(', '.join(e.get('authors', [])))} {links}</p>"
                f"<table>{table}</table>{figs}"
                f"<details><summary>all results</summary><pre>{html.escape(json.dumps(e, indent=1))}</pre></details>")
        (out / "models" / f"{e['slug']}.html").write_text(_page(e["model"], body))
    (out / "leaderboard.md").write_text(markdown_table(ranked))
    return out / "index.html"


def markdown_table(entries: list[dict]) -> str:
    """The leaderboard as a GitHub Markdown table (value with CI per cell), ranked."""
    ranked = entries if entries and "rank" in entries[0] else rank_entries(entries)
    lines = ["| rank | model | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---:|:---|" + "---:|" * len(COLUMNS)]
    for e in ranked:
        cells = []
        for k, _, f in COLUMNS:
            v, ci = _text(e.get("metrics", {}).get(k), f)
            cells.append(v + (f" {ci}" if ci else ""))
        name = e["model"].replace("|", "\\|")
        lines.append(f"| {e['rank']} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
