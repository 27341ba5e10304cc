"""The [llm] settings build the configured backend; OLLAMA_HOST is honoured while base_url is default."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from llm import HttpConfig, LLMTimeoutError, OllamaBackend, OpenAIBackend, backend_from_settings, ollama_host_url
from llm.simulator import Simulator
from service.settings import SettingsError, load_settings
from service.settings._llm import LLMSettings


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("https://llm.example.org", "https://llm.example.org:443"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ],
)
def test_ollama_host_is_read_the_way_ollama_reads_it(value: str, url: str) -> None:
    assert ollama_host_url(value) == url


def test_ollama_host_wins_only_over_the_default_url() -> None:
    env = {"OLLAMA_HOST": "gpu-box:8080"}
    assert "gpu-box:8080" in repr(backend_from_settings(LLMSettings(), env))
    custom = LLMSettings(base_url="http://elsewhere:11434")
    assert "elsewhere" in repr(backend_from_settings(custom, env))
    assert "127.0.0.1:11434" in repr(backend_from_settings(LLMSettings(), {}))


def test_the_openai_backend_at_the_default_url_talks_to_ollamas_v1() -> None:
    backend = backend_from_settings(LLMSettings(backend="openai"), {"OPENAI_API_KEY": "sk-test-abcdef"})
    assert isinstance(backend, OpenAIBackend)
    assert "127.0.0.1:11434/v1" in repr(backend)
    assert "sk-test-abcdef" not in repr(backend)


async def test_a_backend_from_default_settings_talks_to_the_simulator(sim: Simulator) -> None:
    settings = LLMSettings(base_url=sim.base_url)
    backend = backend_from_settings(settings, {})
    assert isinstance(backend, OllamaBackend)
    reply = await backend.generate("hello")
    assert reply.done_reason == "stop"
    assert await backend.version() == "0.0.0-simulator"
    await backend.aclose()


async def test_options_from_settings_are_sent(sim: Simulator) -> None:
    settings = LLMSettings(base_url=sim.base_url)
    settings = dataclasses.replace(settings, options=dataclasses.replace(settings.options, num_predict=2, seed=7))
    backend = backend_from_settings(settings, {})
    assert (await backend.generate("hello")).usage.output_tokens == 2
    await backend.aclose()


def test_settings_are_checked_when_loaded(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[llm]\nmax_connections = 2\nmax_keepalive_connections = 4\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="max_keepalive_connections"):
        load_settings(config, env={})
    with pytest.raises(SettingsError, match="BEING_LLM_BACKEND"):
        load_settings(None, env={"BEING_LLM_BACKEND": "llamafile"})
    loaded = load_settings(None, env={"BEING_LLM_OPTIONS_TEMPERATURE": "0.1", "BEING_LLM_CHAT_MODEL": "qwen3"})
    assert loaded.llm.options.temperature == 0.1
    assert loaded.llm.chat_model == "qwen3"


def test_an_unknown_backend_name_is_refused() -> None:
    settings = LLMSettings()
    object.__setattr__(settings, "backend", "llamafile")  # past the loader's own check
    with pytest.raises(ValueError, match="expected 'ollama' or 'openai'"):
        backend_from_settings(settings, {})


def test_the_llm_settings_and_the_client_agree_on_every_default() -> None:
    # [llm] builds an HttpConfig field by field: their defaults must not drift apart
    settings, http = LLMSettings(), HttpConfig()
    for name in (f.name for f in dataclasses.fields(HttpConfig)):
        assert getattr(settings, name) == getattr(http, name), name


async def test_the_first_byte_limit_from_the_settings_reaches_the_client() -> None:
    async with Simulator() as sim:
        settings = LLMSettings(base_url=sim.base_url, first_byte_timeout_s=0.2, read_timeout_s=30.0)
        backend = backend_from_settings(settings, {})
        sim.inject("hang")
        with pytest.raises(LLMTimeoutError, match="FirstByteTimeout"):
            await asyncio.wait_for(backend.generate("hello"), timeout=10.0)
        await backend.aclose()
