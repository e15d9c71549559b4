"""Development configuration of TripGen (TRIPGEN.md section 1 dev column; PD and DD in seed/).

One replica each with the dev resources, no autoscaling, PDB, zone spread or Rollouts; the
allow-all `dev-basic-policy`; ingress-nginx on dev-tripgen.local; PostgreSQL and Redis run as pods
in the namespace (PD 5.1); secrets come from the Kubernetes Secret `app-secrets`, created outside
the charts (DD 3.4.1) and referenced here by name and key only.
"""

from tripgen_cdk8s.app.releases import load_releases
from tripgen_cdk8s.tripgen.config import (
    CachePolicy,
    Environment,
    GitOps,
    Guardrails,
    Image,
    NginxIngress,
    NodePool,
    PrivateEndpointStore,
    Resources,
    RollingSettings,
    SecretKeyRef,
    ServiceConfig,
    StoreAttachment,
)

NAMESPACE = "tripgen-dev"
REGISTRY = "acrtrpgendev.azurecr.io"
# Tag and digest per service live in overlays/dev/releases.yaml; CI records the commit's image
# with `tripgen release set SERVICE --env dev --tag <sha>` (DD 4: images are tagged with the commit SHA).
RELEASES = load_releases(__file__)
APP_SECRETS = "app-secrets"


def _image(service: str) -> Image:
    return Image(registry=REGISTRY, repository=service, tag=RELEASES.tag(service), digest=RELEASES.digest(service),
                 pull_policy="Always")


def _secret(key: str, alias: str) -> SecretKeyRef:
    return SecretKeyRef(secret=APP_SECRETS, key=key, alias=alias)


# PD 5.1: one database `tripgen` in the in-cluster PostgreSQL for every service.
STORES = (
    StoreAttachment(store="postgresql", secret_alias="DB_PASSWORD", database="tripgen", username="tripgen"),
    StoreAttachment(store="redis", secret_alias="REDIS_PASSWORD", redis_database=0),
)
JWT = _secret("jwt.secret", "JWT_SECRET")

config = Environment(
    name="dev",
    namespace=NAMESPACE,
    spring_profile="dev",
    pod_security="baseline",
    pod_security_warn="restricted",
    network_policy="allow-all",
    resource_quota=False,
    zone_spread=False,
    guardrails=Guardrails(min_replicas=1),
    chart_version="1.0.0",
    image_pull_secrets=("acr-secret",),
    key_vault=None,
    monitoring=None,
    # PD 2: two Standard_B2s nodes (2 vCPU, 4 GB; about 1.9 vCPU and 2.8 GiB allocatable each).
    node_pool=NodePool(name="agentpool", vm_size="Standard_B2s", min_nodes=2, max_nodes=2,
                       allocatable_cpu="1900m", allocatable_memory="2800Mi"),
    ingress=NginxIngress(name="tripgen-api", host="dev-tripgen.local", request_timeout_seconds=60),
    cache=CachePolicy(l1_ttl_seconds=300, l1_max_entries=1000, l2_ttl_seconds=1800),
    rolling=RollingSettings(max_surge=1, max_unavailable=1, revision_history_limit=5, progress_deadline_seconds=600),
    gitops=GitOps(repo_url="https://github.com/tripgen/k8s-manifests", target_revision="main",
                  argocd_namespace="argocd", project="tripgen-dev", sync_window=None),
    stores=(
        PrivateEndpointStore(name="postgresql", kind="postgresql", host=f"postgresql.{NAMESPACE}.svc.cluster.local",
                             port=5432, tls=False, subnet_cidr="", existing_secret=APP_SECRETS,
                             existing_secret_key="database.password"),
        PrivateEndpointStore(name="redis", kind="redis", host=f"redis.{NAMESPACE}.svc.cluster.local", port=6379,
                             tls=False, subnet_cidr="", existing_secret=APP_SECRETS, existing_secret_key="redis.password"),
        PrivateEndpointStore(name="servicebus", kind="servicebus", host="sb-tripgen-dev.servicebus.windows.net",
                             port=5671, tls=True, subnet_cidr="", existing_secret=APP_SECRETS,
                             existing_secret_key="servicebus.connection-string"),
    ),
    services=(
        ServiceConfig(
            name="user-service", purpose="sign-up, login, JWT, profile", image=_image("user-service"),
            resources=Resources.sized("50m", "128Mi", "200m", "256Mi"), api_prefixes=("/api/v1/users",), replicas=1,
            stores=STORES, secrets=(JWT, _secret("encryption.keys", "ENCRYPTION_KEYS")),
            writable_paths=("/tmp", "/app/logs", "/app/uploads"), kubernetes_api_access=True, sync_wave=1,
        ),
        ServiceConfig(
            name="trip-service", purpose="trips, members, destinations, schedules", image=_image("trip-service"),
            resources=Resources.sized("100m", "256Mi", "500m", "512Mi"), api_prefixes=("/api/v1/trips",), replicas=1,
            calls=("user-service", "location-service", "ai-service"),
            stores=STORES + (StoreAttachment(store="servicebus", secret_alias="SERVICE_BUS_CONNECTION_STRING"),),
            secrets=(JWT,), sync_wave=2,
        ),
        ServiceConfig(
            name="ai-service", purpose="AI schedule generation and recommendations", image=_image("ai-service"),
            resources=Resources.sized("200m", "512Mi", "1000m", "1Gi"), api_prefixes=("/api/v1/ai",), replicas=1,
            health_path="/api/v1/ai/actuator/health", metrics_path="/api/v1/ai/actuator/prometheus",
            calls=("user-service", "location-service"), external_egress=("api.openai.com",),
            stores=STORES + (StoreAttachment(store="servicebus", secret_alias="AZURE_SERVICEBUS_CONNECTION_STRING"),),
            secrets=(JWT, _secret("openai.api.key", "OPENAI_API_KEY")), sync_wave=3,
        ),
        ServiceConfig(
            name="location-service", purpose="place search, details, routes, weather; WebSocket",
            image=_image("location-service"), resources=Resources.sized("50m", "128Mi", "200m", "256Mi"),
            api_prefixes=("/api/v1/locations", "/api/v1/routes", "/ws"), replicas=1,
            external_egress=("maps.googleapis.com", "dapi.kakao.com", "apis.openapi.sk.com", "api.openweathermap.org",
                             "api.weatherapi.com"),
            stores=STORES + (StoreAttachment(store="servicebus", secret_alias="AZURE_SERVICEBUS_CONNECTION_STRING"),),
            secrets=(JWT, _secret("google.api.key", "GOOGLE_API_KEY")), sync_wave=1,
        ),
    ),
)
