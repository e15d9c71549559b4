"""The runbook of each TripGen alert, as data, and the Markdown page ``docs/runbooks.md`` made from it.

Every alert of :func:`tripgen_cdk8s.tripgen.observability.alerts` carries a ``runbook_url`` of
``monitoring.runbook_base_url`` + ``#<alert name in lower case>``; ``scripts/gen-runbooks.py`` renders
this module's text into ``docs/runbooks.md`` with one anchor per alert, and ``tests/test_runbooks.py``
checks that every ``runbook_url`` of the rendered charts resolves and that the file is up to date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..lib.constructs.monitoring import Alert

SERVICE_LABEL = "{{ $labels.service }}"
POD_LABEL = "{{ $labels.pod }}"


@dataclass(frozen=True)
class Runbook:
    """What an on-call engineer needs for one alert: what it means, what to look at first, and the
    commands to run (``NS`` is the environment's namespace, ``SERVICE`` the alert's ``service`` label)."""

    meaning: str
    first_checks: tuple[str, ...]
    commands: tuple[str, ...]


_POD_LOGS = "kubectl -n NS logs POD --since=15m | tail -n 200                # or every pod: -l app.kubernetes.io/name=SERVICE"
_ROLLOUT = "kubectl argo rollouts -n NS get rollout SERVICE                # prod: is a blue-green switch in progress?"

RUNBOOKS: dict[str, Runbook] = {
    "TripGenHighErrorRate": Runbook(
        meaning="More than the threshold share of the service's HTTP requests answered 5xx over 5 minutes "
                "(Spring Boot's `http_server_requests_seconds_count` by `status`). Users see errors now.",
        first_checks=(
            "Did a release just go out? Compare the image in `overlays/<env>/releases.yaml` with the previous "
            "commit (`git log -p overlays/prod/releases.yaml`); a new version is the usual cause.",
            "Is a dependency down? The service's dashboard (`<service>-dashboard`, Grafana folder `TripGen prod`) "
            "shows the 5xx ratio next to the callers' and callees' panels; a database, Redis or Service Bus "
            "outage shows in the logs as connection errors.",
            "Are pods restarting or out of memory (see TripGenPodCrashLooping, TripGenHighMemory)?",
        ),
        commands=(
            "kubectl -n NS get pods -l app.kubernetes.io/name=SERVICE -o wide",
            _POD_LOGS,
            _ROLLOUT,
            "kubectl argo rollouts -n NS abort SERVICE                      # prod: keep the active version during a switch",
            "tripgen release set SERVICE --env prod --tag PREVIOUS_TAG       # roll back through git, then merge",
        ),
    ),
    "TripGenHighResponseTime": Runbook(
        meaning="The average response time of the service's HTTP requests is above the threshold over 5 minutes. "
                "Requests are slow, and callers with timeouts start failing.",
        first_checks=(
            "Is the service at its maximum replicas? The replicas panel of its dashboard draws the HPA's "
            "min and max; at the max, the scaler cannot help and the node pool may be full.",
            "Is CPU throttled (TripGenHighCPU) or the JVM heap full (the heap panel)?",
            "Is a downstream call slow (database, Redis, another service)? The logs name the slow calls.",
        ),
        commands=(
            "kubectl -n NS get hpa SERVICE                                  # current / desired / max replicas",
            "kubectl -n NS top pods -l app.kubernetes.io/name=SERVICE",
            _POD_LOGS,
        ),
    ),
    "TripGenPodCrashLooping": Runbook(
        meaning="A container of the service restarted more than the threshold number of times in 10 minutes "
                "(kube-state-metrics' `kube_pod_container_status_restarts_total`).",
        first_checks=(
            "Why did it stop? `kubectl describe pod` shows the last state: `OOMKilled` (raise the memory limit "
            "in the config), a failing liveness probe (the actuator endpoint), or an application exit code.",
            "Is a Secret or Key Vault object missing? A pod that cannot mount its SecretProviderClass "
            "never starts; the events name the object.",
            "Did the config or the image change? `git log -p overlays/` and the releases file.",
        ),
        commands=(
            "kubectl -n NS get pods -l app.kubernetes.io/name=SERVICE",
            "kubectl -n NS describe pod POD                                 # Last State, Events",
            "kubectl -n NS logs POD --previous                              # the crashed container's output",
        ),
    ),
    "TripGenHighCPU": Runbook(
        meaning="A pod of the service uses more than the threshold share of its CPU limit for 10 minutes; "
                "it is being throttled or about to be.",
        first_checks=(
            "Is the load real (request rate panel up) and the autoscaler at its max? Then raise "
            "`autoscaling.maxReplicas`, after checking the node pool's capacity in `charts/prod/README.md`.",
            "Is one pod hot and the others idle? Look for an uneven load or a runaway thread in that pod.",
            "Is the limit too low for the service's normal work? Raise `resources.limits.cpu` in the config.",
        ),
        commands=(
            "kubectl -n NS top pods -l app.kubernetes.io/name=SERVICE",
            "kubectl -n NS get hpa SERVICE",
            "tripgen synth --env prod --set SERVICE.autoscaling.maxReplicas=N   # try a value, then set it in the config",
        ),
    ),
    "TripGenHighMemory": Runbook(
        meaning="A pod of the service uses more than the threshold share of its memory limit for 5 minutes; "
                "at the limit the kernel kills the container (OOMKilled).",
        first_checks=(
            "Is the JVM heap growing without falling back (the heap panel)? A leak: restart and investigate.",
            "Did a release change the memory profile? Compare with the previous image.",
            "Is the limit too low? Raise `resources.limits.memory` (and the JVM's max heap with it).",
        ),
        commands=(
            "kubectl -n NS top pods -l app.kubernetes.io/name=SERVICE",
            "kubectl -n NS describe pod POD                                 # OOMKilled in Last State?",
            "kubectl argo rollouts -n NS restart SERVICE                    # prod (a Rollout)",
            "kubectl -n NS rollout restart deployment/SERVICE               # dev (a Deployment)",
        ),
    ),
}


def anchor(alert: Alert) -> str:
    """The fragment the alert's ``runbook_url`` ends with (see ``lib.constructs.monitoring.runbook_url``)."""
    return alert.runbook or alert.name.lower()


def render(alerts: Iterable[Alert]) -> str:
    """``docs/runbooks.md``: one section per alert, with an explicit anchor equal to its ``runbook_url`` fragment.

    An alert without a runbook is a ``KeyError`` naming it: a new alert needs its runbook first."""
    alerts = tuple(alerts)
    missing = [a.name for a in alerts if a.name not in RUNBOOKS]
    if missing:
        raise KeyError(f"no runbook for the alert(s) {', '.join(missing)}: add them to tripgen_cdk8s/tripgen/runbooks.py")
    out = [
        "# Runbooks",
        "",
        "<!-- Generated by scripts/gen-runbooks.py from tripgen_cdk8s/tripgen/runbooks.py and the alert",
        "     definitions (tripgen_cdk8s/tripgen/observability.py); do not edit by hand. -->",
        "",
        "One section per alert of the PrometheusRule `tripgen-alerts` (prod). Each alert's `runbook_url`",
        "annotation links here (`monitoring.runbook_base_url` + `#<alert name in lower case>`). In the commands,",
        "`NS` is the namespace (`tripgen-prod`), `SERVICE` the alert's `service` label, `POD` its `pod` label.",
        "Routing (who is paged) is described in [observability.md](observability.md).",
        "",
    ]
    out += [f"- [{a.name}](#{anchor(a)}) ({a.severity})" for a in alerts]
    for a in alerts:
        book = RUNBOOKS[a.name]
        out += ["", f'<a id="{anchor(a)}"></a>', "", f"## {a.name}", "",
                f"**Severity** `{a.severity}`, fires after the condition has held for `{a.for_}`. "
                f"Its summary: *{a.summary.replace(SERVICE_LABEL, 'SERVICE').replace(POD_LABEL, 'POD')}*.",
                "", f"**What it means.** {book.meaning}", "", "**First checks**", ""]
        out += [f"{i}. {check}" for i, check in enumerate(book.first_checks, 1)]
        out += ["", "**Commands**", "", "```shell", *book.commands, "```"]
    return "\n".join(out) + "\n"
