"""Kubernetes resource quantities: parsing for checks, strict formats for config validation."""

from __future__ import annotations

import re
from decimal import Decimal

_CPU = re.compile(r"^(?:[0-9]+m|[0-9]+(?:\.[0-9]{1,3})?)$")
_BYTES = re.compile(r"^[0-9]+(?:Ki|Mi|Gi|Ti)$")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def is_cpu(value: object) -> bool:
    """True for a CPU quantity such as ``200m``, ``2`` or ``1.5`` (and not zero)."""
    return isinstance(value, str) and bool(_CPU.match(value)) and cpu_millicores(value) > 0


def is_bytes(value: object) -> bool:
    """True for a binary-suffixed byte quantity such as ``512Mi`` or ``2Gi`` (and not zero)."""
    return isinstance(value, str) and bool(_BYTES.match(value)) and byte_count(value) > 0


def cpu_millicores(value: str) -> int:
    """``"200m"`` -> 200, ``"2"`` -> 2000."""
    if value.endswith("m"):
        return int(value[:-1])
    return int(Decimal(value) * 1000)


def byte_count(value: str) -> int:
    """``"512Mi"`` -> 536870912."""
    return int(value[:-2]) * _BINARY[value[-2:]]


def format_millicores(millicores: int) -> str:
    """500 -> ``500m``, 36000 -> ``36``."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_bytes(count: int) -> str:
    """Largest exact binary unit: 128849018880 -> ``120Gi``."""
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        if count % _BINARY[suffix] == 0:
            return f"{count // _BINARY[suffix]}{suffix}"
    return str(count)
