"""compare.json's ``environment``: both sides' environments field by field, warning where a difference makes
the comparison suspect."""

from __future__ import annotations

from typing import Any

# Environment fields shown side by side; the ones in WARN_FIELDS make a comparison suspect when they differ.
ENV_FIELDS = ("cpu", "cores", "machine", "os", "python", "python_implementation", "rustc", "git_commit")
WARN_FIELDS = {"cpu": "CPU", "python": "Python", "git_commit": "git commit"}


def environment_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Both environments field by field, with a warning for each differing CPU / Python / git commit."""
    b = before["environment"]
    a = after["environment"]
    fields, warnings = [], []
    for key in ENV_FIELDS:
        bv, av = b.get(key), a.get(key)
        differs = bv != av
        fields.append(
            {"field": key, "before": bv, "after": av, "differs": differs, "warn": differs and key in WARN_FIELDS}
        )
        if differs and key in WARN_FIELDS:
            warnings.append(f"{WARN_FIELDS[key]} differs: {bv} (before) vs {av} (after)")
    b_pk, a_pk = b.get("packages") or {}, a.get("packages") or {}
    for name in sorted(set(b_pk) | set(a_pk)):
        bv, av = b_pk.get(name), a_pk.get(name)
        fields.append({"field": f"package {name}", "before": bv, "after": av, "differs": bv != av, "warn": False})
    return {"fields": fields, "warnings": warnings}
