"""Text from untrusted sources (servers, manifests) made safe to print on a terminal.

A server's HTTP reason phrase, a manifest's dataset or shard name, or an exception message that
quotes either can carry terminal escape sequences (``ESC [ 2 J`` clears the screen, ``ESC ] 0 ;``
retitles the window, OSC 8 forges links, C1 ``CSI`` does the same in one byte) or invisible
characters that make a name read as another (bidirectional overrides such as U+202E).
:func:`safe_text` replaces every such character with a visible Python-style escape, so what is
printed is exactly what was received, and nothing is interpreted by the terminal.
"""
from __future__ import annotations

import re

__all__ = ["UNSAFE_CHARS", "safe_text", "unsafe_chars"]

#: What a *name* may not hold (checked by validators, which refuse rather than escape): C0 controls
#: (tab and newline included), DEL, C1 controls, bidirectional embeddings, overrides and isolates
#: (U+202A-U+202E, U+2066-U+2069), and the surrogate range (lone surrogates, i.e. bytes that were not UTF-8).
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(ch: str) -> str:
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def safe_text(text: object, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """``str(text)`` with every non-printable character replaced by a visible escape.

    Escaped: the C0 controls U+0000-U+001F (ESC is ``\\x1b``), DEL U+007F, the C1 controls
    U+0080-U+009F, and every other character ``str.isprintable`` rejects (format characters such
    as bidirectional overrides and zero-width joiners, line and paragraph separators, surrogates,
    private-use and unassigned code points, spaces other than U+0020). ``keep_newlines`` keeps
    ``\\n`` and ``\\t`` (for multi-line messages we composed ourselves); ``limit`` cuts the result
    to about that many characters, marking the cut with ``...``. Backslashes are kept as they are.
    """
    s = str(text)
    keep = "\n\t" if keep_newlines else ""
    out = "".join(ch if ch.isprintable() or ch in keep else _escape(ch) for ch in s)
    if limit is not None and len(out) > limit:
        out = out[:max(limit - 3, 0)] + "..."
    return out


def unsafe_chars(text: str, *, allow: str = "") -> list[str]:
    """The distinct characters of :data:`UNSAFE_CHARS` in ``text`` (minus those in ``allow``), as ``U+XXXX``."""
    found = dict.fromkeys(c for c in UNSAFE_CHARS.findall(text) if c not in allow)
    return [f"U+{ord(c):04X}" for c in found]
