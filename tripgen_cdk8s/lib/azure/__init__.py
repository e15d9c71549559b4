"""Azure pieces, each opt-in: Key Vault secrets through the Secrets Store CSI driver with workload
identity (:class:`PrivateEndpointSecret`), Application Gateway Ingress annotations, the AKS node-pool
label, and the KEDA Azure Service Bus trigger.  Nothing outside this package assumes Azure."""

from __future__ import annotations

from typing import Any

from .private_endpoint_secret import (
    CLIENT_ID_ANNOTATION,
    WORKLOAD_IDENTITY_LABEL,
    KeyVaultAccess,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    SecretProviderClass,
    SecretProviderClassProps,
)

AKS_AGENT_POOL_LABEL = "kubernetes.azure.com/agentpool"
"""The node label AKS sets to the node pool's name (for ``Scheduling.attract``)."""

APPGW = "appgw.ingress.kubernetes.io/"
APP_GATEWAY_CLASS = "azure-application-gateway"


def app_gateway_annotations(*, tls_certificate: str, waf_policy_id: str, request_timeout_seconds: int) -> dict[str, str]:
    """Application Gateway Ingress Controller annotations: the TLS certificate (by its name on the
    gateway), HTTPS redirect, the WAF policy of the paths, the request timeout, HTTP to the pods."""
    return {
        APPGW + "appgw-ssl-certificate": tls_certificate,
        APPGW + "ssl-redirect": "true",
        APPGW + "waf-policy-for-path": waf_policy_id,
        APPGW + "request-timeout": str(request_timeout_seconds),
        APPGW + "backend-protocol": "http",
    }


def servicebus_queue_trigger(*, namespace: str, queue: str, message_count: int) -> dict[str, Any]:
    """A KEDA ``azure-servicebus`` trigger on ``queue``: one replica per ``message_count`` messages."""
    return {"type": "azure-servicebus",
            "metadata": {"namespace": namespace, "queueName": queue, "messageCount": str(message_count)}}


WORKLOAD_IDENTITY_AUTHENTICATION = {"podIdentity": {"provider": "azure-workload"}}
"""A KEDA TriggerAuthentication spec: authenticate with the workload's Azure workload identity."""

__all__ = ["AKS_AGENT_POOL_LABEL", "APP_GATEWAY_CLASS", "CLIENT_ID_ANNOTATION", "WORKLOAD_IDENTITY_AUTHENTICATION",
           "WORKLOAD_IDENTITY_LABEL", "KeyVaultAccess", "PrivateEndpointSecret", "PrivateEndpointSecretProps",
           "SecretProviderClass", "SecretProviderClassProps", "app_gateway_annotations", "servicebus_queue_trigger"]
