"""Untrusted text made safe to print on a terminal and to write as UTF-8.

Names, messages and op types that come from a submission (or from a library describing one) may
hold terminal escape sequences (ESC ``\\x1b``, CSI ``\\x9b``), other control characters, newlines
that forge extra output lines, bidirectional overrides that reorder what is shown, or lone
surrogates (Python's stand-ins for bytes that are not UTF-8, e.g. a file name ``b'\\xff'``) that
cannot be encoded at all. :func:`printable` replaces each of them with a visible escape.
"""
from __future__ import annotations

import re

__all__ = ["UNSAFE_CHARS", "printable", "unsafe_chars"]

#: C0 controls (tab and newline included), DEL, C1 controls, bidirectional embeddings, overrides and
#: isolates (U+202A-U+202E, U+2066-U+2069), and the surrogate range (lone surrogates).
UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: object) -> str:
    """``str(text)`` with every character of :data:`UNSAFE_CHARS` written as a visible escape.

    ``printable("a\\x1b[31mb")`` is ``'a\\\\x1b[31mb'`` (backslash, x, 1, b); ``printable("\\udcff")``
    is ``'\\\\udcff'``. The result is encodable as UTF-8 and prints as one line.
    """
    return UNSAFE_CHARS.sub(_escape, str(text))


def unsafe_chars(text: str, *, allow: str = "") -> list[str]:
    """The distinct unsafe characters in ``text`` (minus those in ``allow``), as ``U+XXXX`` names."""
    found = dict.fromkeys(c for c in UNSAFE_CHARS.findall(text) if c not in allow)
    return [f"U+{ord(c):04X}" for c in found]
