"""The console's files at ``/`` and ``/console/``: served from the package, same-origin only, under a strict CSP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from service.http import Health, build_app
from service.http._console import CONSOLE_FILES, CONSOLE_ROUTES, CONTENT_SECURITY_POLICY, load_console
from sinks import DuckWriter, open_database
from tests.support import REPO

FOLDER = REPO / "service" / "http" / "console"


@pytest.fixture
async def client(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[httpx.AsyncClient]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    server = TestServer(build_app(registry, health, writer.reader))
    await server.start_server()
    http = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10)
    yield http
    await http.aclose()
    await server.close()
    writer.close()


async def test_the_page_is_served_at_the_root_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == (FOLDER / "index.html").read_bytes()
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("name", sorted(CONSOLE_FILES))
async def test_every_file_is_served_with_its_type_and_the_policy(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/console/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{CONSOLE_FILES[name]}; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.content == (FOLDER / name).read_bytes()


@pytest.mark.parametrize(
    "path", ["/console/nope.js", "/console/..%2F_app.py", "/console/%2e%2e%2f%2e%2e%2fpyproject.toml", "/console/"]
)
async def test_only_the_console_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "[project]" not in response.text and "import" not in response.text


async def test_the_page_writes_nothing(client: httpx.AsyncClient) -> None:
    assert (await client.post("/", content=b"x")).status_code == 405


def test_the_folder_holds_exactly_the_served_files() -> None:
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(CONSOLE_FILES)
    assert set(load_console().files) == set(CONSOLE_FILES)


def test_nothing_is_fetched_from_another_origin_and_no_script_is_inline() -> None:
    html = (FOLDER / "index.html").read_text(encoding="utf-8")
    for attribute in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert attribute.startswith("/console/"), attribute
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/console/console.js" defer>']
    assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None  # no inline code
    assert " on" not in re.sub(r"\s+", " ", " ".join(re.findall(r"<[^>]+>", html))).replace(" one", "")
    assert "style=" not in html
    for name in ("console.js", "console.css"):
        text = (FOLDER / name).read_text(encoding="utf-8")
        assert "://" not in text.replace("http://www.w3.org", ""), name
        assert "@import" not in text and "url(" not in text, name


def test_the_script_never_writes_html() -> None:
    script = (FOLDER / "console.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_the_console_routes_are_the_ones_named_for_the_open_list(tmp_path: Path, registry: CollectorRegistry) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    try:
        app = build_app(registry, Health(), writer.reader)
        patterns = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    finally:
        writer.close()
    assert set(CONSOLE_ROUTES) <= patterns
    assert "/status" in patterns and "/status" not in CONSOLE_ROUTES  # data: it needs the token like the rest
