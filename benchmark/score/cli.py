"""``benchmark score``: the click command (registered on the ``benchmark`` group by benchmark/cli.py)."""
from __future__ import annotations

import logging

import click

__all__ = ["score_command"]

log = logging.getLogger(__name__)


@click.command("score")
@click.option("--model", "model_spec", required=True, metavar="M",
              help="A RUN folder of 'benchmark train', a .onnx file, precomputed outputs (.npz/.safetensors or a "
                   "folder of them), or with --allow-code a TorchScript file or module:callable.")
@click.option("--probe", "probes", required=True, multiple=True, metavar="DIR|MANIFEST_URL",
              help="A probe dataset (facegen sample --preset probe-morph|probe-cue|probe-revcorr); repeat for each.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Report folder (scores.json, report.html).")
@click.option("--gallery", default=None, metavar="DIR",
              help="Canonical gallery renders for embedding models (default: rendered from the probe design).")
@click.option("--decision", type=click.Choice(["auto", "argmax", "gallery"]), default="auto", show_default=True,
              help="Identity decisions: argmax of a classifier trained on these identities, or nearest gallery "
                   "embedding by cosine; auto picks argmax when the model's classes cover the probe identities.")
@click.option("--allow-code", is_flag=True,
              help="Allow TorchScript and module:callable models (they run code; local use only).")
@click.option("--device", default="cpu", show_default=True, help="Torch device for RUN/TorchScript models.")
@click.option("--n-boot", type=click.IntRange(10), default=1000, show_default=True,
              help="Bootstrap replicates for retention, d50 and shape bias.")
@click.option("--n-boot-mi", type=click.IntRange(10), default=200, show_default=True,
              help="Bootstrap replicates for the information scores (each reruns the estimator).")
@click.option("--n-perm", type=click.IntRange(19), default=1000, show_default=True,
              help="Permutations for the MI nulls and the maps' family-wise threshold (within identity).")
@click.option("--alpha", type=click.FloatRange(0, 0.5, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Significance level: shape reliance is reported only where I_shape + I_texture beats its "
                   "permutation null at this level, and map vertices must pass the family-wise threshold.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every bootstrap and permutation draw.")
@click.option("--batch-size", type=click.IntRange(1), default=128, show_default=True, help="Images per model call.")
@click.option("--no-maps", is_flag=True, help="Skip the per-vertex MI maps.")
@click.option("--no-layers", is_flag=True, help="Skip the hidden-layer profile.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
def score_command(model_spec, probes, out, gallery, decision, allow_code, device, n_boot, n_boot_mi, n_perm, alpha,
                  seed, batch_size, no_maps, no_layers, progress):
    """Score how much a model relies on face shape versus face texture.

    Runs the model on facegen probe sets (shape/texture morphs, cue-conflict hybrids, reverse
    correlation), decides identities, and writes OUT/scores.json (every number with its 95% bootstrap
    interval, the probe manifests' and the model's sha256, and warnings where a headline number
    cannot be read as it stands) and OUT/report.html with figures. The summary table and the
    warnings go to stdout. Formulas: benchmark.score.metrics and benchmark.score.information.
    """
    from .adapters import ModelError, open_model
    from .decisions import DecisionError
    from .pipeline import Settings, score
    from .probes import ProbeError, read_probe_set
    from .report import format_summary, write_report

    try:
        model = open_model(model_spec, allow_code=allow_code, device=device)
    except ModelError as e:
        raise click.BadParameter(str(e), param_hint="--model") from None
    try:
        sets = [read_probe_set(p) for p in probes]
        gal = read_probe_set(gallery) if gallery else None
    except ProbeError as e:
        raise click.BadParameter(str(e), param_hint="--probe/--gallery") from None
    settings = Settings(n_boot=n_boot, n_boot_mi=n_boot_mi, n_perm=n_perm, alpha=alpha, seed=seed,
                        batch_size=batch_size,
                        maps=not no_maps, layers=not no_layers, progress=progress)
    try:
        result = score(model, sets, gallery=gal, rule=decision, settings=settings)
    except (DecisionError, ModelError, ProbeError) as e:
        raise click.ClickException(str(e)) from None
    path = write_report(result, out)
    click.echo(format_summary(result.scores))
    click.echo(f"wrote {path}", err=True)
