"""``rmprof compare``: before/after statistics, differential profiles, named baselines."""

from __future__ import annotations

from rmprof.compare.baselines import baseline_dir, baselines_root, list_baselines, save_baseline
from rmprof.compare.diff import compare_runs
from rmprof.compare.profile_diff import diff_profiles, top_movers
from rmprof.compare.sides import load_side

__all__ = [
    "baseline_dir",
    "baselines_root",
    "compare_runs",
    "diff_profiles",
    "list_baselines",
    "load_side",
    "save_baseline",
    "top_movers",
]
