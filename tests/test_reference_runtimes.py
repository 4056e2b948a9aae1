"""The reference runtimes (the fused floors) are registered once, in rmprof/runtimes/, under the names the
bench, report and compare documents have always used."""

from __future__ import annotations

import pytest

from rmprof import runtimes
from rmprof.errors import RmprofError


def test_the_floors_are_registered_as_references_not_as_runtimes() -> None:
    assert (runtimes.PYTHON_FUSED, runtimes.RUST_FUSED) == ("python-fused", "rust-fused")
    assert list(runtimes.REFERENCE_RUNTIMES) == ["python-fused", "rust-fused"]
    for name in runtimes.REFERENCE_RUNTIMES:
        assert name not in runtimes.runtime_names()  # never a choice of -r, never gated
        with pytest.raises(RmprofError, match=f"unknown runtime '{name}'"):
            runtimes.get_runtime(name)


def test_every_reader_of_the_floors_uses_the_registry_names() -> None:
    from rmprof.analysis.summary import analyse
    from rmprof.compare.machine import reference_kind
    from rmprof.report.view_common import runtime_label

    assert runtime_label("python-fused") == "python-fused (plain Python loop)"
    assert runtime_label("rust-fused") == "rust-fused (plain Rust loop)"
    assert (reference_kind("python-fused"), reference_kind("rust-fused")) == ("python", "native")
    speedups = {"rust": {"run": {"speedup": 3.0}}, "python-fused": {"run": {"speedup": 9.0}},
                "rust-fused": {"run": {"speedup": 40.0}}}  # fmt: skip
    headline = analyse({"speedups": speedups}, {})["headline"]
    assert (headline["fastest_runtime"], headline["speedup"]) == ("rust", 3.0)  # a floor is never the fastest
