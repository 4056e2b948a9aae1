"""Which compiled builds a run measures, and a refusal to measure an extension beside a binary of another build.

The bench's "boundary" is an in-process runtime's run time minus its standalone binary's (rust minus rust-bin):
it means something only when both run one build of the Rust code. Each runtime names its build
(``Runtime.build_identity``); the ``build_id`` inside (rust_runtime/src/build_info.rs) is the same for the
extension and the binary of one build, whatever their cargo features.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rmprof.errors import RmprofError

ALLOW_FLAG = "--allow-mixed-builds"


def build_identities(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{runtime: identity}`` for each runtime in ``names`` that runs a compiled build of its own and is
    available here (the bench document's ``"builds"``; see ``Runtime.build_identity`` for the shapes)."""
    from rmprof.runtimes import get_runtime

    found: dict[str, dict[str, Any]] = {}
    for name in names:
        runtime = get_runtime(name)
        if runtime.unavailable_reason() is not None:
            continue
        identity = runtime.build_identity()
        if identity is not None:
            found[name] = identity
    return found


def build_id(identity: dict[str, Any] | None) -> str | None:
    """The build id an identity carries, or None when the artifact cannot tell."""
    value = (identity or {}).get("build_id")
    return value if isinstance(value, str) else None


def mixed_pairs(builds: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Each (extension runtime, its standalone binary runtime), both in ``builds``, that are not shown to be
    one build: different build ids, or one that cannot tell."""
    pairs = []
    for name, identity in builds.items():
        partner = identity.get("standalone")
        if identity.get("kind") != "extension" or partner not in builds:
            continue
        ours, theirs = build_id(identity), build_id(builds[partner])
        if ours is None or theirs is None or ours != theirs:
            pairs.append((name, partner))
    return pairs


def describe(name: str, identity: dict[str, Any]) -> str:
    """One runtime's build in a few words: ``rust-bin /path (build 1a2b..., from PATH)``."""
    ident = build_id(identity)
    build = f"build {ident}" if ident else "build unknown: it has no build info (built before rmprof named builds)"
    source = identity.get("source")
    return f"{name} {identity.get('path')} ({build}{f', from {source}' if source else ''})"


def mixed_message(builds: dict[str, dict[str, Any]], pairs: list[tuple[str, str]]) -> str:
    """The one-line refusal naming both builds of every mixed pair."""
    parts = [
        f"{ext} and {binary} are not one build, so the boundary between them would mean nothing: "
        f"{describe(ext, builds[ext])} vs {describe(binary, builds[binary])}"
        for ext, binary in pairs
    ]
    return "; ".join(parts) + f"; rebuild both with ./scripts/setup.sh, or pass {ALLOW_FLAG} to measure them anyway"


def check_builds(names: Iterable[str], allow_mixed: bool = False) -> None:
    """Refuse (RmprofError, exit 2) to measure an extension and its standalone binary of different builds among
    ``names``, unless ``allow_mixed``. Runs before anything is measured; asks only the paired runtimes."""
    from rmprof.runtimes import get_runtime

    wanted = list(dict.fromkeys(names))
    paired = [n for n in wanted if get_runtime(n).standalone in wanted]
    if allow_mixed or not paired:
        return
    builds = build_identities([*paired, *(get_runtime(n).standalone for n in paired)])
    pairs = mixed_pairs(builds)
    if pairs:
        raise RmprofError(mixed_message(builds, pairs))


def measured_runtimes(manifests: Iterable[Any], runtimes: Iterable[str] | None) -> list[str]:
    """The runtimes a bench of ``manifests`` measures: those chosen, else every one that applies to some
    manifest (as the harness picks them per scenario)."""
    chosen = list(runtimes or [])
    if chosen:
        return chosen
    from rmprof.runtimes import default_runtimes

    names: list[str] = []
    for manifest in manifests:
        names.extend(default_runtimes(manifest))
    return list(dict.fromkeys(names))


def build_rows(builds: Any) -> list[dict[str, str]]:
    """A bench document's ``builds`` block as table rows for the report: runtime, kind, path, what chose it,
    build id, and the build's details (profile, compiler, commit, features); a mixed pair adds a ``warning``."""
    if not isinstance(builds, dict):
        return []
    mixed = {name for pair in mixed_pairs({k: v for k, v in builds.items() if isinstance(v, dict)}) for name in pair}
    rows = []
    for name, identity in builds.items():
        if not isinstance(identity, dict):
            continue
        build = identity.get("build") if isinstance(identity.get("build"), dict) else {}
        profile = build.get("profile") if isinstance(build.get("profile"), dict) else {}
        git = build.get("git") if isinstance(build.get("git"), dict) else {}
        details = [
            f"{profile.get('name')} (opt-level {profile.get('opt_level')})" if profile.get("name") else "",
            str(build.get("rustc") or ""),
            f"commit {str(git['commit'])[:12]}{' + uncommitted changes' if git.get('dirty') else ''}"
            if git.get("commit")
            else "",
            f"features {', '.join(str(f) for f in build.get('features') or []) or 'none'}" if build else "",
        ]
        rows.append(
            {
                "runtime": str(name),
                "kind": str(identity.get("kind") or ""),
                "path": str(identity.get("path") or ""),
                "source": str(identity.get("source") or ""),
                "build_id": build_id(identity) or "unknown",
                "details": "; ".join(d for d in details if d),
                "warning": "not the same build as its partner: the boundary between them means nothing"
                if name in mixed
                else "",
            }
        )
    return rows
