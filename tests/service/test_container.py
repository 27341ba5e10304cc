"""The container's recipe and settings, checked as files (tests/container runs the image under a real
engine: `make container-test`), and the two things the image relies on, run for real: BEING_CONFIG and
JSON lines."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

from service.settings import load_settings
from tests.e2e.service_process import being_command
from tests.support import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
UID_GID = "10001"


def instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(name + " ")]


def final_stage() -> str:
    return DOCKERFILE.split(instructions("FROM")[-1], 1)[1]


def test_no_syntax_line_so_an_air_gapped_build_fetches_no_frontend() -> None:
    assert not any(line.lower().startswith("# syntax") for line in DOCKERFILE.splitlines())


def test_multi_stage_and_the_final_stage_runs_as_the_pinned_unprivileged_user() -> None:
    stages = instructions("FROM")
    assert len(stages) >= 2
    assert "slim" in stages[-1]
    final = final_stage()
    assert re.search(rf"^USER {UID_GID}:{UID_GID}$", final, re.MULTILINE)
    assert f"groupadd --gid {UID_GID} being" in final and f"useradd --uid {UID_GID} --gid {UID_GID}" in final
    assert f"chown {UID_GID}:{UID_GID} /data" in final
    assert "COPY --from=venv /opt/venv /opt/venv" in final
    assert "COPY --from=project /opt/project/ /opt/venv/lib/python3.11/site-packages/" in final


def test_volume_port_health_signal_and_entrypoint() -> None:
    assert instructions("VOLUME") == ["/data"]
    assert instructions("EXPOSE") == ["8766"]
    health = DOCKERFILE.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    assert "/healthz" in health and "--interval=5s" in health and "--start-period=20s" in health
    # --start-interval needs Docker Engine 25; Debian 12's docker.io (20.10) refuses to build with it.
    assert "--start-interval" not in health
    assert instructions("STOPSIGNAL") == ["SIGTERM"]
    assert instructions("ENTRYPOINT") == ['["being"]']
    assert instructions("CMD") == ['["run"]']


def test_the_container_logs_json_and_names_its_config() -> None:
    env = " ".join(line for line in final_stage().splitlines() if line.startswith(("ENV", "    ")))
    assert "BEING_LOG_FORMAT=json" in env and "BEING_CONFIG=/etc/being/config.toml" in env
    assert "COPY docker/config.toml /etc/being/config.toml" in final_stage()


def test_dependencies_install_from_the_constraints_in_a_stage_apart_from_the_source() -> None:
    assert "PIP_CONSTRAINT=/src/docker/constraints.txt" in DOCKERFILE
    stages = {name: base for base, name in re.findall(r"^FROM (\S+) AS (\w+)$", DOCKERFILE, re.MULTILINE)}
    assert stages == {"deps": "python:3.11-slim", "venv": "deps", "project": "deps", "run": "python:3.11-slim"}
    deps = DOCKERFILE.split("FROM deps AS venv", 1)[0]
    assert deps.index("COPY docker/constraints.txt") < deps.index("pip install -r /tmp/requirements.txt")
    assert "COPY streams" not in deps and "COPY runtime.py" not in deps
    assert "-type d -name tests -prune -exec rm -rf {} +" in deps and "pyarrow/include" in deps
    venv = DOCKERFILE.split("FROM deps AS venv", 1)[1].split("FROM ", 1)[0]
    assert "pip uninstall --yes pip setuptools" in venv
    project = DOCKERFILE.split("FROM deps AS project", 1)[1].split("FROM ", 1)[0]
    assert project.index("COPY runtime.py ./") < project.index("pip install --no-deps --target /opt/project .")


def test_every_package_is_copied_into_the_build() -> None:
    for package in ("streams", "operators", "sinks", "llm", "agent", "service"):
        assert f"COPY {package} ./{package}" in DOCKERFILE
    assert "COPY runtime.py ./" in DOCKERFILE


def _lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docker_lock", REPO / "docker" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_constraints_pin_every_dependency_exactly() -> None:
    lock = _lock()
    pins = {}
    for line in (REPO / "docker" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not pinned with =="
            pins[lock.canonical(name)] = version
    needed = lock.runtime_pins()
    missing = sorted(set(needed) - set(pins))
    assert not missing, f"docker/constraints.txt lacks {missing}: run `python docker/lock.py > docker/constraints.txt`"
    assert "hatchling" in pins


def test_the_drain_ends_well_inside_dockers_default_stop_grace() -> None:
    settings = load_settings(REPO / "docker" / "config.toml", env={})
    drain = settings.shutdown.drain_timeout_s
    final_writes = max(drain, 1.0)  # runtime.py bounds the last writes by the drain again
    assert drain + final_writes <= 10.0 - 3.0  # docker stop's default grace is 10 s: 3 s left for the checkpoint


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


def test_any_subcommand_reads_the_settings_being_config_names(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    database = tmp_path / "being.duckdb"
    config.write_text(
        f'[storage]\ndatabase_path = "{database.as_posix()}"\n[inbox]\npath = "{(tmp_path / "in.txt").as_posix()}"\n'
        f'[memory]\narchive_dir = "{(tmp_path / "archive").as_posix()}"\n[http]\nport = 0\n[reply]\nenabled = false\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    env |= {"BEING_CONFIG": str(config), "BEING_LOG_FORMAT": "json"}
    done = subprocess.run([*being_command(), "check", "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["settings"]["detail"] == f"valid, from {config}; overridden by BEING_LOG_FORMAT"
    assert checks["database"]["detail"] == f"{database} does not exist yet; `being run` creates it"
    episodes = subprocess.run([*being_command(), "episodes"], capture_output=True, text=True, timeout=120, env=env)
    for line in episodes.stderr.splitlines():
        json.loads(line)  # every line the container would log is JSON, whatever the command says
