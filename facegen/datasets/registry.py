"""A registry of named dataset releases (as torchvision / tensorflow-datasets / HF users know them).

Each :class:`Release` pins a manifest by URL *and* sha256. The manifest in turn lists every shard's
size and sha256, so one hash in the registry fixes every byte of a release: a manifest that was
changed or tampered with is refused before anything is downloaded, and a changed shard fails its
manifest check. ``releases.json`` beside this module holds the presets' releases; nothing is
published yet, so their status is ``"not yet published"``, their URL a template and their hash
null, to be filled in at release time (``render_release_entry`` computes the entry from a
rendered folder). Other registries (a lab's own releases) load with :func:`load_registry`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Release", "Registry", "RegistryError", "load_registry", "default_registry", "config_sha256",
           "release_entry", "RELEASES_FILE", "PUBLISHED", "UNPUBLISHED"]

RELEASES_FILE = Path(__file__).with_name("releases.json")
PUBLISHED, UNPUBLISHED = "published", "not yet published"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class RegistryError(ValueError):
    """A release name is unknown, unpublished, or a registry file is malformed."""


def config_sha256(config: dict) -> str:
    """sha256 of a design config's canonical JSON (sorted keys, no spaces): pins the design."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Release:
    """One named, versioned release.

    ``manifest_url`` is where the manifest lives once published (for unpublished releases, the
    planned location, with ``{owner}`` still to be chosen); ``manifest_sha256`` the sha256 of its
    exact bytes; ``config_sha256`` that of the design config (:func:`config_sha256`); ``samples``
    and ``splits`` the expected image counts; ``datasheet`` a path relative to the repository root.
    """

    name: str
    version: str
    title: str
    status: str
    manifest_url: str | None
    manifest_sha256: str | None
    license: str
    datasheet: str
    preset: str | None = None
    config_sha256: str | None = None
    samples: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def published(self) -> bool:
        return self.status == PUBLISHED

    def require_published(self) -> str:
        """The manifest URL; raises RegistryError with what to do instead when unpublished."""
        if not self.published:
            how = (f" Render it yourself with `facegen sample --preset {self.preset} --out DIR` and load DIR."
                   if self.preset else "")
            raise RegistryError(f"release {self.name!r} {self.version} is {self.status}; there is nothing to "
                                f"download yet.{how}")
        return self.manifest_url  # type: ignore[return-value]


def _release(d: Any, where: str) -> Release:
    if not isinstance(d, dict):
        raise RegistryError(f"{where}: expected an object, got {type(d).__name__}")
    known = set(Release.__dataclass_fields__)
    unknown = set(d) - known
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")
    try:
        r = Release(**d)
    except TypeError as e:
        raise RegistryError(f"{where}: {e}") from None
    if r.status not in (PUBLISHED, UNPUBLISHED):
        raise RegistryError(f"{where}: status {r.status!r}; allowed: {[PUBLISHED, UNPUBLISHED]}")
    if r.published and (not r.manifest_url or not isinstance(r.manifest_sha256, str)
                        or not _HEX64.match(r.manifest_sha256)):
        raise RegistryError(f"{where}: a published release needs manifest_url and a 64-hex manifest_sha256 "
                            f"(got {r.manifest_url!r}, {r.manifest_sha256!r})")
    if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", r.name):
        raise RegistryError(f"{where}: name {r.name!r} must be lowercase letters, digits, '_', '-', '.'")
    return r


@dataclass(frozen=True)
class Registry:
    """Releases by name; ``get('mini')`` gives the newest version, ``get('mini@1.0')`` a given one."""

    entries: tuple[Release, ...]

    def releases(self) -> list[Release]:
        return sorted(self.entries, key=lambda r: (r.name, _vkey(r.version)))

    def names(self) -> list[str]:
        return sorted({r.name for r in self.entries})

    def get(self, name: str) -> Release:
        base, _, version = name.partition("@")
        hits = [r for r in self.entries if r.name == base and (not version or r.version == version)]
        if not hits:
            known = [f"{r.name}@{r.version}" for r in self.releases()]
            raise RegistryError(f"no release {name!r} in the registry; known: {known} "
                                "(or give a manifest URL, hf:// location or dataset folder)")
        return max(hits, key=lambda r: _vkey(r.version))

    def __contains__(self, name: str) -> bool:
        base, _, version = name.partition("@")
        return any(r.name == base and (not version or r.version == version) for r in self.entries)


def _vkey(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", v))


def load_registry(path: str | Path) -> Registry:
    """Read a releases JSON file: ``{"schema": "facegen.releases/1", "releases": [{...}, ...]}``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RegistryError(f"{path}: cannot read a releases file: {e}") from None
    if (not isinstance(doc, dict) or doc.get("schema") != "facegen.releases/1"
            or not isinstance(doc.get("releases"), list)):
        raise RegistryError(f"{path}: expected {{'schema': 'facegen.releases/1', 'releases': [...]}}")
    entries = tuple(_release(d, f"{path}: releases[{i}]") for i, d in enumerate(doc["releases"]))
    seen = set()
    for r in entries:
        if (r.name, r.version) in seen:
            raise RegistryError(f"{path}: release {r.name}@{r.version} appears twice")
        seen.add((r.name, r.version))
    return Registry(entries)


def default_registry() -> Registry:
    """The registry shipped with facegen (``facegen/datasets/releases.json``)."""
    return load_registry(RELEASES_FILE)


def release_entry(directory: str | Path, *, name: str, version: str, manifest_url: str, license: str,
                  title: str = "", datasheet: str = "") -> dict:
    """The registry entry of a rendered, complete dataset folder about to be published at ``manifest_url``."""
    from ..shards.manifest import read_manifest

    d = Path(directory)
    m = read_manifest(d)
    if not m.get("complete"):
        raise RegistryError(f"{d}: the run is incomplete; finish it before publishing")
    return Release(name=name, version=version, title=title or m.get("name", name), status=PUBLISHED,
                   manifest_url=manifest_url,
                   manifest_sha256=hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest(),
                   license=license, datasheet=datasheet, preset=None, config_sha256=config_sha256(m["config"]),
                   samples=sum(s["samples"] for s in m["shards"]),
                   splits={k: v["samples"] for k, v in m["splits"].items()},
                   description=m["config"].get("description", "")).to_dict()
