"""Kubernetes resource quantities: parsing for checks, strict formats for config validation.

The formats are regular expressions both Python and Go (RE2, Helm's ``regexMatch`` and its JSON
schema validator) read the same way, so synth, ``values.schema.json`` and the chart templates
accept exactly the same quantities; digits are bounded (at most 15 before the unit), so no value
is too large to parse or to reason about.
"""

from __future__ import annotations

import re
from decimal import Decimal

CPU_PATTERN = (r"^(?:[1-9][0-9]{0,14}m|[1-9][0-9]{0,14}(?:\.[0-9]{1,3})?"
               r"|0\.(?:[1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$")
"""A non-zero CPU quantity: millicores (``200m``) or cores with at most 3 decimals (``2``, ``1.5``, ``0.25``)."""
BYTES_PATTERN = r"^[1-9][0-9]{0,14}(?:Ki|Mi|Gi|Ti)$"
"""A non-zero byte quantity with a binary suffix (``512Mi``, ``2Gi``)."""
CPU_ALLOWED = "allowed: a CPU quantity such as 200m, 1 or 1.5"
BYTES_ALLOWED = "allowed: a binary quantity such as 512Mi or 2Gi"

_CPU = re.compile(CPU_PATTERN)
_BYTES = re.compile(BYTES_PATTERN)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def is_cpu(value: object) -> bool:
    """True for a CPU quantity such as ``200m``, ``2`` or ``1.5`` (and not zero)."""
    return isinstance(value, str) and "\n" not in value and bool(_CPU.match(value))


def is_bytes(value: object) -> bool:
    """True for a binary-suffixed byte quantity such as ``512Mi`` or ``2Gi`` (and not zero)."""
    return isinstance(value, str) and "\n" not in value and bool(_BYTES.match(value))


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
