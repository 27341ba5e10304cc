"""``being export --parquet DIR`` where DIR cannot be a folder: one clear line and exit 1, nothing half-written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sinks import open_database
from tests.e2e.service_process import being_command


def _instance(folder: Path) -> Path:
    open_database(folder / "being.duckdb").close()
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "being.duckdb"}"\n[memory]\narchive_dir = "{folder / "archive"}"\n',
        encoding="utf-8",
    )
    return path


def _export(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    return subprocess.run(
        [*being_command(), "export", "--config", str(config), "--parquet", str(out), "--instance", "a"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("kind", ["a file", "a file above it", "a dangling link"])
def test_a_dir_that_cannot_be_a_folder_is_one_clear_line_and_exit_1(tmp_path: Path, kind: str) -> None:
    config = _instance(tmp_path)
    (tmp_path / "plain").write_text("not a folder", encoding="utf-8")
    out = {
        "a file": tmp_path / "plain",
        "a file above it": tmp_path / "plain" / "inside",
        "a dangling link": tmp_path / "link",
    }[kind]
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    done = _export(config, out)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()  # no traceback
    assert line.startswith("being export: cannot make the folder ") and "instance=a" in line, line
    assert (tmp_path / "plain").read_text(encoding="utf-8") == "not a folder"
    assert not (tmp_path / "nowhere").exists()
