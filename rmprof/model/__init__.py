"""rmprof's documents as types, their JSON Schemas and the one way to read them back.

- ``run``, ``bench``, ``node_timing``, ``compare``: TypedDicts of results.json (``rmprof.run/1``), the bench
  document (``rmprof.bench/1``), one instrumented pass and compare.json (``rmprof.compare/1``). The JSON stays
  plain dicts; these name their keys for readers and producers (annotations, not a conversion).
- ``schemas``: the schema files beside the package's modules (``rmprof/*.schema.json``) and checking a value.
- ``load``: reading a document from a file, checked; a one-line ``RmprofError`` when it cannot be used.
"""
