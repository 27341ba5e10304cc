"""deploy/grafana/being.json: its rows, its data source, and every query naming only series the service exports."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY
from tests.deploy.promql import series_in
from tests.metrics_support import series_names

DASHBOARD = DEPLOY / "grafana" / "being.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
ROWS = ["LLM", "Resilience", "Pipeline", "Mind", "Process"]

ADDED_BY_THE_MIND = {
    "being_mind_thoughts_total",
    "being_mind_gate_total",
    "being_mind_tool_calls_total",
    "being_mind_step_seconds_bucket",
    "being_mind_goals_open",
}
"""The mind's series, named in advance; the mind's own change exports them. Only these may be missing."""


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def test_the_dashboard_has_its_rows_in_order() -> None:
    assert [p["title"] for p in _dashboard()["panels"] if p["type"] == "row"] == ROWS


def test_every_query_names_only_series_the_service_exports(service_scrape: str) -> None:
    exported = series_names(service_scrape)
    used: set[str] = set()
    for panel in _panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = series_in(target["expr"])
            assert names, f"{panel['title']}: {target['expr']!r} reads no series"
            unknown = names - exported - ADDED_BY_THE_MIND
            assert not unknown, f"{panel['title']}: {sorted(unknown)} are not exported"
            used |= names
    assert used >= ADDED_BY_THE_MIND  # the mind row shows each of them


def test_panels_have_unique_ids_and_use_the_provisioned_data_source() -> None:
    source = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    ids = [p["id"] for p in _dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    for panel in _panels():
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert {t["datasource"]["uid"] for t in panel["targets"]} == {source["uid"]}, panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]


def test_the_provider_loads_the_folder_the_dashboard_is_mounted_in() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "being.yml").read_text())["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"  # deploy/compose.yaml mounts it there
