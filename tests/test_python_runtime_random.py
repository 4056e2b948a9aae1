"""Random pipelines and inputs: the asyncio runtime agrees with an independent sequential reference."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from rmprof.errors import PipelineError
from rmprof.manifest import parse_manifest
from rmprof.runtimes import get_runtime
from rmprof.values import first_difference
from tests.conftest import examples
from tests.pipelines import pipelines, reference


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_asyncio_runtime_matches_reference(case) -> None:
    doc, data = case
    expected, expected_error = reference(doc, data)
    manifest = parse_manifest(json.dumps(doc))
    with get_runtime("python").prepare(manifest) as prepared:
        try:
            outputs = prepared.run(data)
        except PipelineError as exc:
            assert expected_error == (exc.node, exc.item), exc.message
            return
    assert expected_error is None, f"reference failed at {expected_error}, runtime did not"
    assert list(outputs) == list(expected)
    assert first_difference(expected, outputs) is None
