"""Reading sampled figures out of a side's documents: the one check every compared sample list passes."""

from __future__ import annotations

import math
from typing import Any


def usable_samples(samples: Any) -> list[float] | None:
    """Samples as floats when there are any and all are positive (a ratio of medians needs that)."""
    if not isinstance(samples, list) or not samples:
        return None
    try:
        xs = [float(x) for x in samples]
    except (TypeError, ValueError):
        return None
    return xs if min(xs) > 0 and all(math.isfinite(x) for x in xs) else None
