"""The operator's files (docs/operations.md): the Prometheus rule file and the Grafana dashboard
use valid PromQL on metrics the service exports, and metrics of several worker processes add up
(prometheus-client's multi-process mode, as `sigma-graphql serve --workers N` sets it up).

The rule file is checked the way `promtool check rules` checks it, with a real PromQL parser
(promql-parser, the Rust parser of the Prometheus grammar): building promtool itself from the Go
module proxy was measured too heavy for this machine (docs/operations.md, "Checking the rules").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import sigma_graphql.observability.metrics  # noqa: F401  (registers every metric)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "monitoring" / "sigma-alerts.yml"
DASHBOARD = ROOT / "docs" / "monitoring" / "sigma-dashboard.json"
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "summary": ("", "_sum", "_count", "_created"),
}


def exported_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def selectors(expr: str) -> list[str]:
    """Metric names the expression reads; raises ValueError when it is not PromQL."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.append(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def rule_problems(document: Any, known: set[str]) -> list[str]:
    """What `promtool check rules` would refuse, plus metrics the service does not export."""
    problems: list[str] = []
    if not isinstance(document, dict) or set(document) != {"groups"}:
        return ["the file must hold exactly one key, groups"]
    group_names: set[str] = set()
    recorded: set[str] = set()
    for group in document["groups"]:
        name = group.get("name")
        if not name or name in group_names:
            problems.append(f"group name missing or repeated: {name!r}")
        group_names.add(name)
        unknown_keys = set(group) - {"name", "interval", "rules", "limit", "query_offset"}
        if unknown_keys:
            problems.append(f"{name}: unknown keys {sorted(unknown_keys)}")
        if "interval" in group:
            promql_parser.parse_duration(str(group["interval"]))
        for rule in group.get("rules") or []:
            kinds = [k for k in ("alert", "record") if k in rule]
            if len(kinds) != 1:
                problems.append(f"{name}: a rule needs exactly one of alert, record: {rule}")
                continue
            title = rule[kinds[0]]
            allowed = {"expr", "labels", kinds[0]}
            allowed |= {"for", "keep_firing_for", "annotations"} if kinds == ["alert"] else set()
            if set(rule) - allowed:
                problems.append(f"{title}: unexpected keys {sorted(set(rule) - allowed)}")
            if kinds == ["record"]:
                if not _METRIC.match(str(title)):
                    problems.append(f"{title}: not a valid metric name")
                recorded.add(str(title))
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    try:
                        promql_parser.parse_duration(str(rule[key]))
                    except ValueError as exc:
                        problems.append(f"{title}: {key}: {exc}")
            for key in ("labels", "annotations"):
                for label, text in (rule.get(key) or {}).items():
                    if not _LABEL.match(label) or not isinstance(text, str):
                        problems.append(f"{title}: {key} {label!r} is not a name with a text")
                    elif text.count("{{") != text.count("}}"):
                        problems.append(f"{title}: {key} {label}: unbalanced template")
            try:
                used = selectors(str(rule.get("expr", "")))
            except ValueError as exc:
                problems.append(f"{title}: expr does not parse: {exc}")
                continue
            problems += [f"{title}: unknown metric {m}" for m in used if m not in known]
    return problems


def test_the_alert_rules_are_valid_and_use_exported_metrics() -> None:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert rule_problems(document, exported_names()) == []
    alerts = [r["alert"] for g in document["groups"] for r in g["rules"] if "alert" in r]
    assert "SigmaDatabaseDown" in alerts and len(alerts) >= 6


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ("sum(rate(sigma_graphql_operations_total[5m]) by", "does not parse"),
        ("rate(sigma_no_such_metric_total[5m]) > 1", "unknown metric"),
    ],
)
def test_the_rule_check_refuses_broken_rules(broken: str, problem: str) -> None:
    document = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": broken, "for": "1m"}]}]}
    problems = rule_problems(document, exported_names())
    assert len(problems) == 1 and problem in problems[0]
    bad_for = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "for": "1 min"}]}]}
    assert any("for" in p for p in rule_problems(bad_for, exported_names() | {"up"}))


def test_the_dashboard_queries_are_valid() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    known = exported_names()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 15
    for expr in exprs:
        assert set(selectors(expr)) <= known, expr


_WRITER = """
import sys
from sigma_graphql.observability import metrics
ops, subscriptions, leave = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "exit"
for _ in range(ops):
    metrics.OPERATIONS.labels("MultiProc15", "query", "ok").inc()
for _ in range(subscriptions):
    metrics.SUBSCRIPTIONS_OPEN.inc()
metrics.DATALOADER_BATCH.labels("multiproc15").observe(7)
if leave:
    metrics.process_exit()
"""
_READER = """
import sys
from sigma_graphql.observability import metrics
sys.stdout.write(metrics.render().decode())
"""


def test_metrics_of_several_processes_add_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def python(code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    python(_WRITER, "2", "1", "exit")  # a worker that stopped (mark_process_dead)
    python(_WRITER, "3", "2", "stay")  # a worker still serving
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(python(_READER))
        for s in family.samples
    }
    labels = (("operation", "MultiProc15"), ("outcome", "ok"), ("type", "query"))
    assert samples[("sigma_graphql_operations_total", labels)] == 5
    # Live gauges leave with their process: only the serving worker's two remain.
    assert samples[("sigma_subscriptions_open", ())] == 2
    assert samples[("sigma_dataloader_batch_size_count", (("loader", "multiproc15"),))] == 2
    # The answering process's own CPU and memory.
    assert samples[("process_resident_memory_bytes", ())] > 0
