"""Settings: parsed once from config.toml and ``BEING_*`` variables into frozen dataclasses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from service.settings._errors import SettingsError
from service.settings._fields import FieldSpec, PolicySource, from_policy, setting, source_of, spec_of
from service.settings._http_access import ClientLimitSettings, EventStreamSettings
from service.settings._llm import LLMOptionsSettings, LLMSettings
from service.settings._loader import CONFIG_ENV, ENV_PREFIX, env_names, load_into, parse_toml
from service.settings._memory import LegacySettings, MemorySettings, SearchSettings
from service.settings._mind import MindSettings, intentions_path, notes_dir, parse_active_hours
from service.settings._nats import NatsSettings
from service.settings._operations import CheckSettings, HealthSettings
from service.settings._paths import check_paths, path_owner
from service.settings._resilience import CacheSettings, RedisAddress, ResilienceSettings
from service.settings._sections import (
    HttpSettings,
    InboxSettings,
    LogSettings,
    RecorderSettings,
    ReplySettings,
    Settings,
    ShutdownSettings,
    SinkSettings,
    StorageSettings,
    TickSettings,
)
from service.settings._shared_limits import SharedLimitsSettings
from service.settings._surfaces import IngestSettings, OutboxSettings, outbox_path
from service.settings._tracing import TracingSettings, exporter_headers

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "CacheSettings",
    "CheckSettings",
    "ClientLimitSettings",
    "EventStreamSettings",
    "FieldSpec",
    "HealthSettings",
    "HttpSettings",
    "InboxSettings",
    "IngestSettings",
    "LLMOptionsSettings",
    "LLMSettings",
    "LegacySettings",
    "LogSettings",
    "MemorySettings",
    "MindSettings",
    "NatsSettings",
    "OutboxSettings",
    "PolicySource",
    "RecorderSettings",
    "RedisAddress",
    "ReplySettings",
    "ResilienceSettings",
    "SearchSettings",
    "Settings",
    "SettingsError",
    "SharedLimitsSettings",
    "ShutdownSettings",
    "SinkSettings",
    "StorageSettings",
    "TickSettings",
    "TracingSettings",
    "check_paths",
    "env_names",
    "exporter_headers",
    "from_policy",
    "intentions_path",
    "load_settings",
    "notes_dir",
    "outbox_path",
    "parse_active_hours",
    "path_owner",
    "setting",
    "source_of",
    "spec_of",
]


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the service's settings.

    Args:
        path: a config.toml; ``None`` uses the embedded defaults.
        env: the environment (``os.environ`` when ``None``); ``BEING_<SECTION>_<KEY>`` overrides.

    Raises:
        SettingsError: one line naming the key, the value given and what is expected; also when
            two of the service's paths collide (:func:`check_paths`), before anything is touched.
    """
    table = parse_toml(path) if path is not None else {}
    origin = str(path) if path is not None else "defaults"
    environ = os.environ if env is None else env
    settings = load_into(Settings, table, environ, origin)
    check_paths(settings, table=table, env=environ, origin=origin)
    return settings
