"""``being search "text"``: the remembered texts closest in meaning, from the service or the file.

The query is embedded with the configured embedder (``[memory.search] embedder``) and scored
only against vectors of that embedder. While ``being run`` holds the database this asks it
(``GET /search``, which also counts the hits); otherwise it opens the file read-only and
searches it in SQL.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from llm import vectorizer_for
from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import ask_service
from service.errors import NoDatabaseError
from service.settings import Settings
from sinks import SinkError, VectorQuery, describe_hits, open_database, search_table

__all__ = ["register", "search_memory"]


def _parse_since(text: str) -> datetime:
    since = datetime.fromisoformat(text)
    if since.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a time with a zone (e.g. 2026-01-01T00:00:00Z), got {text!r}")
    return since


def _from_file(settings: Settings, text: str, k: int, type: str | None, since: datetime | None) -> dict[str, Any]:
    search = settings.memory.search
    embedder = vectorizer_for(search.embedder, search.lexical_dim)
    if embedder is None:
        raise ValueError("search is disabled: [memory.search] embedder = 'none'")
    path = Path(settings.storage.database_path)
    if not path.exists():
        raise NoDatabaseError(path)
    vector = embedder.vectors([text])[0]
    body: dict[str, Any] = {"query": text, "embedder": embedder.name, "k": k, "hits": [], "count": 0}
    if not np.any(vector):
        return body
    con = open_database(path, threads=1, memory_limit_mb=settings.storage.duckdb_memory_limit_mb, read_only=True)
    try:
        query = VectorQuery(embedder=embedder.name, vector=vector, k=k, type=type, since=since)
        hits = describe_hits(con, search_table(con, query))
    finally:
        con.close()
    return {**body, "hits": hits, "count": len(hits)}


def search_memory(
    settings: Settings, text: str, *, k: int | None = None, type: str | None = None, since: datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """Search the service when it runs, else the file; returns (where, body as /search gives it).

    Raises:
        ValueError: a bad query (empty, too long, k out of range) or search disabled.
        ServiceAnswerError: the service answered with an error.
        NoDatabaseError: no service runs and the database does not exist yet.
        SinkError: the file could not be read.
    """
    search = settings.memory.search
    chosen = search.default_k if k is None else k
    if not text.strip():
        raise ValueError("expected a non-empty query text")
    if len(text) > search.max_query_chars:
        raise ValueError(f"query: expected at most {search.max_query_chars} characters, got {len(text)}")
    if not 1 <= chosen <= search.max_k:
        raise ValueError(f"k: expected 1 to {search.max_k}, got {chosen}")
    params = {"q": text, "k": str(chosen)}
    if type:
        params["type"] = type
    if since:
        params["since"] = since.isoformat()
    body = ask_service(settings, "GET", "/search", params)
    if body is not None:
        return "service", body
    return "file", _from_file(settings, text, chosen, type, since)


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    try:
        where, body = search_memory(settings, args.text, k=args.k, type=args.type, since=args.since)
    except (ValueError, SinkError) as exc:
        print(f"being search: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"source": where, **body}, ensure_ascii=False))
        return EXIT_OK
    for hit in body["hits"]:
        text = str(hit["text"]).replace("\n", " ")
        print(f"{hit['score']:.3f}  {hit['created_at']}  {hit['type']:<16} {text[:100]}")
    if not body["hits"]:
        print(f"no memories of embedder {body['embedder']} match", file=sys.stderr)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("search", help="find remembered texts close in meaning to a text")
    add_config_option(parser)
    parser.add_argument("text", help="what to look for")
    parser.add_argument("--k", type=int, default=None, help="how many hits (default: [memory.search] default_k)")
    parser.add_argument("--type", help="only memories of this type (e.g. monologue)")
    parser.add_argument("--since", type=_parse_since, help="only memories made at or after this ISO 8601 time")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.set_defaults(handler=handle)
