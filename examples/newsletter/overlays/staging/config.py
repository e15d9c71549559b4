"""Newsletter, staging: the same charts with fewer replicas; CI's release candidates land here
first (`tripgen release promote --from staging --to live` takes them on)."""

from __future__ import annotations

from newsletter import Sizing, build

from tripgen_cdk8s import ChartMetadata, GitOps, Guardrails, Project, load_releases

RELEASES = load_releases(__file__)
SIZING = Sizing(namespace="mail-staging", host="newsletter.staging.example.com", api_replicas=(1, 2),
                sender_replicas=(1, 3), queue_length_per_pod=50)

config = Project(
    name="staging",
    build=lambda app: build(app, "staging", RELEASES, SIZING),
    app="newsletter",
    description="Newsletter",
    chart_metadata=ChartMetadata(home="https://git.example.com/newsletter/deploy",
                                 sources=("https://git.example.com/newsletter/deploy",)),
    guardrails=Guardrails(require_default_deny=True, require_resources=True),
    gitops=GitOps(repo_url="https://git.example.com/newsletter/deploy", project="newsletter-staging",
                  waves={"mail-platform": 0, "api": 1, "sender": 2, "digest": 2}),
)
