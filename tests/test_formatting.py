"""One way to show a figure (rmprof/formatting.py): expected strings written out, not built with the module."""

from __future__ import annotations

import math

from rmprof.formatting import (
    MISSING,
    format_bytes,
    format_count,
    format_percent,
    format_ratio,
    format_share,
    format_time,
    format_value,
    format_x,
)


def test_format_ratio() -> None:
    assert format_ratio(23.4, 21.0, 25.9) == "23.4× [21.0×, 25.9×]"
    assert format_ratio(1.052, 0.98, 1.13) == "1.05× [0.98×, 1.13×]"
    assert format_ratio(234.4, 210.2, 259.9) == "234× [210×, 260×]"


def test_format_time() -> None:
    assert format_time(0) == "0 ns"
    assert format_time(1.5) == "1.50 ns"
    assert format_time(123.4) == "123 ns"
    assert format_time(999.7) == "1.00 µs"
    assert format_time(1234) == "1.23 µs"
    assert format_time(45_600_000) == "45.6 ms"
    assert format_time(2.5e10) == "25.0 s"
    assert format_time(-1500) == "-1.50 µs"


def test_bytes_shares_changes_counts_and_ratios() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**20) == "3.0 MiB"
    assert format_bytes(5 * 2**30) == "5.0 GiB"
    assert format_share(0.1234) == "12.3 %" and format_share(0.5, 0) == "50 %"
    assert format_percent(0.1) == "+10.00%" and format_percent(-0.034, 1) == "-3.4%"
    assert format_count(1234567) == "1,234,567" and format_count(2.345) == "2.35"
    assert format_x(38.72) == "38.7×" and format_x(1234.5) == "1,234×"
    assert format_value(2_000_000, "instructions") == "2,000,000 instructions"
    assert format_value(1500, "ns") == "1.50 µs" and format_value(2048, "bytes") == "2.0 KiB"
    assert format_value(3, "milliseconds") == "3.00 ms" and format_value(7, "samples") == "7 samples"


def test_a_missing_figure_reads_the_same_everywhere() -> None:
    for fn in (format_time, format_bytes, format_x, format_percent, format_share, format_count):
        assert fn(None) == MISSING
        assert fn(math.nan) == MISSING
    assert format_value(None, "ns") == MISSING and format_value(math.inf, "bytes") == MISSING
