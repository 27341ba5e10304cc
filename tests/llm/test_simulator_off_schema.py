"""Schema requests over loopback (Ollama's format, OpenAI's response_format), and the ``off-schema`` fault."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from llm.simulator import FAULT_HEADER, FaultPlan, Simulator
from llm.simulator._off_schema import OFF_SCHEMA_KINDS, off_schema_text
from llm.simulator._schema import Draws, instance_of
from tests.llm.schema_strategies import DECISION, schemas

VALID = Draft202012Validator(DECISION)


@pytest.fixture
async def raw(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as client:
        yield client


def ollama_body(content: str, schema: Any = DECISION, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "llama3.2", "messages": [{"role": "user", "content": content}], "format": schema, "stream": stream}


def openai_body(content: str, schema: Any = DECISION, *, stream: bool = False) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": content}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "decision", "schema": schema, "strict": True},
        },
        "stream": stream,
    }


async def ollama_content(raw: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> str:
    response = await raw.post("/api/chat", json=body, **kwargs)
    assert response.status_code == 200, response.text
    if not body["stream"]:
        return str(response.json()["message"]["content"])
    return "".join(json.loads(line)["message"]["content"] for line in response.content.splitlines())


async def openai_content(raw: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> str:
    response = await raw.post("/v1/chat/completions", json=body, **kwargs)
    assert response.status_code == 200, response.text
    if not body["stream"]:
        return str(response.json()["choices"][0]["message"]["content"])
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])


@pytest.mark.parametrize("stream", [False, True])
async def test_both_apis_answer_a_schema_with_the_same_valid_instance(raw: httpx.AsyncClient, stream: bool) -> None:
    from_ollama = await ollama_content(raw, ollama_body("what now", stream=stream))
    from_openai = await openai_content(raw, openai_body("what now", stream=stream))
    assert VALID.is_valid(json.loads(from_ollama))
    assert from_openai == from_ollama  # one function of model, prompt and schema, whichever API asks


async def test_generate_answers_a_schema_too(raw: httpx.AsyncClient) -> None:
    body = {"model": "llama3.2", "prompt": "what now", "format": DECISION, "stream": False}
    response = await raw.post("/api/generate", json=body)
    assert VALID.is_valid(json.loads(response.json()["response"]))


@pytest.mark.parametrize("path", ["/api/chat", "/v1/chat/completions"])
@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/nowhere"}}}, "points to no schema"),
        ({"type": "object", "properties": {"x": {"enum": []}}}, "empty enum"),
        ({"type": 5}, "not a valid JSON schema: schema['type']"),
        ({"type": "frob"}, "not a valid JSON schema"),
        ({"type": "string", "pattern": "(unclosed"}, "is not a 'regex'"),
        ({"type": "object", "required": "x"}, "schema['required']: 'x' is not of type 'array'"),
        ({"properties": {"a": {"minLength": "long"}}}, "not a valid JSON schema"),
    ],
)
async def test_a_hostile_or_impossible_schema_gets_400(
    raw: httpx.AsyncClient, sim: Simulator, path: str, broken: dict[str, Any], message: str
) -> None:
    body = ollama_body("hi", broken) if path == "/api/chat" else openai_body("hi", broken)
    response = await raw.post(path, json=body)
    assert response.status_code == 400
    assert message in response.text
    sim.inject("off-schema:wrong-enum")  # the broken-answer path checks the schema first as well
    assert (await raw.post(path, json=body)).status_code == 400


@pytest.mark.parametrize("kind", OFF_SCHEMA_KINDS)
@pytest.mark.parametrize("api", ["ollama", "openai"])
async def test_each_off_schema_kind_breaks_the_answer(
    raw: httpx.AsyncClient, sim: Simulator, api: str, kind: str
) -> None:
    headers = {FAULT_HEADER: f"off-schema:{kind}"}
    if api == "ollama":
        text = await ollama_content(raw, ollama_body("what now"), headers=headers)
    else:
        text = await openai_content(raw, openai_body("what now"), headers=headers)
    if kind in ("not-json", "cut"):
        with pytest.raises(ValueError):
            json.loads(text)
    else:
        errors = list(VALID.iter_errors(json.loads(text)))
        assert errors and {e.validator for e in errors} <= {"required", "enum"}
        assert errors[0].validator == ("required" if kind == "missing-required" else "enum")
    assert sim.stats.faults == {f"off-schema:{kind}": 1}


async def test_a_cut_answer_says_length_and_streams_like_any_other(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject("off-schema:cut")
    response = await raw.post("/api/chat", json=ollama_body("what now", stream=True))
    lines = [json.loads(line) for line in response.content.splitlines()]
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "length"
    whole = (await raw.post("/api/chat", json=ollama_body("what now"))).json()["message"]["content"]
    assert whole.startswith("".join(line["message"]["content"] for line in lines)) and VALID.is_valid(json.loads(whole))


async def test_an_injected_off_schema_fault_waits_for_a_schema_request(raw: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject("off-schema:not-json", "status:503")
    plain = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    assert (await raw.post("/api/chat", json=plain)).status_code == 503  # the fault behind it
    assert (await raw.post("/api/chat", json=plain)).status_code == 200
    with pytest.raises(ValueError):
        json.loads(await ollama_content(raw, ollama_body("what now")))
    assert VALID.is_valid(json.loads(await ollama_content(raw, ollama_body("what now"))))
    assert sim.stats.faults == {"status:503": 1, "off-schema:not-json": 1}


async def test_an_off_schema_header_on_a_request_without_schema_does_nothing(
    raw: httpx.AsyncClient, sim: Simulator
) -> None:
    plain = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    sim.inject("status:503")
    response = await raw.post("/api/chat", json=plain, headers={FAULT_HEADER: "off-schema"})
    assert response.status_code == 200 and response.json()["message"]["content"]
    assert sim.stats.faults == {}
    assert (await raw.post("/api/chat", json=plain)).status_code == 503  # the header took no queued fault


async def _outcomes(plan: FaultPlan, prompts: list[str]) -> list[str]:
    """Each schema answer: valid, invalid (JSON failing the schema) or not-json; plain requests in between."""
    out: list[str] = []
    async with Simulator(plan) as sim, httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as client:
        for prompt in prompts:
            plain = {"model": "llama3.2", "messages": [{"role": "user", "content": prompt}], "stream": False}
            assert (await client.post("/api/chat", json=plain)).status_code == 200
            text = await ollama_content(client, ollama_body(prompt))
            try:
                value = json.loads(text)
            except ValueError:
                out.append("not-json")
                continue
            out.append("valid" if VALID.is_valid(value) else "invalid")
        assert sim.stats.faults.total() == sum(o != "valid" for o in out)  # never drawn for the plain requests
    return out


async def test_an_off_schema_rate_breaks_a_share_deterministically_by_seed() -> None:
    prompts = [f"tick {i}" for i in range(60)]
    plan = FaultPlan(fault_rates={"off-schema": 0.5}, seed=3)
    first = await _outcomes(plan, prompts)
    assert await _outcomes(plan, prompts) == first
    assert {"valid", "invalid", "not-json"} <= set(first)
    assert 15 <= first.count("valid") <= 45
    assert await _outcomes(FaultPlan(fault_rates={"off-schema": 0.5}, seed=4), prompts) != first
    assert set(await _outcomes(FaultPlan(fault_rates={"off-schema": 1.0}), prompts[:10])) <= {"invalid", "not-json"}


@pytest.mark.parametrize(
    ("rates", "message"),
    [({"off-schema:sideways": 0.1}, "unknown simulator fault"), ({"off-schema": 1.5}, "each in 0..1")],
)
def test_a_bad_off_schema_rate_is_refused_when_built(rates: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan(fault_rates=rates)


@settings(max_examples=150, deadline=None)
@given(schema=schemas(), kind=st.sampled_from(OFF_SCHEMA_KINDS))
def test_a_broken_answer_always_fails_its_schema(schema: dict[str, Any], kind: str) -> None:
    instance = instance_of(schema, Draws(b"seed"))
    text, made = off_schema_text(kind, schema, instance)
    try:
        value = json.loads(text)
    except ValueError:
        assert made in ("not-json", "cut")
        return
    assert made in ("missing-required", "wrong-enum", "wrong-type")
    assert not Draft202012Validator(schema).is_valid(value)


def test_a_schema_that_accepts_everything_gets_prose() -> None:
    text, made = off_schema_text("wrong-enum", {}, "anything")
    assert made == "not-json" and text.startswith("Sure!")


def test_the_command_line_turns_the_fault_on() -> None:
    import argparse

    from service.commands import simulate_llm

    parser = argparse.ArgumentParser(prog="being")
    simulate_llm.register(parser.add_subparsers(dest="command"))
    argv = ["simulate-llm", "--fault-rate", "off-schema=0.3", "--fault-rate", "off-schema:cut=0.1", "--seed", "5"]
    plan = simulate_llm.plan_from_args(parser.parse_args(argv))
    assert dict(plan.fault_rates) == {"off-schema": 0.3, "off-schema:cut": 0.1} and plan.seed == 5
    with pytest.raises(ValueError, match="unknown simulator fault 'off-schema:sideways'"):
        simulate_llm.plan_from_args(parser.parse_args(["simulate-llm", "--fault-rate", "off-schema:sideways=0.1"]))
