"""The ``benchmark`` command line: one click group, one function per command."""
from __future__ import annotations

import logging

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchmark")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Train the reference network on facegen shards and score how models use face shape versus texture."""
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")


@main.command("train")
@click.option("--data", required=True, metavar="DIR|MANIFEST|URL",
              help="facegen dataset: a folder with manifest.json, a manifest file, or a manifest URL.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="RUN folder to write (or resume).")
@click.option("--arch", default="resnet10", show_default=True, help="Registered architecture name.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Training length in passes over the train split.")
@click.option("--steps", type=click.IntRange(min=1), help="Training length in optimiser steps (overrides --epochs).")
@click.option("--batch-size", type=click.IntRange(min=2), default=128, show_default=True,
              help="Images per optimiser step per rank.")
@click.option("--lr-max", type=float, default=0.3, show_default=True, help="Peak learning rate.")
@click.option("--lr-min", type=float, default=1e-6, show_default=True, help="Lowest learning rate.")
@click.option("--schedule", type=click.Choice(["onecycle", "cyclic"]), default="onecycle", show_default=True,
              help="One-cycle (warm-up then cosine) or the paper's triangular cyclic schedule.")
@click.option("--cycle-epochs", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Half period of the cyclic schedule, in epochs.")
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True,
              help="SGD momentum.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=5e-4, show_default=True,
              help="L2 weight decay on conv and linear weights.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of initialisation, order and augmentation.")
@click.option("--image-size", type=click.IntRange(min=32), help="Train at this side in px (default: as rendered).")
@click.option("--zoom", type=(float, float), default=(0.95, 1.1), show_default=True,
              help="Augmentation: zoom range (lo hi); 1 1 turns it off.")
@click.option("--shift", type=click.FloatRange(0, 0.5, max_open=True), default=0.06, show_default=True,
              help="Augmentation: largest shift as a fraction of the side.")
@click.option("--shuffle-buffer", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Samples held in each worker's shuffle buffer.")
@click.option("--open-shards", type=click.IntRange(min=1), default=16, show_default=True,
              help="Shards each worker reads at once, interleaved at random (shards hold few identities each).")
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Decoding processes per rank (0: decode in the training process).")
@click.option("--eval-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Validate every N steps (0: only at the end).")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=500, show_default=True,
              help="Write a resumable checkpoint every N steps (0: never).")
@click.option("--log-every", type=click.IntRange(min=1), default=20, show_default=True,
              help="Append training metrics to metrics.jsonl every N steps.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-amp", is_flag=True, help="Train in float32 on GPU (default: bfloat16 autocast).")
@click.option("--channels-last/--no-channels-last", default=None, help="Memory format (default: channels-last on GPU).")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads (default: torch's choice).")
@click.option("--verify-sha256", is_flag=True, help="Check each shard's sha256 against the manifest as it is read.")
@click.option("--no-report", is_flag=True, help="Skip the evaluation report at the end.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its newest checkpoint (same options).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train_cmd(data, out, arch, epochs, steps, batch_size, lr_max, lr_min, schedule, cycle_epochs, momentum,
              weight_decay, seed, image_size, zoom, shift, shuffle_buffer, open_shards, workers, eval_every,
              checkpoint_every, log_every, device, no_amp, channels_last, threads, verify_sha256, no_report, resume,
              quiet) -> None:
    """Train the reference ResNet-10 to classify identities of a facegen dataset into the RUN folder --out.

    Writes OUT/model.safetensors, OUT/config.json, OUT/metrics.jsonl, OUT/checkpoints/ and OUT/report/.
    For several GPUs or nodes start it with torchrun, e.g.
    `torchrun --nproc-per-node 8 -m benchmark.cli train --data D --out R`.
    """
    from .nets import ARCHITECTURES
    from .train.data import DataError
    from .train.loop import TrainConfig, train
    from .train.run import RunError

    if arch not in ARCHITECTURES:
        raise click.BadParameter(f"{arch!r} is not registered; registered: {sorted(ARCHITECTURES)}",
                                 param_hint="--arch")
    try:
        cfg = TrainConfig(data=data, arch=arch, epochs=epochs, steps=steps, batch_size=batch_size, lr_max=lr_max,
                          lr_min=lr_min, schedule=schedule, cycle_epochs=cycle_epochs, momentum=momentum,
                          weight_decay=weight_decay, seed=seed, image_size=image_size, zoom=tuple(zoom), shift=shift,
                          shuffle_buffer=shuffle_buffer, open_shards=open_shards, workers=workers,
                          eval_every=eval_every, checkpoint_every=checkpoint_every, log_every=log_every, device=device,
                          amp=not no_amp, channels_last=channels_last, verify_sha256=verify_sha256,
                          report=not no_report)
        res = train(cfg, out, resume=resume, progress=not quiet, threads=threads)
    except (ValueError, RunError, DataError) as e:
        raise click.UsageError(str(e)) from None
    acc = "n/a" if res.val_acc is None else f"{res.val_acc:.4f}"
    click.echo(f"{res.run}: {res.steps} steps in {res.seconds:.1f} s ({res.images_per_s:.1f} images/s); "
               f"validation accuracy {acc}")


@main.command("evaluate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", metavar="DIR|MANIFEST|URL", help="Dataset to score (default: the run's own).")
@click.option("--split", "splits", multiple=True, help="Split to score; repeat for several (default: all but train).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Images per batch.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole summary as JSON.")
def evaluate_cmd(run, data, splits, batch_size, device, as_json) -> None:
    """Score the trained model in RUN overall and per factor level; write RUN/report/ (tables, heat maps)."""
    import json

    from .train.data import DataError
    from .train.evaluate import evaluate_run
    from .train.run import RunError

    try:
        summary = evaluate_run(run, data=data, splits=tuple(splits) or None, batch_size=batch_size, device=device)
    except (ValueError, RunError, DataError) as e:
        raise click.UsageError(str(e)) from None
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    for split, s in summary["splits"].items():
        click.echo(f"{split}: accuracy {s['accuracy']:.4f} on {s['n']} images")


@main.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--onnx", "onnx_path", required=True, type=click.Path(dir_okay=False), help="ONNX file to write.")
@click.option("--opset", type=click.IntRange(min=13), default=17, show_default=True, help="ONNX opset version.")
@click.option("--embedding", is_flag=True, help="Also output the 512-d embedding (second output).")
@click.option("--no-check", is_flag=True, help="Skip comparing onnxruntime's outputs with torch's.")
def export_cmd(run, onnx_path, opset, embedding, no_check) -> None:
    """Export the trained model in RUN to ONNX (input: normalised float NCHW images, any batch and size)."""
    from .train.export import export_onnx
    from .train.run import RunError

    try:
        info = export_onnx(run, onnx_path, opset=opset, embedding=embedding, check=not no_check)
    except (ValueError, RunError) as e:
        raise click.UsageError(str(e)) from None
    diff = "" if info.get("max_abs_diff") is None else f"; onnxruntime vs torch max |diff| {info['max_abs_diff']:.2e}"
    click.echo(f"{onnx_path}: outputs {info['outputs']}{diff}")


def _register() -> None:
    from .leaderboard.cli import leaderboard_command, submit_command, validate_command
    from .score.cli import score_command

    for cmd in (score_command, submit_command, validate_command, leaderboard_command):
        main.add_command(cmd)


_register()

if __name__ == "__main__":
    main()
