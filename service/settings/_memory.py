"""``[memory]``: archival of old episodes, the size of vector memory, search limits and legacy import."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.settings._fields import setting

__all__ = ["LegacySettings", "MemorySettings", "SearchSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchSettings:
    """``[memory.search]``: what /search and ``being search`` accept."""

    default_k: int = setting(10, help="hits returned when k is not given", min=1, max=1000)
    max_k: int = setting(100, help="largest k accepted; more gets a 400", min=1, max=1000)
    max_query_chars: int = setting(2000, help="longer query texts get a 400", min=1, max=100_000)
    embedder: str = setting(
        "lexical", help="what embeds query texts: the offline lexical embedder, or none", choices=("lexical", "none")
    )
    lexical_dim: int = setting(384, help="vector length of the lexical embedder", min=8, max=65_536)
    quantised_index: bool = setting(
        True, help="int8 codes in memory and float32 rows in a file beside the database; false: float32 in memory"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacySettings:
    """``[memory.legacy]``: how ``being import-legacy`` reads the predecessor's files."""

    time_zone: str = setting("UTC", help="IANA zone the predecessor's local times are read in")
    embedder: str = setting("model:nomic-embed-text:768", help="embedder name its vectors are stored under")
    dim: int = setting(768, help="float32 values per legacy vector blob", min=1, max=65_536)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySettings:
    """``[memory]``: episodes' archival, vector memory's bounds, the upkeep schedule."""

    archive_after_days: int = setting(90, help="episodes older than this move to Parquet", min=1, max=36_500)
    archive_dir: str = setting("data/archive", help="folder of the Parquet archive")
    upkeep_interval_s: float = setting(
        3600.0, help="archival and vector cleanup run this often", min=1.0, max=7 * 86_400.0
    )
    access_flush_interval_s: float = setting(
        30.0, help="search hits are written to access statistics this often", min=0.1, max=86_400.0
    )
    max_vectors: int = setting(100_000, help="vector memory keeps at most this many; the least used go", min=0)
    vector_ttl_days: float = setting(0.0, help="vectors unused this long are removed; 0 keeps them", min=0.0)
    cleanup_batch_rows: int = setting(10_000, help="rows deleted per transaction by cleanup and archival", min=1)
    remember: bool = setting(
        True, help="embed user messages and replies into vector memory with the [memory.search] embedder"
    )
    search: SearchSettings = field(default_factory=SearchSettings)
    legacy: LegacySettings = field(default_factory=LegacySettings)
