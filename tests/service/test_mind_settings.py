"""``[mind]``: defaults, the derived paths, the checks, environment overrides and path collisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import MindSettings, Settings, SettingsError, load_settings, parse_active_hours, path_owner
from service.settings import intentions_path as intentions_of
from service.settings import notes_dir as notes_of


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, env=env or {})


def _refusal(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        _load(tmp_path, text, env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_intentions_file_lies_beside_the_inbox_and_the_notes_beside_the_database() -> None:
    settings = Settings()
    assert settings.mind.enabled is True
    assert intentions_of(settings.mind.intentions_path, settings.inbox.path) == Path("intentions.md")
    assert intentions_of("", "spool/in/inbox.txt") == Path("spool/in/intentions.md")
    assert intentions_of("my/plan.md", "spool/in/inbox.txt") == Path("my/plan.md")
    assert notes_of(settings.mind.notes_dir, settings.storage.database_path) == Path("data/notes")
    assert notes_of("", "/var/lib/being/being.duckdb") == Path("/var/lib/being/notes")


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        '[mind]\ncalls_per_tick = 6\nactive_hours = "8-22"\n',
        {"BEING_MIND_CALLS_PER_TICK": "9", "BEING_MIND_ENABLED": "off", "BEING_MIND_INTENTIONS_MAX_BYTES": "100"},
    )
    assert settings.mind.calls_per_tick == 9
    assert settings.mind.enabled is False
    assert settings.mind.intentions_max_bytes == 100
    assert settings.mind.hours == (8, 22)


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("", None),
        ("  ", None),
        ("8-22", (8, 22)),
        ("22-6", (22, 6)),
        (" 0 - 24 ", None),
        ("24-8", (0, 8)),
        ("07-9", (7, 9)),
    ],
)
def test_active_hours_are_two_hours(text: str, pair: tuple[int, int] | None) -> None:
    assert parse_active_hours(text) == pair


@pytest.mark.parametrize("text", ["8", "8-", "a-b", "8:00-22:00", "25-3", "8-8", "0-24x", "-1-5"])
def test_bad_active_hours_are_refused_naming_the_key(tmp_path: Path, text: str) -> None:
    message = _refusal(tmp_path, f'[mind]\nactive_hours = "{text}"\n')
    assert message.startswith("setting mind = ")
    assert "mind.active_hours: expected" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("calls_per_tick = 0", "mind.calls_per_tick"),
        ("intentions_max_bytes = 0", "mind.intentions_max_bytes"),
        ("monologue_timeout_s = 0", "mind.monologue_timeout_s"),
        ("thought_deadline_s = -1.0", "mind.thought_deadline_s"),
        ("messages_per_hour = -1", "mind.messages_per_hour"),
        ("enabled = 1", "mind.enabled"),
        ("persona = 3", "mind.persona"),
        ("no_such_key = 1", "mind.no_such_key"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, text: str, key: str) -> None:
    assert _refusal(tmp_path, f"[mind]\n{text}\n").startswith(f"setting {key} = ")


def test_optional_min_calls_cannot_exceed_the_calls_per_tick() -> None:
    with pytest.raises(ValueError, match="optional_min_calls must be at most mind.calls_per_tick = 3"):
        MindSettings(calls_per_tick=3, optional_min_calls=4)


@pytest.mark.parametrize(
    ("text", "subject", "other"),
    [
        ('[mind]\nintentions_path = "inbox.txt"\n', "inbox.path", "mind.intentions_path"),
        ('[mind]\nintentions_path = "data/being.duckdb"\n', "storage.database_path", "mind.intentions_path"),
        ('[mind]\nintentions_path = "inbox.txt.1.claimed"\n', "mind.intentions_path", "inbox.path"),
        (
            '[inbox]\npath = "spool/intentions.md"\n[mind]\nintentions_path = "spool/intentions.md"\n',
            "inbox.path",
            "mind.intentions_path",
        ),
        ('[inbox]\npath = "intentions.md"\n', "inbox.path", "mind.intentions_path"),  # the default beside it
        ('[mind]\nnotes_dir = "data"\n', "storage.database_path", "mind.notes_dir"),
        ('[mind]\nnotes_dir = "data/archive"\n', "memory.archive_dir", "mind.notes_dir"),
        (
            '[mind]\nnotes_dir = "data/notes"\nintentions_path = "data/notes/i.md"\n',
            "mind.intentions_path",
            "mind.notes_dir",
        ),
    ],
)
def test_mind_paths_that_collide_are_refused(tmp_path: Path, text: str, subject: str, other: str) -> None:
    message = _refusal(tmp_path, text)
    assert message.startswith(f"setting {subject} = ")
    assert f"expected a path apart from {other} = " in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # refused before anything is touched


def test_a_replay_output_refuses_the_intentions_file_and_the_notes_folder() -> None:
    settings = Settings()
    assert path_owner(settings, Path("intentions.md")) == "mind.intentions_path (the intentions file)"
    assert path_owner(settings, Path("data/notes/replay.duckdb")) == "mind.notes_dir (the notes folder)"
    assert path_owner(settings, Path("data/replay.duckdb")) is None
