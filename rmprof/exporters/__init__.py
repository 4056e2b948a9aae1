"""Exporters: the Profile model written in other tools' formats (speedscope JSON, folded stacks)."""

from rmprof.exporters.folded import to_folded
from rmprof.exporters.speedscope import SCHEMA_URL, from_speedscope, to_speedscope, validate_speedscope

__all__ = ["SCHEMA_URL", "from_speedscope", "to_folded", "to_speedscope", "validate_speedscope"]
