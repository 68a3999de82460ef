"""The clamd client against a real clamd (Debian's clamav-daemon, our own one-signature database)
and against small fake servers that refuse, hang or talk nonsense."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError

from portal.domain.errors import IntakeError
from portal.intake.scanner import ClamdScanner, make_scanner, parse_address
from portal.settings import PortalSettings
from tests.support.clamd import DETECTED_AS, ClamdMissing, ClamdProcess, eicar, find_clamd, run_clamd
from tests.support.processes import free_port

# A file name with personal data: it must never reach the log.
PERSONAL_NAME = "Erika_Mustermann_Reisepass.pdf"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    try:
        find_clamd()
    except ClamdMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    process = run_clamd(tmp_path_factory.mktemp("clamd"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(params=["unix", "tcp"])
def address(request: pytest.FixtureRequest, clamd: ClamdProcess) -> str:
    return clamd.unix_address if request.param == "unix" else clamd.tcp_address


def write(path: Path, *parts: bytes) -> Path:
    path.write_bytes(b"".join(parts))
    return path


def refusal(scanner: ClamdScanner, path: Path) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        scanner.scan(path)
    return caught.value


# --- against the real clamd ---------------------------------------------------------------------


def test_clamd_starts_fast(clamd: ClamdProcess) -> None:
    assert clamd.started_in is not None and clamd.started_in < 5


def test_clean_file_passes(address: str, tmp_path: Path) -> None:
    scanner = ClamdScanner(address, timeout=10)
    assert scanner.ping()
    scanner.scan(write(tmp_path / PERSONAL_NAME, b"%PDF-1.7\n", b"nothing to see here\n" * 100))


def test_infected_file_is_refused(address: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.intake.scanner")
    error = refusal(ClamdScanner(address, timeout=10), write(tmp_path / PERSONAL_NAME, eicar()))
    assert error.code == "file_infected" and error.params == {"signature": DETECTED_AS}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and DETECTED_AS in warnings[0].getMessage()
    assert "Mustermann" not in caplog.text and str(tmp_path) not in caplog.text


def test_empty_file_is_clean(clamd: ClamdProcess, tmp_path: Path) -> None:
    ClamdScanner(clamd.unix_address).scan(write(tmp_path / "empty", b""))


def test_large_files_stream_whole(clamd: ClamdProcess, tmp_path: Path) -> None:
    """Several MB in many chunks; the signature at the very end is still found."""
    scanner = ClamdScanner(clamd.unix_address, timeout=20)
    clean = os.urandom(12_000_000)
    started = time.monotonic()
    scanner.scan(write(tmp_path / "clean.bin", clean))
    assert time.monotonic() - started < 10
    error = refusal(scanner, write(tmp_path / "tail.bin", clean, eicar()))
    assert error.code == "file_infected"


def test_clamd_stopped_mid_test(tmp_path: Path) -> None:
    scanner_file = write(tmp_path / "doc.txt", b"hello")
    with run_clamd(tmp_path / "clamd") as private:
        for address in (private.unix_address, private.tcp_address):
            ClamdScanner(address, timeout=5).scan(scanner_file)
        private.stop()
        for address in (private.unix_address, private.tcp_address):
            scanner = ClamdScanner(address, timeout=5)
            started = time.monotonic()
            assert refusal(scanner, scanner_file).code == "scanner_unavailable"
            assert time.monotonic() - started < 1 and not scanner.ping()
        private.start()  # back again on the same socket and port: scanning works again
        ClamdScanner(private.unix_address, timeout=5).scan(scanner_file)
        ClamdScanner(private.tcp_address, timeout=5).scan(scanner_file)


def test_stream_longer_than_clamds_limit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """clamd hangs up mid-stream; its reply is read anyway. Not file_too_large: the portal's own
    limit allowed the file, so this is clamd's misconfiguration and the applicant retries later."""
    with run_clamd(tmp_path / "clamd", stream_max_length="1M") as private:
        error = refusal(ClamdScanner(private.unix_address, timeout=10), write(tmp_path / "big", b"a" * 3_000_000))
    assert (error.code, error.params) == ("scanner_unavailable", {"reason": "size_limit"})
    assert "StreamMaxLength" in caplog.text


# --- nobody there -------------------------------------------------------------------------------


def test_closed_port(tmp_path: Path) -> None:
    scanner = ClamdScanner(f"tcp:127.0.0.1:{free_port()}", timeout=5)
    started = time.monotonic()
    error = refusal(scanner, write(tmp_path / "doc", b"x"))
    assert (error.code, error.params) == ("scanner_unavailable", {"reason": "connect"})
    assert time.monotonic() - started < 1 and not scanner.ping()


def test_dead_and_missing_unix_socket(tmp_path: Path) -> None:
    dead = tmp_path / "dead.ctl"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(dead))  # the socket file stays, nobody listens
    doc = write(tmp_path / "doc", b"x")
    for path in (dead, tmp_path / "missing.ctl"):
        scanner = ClamdScanner(f"unix:{path}", timeout=5)
        started = time.monotonic()
        assert refusal(scanner, doc).code == "scanner_unavailable"
        assert time.monotonic() - started < 1 and not scanner.ping()


# --- servers that are not clamd -----------------------------------------------------------------


@contextmanager
def fake_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A loopback server running ``handle(connection, stop)`` per connection; yields its address."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    threads: list[threading.Thread] = []

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                handle(conn, stop)
            except OSError:
                pass

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=serve_one, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield f"tcp:127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for thread in threads:
            thread.join(5)


def read_stream(conn: socket.socket) -> None:
    """Consume a zINSTREAM command and its chunks up to the zero-length terminator."""
    buffer = b""
    conn.settimeout(5)
    while not buffer.endswith(b"\0\0\0\0"):  # good enough for the small test files
        data = conn.recv(65536)
        if not data:
            return
        buffer += data


def replying(reply: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        read_stream(conn)
        conn.sendall(reply)

    return handle


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "reply"),  # no NUL, then hangs up
        (b"Hello there\0", "reply"),
        (b"stream: FOUND\0", "reply"),
        (b"x" * 20_000, "reply"),  # endless line
        (b"stream: Can't allocate memory ERROR\0", "error"),
        (b"UNKNOWN COMMAND\0", "reply"),
        (b"", "reply"),  # hangs up without a word
    ],
)
def test_garbage_replies(reply: bytes, reason: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with fake_server(replying(reply)) as address:
        error = refusal(ClamdScanner(address, timeout=5), write(tmp_path / PERSONAL_NAME, b"secret content"))
    assert (error.code, error.params) == ("scanner_unavailable", {"reason": reason})
    assert "Mustermann" not in caplog.text


def test_echoing_server_content_stays_out_of_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def echo(conn: socket.socket, stop: threading.Event) -> None:
        read_stream(conn)
        conn.sendall(b"stream: Personalausweis Erika Mustermann\0")

    with fake_server(echo) as address:
        assert refusal(ClamdScanner(address, timeout=5), write(tmp_path / "doc", b"x")).code == "scanner_unavailable"
    assert "Mustermann" not in caplog.text


def hang_after_reading(conn: socket.socket, stop: threading.Event) -> None:
    read_stream(conn)
    stop.wait(10)


def hang_without_reading(conn: socket.socket, stop: threading.Event) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stop.wait(10)


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    read_stream(conn)
    while not stop.wait(0.05):
        conn.sendall(b"s")


@pytest.mark.parametrize("handle", [hang_after_reading, hang_without_reading, trickle])
def test_hanging_servers_time_out(handle: Callable[[socket.socket, threading.Event], None], tmp_path: Path) -> None:
    doc = write(tmp_path / "doc", os.urandom(8_000_000 if handle is hang_without_reading else 1000))
    with fake_server(handle) as address:
        scanner = ClamdScanner(address, timeout=0.5)
        started = time.monotonic()
        error = refusal(scanner, doc)
        elapsed = time.monotonic() - started
    assert (error.code, error.params) == ("scanner_unavailable", {"reason": "timeout"})
    assert 0.4 < elapsed < 1.5


def test_ping_of_a_stranger(tmp_path: Path) -> None:
    def pong_less(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(16)
        conn.sendall(b"PANG\0")

    with fake_server(pong_less) as address:
        assert not ClamdScanner(address, timeout=1).ping()


# --- configuration ------------------------------------------------------------------------------


def test_missing_file_is_the_callers_error(clamd: ClamdProcess, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ClamdScanner(clamd.unix_address).scan(tmp_path / "nope")


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("unix:/run/clamav/clamd.ctl", (socket.AF_UNIX, "/run/clamav/clamd.ctl")),
        ("tcp:127.0.0.1:3310", (socket.AF_INET, ("127.0.0.1", 3310))),
        ("tcp:clamav.internal:3310", (socket.AF_INET, ("clamav.internal", 3310))),
        ("tcp:[::1]:3310", (socket.AF_INET6, ("::1", 3310))),
    ],
)
def test_parse_address(address: str, parsed: tuple[object, object]) -> None:
    assert parse_address(address) == parsed


@pytest.mark.parametrize(
    "address", ["", "unix:", "/run/clamd.ctl", "tcp:host", "tcp::3310", "tcp:h:0", "tcp:h:x", "udp:h:1"]
)
def test_bad_addresses(address: str) -> None:
    with pytest.raises(ValueError):
        parse_address(address)
    with pytest.raises(ValueError):
        ClamdScanner(address)


def test_make_scanner(monkeypatch: pytest.MonkeyPatch, clamd: ClamdProcess, tmp_path: Path) -> None:
    assert make_scanner("", 30.0) is None

    scan = make_scanner(clamd.unix_address, 7.5)
    assert scan is not None
    assert isinstance(scan.__self__, ClamdScanner) and scan.__self__.timeout == 7.5  # type: ignore[attr-defined]
    scan(write(tmp_path / "doc", b"fine"))
    with pytest.raises(IntakeError, match="file_infected"):
        scan(write(tmp_path / "bad", eicar()))

    monkeypatch.setenv("PORTAL_CLAMD_ADDRESS", "clamd:3310")
    with pytest.raises(ValidationError):
        PortalSettings()
