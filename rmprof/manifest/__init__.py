"""Manifest v1: the JSON description of a pipeline (nodes and connections)."""

from rmprof.manifest.load import load_manifest, parse_manifest
from rmprof.manifest.model import Connection, Manifest, Node

__all__ = ["Connection", "Manifest", "Node", "load_manifest", "parse_manifest"]
