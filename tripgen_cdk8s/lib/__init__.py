"""The generic layer: constructs, the Helm chart with its values and bindings, the chart writer,
labels, quantities and invariants.  It knows nothing of TripGen; Azure pieces live in
:mod:`tripgen_cdk8s.lib.azure` and are used only when asked for."""
