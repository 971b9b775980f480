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


if __name__ == "__main__":
    main()
