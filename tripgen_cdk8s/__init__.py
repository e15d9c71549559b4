"""tripgen-cdk8s: typed cdk8s constructs that generate the Helm charts of TripGen on AKS."""

import os

# jsii prints a large end-of-life banner on Node 20 unless told not to; set before cdk8s loads.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

__version__ = "1.0.0"
