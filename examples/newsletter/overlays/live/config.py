"""Newsletter, live: the production environment (it is called live, not prod: the guardrails
below are what make it strict, not its name)."""

from __future__ import annotations

from newsletter import Sizing, build

from tripgen_cdk8s import ChartMetadata, GitOps, Guardrails, NodePool, Project, SyncWindow, load_releases

RELEASES = load_releases(__file__)
SIZING = Sizing(namespace="mail", host="newsletter.example.com", api_replicas=(2, 8), sender_replicas=(2, 20),
                queue_length_per_pod=50)

config = Project(
    name="live",
    build=lambda app: build(app, "live", RELEASES, SIZING),
    app="newsletter",
    description="Newsletter",
    chart_metadata=ChartMetadata(home="https://git.example.com/newsletter/deploy",
                                 sources=("https://git.example.com/newsletter/deploy",)),
    guardrails=Guardrails(
        immutable_image_tags=True,   # semver release tags (or digests) only
        require_digest=True,         # and every image pinned by the digest CI recorded
        min_replicas=2,
        require_default_deny=True,
        require_pdb=True,
        require_resources=True,
        require_probes=True,
    ),
    gitops=GitOps(
        repo_url="https://git.example.com/newsletter/deploy",
        project="newsletter",
        waves={"mail-platform": 0, "api": 1, "sender": 2, "digest": 2},
        # automated syncs on weekdays 09:00-17:00 Berlin time; a person may sync by hand outside
        # it (the break-glass for a hotfix)
        sync_window=SyncWindow.weekly(start="09:00", end="17:00", days="Mon-Fri", time_zone="Europe/Berlin",
                                      manual_sync=True),
    ),
    node_pool=NodePool(name="general", max_nodes=6, allocatable_cpu="3800m", allocatable_memory="14Gi"),
)
