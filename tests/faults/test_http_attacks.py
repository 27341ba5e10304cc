"""Attacks on the real service's HTTP port: each refused, and the service still answers /healthz.

One `being run` serves every test of this module (a start costs seconds); each test leaves
no connection of its own open behind it.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.service_process import ServiceProcess, write_config
from tests.faults.harness import stop_cleanly
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

HEADER_TIMEOUT_S = 1.0  # http.header_timeout_s (10 s by default), so the slow clients are closed quickly
HALF_OPEN = 200
EVIL = "evil.example"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    folder = tmp_path_factory.mktemp("http")
    archive = {"archive_dir": str(folder / "archive")}
    config = write_config(folder, http={"header_timeout_s": HEADER_TIMEOUT_S}, memory=archive)
    running = ServiceProcess(config)
    try:
        yield running
        assert stop_cleanly(running) == 0
    finally:
        running.stop()


def _healthy(service: ServiceProcess) -> None:
    response = service.get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def _connect(service: ServiceProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", service.port), timeout=10)


def _closed_by_server(sock: socket.socket, *, timeout_s: float) -> bytes | None:
    """What the server sent before closing (``None``: still open after ``timeout_s``)."""
    received = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    return None


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _refused(service: ServiceProcess, reason: str) -> float:
    return service.metric("being_http_requests_refused_total", f'reason="{reason}"')


def test_a_foreign_host_header_gets_421(service: ServiceProcess) -> None:
    before = _refused(service, "host")
    for path in ("/episodes", "/metrics", "/healthz"):
        response = httpx.get(f"http://127.0.0.1:{service.port}{path}", headers={"Host": EVIL}, timeout=10)
        assert response.status_code == 421, path
        assert "error" in response.json()
    assert _refused(service, "host") == before + 3
    _healthy(service)


def test_a_cross_site_post_to_archive_gets_403_and_archives_nothing(service: ServiceProcess) -> None:
    before = _refused(service, "origin")
    for origin in (f"https://{EVIL}", "null"):
        response = httpx.post(
            f"http://127.0.0.1:{service.port}/archive?older_than_days=1", headers={"Origin": origin}, timeout=10
        )
        assert response.status_code == 403, origin
    assert _refused(service, "origin") == before + 2
    _healthy(service)


def test_a_20_mb_body_gets_413_before_it_is_read(service: ServiceProcess) -> None:
    before = _refused(service, "body_too_large")
    size = 20 * 1024 * 1024
    with contextlib.closing(_connect(service)) as sock:
        head = (
            f"POST /archive HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {service.token}\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        answer = _closed_by_server(sock, timeout_s=30)
    assert answer is not None and _status(answer) == 413
    # chunked: counted as it arrives, refused once over the limit; the sender is cut off long before 20 MB
    chunk = b"x" * 65536
    sent = 0
    with contextlib.closing(_connect(service)) as sock:
        sock.sendall(
            b"POST /archive HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" % service.token.encode()
        )
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < size:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        answer = _closed_by_server(sock, timeout_s=30)
    assert answer is not None and _status(answer) == 413
    assert _refused(service, "body_too_large") == before + 2
    _healthy(service)


def test_a_20_mb_body_without_the_token_gets_401_before_it_is_read(service: ServiceProcess) -> None:
    before = _refused(service, "unauthorized")
    with contextlib.closing(_connect(service)) as sock:
        sock.sendall(f"POST /archive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {20 << 20}\r\n\r\n".encode())
        answer = _closed_by_server(sock, timeout_s=30)
    assert answer is not None and _status(answer) == 401
    assert b'WWW-Authenticate: Bearer realm="being"' in answer
    assert _refused(service, "unauthorized") == before + 1
    _healthy(service)


def test_200_half_open_connections_are_closed_and_the_service_still_answers(service: ServiceProcess) -> None:
    refused_before = service.metric("being_http_connections_refused_total")
    timeouts_before = service.metric("being_http_header_timeouts_total")
    sockets = [_connect(service) for _ in range(HALF_OPEN)]  # connected, never a byte sent
    try:
        answers = [_closed_by_server(sock, timeout_s=HEADER_TIMEOUT_S + 20) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert answers == [b""] * HALF_OPEN, "every half-open connection is closed without an answer"
    refused = service.metric("being_http_connections_refused_total") - refused_before
    timed_out = service.metric("being_http_header_timeouts_total") - timeouts_before
    # each one either past the cap (closed at once) or at the head deadline; how many of each depends on
    # how fast the 200 were made compared with the 1 s deadline, so only the sum is exact
    print(f"\n{HALF_OPEN} half-open connections: {refused:.0f} past the cap, {timed_out:.0f} at the head deadline")
    assert refused + timed_out == HALF_OPEN
    _healthy(service)


def test_a_slowloris_head_is_closed_at_the_head_deadline(service: ServiceProcess) -> None:
    timeouts_before = service.metric("being_http_header_timeouts_total")
    with contextlib.closing(_connect(service)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer: bytes | None = None
        for n in range(100):  # a header line every 0.2 s, each well inside any per-read timeout
            try:
                sock.sendall(f"X-Slow-{n}: a\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
                break
            answer = _closed_by_server(sock, timeout_s=0.2)
            if answer is not None:
                break
        assert answer == b"", "closed without an answer while the head was still coming"
    wait_until(
        lambda: service.metric("being_http_header_timeouts_total") >= timeouts_before + 1, what="the timeout counted"
    )
    _healthy(service)


def test_the_service_is_whole_after_the_attacks(service: ServiceProcess) -> None:
    _healthy(service)
    assert service.get("/readyz").status_code == 200
    assert service.get("/episodes?type=system.start").json()["count"] == 1
