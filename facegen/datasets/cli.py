"""Click commands for released datasets: ``download``, ``datasheet`` and the ``datasets`` group.

Registered on the ``facegen`` group by facegen/cli.py (``main.add_command(download_cmd)`` ...).
Results go to stdout, diagnostics and progress bars to stderr; usage errors exit 2, failed
downloads and refused manifests exit 1.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from .._safe_text import safe_text

__all__ = ["download_cmd", "datasheet_cmd", "datasets_group", "COMMANDS"]

log = logging.getLogger(__name__)


def _registry(path: str | None):
    from .registry import RegistryError, default_registry, load_registry

    try:
        return load_registry(path) if path else default_registry()
    except RegistryError as e:
        raise click.BadParameter(str(e), param_hint="--registry") from None


class _DeadlineType(click.ParamType):
    """``auto`` or a number of seconds > 0."""

    name = "auto|SECONDS"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        elif str(value).strip().lower() == "auto":
            return "auto"
        else:
            try:
                seconds = float(value)
            except ValueError:
                self.fail(f"{safe_text(repr(value), limit=60)}: expected 'auto' or a number of seconds > 0", param, ctx)
        if not 0 < seconds < float("inf"):
            self.fail(f"{safe_text(repr(value), limit=60)}: expected 'auto' or a number of seconds > 0", param, ctx)
        return seconds


@click.command("download")
@click.argument("source", metavar="SOURCE")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to download the shards into.")
@click.option("--split", help="Download only this split's shards (e.g. train).")
@click.option("--shards", "shard_slice", metavar="A:B",
              help="Download only shards A..B-1 (after --split), in manifest order.")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=4, show_default=True,
              help="Parallel downloads.")
@click.option("--verify", is_flag=True, help="Re-hash shards already in --out and fetch again any that differ (each old file stays "
                   "until its new copy verifies).")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Retries per shard after a dropped connection, timeout or 5xx answer.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds any one connect or read may wait for data before the connection counts as dropped "
                   "(and is retried).")
@click.option("--deadline", type=_DeadlineType(), default="auto", show_default=True,
              help="Limit for the whole command, in seconds, slow or trickling servers included. auto: 600 s for "
                   "the manifest, then 600 s plus the bytes still to fetch at 256 KiB/s. When it passes the "
                   "command fails; verified shards stay, partial files stay as NAME.part and a rerun resumes them.")
@click.option("--replace", is_flag=True,
              help="Allow replacing shards already in --out that this manifest lists with another size or sha256 "
                   "(a new release into the same folder). Each old file stays until its replacement has been "
                   "downloaded and verified. Without it such a download is refused before anything is fetched.")
@click.option("--registry", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="A releases JSON file to resolve SOURCE names in (default: the built-in registry).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def download_cmd(source, out, split, shard_slice, workers, verify, retries, timeout, deadline, replace, registry_path,
                 quiet) -> None:
    """Download and verify the shards of a released dataset.

    SOURCE is a release name from `facegen datasets list`, a manifest URL (http, https, file,
    hf://datasets/OWNER/NAME[@REV]), a manifest file, or a dataset folder. Every shard is written
    as NAME.part, resumed after dropped connections, checked against the manifest's size and
    sha256 and only then renamed over NAME; rerun the command to finish an interrupted download.

    The whole manifest is checked before anything is fetched: names must stay inside --out and
    fit side by side (no file that another name needs as a folder, no names equal but for case,
    within NAME_MAX and PATH_MAX, printable). Shards already in --out are kept; one that this
    manifest lists with another size or sha256 than the manifest that put it there is replaced
    only with --replace, and never before its replacement verifies. A Hugging Face token is sent
    only to the host, port and scheme it was given for, and never over plain http to another
    machine.

    \b
    Examples:
      facegen download https://example.org/facegen-mini/manifest.json --out data/mini
      facegen download hf://datasets/OWNER/facegen-mini --out data/mini --split test
      facegen download data/mini --out copy --verify
      facegen download https://example.org/facegen-mini-v2/manifest.json --out data/mini --replace
    """
    from .download import DownloadError, UnsafeManifestError, download

    reg = _registry(registry_path)
    expected = None
    if "://" not in source and not Path(source).exists():
        from .registry import RegistryError

        try:
            rel = reg.get(source)
            source, expected = rel.require_published(), rel.manifest_sha256
        except RegistryError as e:
            raise click.BadParameter(str(e), param_hint="SOURCE") from None
    try:
        res = download(source, out, split=split, shards=shard_slice, workers=workers, verify=verify,
                       retries=retries, timeout=timeout, deadline=deadline, replace=replace, progress=not quiet,
                       expected_manifest_sha256=expected)
    except UnsafeManifestError as e:
        raise click.ClickException(safe_text(f"refused: {e}", keep_newlines=True)) from None
    except DownloadError as e:
        raise click.ClickException(safe_text(e, keep_newlines=True)) from None
    except ValueError as e:
        msg = str(e)
        hint = "--split" if "--split" in msg else "--shards" if "--shards" in msg else "--out" if "--out" in msg \
            else "SOURCE"
        raise click.BadParameter(safe_text(msg, keep_newlines=True), param_hint=hint) from None
    replaced = f" ({len(res.replaced)} replaced)" if res.replaced else ""
    click.echo(f"{res.out}: {len(res.fetched)} shards fetched{replaced}, {len(res.present)} already present"
               f"{' (re-hashed)' if verify else ''}; manifest sha256 {res.manifest.sha256}")


@click.command("datasheet")
@click.argument("directory", type=click.Path(exists=True, file_okay=False), required=False)
@click.option("--preset", "preset_name", metavar="NAME",
              help="Print the datasheet of a preset design (exact expected counts) to stdout instead.")
@click.option("--counts", type=click.Choice(["auto", "shards", "design"]), default="auto", show_default=True,
              help="Count factor levels by reading every record in the shards, or exactly from the design "
                   "(auto: shards up to 1,000,000 samples).")
@click.option("--model-info/--no-model-info", default=True, show_default=True,
              help="Load the face model named in the manifest to report its provenance, licence and groups.")
def datasheet_cmd(directory, preset_name, counts, model_info) -> None:
    """Write DIRECTORY/datasheet.md and DIRECTORY/croissant.json.

    The datasheet follows Gebru et al.'s Datasheets for Datasets (seven sections) and starts with
    Hugging Face dataset-card YAML; its numbers are computed from manifest.json, the design config
    and the shards. croissant.json is MLCommons Croissant 1.0 metadata for the shards and records.

    \b
    Examples:
      facegen datasheet out/mini
      facegen datasheet --preset xu2018 > datasheets/xu2018.md
    """
    from ..shards.manifest import ManifestError
    from .datasheet import datasheet_for_design, write_datasheet

    if (directory is None) == (preset_name is None):
        raise click.UsageError("give DIRECTORY or --preset NAME (one of them)")
    if preset_name:
        from ..design import ConfigError, preset

        try:
            cfg = preset(preset_name)
        except ConfigError as e:
            raise click.BadParameter(str(e), param_hint="--preset") from None
        click.echo(datasheet_for_design(cfg, load_model_info=model_info), nl=False)
        return

    try:
        p = write_datasheet(Path(directory), counts=counts, load_model_info=model_info)
    except ManifestError as e:
        raise click.BadParameter(str(e), param_hint="DIRECTORY") from None
    click.echo(str(p))
    click.echo(str(p.with_name("croissant.json")))


@click.group("datasets")
def datasets_group() -> None:
    """Named dataset releases: list them and show one's details."""


@datasets_group.command("list")
@click.option("--registry", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="A releases JSON file (default: the built-in registry).")
@click.option("--json", "as_json", is_flag=True, help="Print the releases as JSON.")
def datasets_list(registry_path, as_json) -> None:
    """List the registered releases with version, status and size."""
    reg = _registry(registry_path)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reg.releases()], indent=1))
        return
    for r in reg.releases():
        click.echo(f"{r.name:>12} {r.version:>6}  {r.status:<18} {r.samples:>12,} images  {r.license:<8} "
                   f"{r.title}")


@datasets_group.command("info")
@click.argument("name")
@click.option("--registry", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="A releases JSON file (default: the built-in registry).")
@click.option("--json", "as_json", is_flag=True, help="Print the release as JSON.")
def datasets_info(name, registry_path, as_json) -> None:
    """Show one release: manifest URL and sha256, licence, splits, datasheet."""
    from .registry import RegistryError

    reg = _registry(registry_path)
    try:
        r = reg.get(name)
    except RegistryError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from None
    if as_json:
        click.echo(json.dumps(r.to_dict(), indent=1))
        return
    for k, v in r.to_dict().items():
        click.echo(f"{k:>16}: {v}")


COMMANDS = (download_cmd, datasheet_cmd, datasets_group)
