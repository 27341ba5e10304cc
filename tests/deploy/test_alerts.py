"""deploy/prometheus/alerts.yml: valid for promtool, every alert unit-tested both ways, every series exported."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY
from tests.deploy.promql import series_in
from tests.metrics_support import series_names

RULES = DEPLOY / "prometheus" / "alerts.yml"
UNIT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
SCRAPED_BY_PROMETHEUS = {"up"}
"""Series Prometheus makes itself for every target."""


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=RULES.parent)


def test_promtool_accepts_the_rules(promtool: str) -> None:
    done = _run(promtool, "check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


def test_promtool_runs_the_unit_tests_of_every_alert(promtool: str) -> None:
    done = _run(promtool, "test", "rules", UNIT_TESTS.name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_quiet_and_firing() -> None:
    cases: dict[str, list[list[Any]]] = {}
    for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]:
        for case in test["alert_rule_test"]:
            cases.setdefault(case["alertname"], []).append(case["exp_alerts"])
    for rule in _rules():
        seen = cases.get(rule["alert"], [])
        assert [] in seen, f"{rule['alert']}: no case where it must stay quiet"
        assert any(seen), f"{rule['alert']}: no case where it must fire"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_line() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["runbook"].strip()) > 40, rule["alert"]


def test_every_alert_reads_only_series_the_service_exports(service_scrape: str) -> None:
    exported = series_names(service_scrape) | SCRAPED_BY_PROMETHEUS
    for rule in _rules():
        unknown = series_in(rule["expr"]) - exported
        assert not unknown, f"{rule['alert']}: {sorted(unknown)} are not exported"


def test_the_scrape_passes_promtool_check_metrics(promtool: str, service_scrape: str) -> None:
    done = subprocess.run(
        [promtool, "check", "metrics"], input=service_scrape, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stdout + done.stderr
