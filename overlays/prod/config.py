"""Production configuration of TripGen (TRIPGEN.md, prod column).  Every number here is the spec's."""

from tripgen_cdk8s.app.releases import load_releases
from tripgen_cdk8s.tripgen.config import (
    AlertRouting,
    AppGatewayIngress,
    CachePolicy,
    ClusterNetwork,
    Delivery,
    Environment,
    GitOps,
    Guardrails,
    HorizontalScaling,
    Image,
    KeyVault,
    KeyVaultSecret,
    Monitoring,
    NodePool,
    PodsMetric,
    PrivateEndpointStore,
    QueueScaling,
    Resources,
    ServiceConfig,
    StoreAttachment,
    SyncWindow,
    Telemetry,
)

NAMESPACE = "tripgen-prod"
REGISTRY = "acrtrpgenprod.azurecr.io"
# The releases the prod charts deploy (DP: trip-service:v1.2.0): tag and digest per service live in
# overlays/prod/releases.yaml, which the release pipeline edits with `tripgen release set/promote`.
RELEASES = load_releases(__file__)

# Azure assigns these when the infrastructure (out of scope, TRIPGEN.md section 12) is created.
# They are not secrets; copy them from the infrastructure outputs.  Empty until then: the charts
# render them as empty strings and `python main.py validate` reports each one that is unset.
TENANT_ID = ""
CLIENT_IDS: dict[str, str] = {
    "user-service": "",
    "trip-service": "",
    "ai-service": "",
    "location-service": "",
}
SUBSCRIPTION_ID = ""
WAF_POLICY_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-tripgen-prod/providers/"
    "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/waf-tripgen-prod"
)


def _image(service: str) -> Image:
    # Always: every start re-authenticates against ACR and never runs a stale node-cached layer
    # set; with immutable tags it costs one manifest request.
    return Image(registry=REGISTRY, repository=service, tag=RELEASES.tag(service), digest=RELEASES.digest(service),
                 pull_policy="Always")


def _common_stores(database: str, username: str) -> tuple[StoreAttachment, ...]:
    return (
        StoreAttachment(store="postgresql", secret_alias="DB_PASSWORD", database=database, username=username),
        StoreAttachment(store="redis", secret_alias="REDIS_PASSWORD", redis_database=0),
    )


JWT = KeyVaultSecret(object_name="jwt-signing-key", alias="JWT_SECRET")

config = Environment(
    name="prod",
    namespace=NAMESPACE,
    spring_profile="prod",
    pod_security="restricted",
    chart_version="1.0.0",
    guardrails=Guardrails(
        immutable_image_tags=True,
        min_replicas=2,
        require_default_deny=True,
        require_pdb=True,
        require_resources=True,
        require_probes=True,
        ingress_kinds=("AppGatewayIngress",),
    ),
    zone_spread=True,
    key_vault=KeyVault(name="kv-tripgen-prod", tenant_id=TENANT_ID),
    node_pool=NodePool(
        name="apppool",
        taint_key="application-workload",
        taint_value="true",
        vm_size="Standard_D4s_v3",
        min_nodes=3,
        max_nodes=10,
        allocatable_cpu="3600m",
        allocatable_memory="12Gi",
    ),
    ingress=AppGatewayIngress(
        name="tripgen-api",
        host="api.tripgen.com",
        tls_certificate="ssl-wildcard-cert",
        waf_policy_id=WAF_POLICY_ID,
        request_timeout_seconds=60,
        gateway_subnet_cidr="10.0.4.0/24",
    ),
    monitoring=Monitoring(
        service_monitor_api_version="monitoring.coreos.com/v1",
        scrape_interval_seconds=30,
        runbook_base_url="https://github.com/tripgen/k8s-manifests/blob/main/docs/runbooks.md",
        # TRIPGEN.md 9.1: critical -> PagerDuty + Teams, warning -> Teams.  The Secret
        # alertmanager-receivers (keys pagerduty-routing-key, teams-webhook-url) is created
        # outside the charts by the platform team; only its name and keys are rendered.
        alert_routing=AlertRouting(
            name="tripgen-alert-routing",
            receivers_secret="alertmanager-receivers",
            group_wait_seconds=30,
            group_interval_seconds=300,
            critical_repeat_seconds=1800,
            warning_repeat_seconds=14400,
        ),
        dashboards=True,
    ),
    # TRIPGEN.md 9.3: Application Insights with 10 % sampling, JSON logs for Container Insights.
    # TRIPGEN.md 6.8: egress to the ingestion endpoint.  The seed's prod (physical architecture 7.3.1,
    # 8.1.1) gives Application Insights appi-tripgen-prod no Azure Monitor Private Link Scope, so
    # ingestion goes to its public endpoint: Internet egress on 443, declared here with its reason.
    # With a private link scope, set egress_cidrs to its private endpoint subnet instead (docs/network.md).
    telemetry=Telemetry(connection_string_object="appinsights-connection-string", sampling_percentage=10,
                        internet_egress_reason="Application Insights ingestion (appi-tripgen-prod, no private link scope)"),
    # TRIPGEN.md 6.7: the API server's address, for user-service's Kubernetes API access.  The seed's
    # AKS is a private cluster with Azure CNI (physical architecture 3.1.1): its API server's private
    # endpoint is placed in the cluster's subnet, the Application Subnet 10.0.1.0/24 (section 4.1.1).
    # Narrow it to the endpoint's private IP (/32) once it is known (docs/network.md).
    cluster_network=ClusterNetwork(api_server_cidrs=("10.0.1.0/24",), api_server_ports=(443,)),
    # Blue-green through Argo Rollouts (DP 2.1.2, 3.2): promotion needs approval, the old stack
    # stays 30 minutes, and the preview must keep its 5xx rate below 0.5 % before promotion.
    delivery=Delivery(auto_promotion_enabled=False, scale_down_delay_seconds=1800, max_preview_error_rate="0.005"),
    gitops=GitOps(
        repo_url="https://github.com/tripgen/k8s-manifests",
        target_revision="main",
        argocd_namespace="argocd",
        project="tripgen",
        # DP 2.2.1: automated syncs only Monday-Friday 02:00-04:00 Seoul time (schedule 0 2 * * 1-5,
        # duration 2h).  Break-glass for an approved hotfix outside the window: a manual sync
        # (`argocd app sync tripgen-prod-<chart>`), which manual_sync allows (TRIPGEN.md section 11).
        sync_window=SyncWindow.weekly(start="02:00", end="04:00", days="Mon-Fri", time_zone="Asia/Seoul",
                                      manual_sync=True),
        platform_sync_wave=0,
    ),
    cache=CachePolicy(l1_ttl_seconds=300, l1_max_entries=2000, l2_ttl_seconds=1800),
    stores=(
        PrivateEndpointStore(
            name="postgresql",
            kind="postgresql",
            host="postgresql-server.postgres.database.azure.com",
            port=5432,
            tls=True,
            subnet_cidr="10.0.2.0/24",
            key_vault_object="{service}-db-password",
        ),
        PrivateEndpointStore(
            name="redis",
            kind="redis",
            host="redis-cache.redis.cache.windows.net",
            port=6380,
            tls=True,
            subnet_cidr="10.0.3.0/24",
            key_vault_object="redis-access-key",
        ),
        PrivateEndpointStore(
            name="servicebus",
            kind="servicebus",
            host="sb-tripgen-prod.servicebus.windows.net",
            port=5671,
            tls=True,
            subnet_cidr="10.0.1.0/24",
            key_vault_object="servicebus-connection-string",
            extra_ports=(443,),
        ),
    ),
    services=(
        ServiceConfig(
            name="user-service",
            purpose="sign-up, login, JWT, profile",
            image=_image("user-service"),
            resources=Resources.sized("200m", "512Mi", "1000m", "1Gi"),
            api_prefixes=("/api/v1/users",),
            replicas=3,
            scaling=HorizontalScaling(
                min_replicas=3,
                max_replicas=10,
                cpu_utilization=70,
                memory_utilization=80,
                pods_metrics=(PodsMetric(name="http_requests_per_second", average_value=100),),
            ),
            min_available=2,
            stores=_common_stores("tripgen_user", "user_service"),
            secrets=(JWT, KeyVaultSecret(object_name="encryption-keys", alias="ENCRYPTION_KEYS")),
            writable_paths=("/tmp", "/app/logs", "/app/uploads"),
            # The seed binds user-service-sa to the application-reader ClusterRole (PP 7.2.2).
            kubernetes_api_access=True,
            identity_client_id=CLIENT_IDS["user-service"],
            strategy="blueGreen",
            sync_wave=1,
        ),
        ServiceConfig(
            name="trip-service",
            purpose="trips, members, destinations, schedules",
            image=_image("trip-service"),
            resources=Resources.sized("500m", "1Gi", "2000m", "2Gi"),
            api_prefixes=("/api/v1/trips",),
            replicas=3,
            scaling=HorizontalScaling(
                min_replicas=3,
                max_replicas=15,
                cpu_utilization=70,
                memory_utilization=80,
                pods_metrics=(PodsMetric(name="http_active_connections", average_value=50),),
            ),
            min_available=2,
            calls=("user-service", "location-service", "ai-service"),
            stores=_common_stores("tripgen_trip", "trip_service")
            + (StoreAttachment(store="servicebus", secret_alias="SERVICE_BUS_CONNECTION_STRING"),),
            secrets=(JWT,),
            identity_client_id=CLIENT_IDS["trip-service"],
            strategy="blueGreen",
            sync_wave=2,
        ),
        ServiceConfig(
            name="ai-service",
            purpose="AI schedule generation and recommendations",
            image=_image("ai-service"),
            resources=Resources.sized("1000m", "2Gi", "4000m", "4Gi"),
            api_prefixes=("/api/v1/ai",),
            replicas=2,
            scaling=QueueScaling(
                min_replicas=2,
                max_replicas=8,
                cpu_utilization=80,
                memory_utilization=85,
                servicebus_namespace="sb-tripgen-prod",
                queue_name="ai-schedule-generation",
                message_count=10,
            ),
            min_available=1,
            health_path="/api/v1/ai/actuator/health",
            metrics_path="/api/v1/ai/actuator/prometheus",
            calls=("user-service", "location-service"),
            external_egress=("api.openai.com",),
            stores=_common_stores("ai_db", "ai_service")
            + (StoreAttachment(store="servicebus", secret_alias="AZURE_SERVICEBUS_CONNECTION_STRING"),),
            secrets=(JWT, KeyVaultSecret(object_name="openai-api-key", alias="OPENAI_API_KEY")),
            identity_client_id=CLIENT_IDS["ai-service"],
            strategy="blueGreen",
            sync_wave=3,
        ),
        ServiceConfig(
            name="location-service",
            purpose="place search, details, routes, weather; WebSocket",
            image=_image("location-service"),
            resources=Resources.sized("200m", "512Mi", "1000m", "1Gi"),
            api_prefixes=("/api/v1/locations", "/api/v1/routes", "/ws"),
            replicas=2,
            scaling=HorizontalScaling(min_replicas=2, max_replicas=5, cpu_utilization=70, memory_utilization=80),
            min_available=1,
            external_egress=(
                "maps.googleapis.com",
                "dapi.kakao.com",
                "apis.openapi.sk.com",
                "api.openweathermap.org",
                "api.weatherapi.com",
            ),
            stores=_common_stores("tripgen_location", "location_service")
            + (StoreAttachment(store="servicebus", secret_alias="AZURE_SERVICEBUS_CONNECTION_STRING"),),
            secrets=(JWT, KeyVaultSecret(object_name="google-maps-api-key", alias="GOOGLE_API_KEY")),
            identity_client_id=CLIENT_IDS["location-service"],
            strategy="blueGreen",
            sync_wave=1,
        ),
    ),
)
