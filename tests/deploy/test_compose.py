"""deploy/compose.yaml: every service, volume, port and file it names exists and agrees with the config.

The images (Ollama, Prometheus, Grafana) cannot be pulled here, so the file is checked as data
against the repository: the being's own settings (docker/config.toml with the environment the
file gives it), the Prometheus config and rules it mounts, the Grafana provisioning. And
Debian's ``docker-compose config`` must accept it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import load_settings
from tests.deploy.conftest import DEPLOY, tool
from tests.support import REPO

COMPOSE = DEPLOY / "compose.yaml"
SERVICES = {"being", "ollama", "prometheus", "grafana"}
FINAL_WRITES_S = 5.0
"""What a stop needs after the drain (search hits, system.stop, the checkpoint), at least."""


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = _compose()["services"][name]
    return service


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match and text, f"expected a duration such as 30s or 1m30s, got {text!r}"
    return int(match[1] or 0) * 60.0 + int(match[2] or 0)


def _being_settings() -> Any:
    environment = {k: str(v) for k, v in _service("being").get("environment", {}).items()}
    return load_settings(REPO / "docker" / "config.toml", env=environment)


def _mounts(name: str) -> list[tuple[str, str]]:
    return [tuple(v.split(":")[:2]) for v in _service(name).get("volumes", [])]  # type: ignore[misc]


def test_the_four_services_have_healthchecks_and_restart() -> None:
    services = _compose()["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD" and len(check) > 1, name
        assert service["restart"] == "unless-stopped", name


def test_every_named_volume_is_declared_and_used() -> None:
    declared = set(_compose()["volumes"])
    used = {source for name in SERVICES for source, _ in _mounts(name) if not source.startswith(".")}
    assert used == declared


def test_every_file_it_mounts_or_builds_from_exists() -> None:
    for name in SERVICES:
        for source, _ in _mounts(name):
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} is not in the repository"
    build = _service("being")["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_ports_are_published_on_loopback_only_and_match_the_being_s_config() -> None:
    settings = _being_settings()
    for name in SERVICES:
        for port in _service(name).get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} would publish on every interface"
    assert _service("being")["ports"] == [f"127.0.0.1:{settings.http.port}:{settings.http.port}"]
    assert settings.http.host == "0.0.0.0"  # inside the container, so the published port reaches it
    assert "being" in settings.http.allowed_hosts  # Prometheus asks for Host: being:PORT


def test_the_being_keeps_its_data_on_the_volume_and_reaches_ollama() -> None:
    settings = _being_settings()
    data = dict(_mounts("being"))
    assert data == {"being-data": "/data"}
    for path in (settings.storage.database_path, settings.inbox.path):
        assert Path(path).is_relative_to("/data"), path
    assert settings.llm.base_url == "http://ollama:11434"
    assert "ollama" in _service("being")["depends_on"]


def test_the_stop_grace_outlasts_the_drain() -> None:
    settings = _being_settings()
    grace = _seconds(_service("being")["stop_grace_period"])
    assert grace >= settings.shutdown.drain_timeout_s + FINAL_WRITES_S, (grace, settings.shutdown.drain_timeout_s)


def test_prometheus_scrapes_the_being_and_loads_the_rules_it_is_given() -> None:
    mounts = dict(_mounts("prometheus"))
    config_path = mounts["./prometheus/prometheus.yml"]
    command = _service("prometheus")["command"]
    assert f"--config.file={config_path}" in command
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "being"  # the alert rules select job="being"
    assert job["static_configs"][0]["targets"] == [f"being:{_being_settings().http.port}"]
    for rule_file in config["rule_files"]:
        in_container = str(Path(config_path).parent / rule_file)
        assert in_container in mounts.values(), f"{rule_file} is not mounted next to the config"
    assert str(Path(mounts["prometheus-data"])) in {
        c.split("=", 1)[1] for c in command if c.startswith("--storage.tsdb.path")
    }


def test_grafana_gets_the_provisioning_and_the_dashboard_where_the_provider_looks() -> None:
    mounts = dict(_mounts("grafana"))
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "being.yml").read_text())
    folder = provider["providers"][0]["options"]["path"]
    assert Path(mounts["./grafana/being.json"]).parent == Path(folder)
    source = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in _service("prometheus")["ports"]


def test_docker_compose_accepts_the_file() -> None:
    docker_compose = tool("docker-compose", "docker-compose")
    done = subprocess.run(
        [docker_compose, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_config(promtool: str) -> None:
    done = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(SERVICES - {"being"}))
def test_the_images_are_pinned(name: str) -> None:
    image = _service(name)["image"]
    assert ":" in image and not image.endswith(":latest"), image
