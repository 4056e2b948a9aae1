"""The one place HTML pages are made: one jinja environment and one rule for inlining CSS and JavaScript.

report.html, compare.html and the single-profile flame page are each one self-contained file: their templates
(templates/, packaged as rmprof/templates) escape every value (names come from user manifests and profiles),
and the stylesheets and scripts they inline are made unable to close their own element early.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import rmprof

TEMPLATES = Path(rmprof.__file__).resolve().parent / "templates"


@functools.cache
def environment() -> Any:
    """The jinja environment: autoescaped, strict about undefined names, the formatters as filters."""
    import jinja2

    from rmprof import formatting

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # always on: scenario, runtime and frame names come from user manifests and profiles
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=formatting.format_time,
        bytes=formatting.format_bytes,
        pct=formatting.format_percent,
        value=formatting.format_value,
        weight=formatting.format_value,
        share=lambda x: formatting.format_share(x, 2),
        pp=formatting.format_points,
        pvalue=formatting.format_p_value,
        when=formatting.format_when,
    )
    return env


def asset(name: str) -> Any:
    """A CSS or JavaScript file of the templates folder, safe to inline in <style> or <script>."""
    from markupsafe import Markup

    text = (TEMPLATES / name).read_text(encoding="utf-8")
    # Inlined code must not close its own element early ("</script>" inside a string, say).
    return Markup(text.replace("</", "<\\/"))


def render(template: str, **context: Any) -> str:
    """The page of the template file ``template`` with ``context``."""
    return environment().get_template(template).render(**context)


def render_string(template_text: str, **context: Any) -> str:
    """The page of the template text ``template_text`` with ``context``."""
    return environment().from_string(template_text).render(**context)
