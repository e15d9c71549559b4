"""TRIPGEN.md, table by table, read back from the synthesised prod objects."""

from __future__ import annotations

import promql_parser
import pytest

from conftest import find, objects

SERVICES = ["user-service", "trip-service", "ai-service", "location-service"]
NS = "tripgen-prod"


def workload(name: str) -> dict:
    """Prod workloads are Argo Rollouts (TRIPGEN.md section 10)."""
    return find("prod", "Rollout", name)


def container(name: str) -> dict:
    return workload(name)["spec"]["template"]["spec"]["containers"][0]


def pod(name: str) -> dict:
    return workload(name)["spec"]["template"]


def config(name: str) -> dict:
    return find("prod", "ConfigMap", f"{name}-config")["data"]


# ---------------------------------------------------------------- 1. environments


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_every_object_has_the_namespace_and_standard_labels(env):
    from conftest import synthesis

    cluster_scoped = {"Namespace", "ClusterRole"}
    for chart in synthesis(env).charts:
        for obj in chart.objects:
            meta = obj["metadata"]
            if obj["kind"] not in cluster_scoped:
                assert meta["namespace"] == (f"tripgen-{env}" if chart.is_helm else "argocd"), obj["kind"]
            for label in ("name", "instance", "version", "component", "part-of", "managed-by"):
                assert f"app.kubernetes.io/{label}" in meta["labels"], (obj["kind"], meta["name"], label)
            assert ("helm.sh/chart" in meta["labels"]) is chart.is_helm


def test_namespace_pod_security_restricted():
    labels = find("prod", "Namespace", NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", SERVICES)
def test_image_registry_and_spring_profile(name):
    assert container(name)["image"] == f"acrtrpgenprod.azurecr.io/{name}:v1.2.0"
    assert config(name)["SPRING_PROFILES_ACTIVE"] == "prod"


# ---------------------------------------------------------------- 2. services, probes, 2.1 sizing

SIZING = {  # requests, limits, scaler, min, max, pdb
    "user-service": (("200m", "512Mi"), ("1000m", "1Gi"), "HorizontalPodAutoscaler", 3, 10, 2),
    "trip-service": (("500m", "1Gi"), ("2000m", "2Gi"), "HorizontalPodAutoscaler", 3, 15, 2),
    "ai-service": (("1000m", "2Gi"), ("4000m", "4Gi"), "ScaledObject", 2, 8, 1),
    "location-service": (("200m", "512Mi"), ("1000m", "1Gi"), "HorizontalPodAutoscaler", 2, 5, 1),
}


@pytest.mark.parametrize("name", SERVICES)
def test_port_probes_and_drain(name):
    c = container(name)
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert config(name)["SERVER_PORT"] == "8080"
    health = "/api/v1/ai/actuator/health" if name == "ai-service" else "/actuator/health"
    assert c["startupProbe"]["httpGet"] == {"path": f"{health}/liveness", "port": "http", "scheme": "HTTP"}
    assert (c["startupProbe"]["periodSeconds"], c["startupProbe"]["failureThreshold"]) == (10, 18)
    assert c["livenessProbe"]["httpGet"]["path"] == f"{health}/liveness"
    assert (c["livenessProbe"]["periodSeconds"], c["livenessProbe"]["timeoutSeconds"]) == (30, 5)
    assert c["readinessProbe"]["httpGet"]["path"] == f"{health}/readiness"
    assert (c["readinessProbe"]["periodSeconds"], c["readinessProbe"]["timeoutSeconds"]) == (10, 5)
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
    assert pod(name)["spec"]["terminationGracePeriodSeconds"] == 45
    svc = find("prod", "Service", name)["spec"]
    assert svc["type"] == "ClusterIP" and svc["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]


@pytest.mark.parametrize("name", SERVICES)
def test_sizing_scaling_and_pdb(name):
    (rc, rm), (lc, lm), scaler, lo, hi, pdb = SIZING[name]
    res = container(name)["resources"]
    assert res["requests"] == {"cpu": rc, "memory": rm, "ephemeral-storage": "256Mi"}
    assert res["limits"] == {"cpu": lc, "memory": lm, "ephemeral-storage": "1Gi"}
    dep = workload(name)
    assert "replicas" not in dep["spec"], "an autoscaled workload must not set spec.replicas"
    s = find("prod", scaler, name)["spec"]
    if scaler == "ScaledObject":
        assert (s["minReplicaCount"], s["maxReplicaCount"]) == (lo, hi)
    else:
        assert (s["minReplicas"], s["maxReplicas"]) == (lo, hi)
    p = find("prod", "PodDisruptionBudget", name)["spec"]
    assert p["minAvailable"] == pdb and p["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert p["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


# ---------------------------------------------------------------- 3. autoscaling


@pytest.mark.parametrize(("name", "cpu", "mem", "custom"), [
    ("user-service", 70, 80, ("http_requests_per_second", 100)),
    ("trip-service", 70, 80, ("http_active_connections", 50)),
    ("location-service", 70, 80, None),
])
def test_hpa_metrics_in_order_and_stabilisation(name, cpu, mem, custom):
    spec = find("prod", "HorizontalPodAutoscaler", name)["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name}
    m = spec["metrics"]
    assert [x["type"] for x in m] == ["Resource", "Resource"] + (["Pods"] if custom else [])
    assert m[0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}
    assert m[1]["resource"] == {"name": "memory", "target": {"type": "Utilization", "averageUtilization": mem}}
    if custom:
        assert m[2]["pods"]["metric"]["name"] == custom[0]
        assert m[2]["pods"]["target"] == {"type": "AverageValue", "averageValue": custom[1]}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_ai_service_scales_on_the_queue_through_keda():
    spec = find("prod", "ScaledObject", "ai-service")["spec"]
    assert [t["type"] for t in spec["triggers"]] == ["cpu", "memory", "azure-servicebus"]
    assert spec["triggers"][0]["metadata"]["value"] == "80" and spec["triggers"][1]["metadata"]["value"] == "85"
    sb = spec["triggers"][2]
    assert sb["metadata"] == {"namespace": "sb-tripgen-prod", "queueName": "ai-schedule-generation",
                              "messageCount": "10"}
    auth = find("prod", "TriggerAuthentication", sb["authenticationRef"]["name"])
    assert auth["spec"]["podIdentity"]["provider"] == "azure-workload"
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"] == 300
    assert spec["minReplicaCount"] >= 1
    assert not [h for h in objects("prod", "HorizontalPodAutoscaler") if h["metadata"]["name"] == "ai-service"]


# ---------------------------------------------------------------- 4. availability and placement


@pytest.mark.parametrize("name", SERVICES)
def test_zone_spread_node_pool_and_toleration(name):
    spec = pod(name)["spec"]
    zone, host = spec["topologySpreadConstraints"]
    assert (zone["topologyKey"], zone["maxSkew"], zone["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone", 1, "DoNotSchedule")
    assert (host["topologyKey"], host["maxSkew"], host["whenUnsatisfiable"]) == (
        "kubernetes.io/hostname", 1, "ScheduleAnyway")
    own = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    assert zone["labelSelector"]["matchLabels"] == own == host["labelSelector"]["matchLabels"]
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"] == [{"key": "kubernetes.azure.com/agentpool", "operator": "In",
                                         "values": ["apppool"]}]
    assert spec["tolerations"] == [{"key": "application-workload", "operator": "Equal", "value": "true",
                                    "effect": "NoSchedule"}]


def test_quota_and_limit_range():
    quota = find("prod", "ResourceQuota", "requests-quota")["spec"]["hard"]
    assert quota == {"requests.cpu": "36", "requests.memory": "120Gi"}
    assert find("prod", "LimitRange", "container-defaults")["spec"]["limits"][0]["type"] == "Container"


# ---------------------------------------------------------------- 5. pod security


@pytest.mark.parametrize("name", SERVICES)
def test_pod_security(name):
    spec = pod(name)["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                       "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
    sc = container(name)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container(name)["volumeMounts"]}
    expected = {"/tmp", "/app/logs"} | ({"/app/uploads"} if name == "user-service" else set())
    empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    assert {p for p, v in mounts.items() if v in empty_dirs} == expected
    assert spec["automountServiceAccountToken"] is (name == "user-service")


# ---------------------------------------------------------------- 6. network


def test_namespace_policies():
    deny = find("prod", "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = find("prod", "NetworkPolicy", "allow-dns")["spec"]["egress"][0]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    app = find("prod", "NetworkPolicy", "production-network-policy")["spec"]
    assert app["podSelector"]["matchLabels"] == {"tier": "application"}
    peers = app["ingress"][0]["from"]
    assert {"ipBlock": {"cidr": "10.0.4.0/24"}} in peers
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers
                  if "namespaceSelector" in p}
    assert namespaces == {"kube-system", "monitoring"}
    assert app["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]


CALLS = {("trip-service", "user-service"), ("trip-service", "location-service"), ("trip-service", "ai-service"),
         ("ai-service", "user-service"), ("ai-service", "location-service")}


def policy_edges() -> set[tuple[str, str]]:
    edges = set()
    for name in SERVICES:
        for rule in find("prod", "NetworkPolicy", name)["spec"].get("egress", []):
            for peer in rule["to"]:
                if "podSelector" in peer:
                    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
                    edges.add((name, peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]))
    return edges


def test_service_to_service_policies_follow_the_call_graph():
    assert policy_edges() == CALLS
    for name in SERVICES:
        ingress = find("prod", "NetworkPolicy", name)["spec"].get("ingress", [])
        callers = {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for r in ingress for p in r["from"]}
        assert callers == {a for a, b in CALLS if b == name}
    assert config("trip-service")["AI_SERVICE_URL"] == "http://ai-service.tripgen-prod.svc.cluster.local:8080"


STORES = {("10.0.2.0/24", (5432,)), ("10.0.3.0/24", (6380,)), ("10.0.1.0/24", (5671, 443))}


@pytest.mark.parametrize("name", SERVICES)
def test_store_and_external_egress(name):
    blocks = {}
    for rule in find("prod", "NetworkPolicy", name)["spec"]["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:
                blocks[peer["ipBlock"]["cidr"]] = (tuple(p["port"] for p in rule["ports"]), peer["ipBlock"])
    expected = {c: p for c, p in STORES if name != "user-service" or c != "10.0.1.0/24"}
    # 6.7: user-service reads the Kubernetes API: egress to the API server of the seed's private
    # cluster, whose endpoint sits in the Application Subnet (it holds no Service Bus store there)
    if name == "user-service":
        expected["10.0.1.0/24"] = (443,)
    assert {c: p for c, (p, _b) in blocks.items() if c != "0.0.0.0/0"} == expected
    # 6.6 and 6.8: external HTTPS for ai-service and location-service, and Application Insights
    # ingestion for every service (the seed has no private link scope): Internet on 443 only
    ports, block = blocks["0.0.0.0/0"]
    assert ports == (443,) and set(block["except"]) == {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}


def test_ingress():
    ing = find("prod", "Ingress", "tripgen-api")
    a = ing["metadata"]["annotations"]
    assert ing["spec"]["ingressClassName"] == "azure-application-gateway"
    assert a["appgw.ingress.kubernetes.io/appgw-ssl-certificate"] == "ssl-wildcard-cert"
    assert a["appgw.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert a["appgw.ingress.kubernetes.io/request-timeout"] == "60"
    assert a["appgw.ingress.kubernetes.io/waf-policy-for-path"].endswith("/waf-tripgen-prod")
    rule = ing["spec"]["rules"][0]
    assert rule["host"] == "api.tripgen.com"
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes == {"/api/v1/users": "user-service", "/api/v1/trips": "trip-service", "/api/v1/ai": "ai-service",
                      "/api/v1/locations": "location-service", "/api/v1/routes": "location-service",
                      "/ws": "location-service"}
    assert {p["backend"]["service"]["port"]["number"] for p in rule["http"]["paths"]} == {8080}


# ---------------------------------------------------------------- 7. secrets and private endpoints

APPINSIGHTS = {"appinsights-connection-string": "APPLICATIONINSIGHTS_CONNECTION_STRING"}  # 9.3, every service
SECRETS = {
    "user-service": {"user-service-db-password": "DB_PASSWORD", "redis-access-key": "REDIS_PASSWORD",
                     "jwt-signing-key": "JWT_SECRET", "encryption-keys": "ENCRYPTION_KEYS"},
    "trip-service": {"trip-service-db-password": "DB_PASSWORD", "redis-access-key": "REDIS_PASSWORD",
                     "servicebus-connection-string": "SERVICE_BUS_CONNECTION_STRING", "jwt-signing-key": "JWT_SECRET"},
    "ai-service": {"ai-service-db-password": "DB_PASSWORD", "redis-access-key": "REDIS_PASSWORD",
                   "servicebus-connection-string": "AZURE_SERVICEBUS_CONNECTION_STRING",
                   "jwt-signing-key": "JWT_SECRET", "openai-api-key": "OPENAI_API_KEY"},
    "location-service": {"location-service-db-password": "DB_PASSWORD", "redis-access-key": "REDIS_PASSWORD",
                         "servicebus-connection-string": "AZURE_SERVICEBUS_CONNECTION_STRING",
                         "jwt-signing-key": "JWT_SECRET", "google-maps-api-key": "GOOGLE_API_KEY"},
}
DATABASES = {"user-service": "tripgen_user", "trip-service": "tripgen_trip", "ai-service": "ai_db",
             "location-service": "tripgen_location"}


@pytest.mark.parametrize("name", SERVICES)
def test_secret_provider_class_and_workload_identity(name):
    import yaml

    spc = find("prod", "SecretProviderClass", f"{name}-secrets")["spec"]
    assert spc["provider"] == "azure" and spc["parameters"]["keyvaultName"] == "kv-tripgen-prod"
    entries = [yaml.safe_load(e) for e in yaml.safe_load(spc["parameters"]["objects"])["array"]]
    assert {e["objectName"]: e["objectAlias"] for e in entries} == {**SECRETS[name], **APPINSIGHTS}
    sa = find("prod", "ServiceAccount", f"{name}-sa")
    assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]
    assert pod(name)["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    mount = next(m for m in container(name)["volumeMounts"] if m["mountPath"] == "/mnt/secrets")
    assert mount["readOnly"] is True
    vol = next(v for v in pod(name)["spec"]["volumes"] if v["name"] == mount["name"])
    assert vol["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert vol["csi"]["volumeAttributes"]["secretProviderClass"] == f"{name}-secrets"
    cfg = config(name)
    assert cfg["SPRING_CONFIG_IMPORT"] == "optional:configtree:/mnt/secrets/"
    assert (cfg["DB_HOST"], cfg["DB_PORT"], cfg["DB_NAME"]) == (
        "postgresql-server.postgres.database.azure.com", "5432", DATABASES[name])
    assert (cfg["REDIS_HOST"], cfg["REDIS_PORT"], cfg["SPRING_DATA_REDIS_SSL_ENABLED"], cfg["REDIS_DATABASE"]) == (
        "redis-cache.redis.cache.windows.net", "6380", "true", "0")
    assert not set(cfg) & set(SECRETS[name].values()), "a secret leaked into the ConfigMap"


# ---------------------------------------------------------------- 8. configuration


@pytest.mark.parametrize("name", SERVICES)
def test_config_map_cache_queues_and_checksum(name):
    import hashlib
    import json

    cfg = config(name)
    assert cfg["CACHE_L1_TTL"] == "5m" and cfg["CACHE_L1_MAX_ENTRIES"] == "2000" and cfg["CACHE_L2_TTL"] == "30m"
    assert (cfg["CACHE_TTL_USER_SESSION"], cfg["CACHE_TTL_LOCATION_DATA"], cfg["CACHE_TTL_AI_RESULTS"],
            cfg["CACHE_TTL_STATIC_CONTENT"]) == ("30m", "4h", "1h", "1d")
    if name != "user-service":
        assert cfg["SERVICEBUS_QUEUE_AI_SCHEDULE_GENERATION"] == "ai-schedule-generation"
        assert cfg["SERVICEBUS_TOPIC_SYSTEM_EVENTS"] == "system-events"
    checksum = pod(name)["metadata"]["annotations"]["checksum/config"]
    # Go's toJson of the ConfigMap's data, as the template computes it from the rendered ConfigMap
    go_json = json.dumps(cfg, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    go_json = go_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    assert checksum == hashlib.sha256(go_json.encode()).hexdigest()
    assert container(name)["envFrom"] == [{"configMapRef": {"name": f"{name}-config"}}]


# ---------------------------------------------------------------- 9. monitoring


@pytest.mark.parametrize("name", SERVICES)
def test_service_monitor(name):
    sm = find("prod", "ServiceMonitor", name)
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    ep = sm["spec"]["endpoints"][0]
    path = "/api/v1/ai/actuator/prometheus" if name == "ai-service" else "/actuator/prometheus"
    assert (ep["port"], ep["path"], ep["interval"]) == ("http", path, "30s")


def test_prometheus_rule_has_the_five_alerts_with_valid_promql():
    rules = find("prod", "PrometheusRule", "tripgen-alerts")["spec"]["groups"][0]["rules"]
    got = {r["alert"]: (r["for"], r["labels"]["severity"]) for r in rules}
    assert got == {"TripGenHighErrorRate": ("5m", "critical"), "TripGenHighResponseTime": ("5m", "critical"),
                   "TripGenPodCrashLooping": ("1m", "critical"), "TripGenHighCPU": ("10m", "warning"),
                   "TripGenHighMemory": ("5m", "warning")}
    for r in rules:
        assert r["annotations"]["summary"]
        promql_parser.parse(r["expr"])  # raises on invalid PromQL
    exprs = {r["alert"]: r["expr"] for r in rules}
    assert "> 0.05" in exprs["TripGenHighErrorRate"] and "[5m]" in exprs["TripGenHighErrorRate"]
    assert "> 5" in exprs["TripGenHighResponseTime"] and "http_server_requests_seconds_sum" in exprs[
        "TripGenHighResponseTime"]
    assert "[10m]" in exprs["TripGenPodCrashLooping"] and "> 5" in exprs["TripGenPodCrashLooping"]
    assert "> 0.85" in exprs["TripGenHighCPU"] and "> 0.9" in exprs["TripGenHighMemory"]


def test_promql_parser_rejects_garbage():
    with pytest.raises(Exception):  # noqa: B017 - the parser raises its own error types
        promql_parser.parse("sum by (service (rate(x[5m]))")


def test_rbac_of_the_seed():
    # cluster-scoped, so named per environment: two environments in one cluster never share one
    assert {o["metadata"]["name"] for o in objects("prod", "ClusterRole")} == {f"{NS}-application-reader",
                                                                                f"{NS}-application-writer"}
    bindings = {o["metadata"]["name"]: o for o in objects("prod", "RoleBinding")}
    reader = bindings["user-service-sa-application-reader-grant"]
    assert reader["roleRef"]["name"] == f"{NS}-application-reader"
    assert reader["subjects"][0]["name"] == "user-service-sa"
    assert bindings["deployment-sa-application-writer-grant"]["subjects"][0]["name"] == "deployment-sa"
    assert find("prod", "ServiceAccount", "deployment-sa")["automountServiceAccountToken"] is False


def test_service_monitor_api_version_is_configurable_for_azure_managed_prometheus():
    import dataclasses

    from conftest import ROOT
    from tripgen_cdk8s.lib.errors import ConfigError
    from tripgen_cdk8s.tripgen import overlays
    from tripgen_cdk8s.tripgen.app import synthesize
    from tripgen_cdk8s.tripgen.config import validate

    env = overlays.load(ROOT, "prod")
    azure = dataclasses.replace(env, monitoring=dataclasses.replace(
        env.monitoring, service_monitor_api_version="azmonitoring.coreos.com/v1"))
    monitors = [o for c in synthesize(azure).charts for o in c.objects if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == 4 and {m["apiVersion"] for m in monitors} == {"azmonitoring.coreos.com/v1"}
    with pytest.raises(ConfigError, match="monitoring.service_monitor_api_version"):
        validate(dataclasses.replace(env, monitoring=dataclasses.replace(
            env.monitoring, service_monitor_api_version="monitoring.coreos.com/v2")))
