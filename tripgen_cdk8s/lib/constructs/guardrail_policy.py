"""GuardrailPolicy: an app's per-object guardrails as a ValidatingAdmissionPolicy the cluster enforces.

The guardrails the application model checks at synth that judge one workload on its own (immutable
image tags, digests, resources, probes) become CEL rules of a ValidatingAdmissionPolicy
(``admissionregistration.k8s.io/v1``, GA from Kubernetes 1.30) and a binding that applies them in
one namespace only, so an object created outside the charts (``kubectl apply``, ``kubectl edit``, a
hotfix) is refused by the API server with the same words ``tripgen synth`` uses.  The guardrails
that compare several objects (replica floor with its autoscaler, PDBs, default deny) cannot be
stated on one admission request and stay synth-time checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Resource
from ..model import SEMVER_TAG

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
VAP_API = "admissionregistration.k8s.io/v1"
MINIMUM_MINOR = 30
"""ValidatingAdmissionPolicy ``admissionregistration.k8s.io/v1`` is served from Kubernetes 1.30."""
_PATH = "\x00PATH\x00"  # where a message names the container

_NOT_RE2 = re.compile(r"\(\?[=!>#]|\(\?<[=!]|\(\?P=|\\[1-9]|\\Z")
"""Python regular-expression syntax RE2 (CEL's ``matches``) does not have: lookaround,
backreferences, atomic groups, ``\\Z``, comments."""


@dataclass(frozen=True)
class Shape:
    """One workload shape: the resources it covers, where its pod spec is, whether probes apply."""

    name: str
    rules: tuple[tuple[str, str, tuple[str, ...]], ...]
    """(API group, version, resources)."""
    pod_path: tuple[str, ...]
    long_running: bool


SHAPES = (
    Shape("long-running", (("apps", "v1", ("deployments", "statefulsets", "daemonsets")),
                           ("argoproj.io", "*", ("rollouts",))), ("spec", "template", "spec"), True),
    Shape("job", (("batch", "v1", ("jobs",)),), ("spec", "template", "spec"), False),
    Shape("cronjob", (("batch", "v1", ("cronjobs",)),), ("spec", "jobTemplate", "spec", "template", "spec"), False),
)
"""The workload shapes the guardrails judge (app/guardrails.py ``WORKLOADS``): Jobs and CronJobs are
exempt from probes, and a CronJob's pod spec is under its job template."""


def cel_string(text: str) -> str:
    """``text`` as a CEL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def re2_problem(pattern: str) -> str:
    """Why ``pattern`` (a Python regular expression) is not also an RE2 one (CEL's ``matches``), or ""."""
    m = _NOT_RE2.search(pattern)
    return f"{m.group(0)!r} is not RE2 syntax (CEL's matches)" if m else ""


@dataclass(frozen=True)
class GuardrailPolicyProps:
    """Which guardrails the cluster enforces (each default False, as ``Guardrails``):

    ``immutable_image_tags``: a digest or a tag matching ``release_tag_pattern`` (a regular
    expression in the common subset of Python's and RE2's syntax; default :data:`SEMVER_TAG`).
    ``require_digest``: every image pinned by a digest.  ``require_resources``: CPU and memory
    requests and limits on every container.  ``require_probes``: liveness and readiness probes on
    every container of a long-running workload.
    ``namespace``: the namespace the binding applies the policies in; default the chart's (then it
    follows the release namespace, as the names do).  ``labels``: default the chart's standard
    labels (component ``guardrails``).
    """

    immutable_image_tags: bool = False
    release_tag_pattern: str = SEMVER_TAG
    require_digest: bool = False
    require_resources: bool = False
    require_probes: bool = False
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


class _Rules:
    """The CEL of one shape's policy: variables, then one validation per guardrail."""

    def __init__(self, shape: Shape, props: GuardrailPolicyProps) -> None:
        self.shape, self.props = shape, props
        self.base = ".".join(shape.pod_path)
        self.pod = "object." + ".".join("?" + p for p in shape.pod_path)

    def variables(self) -> list[dict[str, str]]:
        return [
            {"name": "ref", "expression": "object.kind + '/' + object.metadata.name"},
            {"name": "initContainers", "expression": f"{self.pod}.?initContainers.orValue([])"},
            {"name": "containers", "expression": f"{self.pod}.?containers.orValue([])"},
        ]

    def _each(self, condition: str, message: str, init_filter: str = "true") -> str:
        """The problems, one line each (init containers first, as synth lists them): every container
        ``c`` where ``condition`` holds, as ``message`` (a CEL string expression of ``c`` and ``path``)."""
        parts = []
        for kind, extra in (("initContainers", init_filter), ("containers", "true")):
            path = cel_string(f"{self.base}.{kind}[") + " + c.name + ']'"
            msg = message.replace(_PATH, f"({path})")
            cond = condition if extra == "true" else f"({extra}) && ({condition})"
            parts.append(f"variables.{kind}.filter(c, {cond}).map(c, {msg})")
        return " + ".join(parts)

    def validations(self) -> list[tuple[str, str, str]]:
        """(variable name, expression of the problems, guardrail) of each guardrail enforced."""
        p = self.props
        out = []
        ref = "variables.ref + ' ' + " + _PATH
        image = "c.?image.orValue('')"
        if p.require_digest:
            out.append(("digestProblems", self._each(
                f"!{image}.matches('@.')",
                f"{ref} + '.image: invalid value \\'' + {image} + '\\'; guardrail require_digest: "
                "allowed: an image pinned by a digest (@sha256:...)'"), "require_digest"))
        elif p.immutable_image_tags:
            last = f"{image}.substring({image}.lastIndexOf('/') + 1)"
            tag = f"({last}.contains(':') ? {last}.substring({last}.lastIndexOf(':') + 1) : '')"
            anchored = cel_string(f"^(?:{p.release_tag_pattern})")
            allowed = cel_string(f"; guardrail immutable_image_tags: allowed: a release tag matching "
                                 f"{p.release_tag_pattern} or a digest")
            out.append(("tagProblems", self._each(
                f"!{image}.matches('@.') && !{tag}.matches({anchored})",
                f"{ref} + '.image: invalid value \\'' + {image} + '\\'' + {allowed}"), "immutable_image_tags"))
        if p.require_resources:
            checks = [(f"{side}.{key}", f"'{key}' in c.?resources.?{side}.orValue({{}})")
                      for side in ("requests", "limits") for key in ("cpu", "memory")]
            missing = "(" + " + ".join(f"({cond} ? [] : ['{name}'])" for name, cond in checks) + ")"
            out.append(("resourceProblems", self._each(
                " || ".join(f"!({cond})" for _, cond in checks),
                f"{ref} + '.resources: missing ' + {missing}.join(', ') + '; guardrail require_resources: "
                "allowed: CPU and memory requests and limits'"), "require_resources"))
        if p.require_probes and self.shape.long_running:
            missing = "((has(c.livenessProbe) ? [] : ['livenessProbe']) + (has(c.readinessProbe) ? [] : ['readinessProbe']))"
            out.append(("probeProblems", self._each(
                "!has(c.livenessProbe) || !has(c.readinessProbe)",
                f"{ref} + ': missing ' + {missing}.join(' and ') + '; guardrail require_probes: "
                "allowed: a container with liveness and readiness probes'",
                init_filter="c.?restartPolicy.orValue('') == 'Always'"), "require_probes"))
        return out


class GuardrailPolicy(constructs.Construct):
    """One ValidatingAdmissionPolicy per workload shape (``long-running``: Deployments, StatefulSets,
    DaemonSets, Argo Rollouts; ``job``; ``cronjob``) that has a guardrail to enforce, each with a
    ValidatingAdmissionPolicyBinding (``Deny``) selecting the namespace by its
    ``kubernetes.io/metadata.name`` label.  Both are cluster-scoped, so both are named
    ``<namespace>-guardrails-<shape>`` (following the release namespace): two environments in one
    cluster never share a policy.  A refusal's message is the line ``tripgen synth`` prints for
    the same problem (the first one, init containers first).  Public: :attr:`policies`,
    :attr:`bindings` (by shape name)."""

    def __init__(self, scope: constructs.Construct, id: str, props: GuardrailPolicyProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        if props.immutable_image_tags and not props.require_digest:
            problem = re2_problem(props.release_tag_pattern) if isinstance(props.release_tag_pattern, str) else "not a str"
            if problem:
                raise ConstructError.of(self, "release_tag_pattern", props.release_tag_pattern,
                                        f"allowed: a pattern RE2 also reads ({problem})")
        if chart.props.kubernetes.minor(chart.props.kubernetes.minimum) < MINIMUM_MINOR:
            raise ConstructError.of(self, "kubernetes.minimum", chart.props.kubernetes.minimum,
                                    f"allowed: 1.{MINIMUM_MINOR} or later (ValidatingAdmissionPolicy is GA from "
                                    f"1.{MINIMUM_MINOR}; HelmChartProps.kubernetes)")
        self.props = props
        self.namespace = ns = props.namespace or chart.target_namespace
        labels = dict(props.labels) or chart.standard_labels("guardrails")
        self.policies: dict[str, Resource] = {}
        self.bindings: dict[str, Resource] = {}
        for shape in SHAPES:
            rules = _Rules(shape, props)
            validations = rules.validations()
            if not validations:
                continue
            name = f"{ns}-guardrails-{shape.name}"
            policy = Resource(chart, api_version=VAP_API, kind="ValidatingAdmissionPolicy", name=name, namespace=None,
                              labels=labels, body={"spec": {
                                  "failurePolicy": "Fail",
                                  "matchConstraints": {"resourceRules": [
                                      {"apiGroups": [group], "apiVersions": [version], "resources": list(resources),
                                       "operations": ["CREATE", "UPDATE"]}
                                      for group, version, resources in shape.rules]},
                                  "variables": [*rules.variables(),
                                                *({"name": var, "expression": expr} for var, expr, _ in validations)],
                                  "validations": [{
                                      "expression": f"variables.{var}.size() == 0",
                                      "messageExpression": f"variables.{var}[0]",
                                      "message": f"guardrail {guardrail}",
                                      "reason": "Invalid"} for var, _, guardrail in validations]}})
            binding = Resource(chart, api_version=VAP_API, kind="ValidatingAdmissionPolicyBinding", name=name,
                               namespace=None, labels=labels, body={"spec": {
                                   "policyName": name,
                                   "validationActions": ["Deny"],
                                   "matchResources": {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: ns}}}}})
            if ns == chart.target_namespace:  # the names and the selected namespace follow the release namespace
                template = self._name_template(shape.name)
                chart.bind(policy, ("metadata", "name"), template, name)
                chart.bind(binding, ("metadata", "name"), template, name)
                chart.bind(binding, ("spec", "policyName"), template, name)
                chart.bind_namespace(binding, ("spec", "matchResources", "namespaceSelector", "matchLabels",
                                               NAMESPACE_NAME_LABEL), ns)
            self.policies[shape.name] = policy
            self.bindings[shape.name] = binding

    @staticmethod
    def _name_template(shape: str) -> str:
        return "{{ printf " + json.dumps("%s-guardrails-" + shape) + " .Release.Namespace | toJson }}"


def policy_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicies and their bindings among ``objs``."""
    return [o for o in objs if o.get("apiVersion") == VAP_API
            and o.get("kind") in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")]
