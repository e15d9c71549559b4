"""The reviewer README's alert and dashboard sections, read back from the synthesised objects:
each alert with its threshold expression, ``for``, severity and the receivers its
AlertmanagerConfig routes it to; each dashboard ConfigMap with its folder and panels."""

from __future__ import annotations

import json
import re
from typing import Any

Obj = dict[str, Any]


def _matches(matchers: list[Obj], labels: dict[str, str]) -> bool:
    for m in matchers:
        value, actual = m.get("value", ""), labels.get(m["name"], "")
        op = m.get("matchType") or ("=~" if m.get("regex") else "=")
        hit = re.fullmatch(value, actual) is not None if op in ("=~", "!~") else actual == value
        if hit is (op in ("!=", "!~")):
            return False
    return True


def route_receivers(route: Obj, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager's routing tree ``route`` (AlertmanagerConfig form) gives an alert
    with ``labels``: the first matching child (and the following ones while ``continue`` is set),
    depth first, else the route's own receiver.  The same answer ``amtool config routes test``
    gives; the tests compare the two."""
    found: list[str] = []
    for child in route.get("routes") or []:
        if _matches(child.get("matchers") or [], labels):
            found += route_receivers(child, labels)
            if not child.get("continue"):
                break
    return found or [route["receiver"]]


def _placeholders(text: str) -> str:
    """``{{ $labels.service }}`` -> ``[service]`` (angle brackets would vanish as HTML on GitHub)."""
    return re.sub(r"\{\{ *\$labels\.(\w+) *\}\}", r"[\1]", text)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def observability_lines(objects: list[Obj]) -> list[str]:
    """``## Alerts`` and ``## Dashboards`` sections (empty when the environment has neither)."""
    rules = [(o, r) for o in objects if o["kind"] == "PrometheusRule"
             for g in o["spec"]["groups"] for r in g["rules"] if "alert" in r]
    routing = [o for o in objects if o["kind"] == "AlertmanagerConfig"]
    dashboards = [o for o in objects if o["kind"] == "ConfigMap"
                  and (o["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"]
    out: list[str] = []
    if rules:
        where = (", ".join(f"`{o['metadata']['name']}`" for o in routing) if routing
                 else "no AlertmanagerConfig: alerts stay on the Prometheus and Alertmanager UIs")
        out += ["## Alerts", "",
                f"PrometheusRule alerts and the receivers they reach (routing: {where}). Every alert carries a "
                "`service` label and a `runbook_url`; `tripgen validate` runs `promtool check rules` and "
                "`amtool check-config` on them.", "",
                "| alert | severity | for | summary | receivers |", "| --- | --- | --- | --- | --- |"]
        for obj, r in rules:
            labels = {"alertname": r["alert"], "namespace": obj["metadata"].get("namespace", ""), **r.get("labels", {})}
            receivers = sorted({x for o in routing if o["metadata"].get("namespace") == labels["namespace"]
                                for x in route_receivers(o["spec"]["route"], labels)})
            threshold = r["expr"].rsplit(")", 1)[-1].strip() or r["expr"]
            summary = _cell(_placeholders(r["annotations"].get("summary", threshold)))
            out.append(f"| {r['alert']} | {r['labels'].get('severity', '-')} | {r.get('for', '0s')} | {summary} | "
                       f"{', '.join(receivers) or '-'} |")
        out.append("")
    if dashboards:
        out += ["## Dashboards", "",
                "Grafana dashboards as ConfigMaps for the kube-prometheus-stack sidecar (label `grafana_dashboard: \"1\"`).",
                "", "| ConfigMap | folder | dashboard | panels |", "| --- | --- | --- | --- |"]
        for cm in sorted(dashboards, key=lambda o: str(o["metadata"]["name"])):
            for text in cm["data"].values():
                d = json.loads(text)
                titles = [p["title"] for p in d.get("panels", []) if p.get("type") != "row"]
                folder = (cm["metadata"].get("annotations") or {}).get("grafana_folder", "-")
                out.append(f"| `{cm['metadata']['name']}` | {folder} | {_cell(d['title'])} | {_cell(', '.join(titles))} |")
        out.append("")
    return out
