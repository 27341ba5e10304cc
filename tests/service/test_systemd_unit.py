"""The systemd unit: Type=notify, restart and stop times that fit the drain, hardening; `systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.checks._process import FD_RESERVE
from service.settings import load_settings
from tests.support import REPO

UNIT = REPO / "deploy" / "systemd" / "digital-being.service"
CONFIG = REPO / "deploy" / "systemd" / "config.toml"
SYSUSERS = REPO / "deploy" / "systemd" / "digital-being.sysusers.conf"
INSTALLED_BEING = "/opt/digital-being/venv/bin/being"


def unit() -> dict[str, dict[str, str]]:
    """The unit's sections and keys (a key given twice would be a mistake here: refused)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(UNIT.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"line {number} is outside any section"
        key, _, value = line.partition("=")
        assert key not in current, f"line {number}: {key} is set twice"
        current[key] = value
    return sections


def _seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_the_service_notifies_and_restarts_on_failure() -> None:
    service = unit()["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert _seconds(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert service["ExecStart"] == f"{INSTALLED_BEING} run --config /etc/digital-being/config.toml"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_stop_timeout_is_above_the_drain_the_final_writes_and_the_closing_checkpoint() -> None:
    settings = load_settings(CONFIG, env={})
    drain = settings.shutdown.drain_timeout_s
    closing_checkpoint_s = 30.0  # runtime.py: writer.close(checkpoint=True, timeout_s=30.0)
    assert _seconds(unit()["Service"]["TimeoutStopSec"]) > drain + max(drain, 1.0) + closing_checkpoint_s


def test_hardening_and_a_dedicated_user() -> None:
    service = unit()["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "User": "being",
        "Group": "being",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert "u being - " in SYSUSERS.read_text(encoding="utf-8")


def test_every_path_the_config_writes_is_inside_read_write_paths() -> None:
    settings = load_settings(CONFIG, env={})
    service = unit()["Service"]
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    assert Path(service["WorkingDirectory"]) in writable
    assert service["StateDirectory"] == "digital-being"
    for path in (settings.storage.database_path, settings.inbox.path, settings.memory.archive_dir):
        assert any(Path(path).is_relative_to(folder) for folder in writable), path
    assert settings.http.host == "127.0.0.1"


def test_the_open_files_limit_covers_the_configured_connections() -> None:
    settings = load_settings(CONFIG, env={})
    need = settings.http.max_connections + settings.llm.max_connections + FD_RESERVE
    assert int(unit()["Service"]["LimitNOFILE"]) >= need


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is not None:
        return found
    reason = "systemd-analyze is not installed (Debian's systemd package; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must not skip the unit's verification")
    pytest.skip(reason)


def _verify(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` on ``text`` with ExecStart naming this venv's real ``being``."""
    being = Path(sys.executable).parent / "being"
    if not being.exists():
        pytest.skip(f"no `being` console script beside {sys.executable} (pip install -e . makes it)")
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED_BEING, str(being)), encoding="utf-8")
    return subprocess.run(
        [_systemd_analyze(), "verify", str(copy)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    done = _verify(tmp_path, UNIT.read_text(encoding="utf-8"))
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


def test_systemd_analyze_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSystm=strict")
    done = _verify(tmp_path, broken)
    assert "Unknown key 'ProtectSystm'" in done.stderr
