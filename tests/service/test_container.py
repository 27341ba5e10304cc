"""The container's recipe and settings (no engine runs here, so the files themselves are checked)."""

from __future__ import annotations

import re

from service.settings import load_settings
from tests.support import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(name + " ")]


def test_multi_stage_and_the_final_stage_runs_unprivileged() -> None:
    stages = instructions("FROM")
    assert len(stages) >= 2
    assert "slim" in stages[-1]
    final = DOCKERFILE.split(stages[-1], 1)[1]
    assert re.search(r"^USER being$", final, re.MULTILINE)
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_volume_port_health_signal_and_entrypoint() -> None:
    assert instructions("VOLUME") == ["/data"]
    assert instructions("EXPOSE") == ["8766"]
    assert "/healthz" in DOCKERFILE.split("HEALTHCHECK", 1)[1]
    assert instructions("STOPSIGNAL") == ["SIGTERM"]
    assert instructions("ENTRYPOINT") == ['["being", "run", "--config", "/etc/being/config.toml"]']


def test_every_package_is_copied_into_the_build() -> None:
    for package in ("streams", "operators", "sinks", "llm", "agent", "service"):
        assert f"COPY {package} ./{package}" in DOCKERFILE
    assert "COPY runtime.py ./" in DOCKERFILE


def test_container_config_binds_all_interfaces_and_keeps_data_on_the_volume() -> None:
    settings = load_settings(REPO / "docker" / "config.toml", env={})
    assert settings.http.host == "0.0.0.0"
    assert settings.http.port == 8766
    assert settings.storage.database_path.startswith("/data/")
    assert settings.inbox.path.startswith("/data/")
    assert load_settings(REPO / "config.toml", env={}).http.host == "127.0.0.1"


def test_container_config_lets_the_compose_network_name_reach_it() -> None:
    from service.http import HostRules

    settings = load_settings(REPO / "docker" / "config.toml", env={})
    rules = HostRules.for_service(settings.http.host, settings.http.allowed_hosts)
    assert rules.allows_host("being:8766") and rules.allows_host("localhost:8766")
    assert not rules.allows_host("evil.example:8766")
