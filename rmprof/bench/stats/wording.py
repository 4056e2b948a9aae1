"""Verdicts in Criterion.rs wording, so that reports read the same as the Rust benches people know."""

from rmprof.formatting import format_percent

MESSAGES = {
    "improved": "Performance has improved.",
    "regressed": "Performance has regressed.",
    "no change": "No change in performance detected.",
    "within noise": "Change within noise threshold.",
}


def format_comparison(result: dict[str, object]) -> str:
    """Render a compare()/compare_exact() result in Criterion.rs wording on two lines."""
    change = result["change"]
    ci = result["ci95"]
    p = result["p_value"]
    confidence = result.get("confidence", 0.95)
    if not isinstance(change, float):
        raise TypeError("result['change'] must be a float")
    if not isinstance(ci, list) or not isinstance(p, float) or not isinstance(confidence, float):
        line = f"change: {format_percent(change)} (exact)"
    else:
        alpha = 1.0 - confidence
        rel = "<" if p < alpha else ">="
        line = (
            f"change: [{format_percent(ci[0])} {format_percent(change)} {format_percent(ci[1])}]"
            f" (p = {p:.2f} {rel} {alpha:.2f})"
        )
    return f"{line}\n{result['message']}"
