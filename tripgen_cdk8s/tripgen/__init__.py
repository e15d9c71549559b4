"""The TripGen layer: TripGen's config model and conventions (Spring settings, cache strategy,
Service Bus, Key Vault, App Gateway, AKS node pool, alerts and dashboards, the platform chart),
composed from the generic constructs of :mod:`tripgen_cdk8s.lib`."""
