"""Newsletter: the charts of one environment, shared by overlays/live and overlays/staging.

A different kind of app than bookstore, built only from the public API:

* ``api``: the public HTTP API (subscribe, unsubscribe), reached through ingress-nginx; before each
  sync, the ``api-migrate`` Job (an Argo CD PreSync and Helm pre-install/pre-upgrade hook) runs the
  database migrations, with its own ServiceAccount, ConfigMap and egress created as earlier hooks.
* ``sender``: a queue worker with no Service and no port, scaled by KEDA on the length of the
  RabbitMQ queue ``outbound``; probed by running its health command.
* ``digest``: a CronJob that builds the weekly digest every Monday at 06:00.
* ``mail-platform``: the namespace's default deny, DNS, the ingress controller's way in (to the
  api only) and the Ingress.

Credentials are Secrets created outside the charts (by the platform team's secret store sync);
the charts name them and their keys, read as environment variables, and never hold a value.
The addresses of the private endpoints below are this example's own (fictional) network.
"""

from __future__ import annotations

from dataclasses import dataclass

from tripgen_cdk8s import (
    ApiIngress,
    ApiIngressProps,
    AppNamespace,
    AppNamespaceProps,
    AutoscaledService,
    AutoscaledServiceProps,
    CronJob,
    CronJobProps,
    EnvValue,
    HelmChart,
    HelmChartProps,
    Hook,
    HorizontalScaling,
    Image,
    IngressRoute,
    IpBlock,
    Job,
    JobProps,
    KedaScaling,
    MicroService,
    MicroServiceProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    Probe,
    Releases,
    Resources,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
    Worker,
    WorkerProps,
    nginx_annotations,
)

REGISTRY = "registry.example.com"
PUBLIC = {"tier": "public"}
DATABASE = IpBlock("10.20.0.0/24", description="PostgreSQL private endpoint")
BROKER = IpBlock("10.20.1.0/24", description="RabbitMQ private endpoint")
SMTP_RELAY = IpBlock("10.20.2.10/32", description="SMTP relay")

# Secrets as environment variables: the Secret and key, never a value.
DATABASE_URL = EnvValue.from_secret_value("mail-database", "url")
AMQP_URL = EnvValue.from_secret_value("mail-broker", "url")
SMTP_PASSWORD = EnvValue.from_secret_value("mail-smtp", "password")

# checkov prefers secrets mounted as files (CKV_K8S_35); this app's framework reads its connection
# strings from the environment, so its workloads carry the waiver with the reason.
SECRETS_AS_ENV = {"checkov.io/skip1": "CKV_K8S_35=the app reads its connection strings from environment "
                                      "variables (12-factor); the values come from Secrets, never from the chart"}


@dataclass(frozen=True)
class Sizing:
    """What differs between the environments."""

    namespace: str
    host: str
    api_replicas: tuple[int, int]
    sender_replicas: tuple[int, int]
    queue_length_per_pod: int


def build(app, env: str, releases: Releases, sizing: Sizing) -> None:
    """Add the environment's four charts to ``app``."""

    def chart(name: str, app_version: str, description: str) -> HelmChart:
        return HelmChart(app, name, HelmChartProps(namespace=sizing.namespace, version="0.2.0",
                                                   app_version=app_version, description=description,
                                                   environment=env))

    def image(service: str) -> Image:
        return Image(REGISTRY, f"newsletter/{service}", releases.tag(service), digest=releases.digest(service),
                     pull_policy="Always")

    platform = chart("mail-platform", "0.2.0", "Newsletter namespace, network policies and Ingress")
    api_chart = chart("api", releases.tag("api"), "Newsletter public API and its database migrations")
    sender_chart = chart("sender", releases.tag("sender"), "Newsletter sender: the outbound queue worker")
    digest_chart = chart("digest", releases.tag("digest"), "Newsletter weekly digest (CronJob)")

    # --- api: public HTTP service, autoscaled on CPU only ------------------------------------------
    api = MicroService(api_chart, "service", MicroServiceProps(
        name="api", image=image("api"), resources=Resources.sized("200m", "256Mi", "1", "512Mi"),
        part_of="newsletter", component="api", pod_labels=PUBLIC, workload_annotations=SECRETS_AS_ENV,
        env={"DATABASE_URL": DATABASE_URL, "AMQP_URL": AMQP_URL}, config={"LOG_FORMAT": "json"}))
    low, high = sizing.api_replicas
    AutoscaledService(api_chart, "autoscaling", AutoscaledServiceProps(
        target=api, scaling=HorizontalScaling(min_replicas=low, max_replicas=high, cpu_utilization=70),
        min_available=low - 1, disruption_budget=low > 1))
    api.connections.allow_to(DATABASE, ports=(5432,))
    api.connections.allow_to(BROKER, ports=(5671,))

    # The migrations run before every sync (PreSync hook): same image, its own command.
    migrate = Job(api_chart, "migrate", JobProps(
        name="api-migrate", image=image("api"), resources=Resources.sized("100m", "128Mi", "500m", "256Mi"),
        command=("/app/bin/migrate",), args=("--to", "latest"), part_of="newsletter", component="migration",
        env={"DATABASE_URL": DATABASE_URL}, annotations=SECRETS_AS_ENV, hook=Hook.pre_sync(),
        backoff_limit=1, active_deadline_seconds=600))
    migrate.connections.allow_to(DATABASE, ports=(5432,))

    # --- sender: queue worker, no Service, KEDA on the queue length ---------------------------------
    sender = Worker(sender_chart, "worker", WorkerProps(
        name="sender", image=image("sender"), resources=Resources.sized("100m", "192Mi", "500m", "384Mi"),
        part_of="newsletter", annotations=SECRETS_AS_ENV,
        env={"AMQP_URL": AMQP_URL, "SMTP_PASSWORD": SMTP_PASSWORD}, config={"QUEUE": "outbound"},
        liveness=Probe.exec(("/app/bin/healthcheck", "--live")),
        readiness=Probe.exec(("/app/bin/healthcheck", "--ready"))))
    low, high = sizing.sender_replicas
    AutoscaledService(sender_chart, "autoscaling", AutoscaledServiceProps(
        target=sender, scaling=KedaScaling(
            min_replicas=low, max_replicas=high,
            triggers=({"type": "rabbitmq", "metadata": {"queueName": "outbound", "mode": "QueueLength",
                                                         "value": str(sizing.queue_length_per_pod)}},),
            authentication={"secretTargetRef": [{"parameter": "host", "name": "mail-broker", "key": "url"}]},
            authentication_name="rabbitmq"),
        min_available=low - 1, disruption_budget=low > 1))
    sender.connections.allow_to(BROKER, ports=(5671,))
    sender.connections.allow_to(SMTP_RELAY, ports=(587,))

    # --- digest: weekly CronJob ------------------------------------------------------------------
    digest = CronJob(digest_chart, "cron", CronJobProps(
        name="digest", image=image("digest"), resources=Resources.sized("100m", "256Mi", "1", "512Mi"),
        schedule="0 6 * * 1", time_zone="Europe/Berlin", part_of="newsletter", component="batch",
        annotations=SECRETS_AS_ENV, env={"DATABASE_URL": DATABASE_URL, "AMQP_URL": AMQP_URL}))
    digest.connections.allow_to(DATABASE, ports=(5432,))
    digest.connections.allow_to(BROKER, ports=(5671,))

    for workload in (api, migrate, sender, digest):
        ServiceNetworkPolicy(workload.helm_chart, f"network-policy-{workload.name}",
                             ServiceNetworkPolicyProps(workload=workload))

    # --- platform --------------------------------------------------------------------------------
    AppNamespace(platform, "namespace", AppNamespaceProps(quota_requests_cpu="8", quota_requests_memory="16Gi"))
    NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
        namespace=sizing.namespace, sources=("ingress-nginx",), application_ports=(api.port,),
        application_selector=PUBLIC, policy_name="allow-ingress-controller"))
    ApiIngress(platform, "ingress", ApiIngressProps(
        name="newsletter", host=sizing.host, routes=(IngressRoute("/api", api),),
        annotations=nginx_annotations(request_timeout_seconds=30)))
