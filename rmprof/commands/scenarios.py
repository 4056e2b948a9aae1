"""``rmprof scenarios``: list the shipped scenarios."""

from __future__ import annotations

import click

from rmprof.commands.common import echo_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def scenarios(as_json: bool) -> None:
    """List the shipped scenarios: name, nodes, items, description."""
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
    click.echo(f"{'name':<10} {'nodes':>5} {'items':>6}  description")
    for r in rows:
        click.echo(f"{r['name']:<10} {r['nodes']:>5} {r['items']:>6}  {r['description']}")
