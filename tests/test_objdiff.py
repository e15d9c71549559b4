"""The object differ of `tripgen diff --against` (tripgen_cdk8s/objdiff.py): keyed and content-matched lists,
JSON held in strings, destructive changes, and the Markdown comment's size budget."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tripgen_cdk8s.objdiff import (
    ABSENT,
    IMMUTABLE,
    FieldChange,
    ObjectChange,
    compare,
    diff_values,
    format_path,
    hazards,
    render_markdown,
    render_text,
    similarity,
)


def obj(kind: str, name: str, namespace: str = "ns", **body: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, **body}


def deployment(name: str = "web") -> dict[str, Any]:
    return obj("Deployment", name, spec={
        "selector": {"matchLabels": {"app": name}},
        "template": {"spec": {
            "containers": [{"name": "app", "image": "app:v1", "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
            "volumes": [{"name": "tmp", "emptyDir": {}}]}}})


def paths(changes: list[FieldChange] | tuple[FieldChange, ...]) -> list[str]:
    return [c.path for c in changes]


# ---------------------------------------------------------------------------- keyed lists


def test_containers_env_ports_volumes_are_matched_by_name_not_position():
    old = deployment()
    new = copy.deepcopy(old)
    pod = new["spec"]["template"]["spec"]
    pod["containers"].insert(0, {"name": "proxy", "image": "envoy:1"})
    app = pod["containers"][1]
    app["env"].insert(0, {"name": "Z", "value": "0"})
    app["ports"].insert(0, {"name": "metrics", "containerPort": 9090})
    app["volumeMounts"].insert(0, {"name": "cache", "mountPath": "/cache"})
    pod["volumes"].insert(0, {"name": "cache", "emptyDir": {}})
    app["image"] = "app:v2"
    changes = diff_values(old, new)
    assert paths(changes) == [
        "spec.template.spec.containers[name=proxy]",
        "spec.template.spec.containers[name=app].image",
        "spec.template.spec.containers[name=app].ports[name=metrics]",
        "spec.template.spec.containers[name=app].env[name=Z]",
        "spec.template.spec.containers[name=app].volumeMounts[name=cache]",
        "spec.template.spec.volumes[name=cache]",
    ]
    assert changes[0] == FieldChange("spec.template.spec.containers[name=proxy]", ABSENT, {"name": "proxy", "image": "envoy:1"})
    assert changes[1] == FieldChange("spec.template.spec.containers[name=app].image", "app:v1", "app:v2")


def test_a_removed_keyed_item_is_one_removal():
    old = deployment()
    new = copy.deepcopy(old)
    del new["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert diff_values(old, new) == [FieldChange("spec.template.spec.containers[name=app].env[name=A]",
                                                 {"name": "A", "value": "1"}, ABSENT)]


def test_a_reordered_keyed_list_says_so_once():
    old = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    new = {"env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}
    assert diff_values(old, new) == [FieldChange("env (order)", ["[name=A]", "[name=B]"], ["[name=B]", "[name=A]"])]


def test_alert_and_recording_rules_are_matched_by_their_name_inside_groups_by_name():
    def rules(*extra: dict[str, Any]) -> dict[str, Any]:
        return obj("PrometheusRule", "alerts", spec={"groups": [
            {"name": "recording", "rules": [{"record": "job:rate5m", "expr": "sum(rate(x[5m]))"}]},
            {"name": "svc", "rules": [*extra, {"alert": "HighErrorRate", "expr": "x > 1", "for": "5m"},
                                      {"alert": "HighLatency", "expr": "y > 1", "for": "5m"}]}]})

    old, new = rules(), rules({"alert": "PodCrashLooping", "expr": "z > 0"})
    new["spec"]["groups"][1]["rules"][2]["for"] = "10m"
    new["spec"]["groups"].insert(0, {"name": "new-group", "rules": [{"record": "r", "expr": "1"}]})
    assert paths(diff_values(old, new)) == ["spec.groups[name=new-group]",
                                            "spec.groups[name=svc].rules[alert=PodCrashLooping]",
                                            'spec.groups[name=svc].rules[alert=HighLatency].for']


def test_items_sharing_a_key_are_told_apart_by_occurrence():
    old = {"panels": [{"title": "Latency", "id": 1, "x": 1}, {"title": "Latency", "id": 2, "x": 2}]}
    new = {"panels": [{"title": "Latency", "id": 1, "x": 1}, {"title": "Latency", "id": 2, "x": 3}]}
    assert diff_values(old, new) == [FieldChange("panels[title=Latency#2].x", 2, 3)]


# ---------------------------------------------------------------------------- content-matched lists


def policy(*egress: dict[str, Any]) -> dict[str, Any]:
    return obj("NetworkPolicy", "web", spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": list(egress)})


DNS = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
DB = {"to": [{"ipBlock": {"cidr": "10.0.1.0/24"}}], "ports": [{"port": 5432, "protocol": "TCP"}]}
REDIS = {"to": [{"ipBlock": {"cidr": "10.0.2.0/24"}}], "ports": [{"port": 6380, "protocol": "TCP"}]}
API = {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]}


def test_an_inserted_networkpolicy_rule_is_one_added_item_not_n_changed_fields():
    old, new = policy(DNS, DB, REDIS), policy(DNS, API, DB, REDIS)
    assert diff_values(old, new) == [FieldChange("spec.egress[1]", ABSENT, API)]


def test_a_removed_rule_is_one_removed_item_at_its_old_position():
    assert diff_values(policy(DNS, API, DB), policy(DNS, DB)) == [FieldChange("spec.egress[1]", API, ABSENT)]


def test_a_rule_changed_in_place_is_diffed_inside():
    wider = copy.deepcopy(DB)
    wider["to"].append({"ipBlock": {"cidr": "10.0.9.0/24"}})
    assert diff_values(policy(DNS, DB, REDIS), policy(DNS, wider, REDIS)) == [
        FieldChange("spec.egress[1].to[1]", ABSENT, {"ipBlock": {"cidr": "10.0.9.0/24"}})]


def test_lists_of_scalars_are_matched_by_content():
    assert diff_values({"args": ["a", "b", "c"]}, {"args": ["a", "x", "b", "c"]}) == [FieldChange("args[1]", ABSENT, "x")]
    assert diff_values({"args": ["a", "b", "c"]}, {"args": ["a", "B", "c"]}) == [FieldChange("args[1]", "b", "B")]


def test_types_are_compared_strictly():
    assert diff_values({"a": 1}, {"a": True}) == [FieldChange("a", 1, True)]
    assert diff_values({"a": "1"}, {"a": 1}) == [FieldChange("a", "1", 1)]


# ---------------------------------------------------------------------------- JSON in strings


def dashboard(max_replicas: int, extra_panel: bool = False) -> dict[str, Any]:
    panels = [{"id": 1, "title": "Traffic", "type": "row"},
              {"id": 2, "title": "Request rate", "targets": [{"refId": "A", "expr": "sum(rate(x[5m]))"}]},
              {"id": 3, "title": "Replicas", "fieldConfig": {"defaults": {"max": max_replicas}}}]
    if extra_panel:
        panels.insert(1, {"id": 9, "title": "Errors", "targets": [{"refId": "A", "expr": "sum(rate(e[5m]))"}]})
    text = json.dumps({"title": "web", "panels": panels}, indent=2)
    return obj("ConfigMap", "web-dashboard", data={"web.json": text, "plain": "not json {"})


def test_a_dashboard_held_in_a_string_is_diffed_by_panel_title_and_field_path():
    changes = diff_values(dashboard(15), dashboard(12, extra_panel=True))
    assert changes == [
        FieldChange('data["web.json"].panels[title=Errors]', ABSENT,
                    {"id": 9, "title": "Errors", "targets": [{"refId": "A", "expr": "sum(rate(e[5m]))"}]}),
        FieldChange('data["web.json"].panels[title=Replicas].fieldConfig.defaults.max', 15, 12),
    ]


def test_reformatted_json_is_no_change():
    old = dashboard(15)
    new = copy.deepcopy(old)
    new["data"]["web.json"] = json.dumps(json.loads(old["data"]["web.json"]))  # same JSON, other whitespace
    assert diff_values(old, new) == []
    assert compare({"prod": [old]}, {"prod": [new]}) == []


def test_a_string_that_is_not_json_is_compared_as_text():
    assert diff_values({"s": "{not json"}, {"s": "{not json!"}) == [FieldChange("s", "{not json", "{not json!")]


def test_format_path_quotes_keys_and_key_values_that_are_not_plain():
    from tripgen_cdk8s.objdiff import Key

    assert format_path(["panels", Key("title", "CPU usage"), "max"]) == 'panels[title="CPU usage"].max'
    assert format_path(["ports", Key("containerPort", 8080)]) == "ports[containerPort=8080]"
    assert format_path(["data", "a.json", "panels"]) == 'data["a.json"].panels'


# ---------------------------------------------------------------------------- destructive changes


def changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [h.what for h in hazards(compare({"prod": [old]}, {"prod": [new]}))]


def edited(o: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(o)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


def test_a_deleted_object_is_flagged_as_pruned():
    [h] = hazards(compare({"prod": [deployment("web"), deployment("api")]}, {"prod": [deployment("web")]}))
    assert (h.env, h.ident, h.what) == ("prod", "Deployment ns/api", "deleted: Argo CD prunes it")


def test_a_probable_rename_is_flagged_with_both_names():
    svc = obj("Service", "trip-service", spec={"selector": {"app": "trip-service"}, "ports": [{"name": "http", "port": 80}]})
    renamed = json.loads(json.dumps(svc).replace("trip-service", "trips"))
    other = obj("Service", "unrelated", spec={"type": "ExternalName", "externalName": "example.com"})
    [h] = hazards(compare({"prod": [svc]}, {"prod": [renamed, other]}))
    assert h.ident == "Service ns/trip-service"
    assert h.what.startswith("probable rename to Service ns/trips (100% alike): Argo CD deletes trip-service and creates trips")


def test_a_deleted_object_unlike_any_added_one_is_not_a_rename():
    svc = obj("Service", "a", spec={"ports": [{"name": "http", "port": 80}], "selector": {"app": "a"}})
    other = obj("Service", "b", spec={"type": "ExternalName", "externalName": "example.com"})
    assert [h.what for h in hazards(compare({"prod": [svc]}, {"prod": [other]}))] == ["deleted: Argo CD prunes it"]
    assert similarity(svc, other) < 0.8


@pytest.mark.parametrize(("kind", "path", "value", "flagged"), [
    ("Deployment", "spec.selector", {"matchLabels": {"app": "other"}}, True),
    ("Deployment", "spec.replicas", 3, False),
    ("StatefulSet", "spec.serviceName", "db-headless", True),
    ("StatefulSet", "spec.volumeClaimTemplates", [{"metadata": {"name": "data"}}], True),
    ("StatefulSet", "spec.replicas", 5, False),
    ("StatefulSet", "spec.template", {"spec": {}}, False),
    ("Job", "spec.template", {"spec": {"restartPolicy": "Never"}}, True),
    ("Service", "spec.clusterIP", "10.0.0.9", True),
    ("Service", "spec.ports", [{"port": 81}], False),
    ("PersistentVolumeClaim", "spec.storageClassName", "premium", True),
    ("PersistentVolumeClaim", "spec.resources", {"requests": {"storage": "20Gi"}}, False),
    ("RoleBinding", "roleRef", {"kind": "Role", "name": "admin"}, True),
    ("ConfigMap", "data", {"a": "2"}, False),
    ("Secret", "type", "kubernetes.io/tls", True),
])
def test_immutable_fields(kind, path, value, flagged):
    base = obj(kind, "x", spec={"selector": {"matchLabels": {"app": "x"}}, "replicas": 1, "serviceName": "db",
                                "template": {"spec": {"restartPolicy": "OnFailure"}}, "clusterIP": "10.0.0.1",
                                "ports": [{"port": 80}], "storageClassName": "standard",
                                "resources": {"requests": {"storage": "10Gi"}}},
               roleRef={"kind": "Role", "name": "view"}, data={"a": "1"}, type="Opaque")
    what = changed(base, edited(base, path, value))
    if flagged:
        [text] = what
        assert text.startswith(f"immutable field(s) changed: {path}") and "the API server refuses the update" in text
    else:
        assert what == []


def test_an_immutable_configmap_cannot_change_its_data():
    base = obj("ConfigMap", "x", data={"a": "1"}, immutable=True)
    assert changed(base, edited(base, "data", {"a": "2"})) == [
        "immutable field(s) changed: data.a: the API server refuses the update, so the sync fails until the object is "
        "deleted and recreated"]


def test_every_immutable_rule_names_a_kind_and_a_path():
    assert all(r.kind[0].isupper() and r.path and not r.path.endswith(".") for r in IMMUTABLE)


# ---------------------------------------------------------------------------- output


def test_text_lists_the_destructive_changes_first():
    text = render_text(compare({"prod": [deployment("web"), deployment("api")]},
                               {"prod": [edited(deployment("web"), "spec.selector", {"matchLabels": {"v": "2"}})]}), "main")
    lines = text.splitlines()
    assert lines[0] == "2 destructive change(s):"
    assert lines[1] == "  ! prod: Deployment ns/api: deleted: Argo CD prunes it"
    assert lines[2].startswith("  ! prod: Deployment ns/web: immutable field(s) changed: spec.selector.matchLabels.app,")
    assert lines[-1] == "2 object(s) differ from main: 1 changed, 0 added, 1 removed"


def test_markdown_flags_destructive_changes_above_the_summary():
    md = render_markdown(compare({"prod": [deployment("web"), deployment("api")]}, {"prod": [deployment("web")]}),
                         "main", ["prod"])
    assert md.index(":warning: 1 destructive change(s)") < md.index("| env | change |")
    assert "| prod | Deployment ns/api | deleted: Argo CD prunes it |" in md
    assert "<details open><summary>prod: removed Deployment <code>ns/api</code></summary>" in md


def many(n: int) -> list[ObjectChange]:
    """n added Deployments, one changed HPA and one large changed dashboard."""
    added = [ObjectChange("prod", "added", "Deployment", "ns", f"svc-{i:03d}", new=deployment(f"svc-{i:03d}"))
             for i in range(n)]
    hpa = ObjectChange("prod", "changed", "HorizontalPodAutoscaler", "ns", "web",
                       fields=(FieldChange("spec.maxReplicas", 15, 12),))
    return [hpa, *added]


def test_the_summary_is_complete_and_the_comment_within_budget_when_details_must_be_cut():
    changes = many(300)
    md = render_markdown(changes, "origin/main", ["prod"], budget=40_000)
    assert len(md) <= 40_000
    for c in changes:  # every object has its row
        assert f"| prod | {c.status} | {c.kind} | ns | {c.name} |" in md
    assert "| prod | changed | HorizontalPodAutoscaler | ns | web | 1 | below |" in md  # a changed object comes first
    assert "```diff\n@@ spec.maxReplicas @@\n- 15\n+ 12\n```" in md
    left = md.count("| left out |")
    assert left > 0 and f"{left} object diff(s) left out to keep this comment within GitHub's size limit" in md
    assert "tripgen diff --against origin/main --env prod\n" in md


def test_few_left_out_objects_get_a_command_naming_each():
    changes = many(3)
    md = render_markdown(changes, "main", ["prod"], budget=len(render_markdown(changes[:1], "main", ["prod"])) + 900)
    assert "tripgen diff --against main --env prod --object Deployment/svc-" in md
    left = [c.name for c in changes if f"| {c.name} | - | left out |" in md]
    assert left and all(f"--object Deployment/{name}" in md for name in left)


def test_a_huge_summary_is_grouped_by_kind_and_still_names_every_object():
    changes = many(400)
    md = render_markdown(changes, "main", ["prod"], budget=12_000)
    assert len(md) <= 12_000
    assert "| env | change | kind | namespace | names | objects |" in md
    assert all(c.name in md for c in changes)


def test_a_large_object_diff_is_cut_by_lines_and_marked():
    big = ObjectChange("prod", "changed", "ConfigMap", "ns", "big",
                       fields=tuple(FieldChange(f"data.k{i}", "x" * 100, "y" * 100) for i in range(300)))
    md = render_markdown([big], "main", ["prod"])
    assert "| prod | changed | ConfigMap | ns | big | 300 | cut |" in md
    assert "more line(s) cut" in md and "1 cut short" in md
    assert "tripgen diff --against main --env prod --object ConfigMap/big" in md


def test_json_values_are_shown_as_indented_json():
    old = dashboard(15)
    new = copy.deepcopy(old)
    new["data"]["new.json"] = json.dumps({"title": "x"})
    md = render_markdown(compare({"prod": [old]}, {"prod": [new]}), "main", ["prod"])
    assert '@@ data["new.json"] @@\n+ {\n+   "title": "x"\n+ }' in md


def test_many_deleted_objects_are_grouped_by_kind_when_room_is_short():
    removed = [ObjectChange("prod", "removed", "Deployment", "ns", f"svc-{i:03d}", old=deployment(f"svc-{i:03d}"))
               for i in range(300)]
    md = render_markdown(removed, "main", ["prod"], budget=12_000)
    assert len(md) <= 12_000
    assert "| prod | Deployment: ns/svc-000, ns/svc-001," in md and md.count("deleted: Argo CD prunes it") == 1
    assert all(c.name in md for c in removed)


def test_a_comment_that_cannot_fit_is_cut_and_says_so():
    changes = many(3000)
    md = render_markdown(changes, "main", ["prod"], budget=20_000)
    assert len(md) <= 20_000
    assert md.endswith("... cut at 20000 characters; the whole diff: `tripgen diff --against main --env prod`\n")


def test_a_multi_line_text_shows_the_changed_lines_with_context_not_both_texts():
    body = [f"key{i}: {i}" for i in range(40)]
    old = obj("ConfigMap", "app-config", data={"application.yaml": "\n".join(body) + "\n"})
    changed_body = body.copy()
    changed_body[20] = "key20: twenty"
    new = obj("ConfigMap", "app-config", data={"application.yaml": "\n".join(changed_body) + "\n"})
    changes = compare({"prod": [old]}, {"prod": [new]})
    md = render_markdown(changes, "main", ["prod"])
    assert ('```diff\n@@ data["application.yaml"] @@\n  ...\n  key18: 18\n  key19: 19\n- key20: 20\n+ key20: twenty\n'
            "  key21: 21\n  key22: 22\n```") in md
    text = render_text(changes, "main")
    assert '    data["application.yaml"]:\n        ...\n        key18: 18\n' in text
    assert "      - key20: 20\n      + key20: twenty\n" in text
