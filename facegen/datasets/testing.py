"""A real HTTP server on 127.0.0.1 with switchable faults, for testing downloads and streaming.

It serves an in-memory ``files`` table (URL path -> bytes), honours ``Range: bytes=A-[B]`` with
206 answers, and on demand: drops the connection after N body bytes, flips a byte of the body,
ignores Range (sends the whole file with 200), answers 500, or redirects one path prefix to
another, answers a chosen status and reason phrase, or trickles a response a byte at a time
(the body only, or the status line and headers too). Each count or list fault is a per-path
queue consumed one request at a time, so a test says exactly how many requests fail and how.
Every request is logged in ``requests``. Given an ``ssl.SSLContext`` it serves https instead.

    with FaultyServer({"/d/manifest.json": b"..."}) as srv:
        srv.faults.fail["/d/a.tar"] = 2          # the next two GETs of /d/a.tar answer 500
        srv.faults.drop["/d/a.tar"] = [1000]     # then one GET drops after 1000 bytes
        url = srv.url("/d/manifest.json")
"""
from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Faults", "FaultyServer"]


@dataclass
class Faults:
    """Switches: ``fail[path]`` next N requests answer 500; ``drop[path]`` a list of byte counts, one
    per request, after which the connection is closed; ``corrupt[path]`` next N bodies get one byte
    flipped; ``ignore_range`` answer Range requests with the whole file; ``redirect`` maps a path
    prefix to another URL prefix (302); ``status[path]`` answers every request with (code, reason
    phrase), the phrase sent as given (escape sequences included); ``trickle[path]`` sends the body
    one byte per that many seconds, ``trickle_head[path]`` the status line and headers as well, for
    at most ``trickle_for`` seconds before hanging up (so a client that fails to give up in time
    fails a test in bounded time instead of stalling it)."""

    fail: dict[str, int] = field(default_factory=dict)
    drop: dict[str, list[int]] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False
    redirect: dict[str, str] = field(default_factory=dict)
    status: dict[str, tuple[int, str]] = field(default_factory=dict)
    trickle: dict[str, float] = field(default_factory=dict)
    trickle_head: dict[str, float] = field(default_factory=dict)
    trickle_for: float = 10.0


class _Handler(BaseHTTPRequestHandler):
    server: "FaultyServer"

    def log_message(self, fmt, *args) -> None:  # quiet
        pass

    def _take(self, table: dict, path: str):
        with self.server.lock:
            v = table.get(path)
            if isinstance(v, int):
                if v > 0:
                    table[path] = v - 1
                    return True
                return False
            if isinstance(v, list) and v:
                return v.pop(0)
            return None

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        srv, path = self.server, self.path.split("?")[0]
        with srv.lock:
            srv.requests.append({"method": self.command, "path": path, "range": self.headers.get("Range"),
                                 "authorization": self.headers.get("Authorization")})
        for prefix, target in srv.faults.redirect.items():
            if path.startswith(prefix):
                self.send_response(302)
                self.send_header("Location", target + path[len(prefix):])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if path in srv.faults.status:
            code, reason = srv.faults.status[path]
            self.send_response(code, reason)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self._take(srv.faults.fail, path):
            self.send_error(500, "injected failure")
            return
        data = srv.files.get(path)
        if data is None:
            self.send_error(404)
            return
        start, status = 0, 200
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", "") or "")
        if m and not srv.faults.ignore_range:
            start = int(m.group(1))
            end = int(m.group(2)) + 1 if m.group(2) else len(data)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, status = data[start:end], 206
        else:
            body = data
        if self._take(srv.faults.corrupt, path) and body:
            b = bytearray(body)
            b[len(b) // 2] ^= 0xFF
            body = bytes(b)
        if path in srv.faults.trickle_head:
            head = f"HTTP/1.0 {status} OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            self._trickle(head + body, srv.faults.trickle_head[path])
            return
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        self.end_headers()
        if head:
            return
        if path in srv.faults.trickle:
            self._trickle(body, srv.faults.trickle[path])
            return
        cut = self._take(srv.faults.drop, path)
        if cut is not None and cut is not True and cut < len(body):
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _trickle(self, data: bytes, seconds_per_byte: float) -> None:
        """Send ``data`` one byte at a time until done, the client hangs up, ``trickle_for`` passes or
        the server stops; how it ended is logged in ``server.trickled``."""
        self.close_connection = True
        srv, end, how, i = self.server, time.monotonic() + self.server.faults.trickle_for, "done", 0
        for i in range(len(data)):
            if srv.stopping.is_set() or time.monotonic() > end:
                how = "server"
                break
            try:
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            except OSError:
                how = "client"
                break
            time.sleep(seconds_per_byte)
        with srv.lock:
            srv.trickled.append({"path": self.path.split("?")[0], "sent": i, "end": how})


class FaultyServer(ThreadingHTTPServer):
    """Serves ``files`` on 127.0.0.1 (a free port) from a background thread; a context manager.

    With ``ssl_context`` (a server-side ``ssl.SSLContext`` holding a certificate for 127.0.0.1) it
    speaks https, and :attr:`base` starts with ``https://``.
    """

    daemon_threads = True

    def __init__(self, files: dict[str, bytes] | None = None, *, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.stopping = threading.Event()
        self.files: dict[str, bytes] = dict(files or {})
        self.faults = Faults()
        self.requests: list[dict] = []
        self.trickled: list[dict] = []  # per trickled response: path, bytes sent, end: client/server/done
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, path: str, method: str = "GET") -> int:
        """How many requests of ``method`` reached ``path``."""
        return sum(1 for r in self.requests if r["path"] == path and r["method"] == method)

    def __enter__(self) -> "FaultyServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

