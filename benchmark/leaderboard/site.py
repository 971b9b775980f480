"""The static leaderboard site: a sortable table, a page per model, and the same table as Markdown.

Rows are ranked by shape reliance (higher = identity decisions lean on face shape more than on
texture, as human observers' do), ties broken by accuracy. Every number is shown with its 95% CI.
No external assets: one HTML file per page with inline CSS and a few lines of JavaScript, so the
site works from a folder, a file:// URL or any static host.

Every text that comes from a submission (model names, authors, entry names, messages) is shown
with control characters and lone surrogates as visible escapes (:func:`benchmark._safe_text.printable`)
and HTML-escaped; in ``leaderboard.md`` also Markdown-escaped. A model's page is
``models/<id>.html``, ``id`` being the entry's own identity (:func:`entry_id` of its file name in
the leaderboard), never derived from the model name, so no entry can take over another's page.
The whole site is built in memory first, then each file is written to a temporary file in its
folder and renamed over the old one: a failure leaves the previous site as it was.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
from pathlib import Path

from facegen._safe_text import safe_text

__all__ = ["COLUMNS", "entry_id", "markdown_table", "rank_entries", "render_site", "write_atomic"]

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


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def entry_id(name: str) -> str:
    """Stable, unique file name of an entry: a readable slug of ``name`` (up to 40 characters, a trailing
    ``.zip`` dropped) plus the first 10 hex digits of the sha256 of ``name`` itself (UTF-8, lone surrogates
    kept), e.g. ``'resnet-10-3f2a9c01be'``. It depends on nothing but ``name``."""
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower().removesuffix(".zip"))[:40].strip("-") or "entry"
    return f"{readable}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8", "backslashreplace"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _h(text) -> str:
    """Untrusted text for HTML: visible escapes for control characters, then HTML-escaped."""
    return html.escape(safe_text(text))


def _md(text) -> str:
    """Untrusted text for one Markdown table cell: visible escapes, Markdown punctuation backslashed,
    then ``&``, ``<`` and ``>`` as entities, so no text can add a row, a link, markup or HTML."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", safe_text(text)), quote=False)


def _value(entry: dict, key: str):
    m = entry.get("metrics", {}).get(key)
    return None if m is None or m.get("value") is None else float(m["value"])


def rank_entries(entries: list[dict]) -> list[dict]:
    """Entries sorted by (significant shape reliance desc, accuracy desc, name); each gets 'rank' and 'slug'.

    Shape reliance counts only where scores.json reported it, i.e. where I_shape + I_texture beat its
    permutation null (``significant`` not false); a withheld one ranks below every reported one.

    ``slug`` (the model page's name) is the entry's ``id`` when it has one (the leaderboard gives
    :func:`entry_id` of the entry's file name), else :func:`entry_id` of its model name and
    ``submission_sha256``; it never depends on the other entries. Two entries with one slug are an error.
    """
    def key(e):
        sr, acc = _value(e, "shape_reliance"), _value(e, "accuracy")
        if (e.get("metrics", {}).get("shape_reliance") or {}).get("significant") is False:
            sr = None
        return (-(sr if sr is not None else -1e9), -(acc if acc is not None else -1e9), e["model"])

    out = []
    seen: dict[str, str] = {}
    for r, e in enumerate(sorted(entries, key=key), 1):
        slug = e.get("id") or entry_id(e["model"] + "\0" + e.get("submission_sha256", ""))
        if slug in seen:
            raise ValueError(f"rank_entries: entries {safe_text(seen[slug])!r} and {safe_text(e['model'])!r} share "
                             f"the identity {slug!r}; give each entry its own 'id'")
        seen[slug] = e["model"]
        out.append({**e, "rank": r, "slug": slug})
    return out


def _shown_names(ranked: list[dict]) -> dict[str, str]:
    """{slug: name to show}: the model name, plus the entry's name where two entries share a model name."""
    count: dict[str, int] = {}
    for e in ranked:
        k = " ".join(e["model"].casefold().split())
        count[k] = count.get(k, 0) + 1
    return {e["slug"]: e["model"] + (f" ({e.get('entry') or e['slug']})"
                                     if count[" ".join(e["model"].casefold().split())] > 1 else "")
            for e in ranked}


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
    """(value text, '[low, high]' text or None) of one metric; ('–', None) when missing, ('n.s.', 'p = ...')
    when withheld as not significant; a d50 whose accuracy at distance 0 was low gets a trailing '!'."""
    if m is not None and m.get("value") is None and m.get("significant") is False:
        p = m.get("p_perm_total", m.get("p_perm"))
        return "n.s.", (f"p = {float(p):.3g}" if isinstance(p, (int, float)) else None)
    if m is not None and m.get("low_accuracy_at_zero"):
        v, ci = _text({k: x for k, x in m.items() if k != "low_accuracy_at_zero"}, fmt)
        return (v + " !" if v != "–" else v), ci
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
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_h(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}<script>{_JS}</script></body></html>\n")


def render_site(entries: list[dict], out: str | Path, *, title: str = "facegen shape/texture leaderboard",
                not_ranked: list[dict] = ()) -> Path:
    """Write ``out/index.html``, ``out/models/<slug>.html`` and ``out/leaderboard.md``; returns index path.

    Each entry: {"model", "authors", "paper_url"?, "code_url"?, "metrics": {key: {"value", "ci"}},
    "figures"?: [relative PNG paths already under out/], "submission_sha256"?, "id"?, "entry"?}. ``id``:
    the entry's stable identity, its page's name (see :func:`rank_entries`); ``entry``: its file name,
    shown beside the model name where two entries share one. A metric's value or bound may be null
    with ``beyond_range``/``ci_beyond_range`` and ``max_distance`` (d50 past the tested range: shown
    '> max') or ``nonfinite`` ({"value": "inf"}: shown '∞'); both sort above every finite number.
    ``not_ranked``: [{"entry", "status", "messages"}] of rejected or failed submissions, listed
    under the table with their messages. Everything is built before anything is written; each file
    is replaced atomically, index.html last; model pages of entries no longer listed are removed.
    """
    out = Path(out)
    ranked = rank_entries(entries)
    shown = _shown_names(ranked)
    pages = {f"models/{e['slug']}.html": _model_page(e, shown[e["slug"]]) for e in ranked}
    md = markdown_table(ranked)
    index = _index_page(ranked, shown, title, not_ranked)
    (out / "models").mkdir(parents=True, exist_ok=True)
    for rel, text in pages.items():
        write_atomic(out / rel, text)
    write_atomic(out / "leaderboard.md", md)
    write_atomic(out / "index.html", index)
    for old in (out / "models").glob("*.html"):
        if f"models/{old.name}" not in pages:
            old.unlink(missing_ok=True)
    return out / "index.html"


def _index_page(ranked: list[dict], shown: dict[str, str], title: str, not_ranked) -> str:
    head = '<th data-col="rank">rank</th><th class="name" data-col="model">model</th>' + "".join(
        f'<th data-col="{k}">{html.escape(h)}</th>' for k, h, _ in COLUMNS)
    rows = []
    for e in ranked:
        name = _h(shown[e["slug"]])
        rows.append(f'<tr><td data-v="{e["rank"]}">{e["rank"]}</td>'
                    f'<td class="name" data-v="{name}"><a href="models/{html.escape(e["slug"])}.html">{name}</a></td>'
                    + "".join(_cell(e, k, f) for k, _, f in COLUMNS) + "</tr>")
    body = (f"<h1>{_h(title)}</h1><p>{len(ranked)} models. Ranked by shape reliance "
            "max(I_shape, 0) / (max(I_shape, 0) + max(I_texture, 0)), reported only where I_shape + I_texture "
            "beats its permutation null (n.s.: withheld, ranked below, with its p); then accuracy. "
            "d50 marked !: accuracy at distance 0 was below 0.8, so the d50 says little. "
            "Click a column to sort. Brackets: 95% bootstrap CI.</p>"
            f'<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if not_ranked:
        items = "".join(f"<li><b>{_h(r['entry'])}</b> ({_h(r['status'])}): {_h('; '.join(r['messages']))}</li>"
                        for r in not_ranked)
        body += f'<h2>Not ranked</h2><ul id="not-ranked">{items}</ul>'
    return _page(title, body)


def _model_page(e: dict, name: str) -> str:
    links = " ".join(f'<a href="{_h(e[k])}">{k.split("_")[0]}</a>'
                     for k in ("paper_url", "code_url") if str(e.get(k, "")).startswith(("http://", "https://")))
    figs = "".join(f'<figure><img src="../{_h(f)}" alt="{_h(f)}" width=480></figure>' for f in e.get("figures", []))
    table = "".join(f"<tr><th>{html.escape(h)}</th>{_cell(e, k, f)}</tr>" for k, h, f in COLUMNS)
    entry = f" &middot; entry {_h(e['entry'])}" if e.get("entry") else ""
    body = (f'<p><a href="../index.html">&larr; leaderboard</a></p><h1>{_h(name)}</h1>'
            f"<p>rank {e['rank']} &middot; {_h(', '.join(e.get('authors', [])))}{entry} {links}</p>"
            f"<table>{table}</table>{figs}"
            f"<details><summary>all results</summary><pre>{html.escape(json.dumps(e, indent=1))}</pre></details>")
    return _page(name, body)


def markdown_table(entries: list[dict]) -> str:
    """The leaderboard as a GitHub Markdown table (value with CI per cell), ranked; names escaped."""
    ranked = entries if entries and "rank" in entries[0] else rank_entries(entries)
    shown = _shown_names(ranked)
    lines = ["| rank | model | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---:|:---|" + "---:|" * len(COLUMNS)]
    for e in ranked:
        cells = []
        for k, _, f in COLUMNS:
            v, ci = _text(e.get("metrics", {}).get(k), f)
            cells.append(v + (f" {ci}" if ci else ""))
        lines.append(f"| {e['rank']} | {_md(shown[e['slug']])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
