"""The Prometheus tools as checks: ``promtool`` for the PrometheusRule groups and ``amtool`` for
the routing tree of an AlertmanagerConfig (Debian packages ``prometheus`` and
``prometheus-alertmanager``; ``scripts/install-prometheus-tools.sh`` installs both).

The AlertmanagerConfig is turned into a plain Alertmanager configuration the way the Prometheus
Operator does it: its route becomes a child of a root route, matched on the object's namespace
(the operator's default ``OnNamespace`` matcher strategy), and every Secret key reference becomes
a placeholder value (the tools check structure and routing, never a credential).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
INSTALL_HINT = "run scripts/install-prometheus-tools.sh (apt-get install prometheus prometheus-alertmanager)"
PLACEHOLDER_URL = "https://alerting.invalid/placeholder"


def find_tool(name: str) -> str | None:
    """``promtool`` or ``amtool`` on PATH (or in /usr/bin, where Debian puts them)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/bin") / name
    return str(candidate) if candidate.is_file() else None


def _version(tool: str) -> tuple[int, ...]:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"version (\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    return tuple(int(x) for x in match.groups()) if match else (0, 0, 0)


def rule_groups(objs: list[Obj]) -> Obj:
    """The ``groups`` of every PrometheusRule, as one Prometheus rule file."""
    return {"groups": [g for o in objs if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"]]}


def _duration(value: str | None) -> str | None:
    return value or None


def _matchers(ms: list[Obj]) -> list[str]:
    out = []
    for m in ms:
        op = m.get("matchType") or ("=~" if m.get("regex") else "=")
        out.append(f'{m["name"]}{op}"{m.get("value", "")}"')
    return out


def _route(route: Obj) -> Obj:
    out: Obj = {}
    if route.get("receiver"):
        out["receiver"] = route["receiver"]
    for src, dst in (("groupBy", "group_by"), ("groupWait", "group_wait"), ("groupInterval", "group_interval"),
                     ("repeatInterval", "repeat_interval")):
        if route.get(src):
            out[dst] = route[src]
    if route.get("matchers"):
        out["matchers"] = _matchers(route["matchers"])
    if route.get("continue"):
        out["continue"] = True
    if route.get("routes"):
        out["routes"] = [_route(r) for r in route["routes"]]
    return out


def _receiver(receiver: Obj, teams_native: bool) -> Obj:
    out: Obj = {"name": receiver["name"]}
    for cfg in receiver.get("pagerdutyConfigs", []):
        out.setdefault("pagerduty_configs", []).append(
            {"routing_key": "placeholder-routing-key", "send_resolved": cfg.get("sendResolved", True)})
    for key in ("msteamsv2Configs", "msteamsConfigs"):
        for cfg in receiver.get(key, []):
            native = "msteamsv2_configs" if key == "msteamsv2Configs" else "msteams_configs"
            if teams_native:
                field = "webhook_url"
                out.setdefault(native, []).append({field: PLACEHOLDER_URL, "send_resolved": cfg.get("sendResolved", True)})
            else:
                # amtool older than Alertmanager 0.28 (Debian 12 has 0.25) has no Teams integration:
                # the receiver keeps its name and route, as a webhook, so routing is still checked.
                out.setdefault("webhook_configs", []).append(
                    {"url": PLACEHOLDER_URL, "send_resolved": cfg.get("sendResolved", True)})
    return out


def alertmanager_config(obj: Obj, *, teams_native: bool = False) -> Obj:
    """A plain Alertmanager configuration equivalent to the AlertmanagerConfig ``obj``'s routing:
    a root route (receiver ``null``) whose one child matches ``namespace="<ns>"`` and carries the
    object's route; receivers keep their names, credentials become placeholders."""
    spec, ns = obj["spec"], obj["metadata"]["namespace"]
    child = _route(spec["route"])
    child["matchers"] = [f'namespace="{ns}"', *child.get("matchers", [])]
    child["continue"] = True
    return {
        "route": {"receiver": "null", "group_by": ["namespace"], "routes": [child]},
        "receivers": [{"name": "null"}, *(_receiver(r, teams_native) for r in spec.get("receivers", []))],
    }


def teams_supported(amtool: str) -> bool:
    """Whether this Alertmanager knows ``msteamsv2_configs`` (0.28 and later)."""
    return _version(amtool) >= (0, 28, 0)


def route_receivers(amtool: str, config_file: Path, labels: dict[str, str]) -> list[str]:
    """The receivers ``amtool config routes test`` gives for an alert with ``labels``, in order."""
    args = [f"{k}={v}" for k, v in sorted(labels.items())]
    proc = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config_file}", *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not proc.stdout.strip():
        raise RuntimeError(f"amtool config routes test failed: {proc.stderr.strip()}")
    return [r.strip() for r in proc.stdout.strip().split(",") if r.strip()]


def check_rules(objs: list[Obj]) -> list[str]:
    """``promtool check rules`` on the PrometheusRule groups; errors are failure lines."""
    groups = rule_groups(objs)
    if not groups["groups"]:
        return []
    promtool = find_tool("promtool")
    if promtool is None:
        return [f"promtool not installed: {INSTALL_HINT}"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump(groups, sort_keys=False), encoding="utf-8")
        proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return [f"promtool check rules: {line}" for line in (proc.stdout + proc.stderr).strip().splitlines()]
    return []


def check_routing(objs: list[Obj]) -> list[str]:
    """``amtool check-config`` on every AlertmanagerConfig turned into an Alertmanager
    configuration, and each severity routed somewhere other than the root's ``null``."""
    configs = [o for o in objs if o["kind"] == "AlertmanagerConfig"]
    if not configs:
        return []
    amtool = find_tool("amtool")
    if amtool is None:
        return [f"amtool not installed: {INSTALL_HINT}"]
    native = teams_supported(amtool)
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for o in configs:
            path = Path(tmp) / f"{o['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(alertmanager_config(o, teams_native=native), sort_keys=False),
                            encoding="utf-8")
            proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                errors += [f"AlertmanagerConfig/{o['metadata']['name']}: amtool check-config: {line}"
                           for line in (proc.stdout + proc.stderr).strip().splitlines()[-5:]]
                continue
            for severity in ("critical", "warning"):
                got = route_receivers(amtool, path, {"namespace": o["metadata"]["namespace"], "severity": severity,
                                                     "alertname": "Check"})
                if got in ([], ["null"]):
                    errors.append(f"AlertmanagerConfig/{o['metadata']['name']}: a {severity} alert reaches no receiver")
    return errors


def check_alerting(objs: list[Obj]) -> list[str]:
    """``validate``'s check: the rules with promtool and the routing with amtool; one line saying
    how to install them when either is missing and the environment has something to check."""
    if not any(o["kind"] in ("PrometheusRule", "AlertmanagerConfig") for o in objs):
        return []
    missing = [t for t in ("promtool", "amtool") if find_tool(t) is None]
    if missing:
        return [f"{' and '.join(missing)} not installed: {INSTALL_HINT}"]
    return check_rules(objs) + check_routing(objs)
