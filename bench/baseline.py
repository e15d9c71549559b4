"""The baseline: a plain cdk8s app (L1 ``k8s`` API) for N TripGen-like services.

    python bench/baseline.py --services 4 --out /tmp/baseline-n4

Per service one cdk8s Chart holding a Deployment, a Service, an ``autoscaling/v2`` HPA, a
PodDisruptionBudget and a NetworkPolicy (5 objects: 20 at N = 4), with the prod sizing, probes and
security context of overlays/prod/config.py, written as YAML by ``app.synth()``.  No Helm
packaging, no values, no validation, no JSON patches.  It deliberately does not import
tripgen_cdk8s: it is what a hand-written cdk8s app would cost.

Service names follow bench/generate.py: N = 4 gives the four prod names, otherwise group ``g``
gives ``user-service-<g>`` ... and ``trip-service-<g>`` calls the clones of its own group.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cdk8s
from cdk8s_plus_29 import k8s

NAMESPACE = "tripgen-prod"
REGISTRY = "acrtrpgenprod.azurecr.io"
TAG = "v1.2.0"
HTTP_PORT = 8080
UID = 10001


@dataclass(frozen=True)
class Template:
    name: str
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str
    min_replicas: int
    max_replicas: int
    min_available: int
    calls: tuple[str, ...] = ()
    health_path: str = "/actuator/health"


TEMPLATES = (
    Template("user-service", "200m", "512Mi", "1000m", "1Gi", 3, 10, 2),
    Template("trip-service", "500m", "1Gi", "2000m", "2Gi", 3, 15, 2,
             calls=("user-service", "location-service", "ai-service")),
    Template("ai-service", "1000m", "2Gi", "4000m", "4Gi", 2, 8, 1, calls=("user-service", "location-service"),
             health_path="/api/v1/ai/actuator/health"),
    Template("location-service", "200m", "512Mi", "1000m", "1Gi", 2, 5, 1),
)


@dataclass(frozen=True)
class Service:
    name: str
    template: Template
    calls: tuple[str, ...]


def services(n: int) -> list[Service]:
    """The N services, named and wired as bench/generate.py does."""
    if n == len(TEMPLATES):
        return [Service(t.name, t, t.calls) for t in TEMPLATES]
    out = []
    for group in range(math.ceil(n / len(TEMPLATES))):
        members = TEMPLATES[: min(len(TEMPLATES), n - group * len(TEMPLATES))]
        present = {t.name for t in members}
        suffix = f"-{group:03d}"
        out += [Service(t.name + suffix, t, tuple(c + suffix for c in t.calls if c in present)) for t in members]
    return out


def _q(value: str) -> k8s.Quantity:
    return k8s.Quantity.from_string(value)


def _probe(path: str, period: int, failures: int) -> k8s.Probe:
    return k8s.Probe(http_get=k8s.HttpGetAction(path=path, port=k8s.IntOrString.from_string("http")),
                     period_seconds=period, timeout_seconds=5, failure_threshold=failures)


class ServiceChart(cdk8s.Chart):
    """Deployment, Service, HPA, PDB and NetworkPolicy of one service."""

    def __init__(self, scope: cdk8s.App, svc: Service, callers: list[str]) -> None:
        super().__init__(scope, svc.name, namespace=NAMESPACE)
        t = svc.template
        labels = {"app.kubernetes.io/name": svc.name, "app.kubernetes.io/part-of": "tripgen"}
        selector = {"app.kubernetes.io/name": svc.name}

        def meta() -> k8s.ObjectMeta:
            return k8s.ObjectMeta(name=svc.name, labels=dict(labels))

        health = t.health_path
        env = [k8s.EnvVar(name="SPRING_PROFILES_ACTIVE", value="prod"), k8s.EnvVar(name="SERVER_PORT", value="8080")]
        env += [k8s.EnvVar(name=c.upper().replace("-", "_") + "_URL",
                           value=f"http://{c}.{NAMESPACE}.svc.cluster.local:{HTTP_PORT}") for c in svc.calls]
        k8s.KubeDeployment(self, "deployment", metadata=meta(), spec=k8s.DeploymentSpec(
            selector=k8s.LabelSelector(match_labels=selector),
            template=k8s.PodTemplateSpec(
                metadata=k8s.ObjectMeta(labels=dict(labels)),
                spec=k8s.PodSpec(
                    security_context=k8s.PodSecurityContext(run_as_non_root=True, run_as_user=UID, fs_group=UID),
                    containers=[k8s.Container(
                        name=svc.name,
                        image=f"{REGISTRY}/{t.name}:{TAG}",
                        ports=[k8s.ContainerPort(name="http", container_port=HTTP_PORT)],
                        env=env,
                        startup_probe=_probe(f"{health}/liveness", 10, 18),
                        liveness_probe=_probe(f"{health}/liveness", 30, 3),
                        readiness_probe=_probe(f"{health}/readiness", 10, 3),
                        resources=k8s.ResourceRequirements(
                            requests={"cpu": _q(t.cpu), "memory": _q(t.memory)},
                            limits={"cpu": _q(t.cpu_limit), "memory": _q(t.memory_limit)}),
                        security_context=k8s.SecurityContext(
                            allow_privilege_escalation=False, read_only_root_filesystem=True,
                            capabilities=k8s.Capabilities(drop=["ALL"])),
                        volume_mounts=[k8s.VolumeMount(name="tmp", mount_path="/tmp")],
                    )],
                    volumes=[k8s.Volume(name="tmp", empty_dir=k8s.EmptyDirVolumeSource())],
                ),
            ),
        ))
        k8s.KubeService(self, "service", metadata=meta(), spec=k8s.ServiceSpec(
            selector=selector,
            ports=[k8s.ServicePort(name="http", port=HTTP_PORT, target_port=k8s.IntOrString.from_string("http"))]))
        k8s.KubeHorizontalPodAutoscalerV2(self, "hpa", metadata=meta(), spec=k8s.HorizontalPodAutoscalerSpecV2(
            scale_target_ref=k8s.CrossVersionObjectReferenceV2(api_version="apps/v1", kind="Deployment", name=svc.name),
            min_replicas=t.min_replicas,
            max_replicas=t.max_replicas,
            metrics=[k8s.MetricSpecV2(type="Resource", resource=k8s.ResourceMetricSourceV2(
                name=name, target=k8s.MetricTargetV2(type="Utilization", average_utilization=pct)))
                for name, pct in (("cpu", 70), ("memory", 80))],
        ))
        k8s.KubePodDisruptionBudget(self, "pdb", metadata=meta(), spec=k8s.PodDisruptionBudgetSpec(
            min_available=k8s.IntOrString.from_number(t.min_available),
            selector=k8s.LabelSelector(match_labels=selector)))

        def peer(name: str) -> k8s.NetworkPolicyPeer:
            return k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels={"app.kubernetes.io/name": name}))

        http = [k8s.NetworkPolicyPort(protocol="TCP", port=k8s.IntOrString.from_number(HTTP_PORT))]
        ingress = [k8s.NetworkPolicyIngressRule(from_=[peer(c) for c in callers], ports=http)] if callers else None
        egress = [k8s.NetworkPolicyEgressRule(to=[peer(c)], ports=http) for c in svc.calls]
        egress.append(k8s.NetworkPolicyEgressRule(ports=[k8s.NetworkPolicyPort(protocol="UDP",
                                                                               port=k8s.IntOrString.from_number(53))]))
        k8s.KubeNetworkPolicy(self, "network-policy", metadata=meta(), spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(match_labels=selector), policy_types=["Ingress", "Egress"],
            ingress=ingress, egress=egress))


def build(n: int, outdir: Path) -> cdk8s.App:
    app = cdk8s.App(outdir=str(outdir))
    all_services = services(n)
    callers: dict[str, list[str]] = {s.name: [] for s in all_services}
    for s in all_services:
        for c in s.calls:
            callers[c].append(s.name)
    for s in all_services:
        ServiceChart(app, s, callers[s.name])
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plain cdk8s baseline: 5 objects per service, app.synth().")
    parser.add_argument("--services", "-n", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("dist"))
    args = parser.parse_args(argv)
    build(args.services, args.out).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
