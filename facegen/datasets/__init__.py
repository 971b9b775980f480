"""Released datasets: verified downloads, datasheets, Croissant metadata and a registry of releases.

``download`` fetches and verifies shards; ``write_datasheet`` writes ``DIR/datasheet.md`` and
``DIR/croissant.json`` (called at the end of ``facegen sample``); ``default_registry`` lists the
named releases. The click commands live in :mod:`facegen.datasets.cli`.
"""
from .datasheet import datasheet_for_design, write_datasheet
from .download import DownloadError, DownloadResult, UnsafeManifestError, download, fetch_manifest
from .registry import Registry, RegistryError, Release, default_registry, load_registry

__all__ = ["download", "fetch_manifest", "DownloadError", "DownloadResult", "UnsafeManifestError",
           "write_datasheet", "datasheet_for_design", "Registry", "Release", "RegistryError", "default_registry",
           "load_registry"]
