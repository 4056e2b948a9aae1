"""``rmprof scenarios``: list the shipped scenarios."""

from __future__ import annotations

import click

from rmprof.commands.common import echo_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def scenarios(as_json: bool) -> None:
    """List the shipped scenarios: name, nodes, items, description (a table that fits the terminal)."""
    from rmprof.scenarios import get_scenario, scenario_names

    rows = []
    for name in scenario_names():
        sc = get_scenario(name)
        rows.append(
            {
                "name": name,
                "nodes": len(sc.manifest.nodes),
                "items": len(sc.items),
                "iterations": sc.iterations,
                "description": sc.description,
            }
        )
    if as_json:
        echo_json(rows)
        return
    from rmprof.report.terminal import emit, make_console, new_table, to_text

    console = make_console()
    table = new_table(console, "name", "nodes", "items", "description")
    table.columns[0].no_wrap = True  # names are typed back in --scenario: never broken over lines
    for column in table.columns[1:3]:
        column.justify = "right"
    for r in rows:
        table.add_row(to_text(r["name"], "bold"), to_text(r["nodes"]), to_text(r["items"]), to_text(r["description"]))
    emit(console, [table])
