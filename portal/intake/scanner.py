"""Malware scanning through ClamAV's daemon (clamd), when one is configured.

A small client for clamd's socket protocol (see clamd(8)): the file is streamed with
``zINSTREAM\\0`` in chunks, each prefixed with its length as a 4-byte big-endian integer, and a
zero-length chunk ends the stream; clamd answers with one NUL-terminated line.

    scanner = ClamdScanner("unix:/run/clamav/clamd.ctl")   # or "tcp:127.0.0.1:3310"
    scanner.scan(path)        # returns when clean, raises IntakeError otherwise
    scanner.ping()            # True when clamd answers PONG

``scan`` is blocking (plain sockets); the caller runs it in a thread. It refuses a file with
``IntakeError``:

    file_infected         clamd found a signature (``params["signature"]``, for the log only)
    scanner_unavailable   anything else: clamd unreachable or stopped, the timeout passed, an
                          ``ERROR`` reply, garbage. An upload is never waved through when a
                          configured scanner cannot vouch for it. ``params["reason"]`` says why
                          (connect, timeout, io, size_limit, error, reply) for the log.

clamd's ``INSTREAM size limit exceeded`` (the stream is longer than its ``StreamMaxLength``) is
``scanner_unavailable`` too, not ``file_too_large``: the portal has already accepted the size
against its own limit, which ``file_too_large`` names to the applicant, so the refusal is a
misconfiguration for operators (``StreamMaxLength`` must be at least ``PORTAL_MAX_FILE_BYTES``)
and is logged at ERROR as such.

Logs name the signature (at WARNING) but never the file, its name or its content.
"""

from __future__ import annotations

import logging
import re
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from portal.domain.errors import IntakeError

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# clamd's replies are one short line; anything longer is not clamd.
MAX_REPLY = 4096
_FOUND = re.compile(r"stream: (\S.*) FOUND")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+\-]")


def parse_address(address: str) -> tuple[socket.AddressFamily, str | tuple[str, int]]:
    """``unix:/path/to/clamd.ctl`` or ``tcp:host:port`` (``tcp:[::1]:3310`` for IPv6)."""
    kind, _, rest = address.partition(":")
    if kind == "unix" and rest:
        return socket.AF_UNIX, rest
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if host and port.isdigit() and 0 < int(port) < 65536:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return family, (host, int(port))
    raise ValueError(f"clamd address must be unix:/path or tcp:host:port, not {address!r}")


class _Unavailable(Exception):
    """Internal: the exchange with clamd failed; ``reason`` goes into the IntakeError's params."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ClamdScanner:
    def __init__(self, address: str, timeout: float = 30.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.family, self.target = parse_address(address)
        self.address = address
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ClamdScanner({self.address!r}, timeout={self.timeout})"

    def scan(self, path: Path) -> None:
        """Return when clamd calls the file clean; raise IntakeError otherwise (see module doc)."""
        # Opened before connecting: a missing file is the caller's error, not the scanner's.
        with path.open("rb") as body:
            try:
                reply = self._exchange(b"zINSTREAM\0", body)
            except _Unavailable as exc:
                logger.error("clamd at %s unavailable (%s): %s", self.address, exc.reason, exc.detail)
                raise IntakeError("scanner_unavailable", reason=exc.reason) from None
        self._judge(reply)

    def ping(self) -> bool:
        try:
            return self._exchange(b"zPING\0", None) == "PONG"
        except _Unavailable:
            return False

    def _judge(self, reply: str) -> None:
        if reply == "stream: OK":
            return
        if found := _FOUND.fullmatch(reply):
            signature = _UNSAFE.sub("?", found[1])[:200]
            logger.warning("clamd found malware in an upload: %s", signature)
            raise IntakeError("file_infected", signature=signature)
        if reply.startswith("INSTREAM size limit exceeded"):
            logger.error(
                "clamd at %s refused a stream as longer than its StreamMaxLength; "
                "set StreamMaxLength to at least PORTAL_MAX_FILE_BYTES",
                self.address,
            )
            raise IntakeError("scanner_unavailable", reason="size_limit")
        if reply.endswith("ERROR"):
            # clamd's own error text ("stream: Can't allocate memory ERROR"); it holds no file data.
            logger.error("clamd at %s answered %r", self.address, reply[:200])
            raise IntakeError("scanner_unavailable", reason="error")
        # Not clamd's language: the content is not logged, it could echo what was sent.
        logger.error("clamd at %s gave an unexpected reply of %d characters", self.address, len(reply))
        raise IntakeError("scanner_unavailable", reason="reply")

    def _exchange(self, command: bytes, body: BinaryIO | None) -> str:
        """Send a command (and stream ``body``), return the reply without its NUL. One deadline
        covers connecting, sending and reading, so a server that trickles bytes cannot stall us."""
        deadline = time.monotonic() + self.timeout
        try:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
        except OSError as exc:
            raise _Unavailable("connect", _describe(exc)) from exc
        with sock:
            try:
                _arm(sock, deadline)
                sock.connect(self.target)
            except OSError as exc:
                raise _Unavailable("timeout" if isinstance(exc, TimeoutError) else "connect", _describe(exc)) from exc
            send_error: OSError | None = None
            try:
                _send(sock, command, deadline)
                if body is not None:
                    while chunk := body.read(CHUNK):
                        _send(sock, struct.pack(">I", len(chunk)) + chunk, deadline)
                    _send(sock, struct.pack(">I", 0), deadline)
            except (BrokenPipeError, ConnectionResetError) as exc:
                # clamd hangs up mid-stream past its StreamMaxLength, after saying so: read that.
                send_error = exc
            except OSError as exc:
                raise _Unavailable("timeout" if isinstance(exc, TimeoutError) else "io", _describe(exc)) from exc
            try:
                raw = _receive(sock, deadline)
            except OSError as exc:
                reason = "timeout" if isinstance(exc, TimeoutError) else "io"
                raise _Unavailable(reason, _describe(send_error or exc)) from exc
        if raw is None:
            raise _Unavailable("reply", "no complete reply" + (f" after {_describe(send_error)}" if send_error else ""))
        return raw.decode("utf-8", "replace").strip()


def _arm(sock: socket.socket, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    sock.settimeout(remaining)


def _send(sock: socket.socket, data: bytes, deadline: float) -> None:
    _arm(sock, deadline)
    sock.sendall(data)


def _receive(sock: socket.socket, deadline: float) -> bytes | None:
    """Read up to the terminating NUL; None when the peer closes first or sends too much."""
    reply = b""
    while len(reply) <= MAX_REPLY:
        _arm(sock, deadline)
        data = sock.recv(MAX_REPLY)
        if not data:
            return None
        reply += data
        end = reply.find(b"\0")
        if end >= 0:
            return reply[:end]
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def make_scanner(address: str, timeout_seconds: float) -> Callable[[Path], None] | None:
    """The scanner's ``scan`` for clamd at ``address``, or None when the address is empty
    (``PORTAL_CLAMD_ADDRESS`` unset: nothing is scanned).

    Raises ValueError for a malformed address, so a misconfigured portal fails at start.
    """
    if not address:
        return None
    return ClamdScanner(address, timeout_seconds).scan
