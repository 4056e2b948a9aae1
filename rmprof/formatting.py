"""One way to show a figure: times, bytes, ratios, shares, changes, counts, and a missing value.

The terminal tables, report.html, compare.html and the Markdown summaries all format through here, so that the
same figure reads the same everywhere (3 significant digits, binary byte units, "–" where nothing was measured).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

MISSING = "–"  # what every table shows where nothing was measured
_TIME_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3))
_BYTE_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def finite(x: Any) -> bool:
    """Whether ``x`` is a real, finite number (not None, not a bool, not NaN or infinite)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def sig_decimals(x: float, digits: int = 3) -> int:
    """Decimals needed to show ``x`` with ``digits`` significant digits (never negative)."""
    if x == 0 or not math.isfinite(x):
        return digits - 1
    return max(0, digits - 1 - math.floor(math.log10(abs(x))))


def sig(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, no exponent (41.2, 2.82, 101, 1,230)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:,.{sig_decimals(x, digits)}f}"


def format_time(ns: float | None) -> str:
    """A duration given in nanoseconds with 3 significant digits in ns, µs, ms or s."""
    if not finite(ns):
        return MISSING
    ns = float(ns)  # type: ignore[arg-type]
    if ns == 0:
        return "0 ns"
    # Round to 3 significant digits before picking the unit, so 999.7 ns reads '1.00 µs'.
    rounded = float(f"{abs(ns):.3g}")
    sign = "-" if ns < 0 else ""
    for name, scale in _TIME_UNITS:
        if rounded >= scale:
            v = rounded / scale
            return f"{sign}{v:.{sig_decimals(v)}f} {name}"
    return f"{sign}{rounded:.{sig_decimals(rounded)}f} ns"


def format_bytes(n: float | None) -> str:
    """Bytes in B, KiB, MiB or GiB with one decimal."""
    if not finite(n):
        return MISSING
    value = float(n)  # type: ignore[arg-type]
    for unit, size in _BYTE_UNITS:
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def format_x(x: float | None) -> str:
    """A ratio such as ``38.7×``."""
    return MISSING if not finite(x) else f"{sig(float(x))}×"  # type: ignore[arg-type]


def format_ratio(point: float, lo: float, hi: float) -> str:
    """A ratio with its CI, e.g. '23.4× [21.0×, 25.9×]' (3 significant digits on the point)."""
    # One precision for all three numbers so the bounds line up with the point estimate.
    d = sig_decimals(point)
    return f"{point:.{d}f}× [{lo:.{d}f}×, {hi:.{d}f}×]"


def format_percent(x: float | None, decimals: int = 2) -> str:
    """A relative change as a signed percentage, e.g. 0.1 -> '+10.00%'."""
    return MISSING if not finite(x) else f"{float(x) * 100:+.{decimals}f}%"  # type: ignore[arg-type]


def format_share(share: float | None, decimals: int = 1) -> str:
    """A share 0..1 as ``12.3 %``."""
    return MISSING if not finite(share) else f"{100 * float(share):.{decimals}f} %"  # type: ignore[arg-type]


def format_count(n: float | None) -> str:
    """A count with thousands separators."""
    if not finite(n):
        return MISSING
    return f"{float(n):,.0f}" if float(n).is_integer() else sig(float(n))  # type: ignore[arg-type]


def format_value(value: float | None, unit: str) -> str:
    """A figure in its unit: ``ns`` as a duration, ``bytes`` in binary units, anything else as a count with it."""
    if not finite(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if unit == "bytes":
        return format_bytes(v)
    scale = {"ns": 1.0, "nanoseconds": 1.0, "milliseconds": 1e6, "seconds": 1e9}.get(unit)
    if scale is not None:
        return format_time(v * scale)
    if unit in ("none", "", "count"):
        return format_count(v)
    return f"{format_count(v)} {unit}"


def format_points(x: float | None) -> str:
    """A change of a share in percentage points, e.g. 0.012 -> '+1.20 pp'."""
    return MISSING if not finite(x) else f"{float(x) * 100:+.2f} pp"  # type: ignore[arg-type]


def format_p_value(p: float | None) -> str:
    """A p-value for a table ("exact" for deterministic counts)."""
    if p is None:
        return "exact"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_when(ts: float | None) -> str:
    """A Unix time as a readable UTC timestamp."""
    if ts is None:
        return "unknown"
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
