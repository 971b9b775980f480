"""Opening URLs and files for the downloader: time limits, retries, and where credentials may go.

Time is bounded twice. ``timeout`` limits every connect and every read (seconds without data);
a :class:`Deadline` limits the whole job, including a server that trickles a byte at a time,
which no per-read timeout catches: every connection opened under it is registered with it, and
all of them are shut down when it passes, so a blocked read returns at once and the caller raises
:class:`DeadlineExceeded`. (A TLS handshake is bounded only by ``timeout``: the socket is watched
from the moment the handshake is done.)

Credentials (a Hugging Face token) are sent only to the origin they were given for (same scheme,
host and port) and never over plain http except to this machine (:func:`credentials_allowed`);
a redirect anywhere else, https to http on the same host included, drops them. Redirects go to
http and https URLs only. Text a server sent (a reason phrase, an error) is passed through
:func:`facegen._safe_text.safe_text` before it enters a message.
"""
from __future__ import annotations

import http.client
import ipaddress
import logging
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO, Callable

from .. import __version__
from .._safe_text import safe_text
from .entries import DownloadError, is_http

__all__ = ["Deadline", "DeadlineExceeded", "credentials_allowed", "open_location", "open_with_retries"]

log = logging.getLogger(__name__)

_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Transient(Exception):
    """A failure worth retrying: dropped connection, timeout, 408/429/5xx, short read."""


class _RangeNotSatisfiable(_Transient):
    """HTTP 416: the partial file is not a prefix of what the server has; start it over."""


class DeadlineExceeded(DownloadError):
    """The overall deadline (``deadline=``, ``--deadline``) passed before the work finished."""


# ---------------------------------------------------------------- the overall deadline

class Deadline:
    """An overall time limit of ``seconds`` from now that also cuts connections off.

    Every socket registered with :meth:`watch` is shut down when the limit passes, so a read that
    blocks on a server trickling one byte at a time (which no per-read timeout catches) returns at
    once. ``how`` says where the limit came from, for messages. :meth:`close` stops its timer.
    """

    def __init__(self, seconds: float, how: str = "--deadline") -> None:
        if not 0 < seconds < float("inf"):
            raise ValueError(f"deadline {seconds!r} s: expected a finite number of seconds > 0")
        self.seconds, self.how = float(seconds), how
        self._at = time.monotonic() + self.seconds
        self._socks: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()
        self._fired = False
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(self._at - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self._at

    def describe(self) -> str:
        return f"{self.seconds:,.1f} s ({self.how})"

    def check(self, doing: str) -> None:
        """Raise DeadlineExceeded naming ``doing`` if the limit has passed."""
        if self.expired:
            raise DeadlineExceeded(f"{doing}: the overall deadline of {self.describe()} passed")

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the limit passes (at once if it already has); held weakly."""
        with self._lock:
            if not self._fired:
                self._socks.add(sock)
                return
        _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            socks = list(self._socks)
        for s in socks:
            _shutdown(s)

    def close(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _deadline(value: "Deadline | float | str | None", auto_seconds: float, auto_how: str) -> tuple[Deadline | None, bool]:
    """(the Deadline to use, whether the caller owns it and must close it) for a ``deadline=`` argument."""
    if value is None or isinstance(value, Deadline):
        return value, False
    if value == "auto":
        return Deadline(auto_seconds, auto_how), True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"deadline {value!r}: expected 'auto', a number of seconds > 0, or None (no limit)")
    return Deadline(float(value)), True


def _local_path(loc: str) -> Path:
    if loc.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(loc).path))
    return Path(loc)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials_allowed(origin: str, url: str) -> bool:
    """Whether a request to ``url`` may carry the credentials (a token) that were given for ``origin``.

    Only when both have the same scheme, host and port (a redirect to a CDN, to another port, or
    from https to http on the same host drops them, as browsers and ``requests`` do), and never
    over plain http except to this machine (loopback: ``localhost``, 127.0.0.0/8, ::1), since
    anyone on the path can read a plain-http request.
    """
    o, u = urllib.parse.urlsplit(origin), urllib.parse.urlsplit(url)
    try:
        ko = (o.scheme.lower(), o.hostname, o.port or _DEFAULT_PORTS.get(o.scheme.lower()))
        ku = (u.scheme.lower(), u.hostname, u.port or _DEFAULT_PORTS.get(u.scheme.lower()))
    except ValueError:  # a port out of range
        return False
    if ko != ku or ku[0] not in _DEFAULT_PORTS:
        return False
    return ku[0] == "https" or _is_loopback(ku[1])


def _strip_credentials(req: urllib.request.Request) -> list[str]:
    gone = [k for k in list(req.headers) + list(req.unredirected_hdrs) if k.lower() in _CREDENTIAL_HEADERS]
    for k in gone:
        req.remove_header(k)
    return gone


class _Watched:
    """Mixin for http.client connections: registers the socket with the request's Deadline on connect."""

    def __init__(self, *args, facegen_deadline: Deadline | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._facegen_deadline = facegen_deadline

    def connect(self) -> None:
        super().connect()
        if self._facegen_deadline is not None:
            self._facegen_deadline.watch(self.sock)


class _WatchedHTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_WatchedHTTPConnection, req, facegen_deadline=getattr(req, "facegen_deadline", None))


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        kw = {"context": self._context, "facegen_deadline": getattr(req, "facegen_deadline", None)}
        if getattr(self, "_check_hostname", None) is not None:  # Python < 3.12 only
            kw["check_hostname"] = self._check_hostname
        return self.do_open(_WatchedHTTPSConnection, req, **kw)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows http(s) redirects only; credentials go only where :func:`credentials_allowed` says."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise urllib.error.HTTPError(req.full_url, code, f"redirect to a {scheme}: URL refused (http and https "
                                         "only)", headers, fp)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            origin = getattr(req, "facegen_origin", req.full_url)
            new.facegen_origin = origin
            new.facegen_deadline = getattr(req, "facegen_deadline", None)
            if not credentials_allowed(origin, newurl) and _strip_credentials(new):
                log.info("redirect from %s to %s: credentials dropped", safe_text(req.full_url), safe_text(newurl))
        return new


_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _RedirectHandler)


def open_location(loc: str, *, offset: int = 0, timeout: float = 30.0, headers: tuple[tuple[str, str], ...] = (),
                  deadline: Deadline | None = None) -> tuple[BinaryIO, int, int | None]:
    """Open a URL or path for reading from byte ``offset``: (stream, status, start).

    ``status`` is the HTTP status (200 for local files); ``start`` the first byte the stream holds
    (``offset`` when the server honoured Range or for local files, 0 when it sent the whole file).
    ``timeout`` bounds the connect and every later read; ``deadline``, when given, shuts the
    connection down when it passes. HTTP errors worth retrying raise ``_Transient``; others raise
    DownloadError (DeadlineExceeded once the deadline has passed).
    """
    if deadline is not None:
        deadline.check(safe_text(loc))
    if not is_http(loc):
        try:
            fh = open(_local_path(loc), "rb")
        except OSError as e:
            raise DownloadError(f"{safe_text(loc)}: {e.strerror or e}") from None
        fh.seek(offset)
        return fh, 200, offset
    hdrs = {"User-Agent": f"facegen/{__version__}", **dict(headers)}
    req = urllib.request.Request(loc, headers=hdrs)
    req.facegen_origin, req.facegen_deadline = loc, deadline
    if not credentials_allowed(loc, loc) and _strip_credentials(req):
        log.warning("%s: not sending credentials over plain http to another machine", safe_text(loc))
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if deadline is not None:
            deadline.check(safe_text(loc))
        if e.code in (408, 429) or e.code >= 500:
            raise _Transient(f"HTTP {e.code} from {safe_text(loc)}") from None
        if e.code == 416:
            raise _RangeNotSatisfiable(f"HTTP 416 (range {offset}- not satisfiable) from {safe_text(loc)}") from None
        raise DownloadError(f"{safe_text(loc)}: HTTP {e.code} {safe_text(e.reason, limit=200)}") from None
    except (urllib.error.URLError, HTTPException, OSError) as e:
        if deadline is not None:
            deadline.check(safe_text(loc))
        raise _Transient(f"{safe_text(loc)}: {safe_text(getattr(e, 'reason', None) or e, limit=200)}") from None
    if resp.status == 206:
        m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
        return resp, 206, int(m.group(1)) if m else None
    return resp, resp.status, 0


def _with_retries(what: str, fn: Callable, *, retries: int, backoff: float, deadline: Deadline | None = None):
    for attempt in range(retries + 1):
        try:
            return fn()
        except _Transient as e:
            if deadline is not None:
                deadline.check(what)
            if attempt == retries:
                raise DownloadError(f"{what}: giving up after {retries + 1} attempts; last error: {e}") from None
            delay = min(backoff * 2 ** attempt, 30.0) * (1 + 0.25 * random.random())
            if deadline is not None:
                delay = min(delay, deadline.remaining())
            log.info("%s: %s; retrying in %.2f s", what, e, delay)
            time.sleep(delay)


def open_with_retries(loc: str, *, timeout: float = 30.0, retries: int = 5, backoff: float = 0.5,
                      headers: tuple[tuple[str, str], ...] = ()) -> BinaryIO:
    """A stream of the whole file at ``loc``, retrying the connection (not a drop mid-stream)."""
    return _with_retries(safe_text(loc), lambda: open_location(loc, timeout=timeout, headers=headers)[0],
                         retries=retries, backoff=backoff)
