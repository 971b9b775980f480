"""The ``facegen`` command line: one click group, one function per command.

Results go to stdout, diagnostics and progress to stderr; usage errors exit with status 2.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facegen")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Render controlled face images from 3D morphable face models.

    \b
    Quick start:
      facegen sample --out out/mini        # the default 'mini' design on the embedded model
      facegen model info                   # what the embedded model contains
      facegen model preview --out sheet.png
    """
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")


@main.group()
def model() -> None:
    """Inspect, export, preview and build face models.

    MODEL is 'embedded' (the default model shipped with facegen) or a path to a model file or
    folder: facegen .npz, ICT-FaceKit folder, Surrey .bin, Basel 2009 .mat / 2017 .h5, FLAME .pkl/.npz.
    """


def _load(spec: str):
    from .model import ModelFileError, load_model

    try:
        return load_model(spec)
    except ModelFileError as e:
        raise click.BadParameter(str(e), param_hint="MODEL") from None


@model.command("info")
@click.argument("model_spec", metavar="MODEL", default="embedded")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of text.")
def model_info(model_spec: str, as_json: bool) -> None:
    """Print a summary of MODEL: sizes, modes, expressions, factors, provenance."""
    from .model.summary import summarize

    info = summarize(_load(model_spec))
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            click.echo(f"{k:>20}: {v}")

@model.command("export")
@click.argument("model_spec", metavar="MODEL", default="embedded")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Mesh file to write: .obj (with vertex colours) or .ply (binary).")
@click.option("--seed", type=int, help="Export a random identity drawn with this seed (default: the mean face).")
@click.option("--gender", help="Gender level of the model (default: its first).")
@click.option("--ethnicity", help="Ethnicity level of the model (default: its first).")
@click.option("--age", type=float, help="Age in years (default: the model's reference age).")
@click.option("--expression", default="neutral", show_default=True, help="A named expression of the model.")
@click.option("--intensity", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Expression intensity.")
def model_export(model_spec, out, seed, gender, ethnicity, age, expression, intensity) -> None:
    """Write one face of MODEL as a mesh in millimetres (OBJ or PLY)."""
    from .model.preview import export_mesh, face_for

    if not out.lower().endswith((".obj", ".ply")):
        raise click.BadParameter(f"{out!r}: expected a .obj or .ply file name", param_hint="--out")
    m = _load(model_spec)
    try:
        v, a = face_for(m, seed=seed, gender=gender, ethnicity=ethnicity, age=age, expression=expression,
                        intensity=intensity)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    export_mesh(v, m.triangles, a, out)
    click.echo(f"{out}: {m.n_vertices} vertices, {len(m.triangles)} triangles")


@model.command("preview")
@click.argument("model_spec", metavar="MODEL", default="embedded")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG contact sheet to write.")
@click.option("--size", type=click.IntRange(32, 1024), default=160, show_default=True, help="Tile size in pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random identities shown.")
def model_preview(model_spec, out, size, seed) -> None:
    """Render a contact sheet of MODEL: random identities, gender x age, ethnicity, the 7 expressions, yaw."""
    from .model.preview import contact_sheet

    contact_sheet(_load(model_spec), out, size=size, seed=seed)
    click.echo(out)


@model.command("build")
@click.argument("meshes", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with columns file,gender,ethnicity,age (one row per mesh).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.npz).")
@click.option("--shape-modes", type=click.IntRange(min=1), default=50, show_default=True,
              help="Identity shape modes to keep.")
@click.option("--texture-modes", type=click.IntRange(min=0), default=50, show_default=True,
              help="Identity texture modes to keep (meshes need vertex colours).")
@click.option("--name", default="built", show_default=True, help="Model name recorded in the file.")
def model_build(meshes, labels, out, shape_modes, texture_modes, name) -> None:
    """Build a model from registered MESHES (OBJ/PLY, one topology, millimetres): the GMF recipe.

    Fits a linear model of vertices (and vertex colours) on gender, ethnicity and age, and keeps the
    principal components of the residual as identity modes.

    \b
    Example:
      facegen model build scans/*.obj --labels labels.csv --out mymodel.npz
    """
    from .model import ModelFileError, save_npz
    from .model.build import build_from_files

    if not out.endswith(".npz"):
        raise click.BadParameter(f"{out!r}: expected a .npz file name", param_hint="--out")
    try:
        m = build_from_files(list(meshes), labels, n_shape=shape_modes, n_texture=texture_modes, name=name)
    except (ModelFileError, ValueError) as e:
        raise click.BadParameter(str(e)) from None
    save_npz(m, out)
    click.echo(f"{out}: {m.n_vertices} vertices, {m.n_shape} shape modes, {m.n_texture} texture modes")



def _design(preset_name: str | None, config: str | None):
    from .design import ConfigError, load_config, preset

    if preset_name and config:
        raise click.UsageError("give --preset or --config, not both")
    try:
        return load_config(config) if config else preset(preset_name or "mini")
    except ConfigError as e:
        raise click.BadParameter(str(e), param_hint="--config" if config else "--preset") from None


@main.command("sample")
@click.option("--preset", "preset_name", metavar="NAME",
              help="A named design: mini (default), xu2018, ... (see --list-presets).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="A YAML design file.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder for shards and manifest.json.")
@click.option("--print-config", is_flag=True, help="Print the design as YAML (every default filled in) and exit.")
@click.option("--list-presets", is_flag=True, help="List the preset names with their sizes and exit.")
@click.option("--limit", type=click.IntRange(min=1), help="Keep only the first N samples of the design.")
@click.option("--shards", "shard_slice", metavar="A:B", help="Produce only shards A..B-1 of the run (run order).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Local worker processes.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run shards in local processes or as tasks on a Ray cluster.")
@click.option("--ray-address", metavar="ADDR", help="Ray cluster address (with --backend ray); default: start a local Ray.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar; log lines only.")
def sample(preset_name, config, out, print_config, list_presets, limit, shard_slice, workers, backend,
           ray_address, quiet) -> None:
    """Render a factor design into WebDataset shards.

    Writes OUT/{split}-{000000..}.tar and OUT/manifest.json. Every sample's factors come from
    (seed, identity, sample index) alone, so results are byte-identical whatever --workers,
    --backend or --shards; rerunning the same command after an interruption finishes the job.

    \b
    Examples:
      facegen sample --out out/mini                        # the default 'mini' preset
      facegen sample --preset xu2018 --print-config > my.yaml
      facegen sample --config my.yaml --out out/my --workers 8 --shards 0:100
    """
    from .design import PRESETS, ConfigError, preset

    if list_presets:
        for name in sorted(PRESETS):
            c = preset(name)
            click.echo(f"{name:>13}: {c.n_identities} identities, {c.n_samples:,} images at {c.image_size} px"
                       f" - {c.description}")
        return
    cfg = _design(preset_name, config)
    if print_config:
        click.echo(cfg.to_yaml(), nl=False)
        return
    if not out:
        raise click.UsageError("--out is required (the folder to write shards into)")
    if ray_address and backend != "ray":
        raise click.BadParameter("--ray-address needs --backend ray", param_hint="--ray-address")
    from .generate import generate

    if quiet:
        logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    try:
        res = generate(cfg, out, workers=workers, shards=shard_slice, limit=limit, backend=backend,
                       ray_address=ray_address, progress=not quiet)
    except ConfigError as e:
        raise click.BadParameter(str(e)) from None
    m = res.manifest
    splits = ", ".join(f"{k}: {v['samples']}" for k, v in m["splits"].items())
    click.echo(f"{res.out}: {res.written} shards written, {res.skipped} already done; "
               f"{len(m['shards'])}/{m['planned_shards']} shards present ({splits})"
               + ("" if m["complete"] else " - incomplete: rerun to finish"))


@main.command("inspect")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--sheet", type=click.Path(dir_okay=False), help="Contact sheet PNG path (default DIR/contact_sheet.png).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect_cmd(directory, sheet, as_json) -> None:
    """Validate every shard in DIRECTORY against manifest.json and the record schema.

    Prints counts per factor level and writes a contact sheet PNG. Exits with status 1 when any
    shard is missing, corrupted or holds invalid records.
    """
    from .inspect import inspect_dataset

    rep = inspect_dataset(Path(directory), sheet=Path(sheet) if sheet else Path(directory) / "contact_sheet.png")
    if as_json:
        click.echo(json.dumps(rep, indent=1))
    else:
        click.echo(rep["text"])
    if rep["problems"]:
        for p in rep["problems"]:
            click.echo(f"problem: {p}", err=True)
        raise SystemExit(1)


def _register() -> None:
    from .datasets.cli import datasets_group, datasheet_cmd, download_cmd

    for cmd in (download_cmd, datasheet_cmd, datasets_group):
        main.add_command(cmd)


_register()

if __name__ == "__main__":
    main()
