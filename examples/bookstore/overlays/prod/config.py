"""Bookstore, production: the charts our team deploys into the `bookstore` namespace.

Three Helm charts, one release each:

* ``bookstore-platform``: the namespace itself (restricted Pod Security, container defaults),
  the namespace-wide NetworkPolicies and the public Ingress.
* ``catalog``: the public book catalogue.  Reached through ingress-nginx at
  https://books.example.com/api/books, scaled by an HPA between 2 and 6 pods.
* ``orders``: the order service.  Internal only: no Ingress path, and only catalog may call it.

Beside the charts, the application model gives this environment what every app gets: the
guardrails below (checked at synth and by ``tripgen validate``), the Argo CD manifests under
charts/prod/argocd/, the reviewers' README (services, capacity, topology), and the releases file
``releases.yaml`` that ``tripgen release set/promote/show`` edit.

Run ``tripgen synth`` in examples/bookstore to (re)write charts/prod/ from this file.
"""

from tripgen_cdk8s import (
    ApiIngress,
    ApiIngressProps,
    AppNamespace,
    AppNamespaceProps,
    AutoscaledService,
    AutoscaledServiceProps,
    ChartMetadata,
    GitOps,
    Guardrails,
    HelmChart,
    HelmChartProps,
    HorizontalScaling,
    Image,
    IngressRoute,
    KubernetesVersions,
    Maintainer,
    MicroService,
    MicroServiceProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    NodePool,
    Project,
    Resources,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
    load_releases,
    nginx_annotations,
)

NAMESPACE = "bookstore"
ENVIRONMENT = "prod"
REGISTRY = "ghcr.io"

# Released versions: overlays/prod/releases.yaml holds each service's release tag and the digest CI
# recorded when it pushed the tag (the digest wins over the tag, so a re-pushed tag changes
# nothing).  `tripgen release set catalog --env prod --tag 1.4.3 --digest sha256:...` edits it and
# re-synthesises charts/prod/.  (The images of this example are fictional; so are the digests.)
RELEASES = load_releases(__file__)

# The namespace the ingress-nginx controller runs in: the only traffic from outside the namespace.
INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"

# The Kubernetes minors the charts support: AKS's LTS 1.32 to the newest, 1.37.  The charts'
# kubeVersion, the Pod Security version and `tripgen validate`'s schemas follow it; 1.30 or later is
# needed for the guardrails the cluster enforces (Guardrails.enforce_in_cluster below).
KUBERNETES = KubernetesVersions("1.32", "1.37")

# Pods carrying this label may be reached by the ingress controller (see the namespace policies).
PUBLIC = {"tier": "public"}


def chart(app, name: str, app_version: str, description: str) -> HelmChart:
    """One chart of this environment; its version is the chart's, app_version the service's."""
    return HelmChart(app, name, HelmChartProps(namespace=NAMESPACE, version="0.1.0", app_version=app_version,
                                               description=description, environment=ENVIRONMENT,
                                               kubernetes=KUBERNETES))


def build(app) -> None:
    platform = chart(app, "bookstore-platform", "0.1.0", "Bookstore namespace, network policies and Ingress")
    catalog_chart = chart(app, "catalog", RELEASES.tag("catalog"), "Bookstore catalog service (public)")
    orders_chart = chart(app, "orders", RELEASES.tag("orders"), "Bookstore orders service (internal)")

    # --- services ------------------------------------------------------------------------------

    # catalog: serves /api/books on the default port 8080 with the default /healthz and /readyz
    # probes.  The HPA owns its replica count.
    catalog = MicroService(catalog_chart, "service", MicroServiceProps(
        name="catalog",
        image=Image(REGISTRY, "bookstore/catalog", RELEASES.tag("catalog"), digest=RELEASES.digest("catalog"),
                    pull_policy="Always"),
        # requests 100m CPU / 128Mi, limits 500m / 256Mi (ephemeral storage: 256Mi / 1Gi by default)
        resources=Resources.sized("100m", "128Mi", "500m", "256Mi"),
        part_of="bookstore",
        component="api",
        pod_labels=PUBLIC,
        config={"LOG_LEVEL": "info"},
    ))

    # orders: internal, on port 9090, with plain HTTP health endpoints.  Two fixed replicas.
    orders = MicroService(orders_chart, "service", MicroServiceProps(
        name="orders",
        image=Image(REGISTRY, "bookstore/orders", RELEASES.tag("orders"), digest=RELEASES.digest("orders"),
                    pull_policy="Always"),
        resources=Resources.sized("100m", "192Mi", "500m", "384Mi"),
        port=9090,
        liveness_path="/healthz",
        readiness_path="/readyz",
        replicas=2,
        part_of="bookstore",
        component="backend",
        config={"LOG_LEVEL": "info"},
    ))

    # catalog calls orders: catalog gets ORDERS_URL in its environment, an egress rule to orders on
    # 9090, and orders an ingress rule from catalog (nobody else may call it).
    catalog.connections.allow_to(orders)

    # Spread catalog's pods over the availability zones (best effort: a zone outage must not take
    # the public API down, but we would rather run unbalanced than not at all).
    catalog.scheduling.spread(when_unsatisfiable="ScheduleAnyway")

    AutoscaledService(catalog_chart, "autoscaling", AutoscaledServiceProps(
        target=catalog,
        # 2..6 pods, scaling at 70 % CPU or 80 % memory of the requests; a PDB keeps 1 pod up.
        scaling=HorizontalScaling(min_replicas=2, max_replicas=6, cpu_utilization=70, memory_utilization=80),
    ))

    # Each service's own NetworkPolicy, produced from its connections above.
    for service in (catalog, orders):
        ServiceNetworkPolicy(service.helm_chart, "network-policy", ServiceNetworkPolicyProps(workload=service))

    # --- platform --------------------------------------------------------------------------------

    AppNamespace(platform, "namespace", AppNamespaceProps(
        quota_requests_cpu="2", quota_requests_memory="4Gi",
    ))

    # default-deny and allow-dns for every pod; the ingress controller may reach the public pods
    # (catalog) on 8080 and nothing else.
    NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
        namespace=NAMESPACE,
        sources=(INGRESS_CONTROLLER_NAMESPACE,),
        application_ports=(catalog.port,),
        application_selector=PUBLIC,
        policy_name="allow-ingress-controller",
    ))

    # The public API.  orders has no route: it stays internal.
    ApiIngress(platform, "ingress", ApiIngressProps(
        name="bookstore",
        host="books.example.com",
        routes=(IngressRoute("/api/books", catalog),),
        annotations=nginx_annotations(request_timeout_seconds=30),
    ))


config = Project(
    name=ENVIRONMENT,
    build=build,
    app="bookstore",
    description="Bookstore",
    # Chart.yaml's home, sources and maintainers (every chart of the environment); a maintainer may
    # also have an email: Maintainer(name="Jane Doe", email="jane@example.com").
    chart_metadata=ChartMetadata(
        home="https://github.com/example/bookstore-deploy",
        sources=("https://github.com/example/bookstore-deploy",),
        maintainers=(Maintainer(name="bookstore-team", url="https://github.com/example/bookstore-deploy"),),
    ),
    # Guardrails are data: production refuses a mutable or unpinned image, fewer than 2 pods, a pod
    # outside the default deny, an autoscaled service without a PDB, and containers without
    # resources or probes.  Each is checked at synth (exit 2, naming the field and the guardrail)
    # and again by `tripgen validate`.  enforce_in_cluster: the per-object ones (image, resources,
    # probes) are also a ValidatingAdmissionPolicy of the namespace (bookstore-platform chart), so the
    # API server refuses a workload that breaks one, whoever applies it (docs/admission-policies.md).
    guardrails=Guardrails(
        immutable_image_tags=True,
        require_digest=True,
        min_replicas=2,
        require_default_deny=True,
        require_pdb=True,
        require_resources=True,
        require_probes=True,
        enforce_in_cluster=True,
    ),
    # Argo CD: charts/prod/argocd/bootstrap.yaml (AppProject, app of apps) and one Application per
    # chart; the platform chart syncs first.
    gitops=GitOps(
        repo_url="https://github.com/example/bookstore-deploy",
        target_revision="main",
        waves={"bookstore-platform": 0},
        default_wave=1,
    ),
    # Three nodes of 2 allocatable CPUs and 6Gi: the capacity report and check in charts/prod/README.md.
    node_pool=NodePool(name="bookstore-pool", max_nodes=3, allocatable_cpu="1900m", allocatable_memory="6Gi"),
)
