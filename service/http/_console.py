"""The web console: ``GET /`` and its assets under ``/console/``, files shipped in the package.

Plain HTML, CSS and JavaScript in ``service/http/console/``: no build step, nothing fetched from
another origin, so it works on a machine without a network. The files are read once, when the
app is built, and served from memory. Every answer carries a strict Content-Security-Policy
(scripts, styles and connections from this origin only, no inline script, no framing), so text
the page shows (episodes, replies, goals) cannot run as code even if an escaping mistake let it
into the document.

The page holds no secret: the token the other routes ask for is typed in the page (or given in a
``#token=`` fragment, which the browser never sends) and kept in the tab's ``sessionStorage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from aiohttp import web

__all__ = ["CONSOLE_FILES", "CONSOLE_ROUTES", "CONTENT_SECURITY_POLICY", "Console", "load_console"]

CONSOLE_ROUTES = ("/", "/console/{name}")
"""The console's path patterns: the page and its files, which hold no data (no token needed to load them)."""

CONSOLE_FILES: dict[str, str] = {
    "index.html": "text/html",
    "console.css": "text/css",
    "console.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Console:
    """The console's files, read once.

    Attributes:
        files: file name → its bytes.
    """

    files: dict[str, bytes]

    def response(self, name: str) -> web.Response:
        """The file ``name`` with its type and the console's headers; a JSON 404 for any other name."""
        body = self.files.get(name)
        if body is None:
            return web.json_response({"error": f"no console file {name[:100]!r}"}, status=404, headers=_HEADERS)
        return web.Response(body=body, headers={**_HEADERS, "Content-Type": f"{CONSOLE_FILES[name]}; charset=utf-8"})

    async def index(self, request: web.Request) -> web.Response:
        """``GET /``: the page."""
        return self.response("index.html")

    async def asset(self, request: web.Request) -> web.Response:
        """``GET /console/{name}``: one of the page's files."""
        return self.response(request.match_info["name"])


def load_console() -> Console:
    """Read the console's files from the package.

    Raises:
        FileNotFoundError: a file is missing from the installed package.
    """
    folder = resources.files("service.http").joinpath("console")
    return Console(files={name: folder.joinpath(name).read_bytes() for name in CONSOLE_FILES})
