"""Kubernetes quantities: the strict config formats, parsing, and formatting back (unit tests)."""

from __future__ import annotations

import pytest

from tripgen_cdk8s.lib.quantities import byte_count, cpu_millicores, format_bytes, format_millicores, is_bytes, is_cpu


@pytest.mark.parametrize("value", ["1m", "200m", "1", "2", "1.5", "0.001", "0.5", "10.125", "3600m"])
def test_cpu_quantities_accepted(value):
    assert is_cpu(value) is True


@pytest.mark.parametrize(
    "value", ["0", "0m", "0.0", "0.000", "1.2345", "m", "1.", ".5", "-1", "1 ", " 1", "1k", "1M", "1e3", "", "1.5m", 1, 1.5, None]
)
def test_cpu_quantities_refused(value):
    assert is_cpu(value) is False


@pytest.mark.parametrize("value", ["1Ki", "512Mi", "2Gi", "1Ti", "1024Ki"])
def test_byte_quantities_accepted(value):
    assert is_bytes(value) is True


@pytest.mark.parametrize(
    "value", ["0Ki", "0Mi", "0Gi", "512", "2G", "2GB", "1Pi", "Mi", "1.5Gi", "-1Gi", " 1Gi", "1Gi ", "", 512, None]
)
def test_byte_quantities_refused(value):
    assert is_bytes(value) is False


@pytest.mark.parametrize(
    ("value", "millicores"),
    [("200m", 200), ("1m", 1), ("2", 2000), ("1.5", 1500), ("0.001", 1), ("10.125", 10125), ("3600m", 3600)],
)
def test_cpu_millicores(value, millicores):
    assert cpu_millicores(value) == millicores


@pytest.mark.parametrize(
    ("value", "count"), [("1Ki", 1024), ("512Mi", 536870912), ("2Gi", 2 * 1024**3), ("3Ti", 3 * 1024**4), ("10Ki", 10240)]
)
def test_byte_count(value, count):
    assert byte_count(value) == count


@pytest.mark.parametrize(
    ("millicores", "text"),
    [(500, "500m"), (36000, "36"), (1000, "1"), (1, "1m"), (1500, "1500m"), (0, "0"), (999, "999m"), (1001, "1001m")],
)
def test_format_millicores(millicores, text):
    assert format_millicores(millicores) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (128849018880, "120Gi"),
        (1024, "1Ki"),
        (2**20, "1Mi"),
        (2**30, "1Gi"),
        (2**40, "1Ti"),
        (3 * 2**40, "3Ti"),
        (1536 * 2**20, "1536Mi"),
        (1025, "1025"),
        (1000, "1000"),
        (2**20 + 1024, "1025Ki"),
    ],
)
def test_format_bytes_uses_the_largest_exact_unit(count, text):
    assert format_bytes(count) == text


def test_formatting_round_trips():
    for text in ("1Ki", "7Mi", "3Gi", "2Ti"):
        assert format_bytes(byte_count(text)) == text
    for text in ("1m", "250m", "4"):
        assert format_millicores(cpu_millicores(text)) == text
