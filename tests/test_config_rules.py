"""Every validation rule of config.py pinned where it lives: the complete error text (field path,
value and what is allowed) for each rule, both sides of every numeric range, and each rule on and
off.  Fast: no cdk8s synthesis, no helm (part of the mutation-testing selection, see README "Tests")."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pytest

from conftest import ROOT
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import config as cfg
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.config import (
    AppGatewayIngress,
    Environment,
    Guardrails,
    HorizontalScaling,
    KeyVault,
    KeyVaultSecret,
    Monitoring,
    NginxIngress,
    PodsMetric,
    QueueScaling,
    ResourceAmounts,
    Resources,
    SecretKeyRef,
    StoreAttachment,
    SyncWindow,
    validate,
)

PROD = overlays.load(ROOT, "prod")
DEV = overlays.load(ROOT, "dev")
R = dataclasses.replace


def svc(env: Environment, name: str, /, **changes) -> Environment:
    new = R(env.service(name), **changes)
    return R(env, services=tuple(new if s.name == name else s for s in env.services))


def image(env: Environment, name: str, /, **changes) -> Environment:
    return svc(env, name, image=R(env.service(name).image, **changes))


def scaling(env: Environment, name: str, /, **changes) -> Environment:
    return svc(env, name, scaling=R(env.service(name).scaling, **changes))


def side(env: Environment, name: str, which: str, /, **changes) -> Environment:
    res = env.service(name).resources
    return svc(env, name, resources=R(res, **{which: R(getattr(res, which), **changes)}))


def store(env: Environment, name: str, /, **changes) -> Environment:
    return R(env, stores=tuple(R(s, **changes) if s.name == name else s for s in env.stores))


def attachment(env: Environment, service: str, index: int, **changes) -> Environment:
    atts = list(env.service(service).stores)
    atts[index] = R(atts[index], **changes)
    return svc(env, service, stores=tuple(atts))


def sub(env: Environment, attr: str, **changes) -> Environment:
    return R(env, **{attr: R(getattr(env, attr), **changes)})


def window(env: Environment, **changes) -> Environment:
    return sub(env, "gitops", sync_window=R(env.gitops.sync_window, **changes))


def mon(**changes) -> Environment:
    return sub(PROD, "monitoring", **changes)


def route(**changes) -> Environment:
    assert PROD.monitoring is not None and PROD.monitoring.alert_routing is not None
    return R(PROD, monitoring=R(PROD.monitoring, alert_routing=R(PROD.monitoring.alert_routing, **changes)))


def tel(**changes) -> Environment:
    return sub(PROD, "telemetry", **changes)


def net(**changes) -> Environment:
    return sub(PROD, "cluster_network", **changes)


def error_of(env: Environment) -> str:
    with pytest.raises(ConfigError) as err:
        validate(env)
    return str(err.value)


def valid(env: Environment) -> None:
    assert validate(env) is env


INT = "allowed: an integer from {} to {}"
TEXT = "allowed: text without control characters (newline, tab, U+0085, U+2028, ...)"
U = "services.user-service"
T = "services.trip-service"
A = "services.ai-service"
L = "services.location-service"
GUID_OK = "01234567-89ab-cdef-0123-456789abcdef"

# (id, config, the complete str(ConfigError))
CASES: list[tuple[str, Callable[[], Environment], str]] = [
    # ---- types and text
    ("type-top-level", lambda: R(PROD, name=5), "name: invalid value 5; allowed: a value of type str"),
    ("type-bool-field", lambda: R(PROD, zone_spread="yes"), "zone_spread: invalid value 'yes'; allowed: a value of type bool"),
    (
        "type-int-not-bool",
        lambda: svc(DEV, "trip-service", replicas=True),
        "services.trip-service.replicas: invalid value True; allowed: a value of type int",
    ),
    (
        "type-bool-not-int",
        lambda: svc(DEV, "trip-service", kubernetes_api_access=1),
        "services.trip-service.kubernetes_api_access: invalid value 1; allowed: a value of type bool",
    ),
    (
        "type-store",
        lambda: store(PROD, "redis", port="6380"),
        "stores.redis.port: invalid value '6380'; allowed: a value of type int",
    ),
    (
        "type-node-pool",
        lambda: sub(PROD, "node_pool", min_nodes=3.0),
        "node_pool.min_nodes: invalid value 3.0; allowed: a value of type int",
    ),
    (
        "type-ingress",
        lambda: sub(PROD, "ingress", request_timeout_seconds="60"),
        "ingress.request_timeout_seconds: invalid value '60'; allowed: a value of type int",
    ),
    (
        "type-guardrails",
        lambda: sub(PROD, "guardrails", require_default_deny="yes"),
        "guardrails.require_default_deny: invalid value 'yes'; allowed: a value of type bool",
    ),
    (
        "type-cache",
        lambda: sub(PROD, "cache", l1_ttl_seconds="300"),
        "cache.l1_ttl_seconds: invalid value '300'; allowed: a value of type int",
    ),
    (
        "type-image",
        lambda: image(PROD, "trip-service", tag=1),
        "services.trip-service.image.tag: invalid value 1; allowed: a value of type str",
    ),
    (
        "type-requests",
        lambda: side(PROD, "trip-service", "requests", cpu=1),
        "services.trip-service.resources.requests.cpu: invalid value 1; allowed: a value of type str",
    ),
    (
        "type-limits",
        lambda: side(PROD, "trip-service", "limits", memory=2),
        "services.trip-service.resources.limits.memory: invalid value 2; allowed: a value of type str",
    ),
    (
        "type-scaling",
        lambda: scaling(PROD, "ai-service", message_count="10"),
        "services.ai-service.scaling.message_count: invalid value '10'; allowed: a value of type int",
    ),
    ("text-top-level", lambda: R(PROD, spring_profile="a\tb"), f"spring_profile: invalid value 'a\\tb'; {TEXT}"),
    (
        "text-0x1f",
        lambda: svc(PROD, "trip-service", purpose="a\x1fb"),
        f"services.trip-service.purpose: invalid value 'a\\x1fb'; {TEXT}",
    ),
    (
        "text-0x7f",
        lambda: svc(PROD, "trip-service", purpose="a\x7fb"),
        f"services.trip-service.purpose: invalid value 'a\\x7fb'; {TEXT}",
    ),
    (
        "text-in-tuple",
        lambda: svc(PROD, "trip-service", api_prefixes=("/api/v1/trips", "/x\n")),
        f"services.trip-service.api_prefixes[1]: invalid value '/x\\n'; {TEXT}",
    ),
    (
        "text-nested-tuple",
        lambda: attachment(PROD, "trip-service", 0, database="db\r"),
        f"services.trip-service.stores[0].database: invalid value 'db\\r'; {TEXT}",
    ),
    ("text-store-keyed", lambda: store(PROD, "redis", host="a\nb"), f"stores.redis.host: invalid value 'a\\nb'; {TEXT}"),
    (
        "text-unnamed-service",
        lambda: R(PROD, services=(R(PROD.services[0], name=5, purpose="x\n"),)),
        f"services[0].purpose: invalid value 'x\\n'; {TEXT}",
    ),
    (
        "text-placeholder",
        lambda: sub(PROD, "gitops", target_revision="TripgenHelmBinding"),
        "gitops.target_revision: invalid value 'TripgenHelmBinding'; allowed: text without TRIPGENHELMBINDING "
        "(reserved for the chart writer)",
    ),
    # ---- environment
    ("name", lambda: R(PROD, name="Prod"), "name: invalid value 'Prod'; allowed: a DNS label such as prod or dev"),
    ("namespace", lambda: R(PROD, namespace="a_b"), "namespace: invalid value 'a_b'; allowed: a DNS label"),
    (
        "spring-profile",
        lambda: R(PROD, spring_profile="prod,"),
        "spring_profile: invalid value 'prod,'; allowed: Spring profile names separated by commas",
    ),
    (
        "pod-security",
        lambda: R(PROD, pod_security="privileged"),
        "pod_security: invalid value 'privileged'; allowed: restricted, baseline",
    ),
    (
        "pod-security-warn",
        lambda: R(PROD, pod_security_warn="privileged"),
        "pod_security_warn: invalid value 'privileged'; allowed: restricted, baseline",
    ),
    (
        "network-policy",
        lambda: R(DEV, network_policy="deny"),
        "network_policy: invalid value 'deny'; allowed: default-deny, allow-all",
    ),
    (
        "chart-version",
        lambda: R(PROD, chart_version="01.0.0"),
        "chart_version: invalid value '01.0.0'; allowed: a SemVer version such as 1.0.0 (numbers of at most 4 digits)",
    ),
    (
        "chart-version-5-digits",
        lambda: R(PROD, chart_version="1.10000.0"),
        "chart_version: invalid value '1.10000.0'; allowed: a SemVer version such as 1.0.0 (numbers of at most 4 digits)",
    ),
    ("no-services", lambda: R(PROD, services=()), "services: invalid value (); allowed: at least one service"),
    (
        "duplicate-services",
        lambda: R(DEV, services=DEV.services + (DEV.services[0],)),
        "services: invalid value ['user-service', 'trip-service', 'ai-service', 'location-service', 'user-service']; "
        "allowed: each service name once",
    ),
    # ---- stores
    (
        "store-kind",
        lambda: store(PROD, "redis", kind="memcached"),
        "stores.redis.kind: invalid value 'memcached'; allowed: postgresql, redis, servicebus",
    ),
    (
        "store-host",
        lambda: store(PROD, "redis", host="redis"),
        "stores.redis.host: invalid value 'redis'; allowed: a fully-qualified host name",
    ),
    ("store-port-0", lambda: store(PROD, "redis", port=0), f"stores.redis.port: invalid value 0; {INT.format(1, 65535)}"),
    (
        "store-port-65536",
        lambda: store(PROD, "redis", port=65536),
        f"stores.redis.port: invalid value 65536; {INT.format(1, 65535)}",
    ),
    (
        "store-port-bool",
        lambda: store(PROD, "servicebus", extra_ports=(True,)),
        f"stores.servicebus.extra_ports[0]: invalid value True; {INT.format(1, 65535)}",
    ),
    (
        "store-port-str",
        lambda: store(PROD, "servicebus", extra_ports=(443, "80")),
        f"stores.servicebus.extra_ports[1]: invalid value '80'; {INT.format(1, 65535)}",
    ),
    (
        "store-extra-port-0",
        lambda: store(PROD, "servicebus", extra_ports=(0,)),
        f"stores.servicebus.extra_ports[0]: invalid value 0; {INT.format(1, 65535)}",
    ),
    (
        "store-extra-port-65536",
        lambda: store(PROD, "servicebus", extra_ports=(443, 65536)),
        f"stores.servicebus.extra_ports[1]: invalid value 65536; {INT.format(1, 65535)}",
    ),
    (
        "store-cidr-host-bits",
        lambda: store(PROD, "redis", subnet_cidr="10.0.3.1/24"),
        "stores.redis.subnet_cidr: invalid value '10.0.3.1/24'; allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24",
    ),
    (
        "store-cidr-required-with-default-deny",
        lambda: store(PROD, "redis", subnet_cidr=""),
        "stores.redis.subnet_cidr: invalid value ''; allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24",
    ),
    (
        "store-cidr-checked-when-set",
        lambda: store(DEV, "redis", subnet_cidr="10.0.3.0/33"),
        "stores.redis.subnet_cidr: invalid value '10.0.3.0/33'; allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24",
    ),
    (
        "store-existing-secret-required",
        lambda: store(DEV, "redis", existing_secret=""),
        "stores.redis.existing_secret: invalid value ''; allowed: the Secret (and key) holding the credential, "
        "required without key_vault",
    ),
    (
        "store-existing-secret-key-required",
        lambda: store(DEV, "redis", existing_secret_key=""),
        "stores.redis.existing_secret: invalid value 'app-secrets'; allowed: the Secret (and key) holding the credential, "
        "required without key_vault",
    ),
    (
        "store-key-vault-object-required",
        lambda: store(PROD, "redis", key_vault_object=""),
        "stores.redis.key_vault_object: invalid value ''; allowed: the Key Vault object holding the credential",
    ),
    (
        "store-key-vault-object-chars",
        lambda: store(PROD, "redis", key_vault_object="redis_key"),
        "stores.redis.key_vault_object: invalid value 'redis_key'; allowed: Key Vault object-name characters "
        "(letters, digits, '-'), with {service} as the only placeholder",
    ),
    (
        "store-key-vault-object-checked-without-vault",
        lambda: store(DEV, "redis", key_vault_object="a.b"),
        "stores.redis.key_vault_object: invalid value 'a.b'; allowed: Key Vault object-name characters "
        "(letters, digits, '-'), with {service} as the only placeholder",
    ),
    (
        "store-key-vault-object-128",
        lambda: store(PROD, "redis", key_vault_object="k" * 128),
        f"stores.redis.key_vault_object: invalid value '{'k' * 128}'; allowed: Key Vault object-name characters "
        "(letters, digits, '-'), with {service} as the only placeholder",
    ),
    # {service} counts as one character at store level; the real service name is checked per service
    (
        "store-key-vault-object-template-128",
        lambda: store(PROD, "postgresql", key_vault_object="{service}" + "k" * 127),
        f"stores.postgresql.key_vault_object: invalid value '{{service}}{'k' * 127}'; allowed: Key Vault object-name characters "
        "(letters, digits, '-'), with {service} as the only placeholder",
    ),
    (
        "store-key-vault-object-template-127",
        lambda: store(PROD, "postgresql", key_vault_object="{service}" + "k" * 126),
        f"services.user-service.stores[0]: invalid value 'user-service{'k' * 126}'; allowed: a Key Vault object name of at most "
        "127 letters, digits and '-' (with {service} replaced by the service name)",
    ),
    (
        "store-name",
        lambda: R(DEV, stores=DEV.stores + (R(DEV.stores[0], name="Cache"),)),
        "stores.Cache.name: invalid value 'Cache'; allowed: a DNS label (lower-case letters, digits, '-')",
    ),
    (
        "store-existing-secret-name",
        lambda: store(DEV, "redis", existing_secret="App_Secrets"),
        "stores.redis.existing_secret: invalid value 'App_Secrets'; allowed: a Secret name (DNS subdomain)",
    ),
    (
        "store-existing-secret-key",
        lambda: store(DEV, "redis", existing_secret_key="redis/password"),
        "stores.redis.existing_secret_key: invalid value 'redis/password'; allowed: a Secret key (letters, digits, '-', '_', '.')",
    ),
    (
        "store-existing-secret-name-with-vault",
        lambda: store(PROD, "redis", existing_secret="App_Secrets"),
        "stores.redis.existing_secret: invalid value 'App_Secrets'; allowed: a Secret name (DNS subdomain)",
    ),
    (
        "store-existing-secret-key-with-vault",
        lambda: store(PROD, "redis", existing_secret_key="a b"),
        "stores.redis.existing_secret_key: invalid value 'a b'; allowed: a Secret key (letters, digits, '-', '_', '.')",
    ),
    # ---- node pool
    (
        "node-pool-name",
        lambda: sub(PROD, "node_pool", name="apppool12345x"),
        "node_pool.name: invalid value 'apppool12345x'; allowed: an AKS node pool name (lower-case letters and digits, "
        "at most 12, starting with a letter)",
    ),
    (
        "node-pool-taint-key",
        lambda: sub(PROD, "node_pool", taint_key="a b"),
        "node_pool.taint_key: invalid value 'a b'; allowed: a taint key (a qualified label key)",
    ),
    (
        "node-pool-taint-value",
        lambda: sub(PROD, "node_pool", taint_value="-x"),
        "node_pool.taint_value: invalid value '-x'; allowed: a taint value (a label value)",
    ),
    (
        "node-pool-vm-size",
        lambda: sub(PROD, "node_pool", vm_size="D4s_v3"),
        "node_pool.vm_size: invalid value 'D4s_v3'; allowed: an Azure VM size such as Standard_D4s_v3",
    ),
    (
        "node-pool-min-0",
        lambda: sub(PROD, "node_pool", min_nodes=0),
        f"node_pool.min_nodes: invalid value 0; {INT.format(1, 1000)}",
    ),
    (
        "node-pool-min-1001",
        lambda: sub(PROD, "node_pool", min_nodes=1001, max_nodes=1001),
        f"node_pool.min_nodes: invalid value 1001; {INT.format(1, 1000)}",
    ),
    (
        "node-pool-max-below-min",
        lambda: sub(PROD, "node_pool", min_nodes=5, max_nodes=4),
        f"node_pool.max_nodes: invalid value 4; {INT.format(5, 1000)}",
    ),
    (
        "node-pool-max-1001",
        lambda: sub(PROD, "node_pool", max_nodes=1001),
        f"node_pool.max_nodes: invalid value 1001; {INT.format(3, 1000)}",
    ),
    (
        "node-pool-cpu",
        lambda: sub(PROD, "node_pool", allocatable_cpu="0"),
        "node_pool.allocatable_cpu: invalid value '0'; allowed: a CPU quantity such as 3600m",
    ),
    (
        "node-pool-memory",
        lambda: sub(PROD, "node_pool", allocatable_memory="12G"),
        "node_pool.allocatable_memory: invalid value '12G'; allowed: a binary quantity such as 12Gi",
    ),
    # ---- ingress
    (
        "ingress-name",
        lambda: sub(PROD, "ingress", name="API"),
        "ingress.name: invalid value 'API'; allowed: an Ingress name (DNS subdomain)",
    ),
    (
        "ingress-class",
        lambda: sub(PROD, "ingress", class_name="Azure"),
        "ingress.class_name: invalid value 'Azure'; allowed: an IngressClass name (DNS subdomain)",
    ),
    (
        "ingress-host",
        lambda: sub(DEV, "ingress", host="localhost"),
        "ingress.host: invalid value 'localhost'; allowed: a host name such as api.tripgen.com",
    ),
    (
        "ingress-timeout-0",
        lambda: sub(DEV, "ingress", request_timeout_seconds=0),
        f"ingress.request_timeout_seconds: invalid value 0; {INT.format(1, 3600)}",
    ),
    (
        "ingress-timeout-3601",
        lambda: sub(PROD, "ingress", request_timeout_seconds=3601),
        f"ingress.request_timeout_seconds: invalid value 3601; {INT.format(1, 3600)}",
    ),
    (
        "ingress-gateway-cidr",
        lambda: sub(PROD, "ingress", gateway_subnet_cidr="10.0.4.1/24"),
        "ingress.gateway_subnet_cidr: invalid value '10.0.4.1/24'; allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24",
    ),
    (
        "ingress-certificate",
        lambda: sub(PROD, "ingress", tls_certificate="c" * 81),
        f"ingress.tls_certificate: invalid value '{'c' * 81}'; allowed: an Application Gateway SSL certificate name "
        "(letters, digits, '.', '_', '-'; at most 80)",
    ),
    (
        "ingress-waf",
        lambda: sub(PROD, "ingress", waf_policy_id="/subscriptions/x"),
        "ingress.waf_policy_id: invalid value '/subscriptions/x'; allowed: empty or the resource ID of an "
        "ApplicationGatewayWebApplicationFirewallPolicies object",
    ),
    # ---- guardrails
    (
        "guardrails-min-replicas-0",
        lambda: sub(PROD, "guardrails", min_replicas=0),
        f"guardrails.min_replicas: invalid value 0; {INT.format(1, 100)}",
    ),
    (
        "guardrails-min-replicas-101",
        lambda: sub(PROD, "guardrails", min_replicas=101),
        f"guardrails.min_replicas: invalid value 101; {INT.format(1, 100)}",
    ),
    # 100 is a valid floor, which the services then miss
    (
        "guardrails-min-replicas-100",
        lambda: sub(PROD, "guardrails", min_replicas=100),
        f"{U}.scaling.min_replicas: invalid value 3; allowed by guardrails.min_replicas: at least 100",
    ),
    (
        "guardrails-ingress-kind",
        lambda: sub(PROD, "guardrails", ingress_kinds=("AppGatewayIngress", "Traefik")),
        "guardrails.ingress_kinds[1]: invalid value 'Traefik'; allowed: AppGatewayIngress, NginxIngress",
    ),
    (
        "guardrails-ingress-kinds-refuse",
        lambda: sub(DEV, "guardrails", ingress_kinds=("AppGatewayIngress",)),
        "ingress: invalid value 'NginxIngress'; allowed by guardrails.ingress_kinds: AppGatewayIngress",
    ),
    (
        "guardrails-ingress-kinds-listed",
        lambda: sub(DEV, "guardrails", ingress_kinds=("AppGatewayIngress", "AppGatewayIngress")),
        "ingress: invalid value 'NginxIngress'; allowed by guardrails.ingress_kinds: AppGatewayIngress, AppGatewayIngress",
    ),
    (
        "guardrails-require-default-deny",
        lambda: sub(DEV, "guardrails", require_default_deny=True),
        "network_policy: invalid value 'allow-all'; allowed with guardrails.require_default_deny: default-deny",
    ),
    (
        "nginx-controller-namespace",
        lambda: R(PROD, guardrails=Guardrails(), ingress=NginxIngress(name="api", host="api.example.com",
                                                                     controller_namespace="Ingress_Nginx")),
        "ingress.controller_namespace: invalid value 'Ingress_Nginx'; allowed: the namespace of the ingress-nginx "
        "controller (let in by default-deny)",
    ),
    (
        "image-pull-secret",
        lambda: R(DEV, image_pull_secrets=("acr-secret", "ACR")),
        "image_pull_secrets[1]: invalid value 'ACR'; allowed: a Secret name (DNS subdomain)",
    ),
    # ---- rolling
    ("rolling-surge--1", lambda: sub(DEV, "rolling", max_surge=-1), f"rolling.max_surge: invalid value -1; {INT.format(0, 100)}"),
    (
        "rolling-surge-101",
        lambda: sub(DEV, "rolling", max_surge=101),
        f"rolling.max_surge: invalid value 101; {INT.format(0, 100)}",
    ),
    (
        "rolling-unavailable--1",
        lambda: sub(DEV, "rolling", max_unavailable=-1),
        f"rolling.max_unavailable: invalid value -1; {INT.format(0, 100)}",
    ),
    (
        "rolling-unavailable-101",
        lambda: sub(DEV, "rolling", max_unavailable=101),
        f"rolling.max_unavailable: invalid value 101; {INT.format(0, 100)}",
    ),
    (
        "rolling-both-zero",
        lambda: sub(DEV, "rolling", max_surge=0, max_unavailable=0),
        "rolling.max_unavailable: invalid value 0; allowed: at least 1 when max_surge is 0",
    ),
    (
        "rolling-history--1",
        lambda: sub(DEV, "rolling", revision_history_limit=-1),
        f"rolling.revision_history_limit: invalid value -1; {INT.format(0, 100)}",
    ),
    (
        "rolling-history-101",
        lambda: sub(DEV, "rolling", revision_history_limit=101),
        f"rolling.revision_history_limit: invalid value 101; {INT.format(0, 100)}",
    ),
    (
        "rolling-deadline-59",
        lambda: sub(DEV, "rolling", progress_deadline_seconds=59),
        f"rolling.progress_deadline_seconds: invalid value 59; {INT.format(60, 7200)}",
    ),
    (
        "rolling-deadline-7201",
        lambda: sub(DEV, "rolling", progress_deadline_seconds=7201),
        f"rolling.progress_deadline_seconds: invalid value 7201; {INT.format(60, 7200)}",
    ),
    # ---- delivery
    (
        "delivery-delay--1",
        lambda: sub(PROD, "delivery", scale_down_delay_seconds=-1),
        f"delivery.scale_down_delay_seconds: invalid value -1; {INT.format(0, 86400)}",
    ),
    (
        "delivery-delay-86401",
        lambda: sub(PROD, "delivery", scale_down_delay_seconds=86401),
        f"delivery.scale_down_delay_seconds: invalid value 86401; {INT.format(0, 86400)}",
    ),
    (
        "delivery-error-rate",
        lambda: sub(PROD, "delivery", max_preview_error_rate="1.5"),
        "delivery.max_preview_error_rate: invalid value '1.5'; allowed: a ratio between 0 and 1 such as 0.005",
    ),
    (
        "delivery-error-rate-percent",
        lambda: sub(PROD, "delivery", max_preview_error_rate="0.5%"),
        "delivery.max_preview_error_rate: invalid value '0.5%'; allowed: a ratio between 0 and 1 such as 0.005",
    ),
    (
        "delivery-prometheus",
        lambda: sub(PROD, "delivery", prometheus_address="prometheus:9090"),
        "delivery.prometheus_address: invalid value 'prometheus:9090'; allowed: an http(s) URL",
    ),
    (
        "canary-weight-0",
        lambda: sub(PROD, "delivery", canary_steps=((0, 60),)),
        f"delivery.canary_steps[0].weight: invalid value 0; {INT.format(1, 99)}",
    ),
    (
        "canary-weight-100",
        lambda: sub(PROD, "delivery", canary_steps=((5, 60), (100, 60))),
        f"delivery.canary_steps[1].weight: invalid value 100; {INT.format(6, 99)}",
    ),
    (
        "canary-weight-not-increasing",
        lambda: sub(PROD, "delivery", canary_steps=((5, 60), (25, 60), (25, 60))),
        f"delivery.canary_steps[2].weight: invalid value 25; {INT.format(26, 99)}",
    ),
    (
        "canary-pause--1",
        lambda: sub(PROD, "delivery", canary_steps=((5, 60), (10, -1))),
        f"delivery.canary_steps[1].pause_seconds: invalid value -1; {INT.format(0, 86400)}",
    ),
    (
        "canary-pause-86401",
        lambda: sub(PROD, "delivery", canary_steps=((5, 86401),)),
        f"delivery.canary_steps[0].pause_seconds: invalid value 86401; {INT.format(0, 86400)}",
    ),
    # ---- gitops and monitoring
    (
        "gitops-repo-url",
        lambda: sub(PROD, "gitops", repo_url="http://github.com/x"),
        "gitops.repo_url: invalid value 'http://github.com/x'; allowed: a git repository URL",
    ),
    (
        "gitops-revision",
        lambda: sub(PROD, "gitops", target_revision="main branch"),
        "gitops.target_revision: invalid value 'main branch'; allowed: a branch, tag or commit",
    ),
    (
        "gitops-namespace",
        lambda: sub(PROD, "gitops", argocd_namespace="Argo"),
        "gitops.argocd_namespace: invalid value 'Argo'; allowed: a namespace",
    ),
    (
        "gitops-project",
        lambda: sub(DEV, "gitops", project="tripgen_dev"),
        "gitops.project: invalid value 'tripgen_dev'; allowed: an AppProject name",
    ),
    (
        "monitoring-namespace",
        lambda: sub(PROD, "monitoring", namespace="Monitoring"),
        "monitoring.namespace: invalid value 'Monitoring'; allowed: a namespace",
    ),
    (
        "sync-window-kind",
        lambda: window(PROD, kind="block"),
        "gitops.sync_window.kind: invalid value 'block'; allowed: allow, deny",
    ),
    (
        "sync-window-schedule",
        lambda: window(PROD, schedule="0 2 * *"),
        "gitops.sync_window.schedule: invalid value '0 2 * *'; allowed: a five-field cron schedule",
    ),
    (
        "sync-window-duration",
        lambda: window(PROD, duration="2d"),
        "gitops.sync_window.duration: invalid value '2d'; allowed: a duration such as 2h",
    ),
    (
        "sync-window-time-zone",
        lambda: window(PROD, time_zone="UTC+9"),
        "gitops.sync_window.time_zone: invalid value 'UTC+9'; allowed: an IANA time zone such as Asia/Seoul",
    ),
    (
        "sync-window-applications",
        lambda: window(PROD, applications=("tripgen-*", "Trip")),
        "gitops.sync_window.applications[1]: invalid value 'Trip'; allowed: an Application name or glob such as * or tripgen-*",
    ),
    (
        "key-vault-name",
        lambda: sub(PROD, "key_vault", name="kv_tripgen"),
        "key_vault.name: invalid value 'kv_tripgen'; allowed: 3-24 letters, digits and hyphens "
        "(Key Vault names have no underscores)",
    ),
    (
        "key-vault-tenant",
        lambda: sub(PROD, "key_vault", tenant_id=GUID_OK.upper()),
        f"key_vault.tenant_id: invalid value '{GUID_OK.upper()}'; allowed: empty or a lower-case GUID",
    ),
    (
        "monitoring-api-version",
        lambda: sub(PROD, "monitoring", service_monitor_api_version="monitoring.coreos.com/v2"),
        "monitoring.service_monitor_api_version: invalid value 'monitoring.coreos.com/v2'; "
        "allowed: monitoring.coreos.com/v1, azmonitoring.coreos.com/v1",
    ),
    (
        "monitoring-scrape-4",
        lambda: sub(PROD, "monitoring", scrape_interval_seconds=4),
        f"monitoring.scrape_interval_seconds: invalid value 4; {INT.format(5, 3600)}",
    ),
    (
        "monitoring-scrape-3601",
        lambda: sub(PROD, "monitoring", scrape_interval_seconds=3601),
        f"monitoring.scrape_interval_seconds: invalid value 3601; {INT.format(5, 3600)}",
    ),
    (
        "cache-0",
        lambda: sub(PROD, "cache", l2_ttl_seconds=0),
        f"cache.l2_ttl_seconds: invalid value 0; {INT.format(1, 10_000_000)}",
    ),
    (
        "cache-10000001",
        lambda: sub(PROD, "cache", static_content_ttl_seconds=10_000_001),
        f"cache.static_content_ttl_seconds: invalid value 10000001; {INT.format(1, 10_000_000)}",
    ),
    (
        "messaging-queue",
        lambda: sub(PROD, "messaging", queues=("ai-schedule-generation", "Location_Search")),
        "messaging[1]: invalid value 'Location_Search'; allowed: a hyphenated queue or topic name",
    ),
    (
        "messaging-topic",
        lambda: sub(PROD, "messaging", topics=("system.events",)),
        "messaging[3]: invalid value 'system.events'; allowed: a hyphenated queue or topic name",
    ),
    # ---- a service
    (
        "service-name",
        lambda: svc(PROD, "trip-service", name="t" * 51),
        f"services.{'t' * 51}.name: invalid value '{'t' * 51}'; allowed: a DNS-1035 label of at most 50 characters "
        "(lower-case letters, digits, '-', starting with a letter: it is a Service name)",
    ),
    (
        "service-chart-label",
        lambda: svc(R(PROD, chart_version="1000.1000.1000", monitoring=R(PROD.monitoring, dashboards=False)),
                    "trip-service", name="t" * 49),
        f"services.{'t' * 49}.name: invalid value '{'t' * 49}'; allowed: a name short enough that the label "
        f"helm.sh/chart={'t' * 49}-1000.1000.1000 has at most 63 characters",
    ),
    (
        "image-registry",
        lambda: image(PROD, "trip-service", registry="acr"),
        f"{T}.image.registry: invalid value 'acr'; allowed: a registry host name such as acrtrpgenprod.azurecr.io",
    ),
    (
        "image-repository",
        lambda: image(PROD, "trip-service", repository="Trip"),
        f"{T}.image.repository: invalid value 'Trip'; allowed: a lower-case repository path",
    ),
    (
        "image-tag",
        lambda: image(PROD, "trip-service", tag="v1+2"),
        f"{T}.image.tag: invalid value 'v1+2'; allowed: a Docker tag (letters, digits, '.', '_', '-')",
    ),
    (
        "image-tag-label",
        lambda: image(PROD, "trip-service", tag="v1."),
        f"{T}.image.tag: invalid value 'v1.'; allowed: a tag that is also a Kubernetes label value: at most 63 characters, "
        "letters, digits, '.', '_', '-', starting and ending with a letter or digit",
    ),
    (
        "image-tag-mutable",
        lambda: image(PROD, "trip-service", tag="Stable"),
        f"{T}.image.tag: invalid value 'Stable'; allowed with guardrails.immutable_image_tags: a release tag matching "
        r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$, or a digest",
    ),
    (
        "image-digest",
        lambda: image(PROD, "trip-service", digest="sha256:" + "A" * 64),
        f"{T}.image.digest: invalid value 'sha256:{'A' * 64}'; allowed: empty or sha256:<64 hex digits>",
    ),
    (
        "image-pull-policy",
        lambda: image(PROD, "trip-service", pull_policy="always"),
        f"{T}.image.pull_policy: invalid value 'always'; allowed: Always, IfNotPresent, Never",
    ),
    (
        "requests-cpu",
        lambda: side(PROD, "trip-service", "requests", cpu="0m"),
        f"{T}.resources.requests.cpu: invalid value '0m'; allowed: a CPU quantity such as 200m, 1 or 1.5",
    ),
    (
        "limits-cpu",
        lambda: side(PROD, "trip-service", "limits", cpu="2 cores"),
        f"{T}.resources.limits.cpu: invalid value '2 cores'; allowed: a CPU quantity such as 200m, 1 or 1.5",
    ),
    (
        "requests-memory",
        lambda: side(PROD, "trip-service", "requests", memory="1GB"),
        f"{T}.resources.requests.memory: invalid value '1GB'; allowed: a binary quantity such as 512Mi or 2Gi",
    ),
    (
        "limits-ephemeral",
        lambda: side(PROD, "trip-service", "limits", ephemeral_storage="0Gi"),
        f"{T}.resources.limits.ephemeral_storage: invalid value '0Gi'; allowed: a binary quantity such as 512Mi or 2Gi",
    ),
    (
        "requests-above-limit-cpu",
        lambda: side(PROD, "trip-service", "requests", cpu="2001m"),
        f"{T}.resources.requests.cpu: invalid value '2001m'; allowed: at most the limit 2000m",
    ),
    (
        "requests-above-limit-memory",
        lambda: side(PROD, "trip-service", "requests", memory="2049Mi"),
        f"{T}.resources.requests.memory: invalid value '2049Mi'; allowed: at most the limit 2Gi",
    ),
    (
        "requests-above-limit-ephemeral",
        lambda: side(PROD, "trip-service", "requests", ephemeral_storage="1025Mi"),
        f"{T}.resources.requests.ephemeral_storage: invalid value '1025Mi'; allowed: at most the limit 1Gi",
    ),
    ("replicas-0", lambda: svc(DEV, "trip-service", replicas=0), f"{T}.replicas: invalid value 0; {INT.format(1, 1000)}"),
    ("replicas-1001", lambda: svc(DEV, "trip-service", replicas=1001), f"{T}.replicas: invalid value 1001; {INT.format(1, 1000)}"),
    (
        "replicas-below-floor",
        lambda: svc(PROD, "trip-service", scaling=None, min_available=None, replicas=1),
        f"{T}.replicas: invalid value 1; allowed by guardrails.min_replicas: at least 2",
    ),
    (
        "port-below",
        lambda: svc(PROD, "trip-service", port=1023),
        f"{T}.port: invalid value 1023; allowed: an integer from 1024 to 65535",
    ),
    (
        "port-above",
        lambda: svc(PROD, "trip-service", port=65536),
        f"{T}.port: invalid value 65536; allowed: an integer from 1024 to 65535",
    ),
    (
        "liveness-path-relative",
        lambda: svc(PROD, "trip-service", liveness_path="healthz"),
        f"{T}.liveness_path: invalid value 'healthz'; allowed: an absolute URL path",
    ),
    (
        "readiness-path-query",
        lambda: svc(PROD, "trip-service", readiness_path="/ready?x=1"),
        f"{T}.readiness_path: invalid value '/ready?x=1'; allowed: an absolute URL path",
    ),
    (
        "ingress-without-public-service",
        lambda: R(PROD, services=tuple(R(s, api_prefixes=()) for s in PROD.services)),
        "ingress: invalid value 'AppGatewayIngress'; allowed: None when no service has api_prefixes (nothing to route)",
    ),
    (
        "api-prefix-of-another-service",
        lambda: svc(PROD, "trip-service", api_prefixes=("/api/v1/trips", "/api/v1/users")),
        f"{T}.api_prefixes[1]: invalid value '/api/v1/users'; "
        "allowed: a path prefix no other service routes (user-service has it)",
    ),
    (
        "calls-twice",
        lambda: svc(PROD, "trip-service", calls=("user-service", "user-service")),
        f"{T}.calls[1]: invalid value 'user-service'; allowed: each callee once",
    ),
    (
        "egress-host-twice",
        lambda: svc(PROD, "ai-service", external_egress=("api.openai.com", "api.openai.com")),
        "services.ai-service.external_egress[1]: invalid value 'api.openai.com'; allowed: each host once",
    ),
    (
        "writable-path-twice",
        lambda: svc(PROD, "trip-service", writable_paths=("/tmp", "/tmp")),
        f"{T}.writable_paths[1]: invalid value '/tmp'; allowed: each path once (each becomes an emptyDir volume)",
    ),
    (
        "store-attached-twice",
        lambda: svc(PROD, "user-service", stores=PROD.service("user-service").stores + (
            R(PROD.service("user-service").stores[0], secret_alias="DB2"),)),
        "services.user-service.stores[2]: invalid value 'postgresql'; allowed: each store once per service",
    ),
    (
        "pods-metric-twice",
        lambda: scaling(PROD, "user-service", pods_metrics=PROD.service("user-service").scaling.pods_metrics * 2),
        "services.user-service.scaling.pods_metrics[1]: invalid value 'http_requests_per_second'; "
        "allowed: each metric once",
    ),
    (
        "store-name-twice",
        lambda: R(PROD, stores=PROD.stores + (PROD.stores[0],)),
        "stores[3]: invalid value 'postgresql'; allowed: each store name once",
    ),
    (
        "pull-secret-twice",
        lambda: R(PROD, image_pull_secrets=("acr", "acr")),
        "image_pull_secrets[1]: invalid value 'acr'; allowed: each Secret once",
    ),
    (
        "queue-name-twice",
        lambda: R(PROD, messaging=R(PROD.messaging, topics=PROD.messaging.queues[:1])),
        "messaging[3]: invalid value 'ai-schedule-generation'; allowed: each queue or topic name once",
    ),
    (
        "api-prefix-relative",
        lambda: svc(PROD, "trip-service", api_prefixes=("/api/v1/trips", "api/v2")),
        f"{T}.api_prefixes[1]: invalid value 'api/v2'; allowed: an absolute URL path such as /api/v1/users",
    ),
    (
        "api-prefix-not-str",
        lambda: svc(PROD, "trip-service", api_prefixes=(5,)),
        f"{T}.api_prefixes[0]: invalid value 5; allowed: an absolute URL path such as /api/v1/users",
    ),
    (
        "health-path",
        lambda: svc(PROD, "trip-service", health_path="health"),
        f"{T}.health_path: invalid value 'health'; allowed: an absolute URL path",
    ),
    (
        "metrics-path",
        lambda: svc(PROD, "trip-service", metrics_path="/metrics?x"),
        f"{T}.metrics_path: invalid value '/metrics?x'; allowed: an absolute URL path",
    ),
    (
        "min-available--1",
        lambda: svc(PROD, "trip-service", min_available=-1),
        f"{T}.min_available: invalid value -1; {INT.format(0, 1000)}",
    ),
    (
        "min-available-1001",
        lambda: svc(PROD, "trip-service", min_available=1001),
        f"{T}.min_available: invalid value 1001; {INT.format(0, 1000)}",
    ),
    (
        "min-available-equals-scaling-floor",
        lambda: svc(PROD, "trip-service", min_available=3),
        f"{T}.min_available: invalid value 3; allowed: below the minimum replicas (3), otherwise node drains block",
    ),
    (
        "min-available-equals-replicas",
        lambda: svc(DEV, "trip-service", min_available=1),
        f"{T}.min_available: invalid value 1; allowed: below the minimum replicas (1), otherwise node drains block",
    ),
    (
        "calls-unknown",
        lambda: svc(PROD, "trip-service", calls=("user-service", "billing")),
        f"{T}.calls[1]: invalid value 'billing'; allowed: another service (ai-service, location-service, user-service)",
    ),
    (
        "calls-itself",
        lambda: svc(PROD, "ai-service", calls=("ai-service",)),
        f"{A}.calls[0]: invalid value 'ai-service'; allowed: another service (location-service, trip-service, user-service)",
    ),
    (
        "external-egress",
        lambda: svc(PROD, "ai-service", external_egress=("api.openai.com", "https://x.com")),
        f"{A}.external_egress[1]: invalid value 'https://x.com'; allowed: an external host name",
    ),
    (
        "store-unknown",
        lambda: attachment(PROD, "trip-service", 1, store="cache"),
        f"{T}.stores[1].store: invalid value 'cache'; allowed: postgresql, redis, servicebus",
    ),
    (
        "store-none-defined",
        lambda: R(DEV, stores=()),
        f"{U}.stores[0].store: invalid value 'postgresql'; allowed: no stores defined",
    ),
    (
        "store-secret-alias",
        lambda: attachment(PROD, "trip-service", 1, secret_alias="redis_password"),
        f"{T}.stores[1].secret_alias: invalid value 'redis_password'; allowed: an environment-variable name",
    ),
    (
        "store-database",
        lambda: attachment(PROD, "trip-service", 0, database="Trip"),
        f"{T}.stores[0].database: invalid value 'Trip'; allowed: a database name",
    ),
    (
        "store-username",
        lambda: attachment(PROD, "trip-service", 0, username="trip-service"),
        f"{T}.stores[0].username: invalid value 'trip-service'; allowed: a role name",
    ),
    (
        "store-redis-database",
        lambda: attachment(PROD, "trip-service", 1, redis_database=1),
        f"{T}.stores[1].redis_database: invalid value 1; {INT.format(0, 0)}",
    ),
    (
        "store-redis-database--1",
        lambda: attachment(PROD, "trip-service", 1, redis_database=-1),
        f"{T}.stores[1].redis_database: invalid value -1; {INT.format(0, 0)}",
    ),
    (
        "secret-object-name",
        lambda: svc(PROD, "trip-service", secrets=(KeyVaultSecret("jwt_key", "JWT_SECRET"),)),
        f"{T}.secrets[0].object_name: invalid value 'jwt_key'; allowed: a Key Vault object name (letters, digits, hyphens)",
    ),
    (
        "secret-ref-secret",
        lambda: svc(DEV, "trip-service", secrets=(SecretKeyRef("App", "k", "JWT_SECRET"),)),
        f"{T}.secrets[0].secret: invalid value 'App'; allowed: a Secret name (DNS subdomain)",
    ),
    (
        "secret-ref-key",
        lambda: svc(DEV, "trip-service", secrets=(SecretKeyRef("app-secrets", "a/b", "JWT_SECRET"),)),
        f"{T}.secrets[0].key: invalid value 'a/b'; allowed: a Secret key",
    ),
    (
        "secret-other-type",
        lambda: svc(DEV, "trip-service", secrets=("jwt",)),
        f"{T}.secrets[0]: invalid value 'jwt'; allowed: KeyVaultSecret or SecretKeyRef",
    ),
    (
        "secret-alias",
        lambda: svc(DEV, "trip-service", secrets=(SecretKeyRef("app-secrets", "k", "jwt"),)),
        f"{T}.secrets[0].alias: invalid value 'jwt'; allowed: an environment-variable name",
    ),
    (
        "secret-alias-twice",
        lambda: svc(DEV, "trip-service", secrets=(SecretKeyRef("app-secrets", "k", "DB_PASSWORD"),)),
        f"{T}.secrets: invalid value ['DB_PASSWORD', 'REDIS_PASSWORD', 'SERVICE_BUS_CONNECTION_STRING', 'DB_PASSWORD']; "
        "allowed: each alias (file name under /mnt/secrets) once",
    ),
    (
        "vault-object-of-store-twice",
        lambda: svc(PROD, "trip-service", secrets=(KeyVaultSecret("redis-access-key", "KEY"),)),
        f"{T}.secrets[0].object_name: invalid value 'redis-access-key'; allowed: each Key Vault object once per service "
        "(one object under two aliases: mount it once and read one alias)",
    ),
    (
        "writable-path",
        lambda: svc(PROD, "trip-service", writable_paths=("/tmp", "/App")),
        f"{T}.writable_paths[1]: invalid value '/App'; allowed: an absolute directory path",
    ),
    (
        "writable-path-root",
        lambda: svc(PROD, "trip-service", writable_paths=("/",)),
        f"{T}.writable_paths[0]: invalid value '/'; allowed: an absolute directory path",
    ),
    (
        "writable-path-not-str",
        lambda: svc(PROD, "trip-service", writable_paths=(None,)),
        f"{T}.writable_paths[0]: invalid value None; allowed: an absolute directory path",
    ),
    (
        "strategy",
        lambda: svc(PROD, "trip-service", strategy="recreate"),
        f"{T}.strategy: invalid value 'recreate'; allowed: rolling, blueGreen, canary",
    ),
    (
        "sync-wave--101",
        lambda: svc(PROD, "trip-service", sync_wave=-101),
        f"{T}.sync_wave: invalid value -101; {INT.format(-100, 100)}",
    ),
    (
        "sync-wave-101",
        lambda: svc(PROD, "trip-service", sync_wave=101),
        f"{T}.sync_wave: invalid value 101; {INT.format(-100, 100)}",
    ),
    (
        "key-vault-secret-without-vault",
        lambda: svc(DEV, "trip-service", secrets=(KeyVaultSecret("jwt-key", "JWT_SECRET"),)),
        f"{T}.secrets[0]: invalid value 'jwt-key'; allowed: SecretKeyRef (this environment has no key_vault)",
    ),
    (
        "secret-ref-with-vault",
        lambda: svc(PROD, "trip-service", secrets=(SecretKeyRef("app-secrets", "k", "JWT_SECRET"),)),
        f"{T}.secrets[0]: invalid value 'app-secrets'; allowed: KeyVaultSecret (with key_vault, secrets come from Key Vault only)",
    ),
    (
        "identity-client-id",
        lambda: svc(PROD, "trip-service", identity_client_id="not-a-guid"),
        f"{T}.identity_client_id: invalid value 'not-a-guid'; allowed: empty or a lower-case GUID",
    ),
    # ---- scaling
    (
        "scaling-type",
        lambda: svc(PROD, "trip-service", scaling="auto"),
        f"{T}.scaling: invalid value 'auto'; allowed: HorizontalScaling, QueueScaling or None",
    ),
    (
        "scaling-min-0",
        lambda: R(scaling(PROD, "trip-service", min_replicas=0), guardrails=Guardrails()),
        f"{T}.scaling.min_replicas: invalid value 0; {INT.format(1, 1000)}",
    ),
    (
        "scaling-min-1001",
        lambda: scaling(PROD, "trip-service", min_replicas=1001),
        f"{T}.scaling.min_replicas: invalid value 1001; {INT.format(1, 1000)}",
    ),
    (
        "scaling-max-0",
        lambda: scaling(PROD, "trip-service", max_replicas=0),
        f"{T}.scaling.max_replicas: invalid value 0; {INT.format(1, 1000)}",
    ),
    (
        "scaling-max-1001",
        lambda: scaling(PROD, "trip-service", max_replicas=1001),
        f"{T}.scaling.max_replicas: invalid value 1001; {INT.format(1, 1000)}",
    ),
    (
        "scaling-max-below-min",
        lambda: scaling(PROD, "trip-service", max_replicas=2),
        f"{T}.scaling.max_replicas: invalid value 2; allowed: at least min_replicas (3)",
    ),
    (
        "scaling-min-below-floor",
        lambda: scaling(PROD, "ai-service", min_replicas=1),
        f"{A}.scaling.min_replicas: invalid value 1; allowed by guardrails.min_replicas: at least 2",
    ),
    (
        "scaling-cpu-0",
        lambda: scaling(PROD, "trip-service", cpu_utilization=0),
        f"{T}.scaling.cpu_utilization: invalid value 0; {INT.format(1, 100)}",
    ),
    (
        "scaling-cpu-101",
        lambda: scaling(PROD, "trip-service", cpu_utilization=101),
        f"{T}.scaling.cpu_utilization: invalid value 101; {INT.format(1, 100)}",
    ),
    (
        "scaling-memory-0",
        lambda: scaling(PROD, "trip-service", memory_utilization=0),
        f"{T}.scaling.memory_utilization: invalid value 0; {INT.format(1, 100)}",
    ),
    (
        "scaling-memory-101",
        lambda: scaling(PROD, "ai-service", memory_utilization=101),
        f"{A}.scaling.memory_utilization: invalid value 101; {INT.format(1, 100)}",
    ),
    (
        "scaling-stabilization--1",
        lambda: scaling(PROD, "trip-service", scale_down_stabilization_seconds=-1),
        f"{T}.scaling.scale_down_stabilization_seconds: invalid value -1; {INT.format(0, 3600)}",
    ),
    (
        "scaling-stabilization-3601",
        lambda: scaling(PROD, "ai-service", scale_down_stabilization_seconds=3601),
        f"{A}.scaling.scale_down_stabilization_seconds: invalid value 3601; {INT.format(0, 3600)}",
    ),
    (
        "pods-metrics-list",
        lambda: scaling(PROD, "trip-service", pods_metrics=[]),
        f"{T}.scaling.pods_metrics: invalid value []; allowed: a tuple of PodsMetric",
    ),
    (
        "pods-metric-name",
        lambda: scaling(PROD, "trip-service", pods_metrics=(PodsMetric("a", 1), PodsMetric("http-x", 5))),
        f"{T}.scaling.pods_metrics[1].name: invalid value 'http-x'; allowed: a Prometheus metric name",
    ),
    (
        "pods-metric-value-0",
        lambda: scaling(PROD, "trip-service", pods_metrics=(PodsMetric("a", 0),)),
        f"{T}.scaling.pods_metrics[0].average_value: invalid value 0; {INT.format(1, 1_000_000)}",
    ),
    (
        "pods-metric-value-1000001",
        lambda: scaling(PROD, "trip-service", pods_metrics=(PodsMetric("a", 1_000_001),)),
        f"{T}.scaling.pods_metrics[0].average_value: invalid value 1000001; {INT.format(1, 1_000_000)}",
    ),
    (
        "queue-namespace",
        lambda: scaling(PROD, "ai-service", servicebus_namespace="sb.tripgen"),
        f"{A}.scaling.servicebus_namespace: invalid value 'sb.tripgen'; allowed: a Service Bus namespace name",
    ),
    (
        "queue-name",
        lambda: scaling(PROD, "ai-service", queue_name="system-events"),
        f"{A}.scaling.queue_name: invalid value 'system-events'; allowed: one of the queues "
        "ai-schedule-generation, location-search, notification",
    ),
    (
        "queue-message-count-0",
        lambda: scaling(PROD, "ai-service", message_count=0),
        f"{A}.scaling.message_count: invalid value 0; {INT.format(1, 100_000)}",
    ),
    (
        "queue-message-count-100001",
        lambda: scaling(PROD, "ai-service", message_count=100_001),
        f"{A}.scaling.message_count: invalid value 100001; {INT.format(1, 100_000)}",
    ),
    # ---- observability and the egress of features (TRIPGEN.md 6.7-6.8, 9.1-9.3)
    (
        'runbook-url-scheme',
        lambda: mon(runbook_base_url="ftp://runbooks.example.com/x"),
        "monitoring.runbook_base_url: invalid value 'ftp://runbooks.example.com/x'; allowed: an http(s) "
        "URL without '{' or '}' (the alert annotations are Prometheus templates)",
    ),
    (
        'runbook-url-template',
        lambda: mon(runbook_base_url='https://x.example.com/{{ "up" | query }}'),
        'monitoring.runbook_base_url: invalid value \'https://x.example.com/{{ "up" | query }}\'; allowed: '
        "an http(s) URL without '{' or '}' (the alert annotations are Prometheus templates)",
    ),
    (
        'runbook-url-space',
        lambda: mon(runbook_base_url="https://x.example.com/a b"),
        "monitoring.runbook_base_url: invalid value 'https://x.example.com/a b'; allowed: an http(s) URL "
        "without '{' or '}' (the alert annotations are Prometheus templates)",
    ),
    (
        'grafana-uid',
        lambda: mon(grafana_datasource_uid="prom uid"),
        "monitoring.grafana_datasource_uid: invalid value 'prom uid'; allowed: a Grafana data source UID",
    ),
    (
        'grafana-uid-41',
        lambda: mon(grafana_datasource_uid="p" * 41),
        "monitoring.grafana_datasource_uid: invalid value 'ppppppppppppppppppppppppppppppppppppppppp'; "
        'allowed: a Grafana data source UID',
    ),
    (
        'routing-name',
        lambda: route(name="Routing"),
        "monitoring.alert_routing.name: invalid value 'Routing'; allowed: a DNS label",
    ),
    (
        'routing-secret',
        lambda: route(receivers_secret="alert_receivers"),
        "monitoring.alert_routing.receivers_secret: invalid value 'alert_receivers'; allowed: a DNS label",
    ),
    (
        'routing-pd-receiver',
        lambda: route(pagerduty_receiver="PagerDuty"),
        "monitoring.alert_routing.pagerduty_receiver: invalid value 'PagerDuty'; allowed: a DNS label",
    ),
    (
        'routing-teams-receiver',
        lambda: route(teams_receiver="teams.x"),
        "monitoring.alert_routing.teams_receiver: invalid value 'teams.x'; allowed: a DNS label",
    ),
    (
        'routing-pd-key',
        lambda: route(pagerduty_key="routing key"),
        "monitoring.alert_routing.pagerduty_key: invalid value 'routing key'; allowed: a Secret key",
    ),
    (
        'routing-teams-key',
        lambda: route(teams_key=""),
        "monitoring.alert_routing.teams_key: invalid value ''; allowed: a Secret key",
    ),
    (
        'routing-same-receivers',
        lambda: route(teams_receiver=PROD.monitoring.alert_routing.pagerduty_receiver),
        "monitoring.alert_routing.teams_receiver: invalid value 'pagerduty-critical'; allowed: a name other than the PagerDuty one",
    ),
    (
        'routing-wait--1',
        lambda: route(group_wait_seconds=-1),
        'monitoring.alert_routing.group_wait_seconds: invalid value -1; allowed: an integer from 0 to 3600',
    ),
    (
        'routing-wait-3601',
        lambda: route(group_wait_seconds=3601),
        'monitoring.alert_routing.group_wait_seconds: invalid value 3601; allowed: an integer from 0 to 3600',
    ),
    (
        'routing-interval-0',
        lambda: route(group_interval_seconds=0),
        'monitoring.alert_routing.group_interval_seconds: invalid value 0; allowed: an integer from 1 to 604800',
    ),
    (
        'routing-critical-big',
        lambda: route(critical_repeat_seconds=7 * 86400 + 1),
        'monitoring.alert_routing.critical_repeat_seconds: invalid value 604801; allowed: an integer from 1 to 604800',
    ),
    (
        'routing-warning-0',
        lambda: route(warning_repeat_seconds=0),
        'monitoring.alert_routing.warning_repeat_seconds: invalid value 0; allowed: an integer from 1 to 604800',
    ),
    (
        'telemetry-object',
        lambda: tel(connection_string_object="appinsights_connection"),
        "telemetry.connection_string_object: invalid value 'appinsights_connection'; allowed: a Key "
        'Vault object name (letters, digits, hyphens)',
    ),
    (
        'telemetry-sampling-0',
        lambda: tel(sampling_percentage=0),
        'telemetry.sampling_percentage: invalid value 0; allowed: an integer from 1 to 100',
    ),
    (
        'telemetry-sampling-101',
        lambda: tel(sampling_percentage=101),
        'telemetry.sampling_percentage: invalid value 101; allowed: an integer from 1 to 100',
    ),
    (
        'telemetry-log-format',
        lambda: tel(log_format="json"),
        "telemetry.log_format: invalid value 'json'; allowed: ecs, logstash, gelf",
    ),
    (
        'telemetry-cidrs-and-reason',
        lambda: tel(egress_cidrs=("10.0.5.0/24",)),
        "telemetry.internet_egress_reason: invalid value 'Application Insights ingestion "
        "(appi-tripgen-prod, no private link scope)'; allowed: empty when egress_cidrs names the "
        'ingestion endpoint (one destination for telemetry)',
    ),
    (
        'telemetry-cidr-internet',
        lambda: tel(egress_cidrs=("0.0.0.0/0",), internet_egress_reason=""),
        "telemetry.egress_cidrs[0]: invalid value '0.0.0.0/0'; allowed: an address block narrower than "
        'the Internet (declare Internet egress with its reason instead)',
    ),
    (
        'telemetry-cidr-bad',
        lambda: tel(egress_cidrs=("10.0.5.1/24",), internet_egress_reason=""),
        "telemetry.egress_cidrs[0]: invalid value '10.0.5.1/24'; allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24",
    ),
    (
        'telemetry-cidrs-list',
        lambda: tel(egress_cidrs=["10.0.5.0/24"], internet_egress_reason=""),
        "telemetry.egress_cidrs: invalid value ['10.0.5.0/24']; allowed: a tuple of CIDRs",
    ),
    (
        'telemetry-ports-empty',
        lambda: tel(egress_ports=()),
        'telemetry.egress_ports: invalid value (); allowed: a tuple of at least one TCP port',
    ),
    (
        'telemetry-port-0',
        lambda: tel(egress_ports=(443, 0)),
        'telemetry.egress_ports[1]: invalid value 0; allowed: an integer from 1 to 65535',
    ),
    (
        'telemetry-no-egress',
        lambda: tel(internet_egress_reason=""),
        'telemetry.egress_cidrs: invalid value (); allowed with network_policy default-deny: the egress '
        'of the feature telemetry of user-service, trip-service, ai-service, location-service: the '
        "ingestion endpoint's CIDRs (egress_cidrs) or Internet egress with a reason "
        '(internet_egress_reason)',
    ),
    (
        'telemetry-blank-reason',
        lambda: tel(internet_egress_reason="  "),
        'telemetry.egress_cidrs: invalid value (); allowed with network_policy default-deny: the egress '
        'of the feature telemetry of user-service, trip-service, ai-service, location-service: the '
        "ingestion endpoint's CIDRs (egress_cidrs) or Internet egress with a reason "
        '(internet_egress_reason)',
    ),
    (
        'api-server-internet',
        lambda: net(api_server_cidrs=("0.0.0.0/0",)),
        "cluster_network.api_server_cidrs[0]: invalid value '0.0.0.0/0'; allowed: an address block "
        'narrower than the Internet (declare Internet egress with its reason instead)',
    ),
    (
        'api-server-second-bad',
        lambda: net(api_server_cidrs=("10.0.1.0/24", "10.0.6.1/28")),
        "cluster_network.api_server_cidrs[1]: invalid value '10.0.6.1/28'; allowed: an IPv4 network in "
        'CIDR notation such as 10.0.2.0/24',
    ),
    (
        'api-server-list',
        lambda: net(api_server_cidrs=["10.0.1.0/24"]),
        "cluster_network.api_server_cidrs: invalid value ['10.0.1.0/24']; allowed: a tuple of CIDRs",
    ),
    (
        'api-server-ports-empty',
        lambda: net(api_server_ports=()),
        'cluster_network.api_server_ports: invalid value (); allowed: a tuple of at least one TCP port',
    ),
    (
        'api-server-ports-list',
        lambda: net(api_server_ports=[443]),
        'cluster_network.api_server_ports: invalid value [443]; allowed: a tuple of at least one TCP port',
    ),
    (
        'api-server-port-65536',
        lambda: net(api_server_ports=(65536,)),
        'cluster_network.api_server_ports[0]: invalid value 65536; allowed: an integer from 1 to 65535',
    ),
    (
        'api-access-without-api-server',
        lambda: net(api_server_cidrs=()),
        'services.user-service.kubernetes_api_access: invalid value True; allowed with network_policy '
        "default-deny: the egress of user-service's feature kubernetes-api, "
        "cluster_network.api_server_cidrs (the API server's address); without it the default deny blocks "
        'the API',
    ),
]


def test_each_rule_reports_the_field_the_value_and_what_is_allowed():
    # One test over the whole table (not one pytest item per row): mutmut runs the covering tests
    # of every mutant, and a few hundred items per run cost minutes.  Every mismatch is reported,
    # except under mutmut (MUTANT_UNDER_TEST set), where the first one decides and saves the rest.
    fail_fast = bool(os.environ.get("MUTANT_UNDER_TEST"))
    wrong = {}
    for name, make, message in CASES:
        try:
            validate(make())
            got = "(no ConfigError)"
        except ConfigError as err:
            got = str(err)
        if got != message:
            wrong[name] = f"{name}:\n  got      {got}\n  expected {message}"
            if fail_fast:
                break
    assert not wrong, "\n".join(wrong.values())
    assert len({c[0] for c in CASES}) == len(CASES)


# Both sides of every range and every rule switched off: these configs are valid.
VALID: list[tuple[str, Callable[[], Environment]]] = [
    ("prod", lambda: PROD),
    ("dev", lambda: DEV),
    ("text-space-and-0xa0", lambda: svc(PROD, "trip-service", purpose="a b ~\xa0é")),
    ("store-port-1", lambda: store(PROD, "redis", port=1)),
    ("store-port-65535", lambda: store(PROD, "redis", port=65535)),
    ("store-extra-ports-1-65535", lambda: store(PROD, "servicebus", extra_ports=(1, 65535))),
    ("store-cidr-optional-without-default-deny", lambda: store(DEV, "redis", subnet_cidr="")),
    ("store-cidr-set-without-default-deny", lambda: store(DEV, "redis", subnet_cidr="10.1.0.0/16")),
    ("store-key-vault-object-127", lambda: store(PROD, "redis", key_vault_object="k" * 127)),
    ("store-key-vault-object-without-vault", lambda: store(DEV, "redis", key_vault_object="redis-key")),
    ("store-existing-secret-with-vault", lambda: store(PROD, "redis", existing_secret="app-secrets", existing_secret_key="k.1")),
    ("node-pool-min-1-max-1", lambda: sub(PROD, "node_pool", min_nodes=1, max_nodes=1)),
    ("node-pool-1000", lambda: sub(PROD, "node_pool", min_nodes=1000, max_nodes=1000)),
    ("node-pool-name-12", lambda: sub(PROD, "node_pool", name="apppool12345")),
    ("ingress-timeout-1", lambda: sub(DEV, "ingress", request_timeout_seconds=1)),
    ("ingress-timeout-3600", lambda: sub(PROD, "ingress", request_timeout_seconds=3600)),
    ("ingress-certificate-80", lambda: sub(PROD, "ingress", tls_certificate="c" * 80)),
    ("ingress-waf-empty", lambda: sub(PROD, "ingress", waf_policy_id="")),
    ("no-ingress-with-allow-all", lambda: R(DEV, ingress=None)),
    ("no-ingress-with-ingress-kinds", lambda: R(DEV, ingress=None, guardrails=Guardrails(ingress_kinds=("AppGatewayIngress",)))),
    ("ingress-kinds-list-the-kind", lambda: sub(DEV, "guardrails", ingress_kinds=("AppGatewayIngress", "NginxIngress"))),
    ("guardrails-min-replicas-1", lambda: sub(DEV, "guardrails", min_replicas=1)),
    ("guardrails-require-default-deny-met", lambda: sub(PROD, "guardrails", require_default_deny=True)),
    ("rolling-0-100", lambda: sub(DEV, "rolling", max_surge=0, max_unavailable=100, revision_history_limit=0)),
    ("rolling-100-0", lambda: sub(DEV, "rolling", max_surge=100, max_unavailable=0, revision_history_limit=100)),
    ("rolling-deadline-60", lambda: sub(DEV, "rolling", progress_deadline_seconds=60)),
    ("rolling-deadline-7200", lambda: sub(DEV, "rolling", progress_deadline_seconds=7200)),
    ("delivery-delay-0", lambda: sub(PROD, "delivery", scale_down_delay_seconds=0)),
    ("delivery-delay-86400", lambda: sub(PROD, "delivery", scale_down_delay_seconds=86400)),
    (
        "delivery-error-rate-0-and-1",
        lambda: sub(sub(PROD, "delivery", max_preview_error_rate="0"), "delivery", max_preview_error_rate="1"),
    ),
    ("canary-1-to-99", lambda: sub(PROD, "delivery", canary_steps=((1, 0), (2, 86400), (99, 1)))),
    ("canary-no-steps", lambda: sub(PROD, "delivery", canary_steps=())),
    ("sync-window-deny", lambda: window(PROD, kind="deny", duration="30m", time_zone="UTC")),
    ("key-vault-tenant-guid", lambda: sub(PROD, "key_vault", tenant_id=GUID_OK)),
    ("key-vault-name-3-and-24", lambda: sub(sub(PROD, "key_vault", name="kv1"), "key_vault", name="k" * 24)),
    ("monitoring-azure", lambda: sub(PROD, "monitoring", service_monitor_api_version="azmonitoring.coreos.com/v1")),
    ("monitoring-scrape-5", lambda: sub(PROD, "monitoring", scrape_interval_seconds=5)),
    ("monitoring-scrape-3600", lambda: sub(PROD, "monitoring", scrape_interval_seconds=3600)),
    ("cache-1", lambda: sub(PROD, "cache", l1_ttl_seconds=1, l1_max_entries=1)),
    ("cache-10000000", lambda: sub(PROD, "cache", static_content_ttl_seconds=10_000_000)),
    ("service-name-50", lambda: svc(R(PROD, monitoring=R(PROD.monitoring, dashboards=False)), "trip-service",
                                    name="t" * 50)),
    ("service-name-27-with-dashboards", lambda: svc(PROD, "trip-service", name="t" * 27)),
    ("service-chart-label-63", lambda: svc(R(PROD, chart_version="1000.1000.1000",
                                             monitoring=R(PROD.monitoring, dashboards=False)), "trip-service", name="t" * 48)),
    ("image-mutable-tag-without-guardrail", lambda: image(DEV, "trip-service", tag="latest")),
    ("image-digest", lambda: image(PROD, "trip-service", digest="sha256:" + "0a" * 32)),
    (
        "image-pull-policies",
        lambda: image(image(PROD, "trip-service", pull_policy="Never"), "ai-service", pull_policy="IfNotPresent"),
    ),
    (
        "requests-equal-limits",
        lambda: svc(PROD, "trip-service", resources=Resources.sized("2", "2Gi", "2000m", "2048Mi", "1Gi", "1024Mi")),
    ),
    ("replicas-1", lambda: svc(DEV, "trip-service", replicas=1)),
    ("replicas-1000", lambda: svc(DEV, "trip-service", replicas=1000)),
    ("replicas-below-floor-with-scaling", lambda: svc(PROD, "trip-service", replicas=1)),
    ("replicas-at-floor", lambda: svc(PROD, "trip-service", scaling=None, min_available=1, replicas=2)),
    ("min-available-0", lambda: svc(DEV, "trip-service", min_available=0)),
    ("min-available-below-floor", lambda: svc(PROD, "trip-service", min_available=2)),
    (
        "min-available-1000",
        lambda: svc(scaling(PROD, "trip-service", min_replicas=1000, max_replicas=1000), "trip-service", min_available=999),
    ),
    ("scaling-1000", lambda: scaling(PROD, "trip-service", max_replicas=1000)),
    (
        "scaling-1-1",
        lambda: R(
            scaling(svc(PROD, "trip-service", min_available=0), "trip-service", min_replicas=1, max_replicas=1),
            guardrails=Guardrails(),
        ),
    ),
    (
        "scaling-utilization-1-100",
        lambda: scaling(PROD, "trip-service", cpu_utilization=1, memory_utilization=100, scale_down_stabilization_seconds=0),
    ),
    (
        "scaling-utilization-100-1",
        lambda: scaling(PROD, "ai-service", cpu_utilization=100, memory_utilization=1, scale_down_stabilization_seconds=3600),
    ),
    (
        "pods-metrics-bounds",
        lambda: scaling(PROD, "trip-service", pods_metrics=(PodsMetric("a:b_c", 1), PodsMetric("_x", 1_000_000))),
    ),
    ("queue-message-count-1", lambda: scaling(PROD, "ai-service", message_count=1)),
    ("queue-message-count-100000", lambda: scaling(PROD, "ai-service", message_count=100_000, queue_name="notification")),
    ("sync-wave--100", lambda: svc(PROD, "trip-service", sync_wave=-100)),
    ("sync-wave-100", lambda: svc(PROD, "trip-service", sync_wave=100)),
    ("strategies", lambda: svc(svc(PROD, "trip-service", strategy="canary"), "ai-service", strategy="rolling")),
    ("identity-client-id", lambda: svc(PROD, "trip-service", identity_client_id=GUID_OK)),
    ("redis-attachment-without-database", lambda: attachment(PROD, "trip-service", 1, database="", username="")),
    ("no-secrets", lambda: svc(PROD, "trip-service", secrets=())),
    (
        "paths-with-capitals",
        lambda: svc(PROD, "ai-service", api_prefixes=("/API/v1/Ai",), health_path="/Health", metrics_path="/Q/Prometheus"),
    ),
    ("pod-security-baseline-warned-baseline", lambda: R(DEV, pod_security_warn="baseline")),
    ("names-with-capitals", lambda: sub(sub(PROD, "key_vault", name="KV-Tripgen-Prod"), "gitops", target_revision="Release/V1.2")),
    (
        "secret-names-with-capitals",
        lambda: svc(PROD, "trip-service", secrets=(KeyVaultSecret("JWT-Signing-Key", "JWT_SECRET"),)),
    ),
    (
        "secret-keys-with-capitals",
        lambda: store(
            svc(DEV, "trip-service", secrets=(SecretKeyRef("app-secrets", "Jwt.Secret", "JWT_SECRET"),)),
            "redis",
            existing_secret_key="Redis.Password",
        ),
    ),
    ("no-calls-no-egress", lambda: svc(PROD, "ai-service", calls=(), external_egress=())),
    ('telemetry-private-link', lambda: tel(egress_cidrs=("10.0.5.0/24",), internet_egress_reason="")),
    ('telemetry-ports-bounds', lambda: tel(egress_ports=(1, 65535))),
    ('api-server-ports-bounds', lambda: net(api_server_ports=(1, 65535))),
    ('api-server-two-blocks', lambda: net(api_server_cidrs=("10.0.1.0/24", "10.0.6.0/28"))),
    ('grafana-uid-40', lambda: mon(grafana_datasource_uid="p" * 40)),
    ('routing-wait-0-3600', lambda: route(group_wait_seconds=0, group_interval_seconds=7 * 86400)),
    ('telemetry-sampling-1-100', lambda: tel(sampling_percentage=1)),
    ('telemetry-sampling-100', lambda: tel(sampling_percentage=100)),
    ('dev-allow-all-needs-no-api-server', lambda: sub(DEV, "cluster_network", api_server_cidrs=())),
    ('no-monitoring-no-telemetry-egress', lambda: R(tel(internet_egress_reason=""), monitoring=None)),
]


def test_values_inside_the_ranges_and_rules_switched_off_are_valid():
    fail_fast = bool(os.environ.get("MUTANT_UNDER_TEST"))
    wrong = {}
    for name, make in VALID:
        env = make()
        try:
            assert validate(env) is env
        except ConfigError as err:
            wrong[name] = f"{name}: {err}"
            if fail_fast:
                break
    assert not wrong, "\n".join(wrong.values())
    assert len({v[0] for v in VALID}) == len(VALID)


def test_a_cidr_that_is_not_a_string_is_refused_even_when_it_parses():
    import ipaddress

    with pytest.raises(ConfigError) as err:
        cfg._cidr("x.cidr", ipaddress.ip_network("10.0.0.0/24"))
    assert str(err.value) == "x.cidr: invalid value IPv4Network('10.0.0.0/24'); allowed: a CIDR string"
    cfg._cidr("x.cidr", "10.0.0.0/24")  # a string network passes


def test_immutable_tags_are_release_tags_not_a_deny_list_of_words():
    """Issue 18: `nightly`, `edge`, `latest-amd64` passed a deny list; the guardrail is a release-tag
    pattern (semver by default) or a digest, and only where the config names it."""
    for tag in ("latest", "LATEST", "nightly", "edge", "latest-amd64", "latest-1", "main", "1.2", "v1.2.0.1"):
        assert error_of(image(PROD, "trip-service", tag=tag)).startswith(
            f"{T}.image.tag: invalid value '{tag}'; allowed with guardrails.immutable_image_tags: a release tag"
        ), tag
        valid(image(DEV, "trip-service", tag=tag))
    for tag in ("v1.2.0", "1.4.2", "2.0.0-rc.1", "v10.0.3-hotfix.2"):
        valid(image(PROD, "trip-service", tag=tag))
    # a digest pins the image whatever the tag
    valid(image(PROD, "trip-service", tag="nightly", digest="sha256:" + "a" * 64))
    # another pattern, named in config
    calver = R(PROD, guardrails=R(PROD.guardrails, release_tag_pattern=r"^[0-9]{4}\.[0-9]{2}\.[0-9]+$"),
               services=tuple(R(s, image=R(s.image, tag="2026.12.1")) for s in PROD.services))
    valid(calver)
    assert error_of(image(calver, "trip-service", tag="v1.2.0")).startswith(f"{T}.image.tag: invalid value 'v1.2.0'")


def test_require_digest_refuses_a_tag_only_image():
    pinned = R(PROD, guardrails=R(PROD.guardrails, require_digest=True))
    assert error_of(pinned).startswith("services.user-service.image.digest: invalid value ''; allowed with "
                                       "guardrails.require_digest")
    valid(R(pinned, services=tuple(R(s, image=R(s.image, digest="sha256:" + "b" * 64)) for s in PROD.services)))


def test_lookups_by_name_name_what_exists():
    assert PROD.service("ai-service") is PROD.services[2]
    assert PROD.store("redis") is PROD.stores[1]
    with pytest.raises(ConfigError) as err:
        PROD.service("billing")
    assert (
        str(err.value)
        == "services: invalid value 'billing'; known services are user-service, trip-service, ai-service, location-service"
    )
    with pytest.raises(ConfigError) as err:
        PROD.store("mysql")
    assert str(err.value) == "stores: invalid value 'mysql'; known stores are postgresql, redis, servicebus"
    with pytest.raises(ConfigError) as err:
        R(PROD, stores=()).store("redis")
    assert str(err.value) == "stores: invalid value 'redis'; known stores are none"


def test_sized_resources_default_the_ephemeral_storage_to_256mi_and_1gi():
    assert Resources.sized("1", "1Gi", "2", "2Gi") == Resources(
        ResourceAmounts("1", "1Gi", "256Mi"), ResourceAmounts("2", "2Gi", "1Gi")
    )
    assert Resources.sized("1", "1Gi", "2", "2Gi", "1Mi", "2Mi") == Resources(
        ResourceAmounts("1", "1Gi", "1Mi"), ResourceAmounts("2", "2Gi", "2Mi")
    )


def test_the_config_error_carries_field_value_and_allowed():
    with pytest.raises(ConfigError) as err:
        validate(store(PROD, "redis", port=0))
    assert (err.value.field, err.value.value, err.value.allowed) == ("stores.redis.port", 0, INT.format(1, 65535))


def test_queue_scaling_and_a_second_scaler_kind_are_both_accepted():
    hpa = HorizontalScaling(min_replicas=2, max_replicas=4, cpu_utilization=50, memory_utilization=50)
    keda = QueueScaling(
        min_replicas=3,
        max_replicas=4,
        cpu_utilization=50,
        memory_utilization=50,
        servicebus_namespace="sb",
        queue_name="notification",
        message_count=5,
    )
    valid(svc(svc(PROD, "ai-service", scaling=hpa), "user-service", scaling=keda))


def test_a_new_sync_window_and_key_vault_are_checked_like_the_committed_ones():
    w = SyncWindow(kind="allow", schedule="30 1 * * *", duration="1h", time_zone="Europe/Berlin", applications=("*",))
    valid(sub(DEV, "gitops", sync_window=w))
    assert error_of(sub(DEV, "gitops", sync_window=R(w, applications=("-x",)))) == (
        "gitops.sync_window.applications[0]: invalid value '-x'; allowed: an Application name or glob such as * or tripgen-*"
    )
    assert error_of(R(PROD, key_vault=KeyVault(name="ab"))) == (
        "key_vault.name: invalid value 'ab'; allowed: 3-24 letters, digits and hyphens (Key Vault names have no underscores)"
    )
    assert error_of(R(PROD, key_vault=KeyVault(name="k" * 25))).startswith("key_vault.name: invalid value")


def test_monitoring_none_is_checked_with_the_defaults():
    valid(R(PROD, monitoring=None))
    assert Monitoring().service_monitor_api_version == "monitoring.coreos.com/v1"


def test_an_app_gateway_ingress_with_default_deny_and_no_guardrails_is_valid():
    ing = AppGatewayIngress(
        name="api",
        host="api.example.com",
        tls_certificate="cert",
        waf_policy_id="",
        request_timeout_seconds=30,
        gateway_subnet_cidr="10.9.0.0/24",
    )
    valid(R(PROD, ingress=ing, guardrails=Guardrails()))


def test_a_store_attachment_to_a_store_without_database_needs_no_database():
    valid(svc(PROD, "trip-service", stores=(StoreAttachment(store="redis", secret_alias="REDIS_PASSWORD"),)))


def test_the_port_bounds_are_inclusive_and_probe_paths_default_to_the_health_path():
    for port in (1024, 8080, 65535):
        env = svc(PROD, "trip-service", port=port)
        assert validate(env) is env
    env = svc(PROD, "trip-service", liveness_path="", readiness_path="")
    assert validate(env) is env
