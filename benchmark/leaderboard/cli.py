"""``benchmark submit``, ``benchmark validate`` and ``benchmark leaderboard``: click commands, registered on
the ``benchmark`` group by benchmark/cli.py. Results on stdout, diagnostics on stderr; usage errors exit 2.
Text that comes from a submission (names, messages, op types) is printed with control characters as
visible escapes (:func:`benchmark._safe_text.printable`), so it cannot drive the terminal."""
from __future__ import annotations

import logging

import click

from facegen._safe_text import safe_text

__all__ = ["leaderboard_command", "submit_command", "validate_command"]

log = logging.getLogger(__name__)

_PROBE_HELP = "A public probe dataset folder (facegen sample --preset probe-morph|probe-cue|probe-revcorr); repeat."


@click.command("submit")
@click.option("--model", "model_spec", required=True, metavar="M",
              help="A RUN folder of 'benchmark train', a .onnx file, or with --allow-code TorchScript/module:callable.")
@click.option("--probe", "probes", required=True, multiple=True, metavar="DIR", help=_PROBE_HELP)
@click.option("--gallery", default=None, metavar="DIR", help="Canonical gallery (embedding models; default: rendered).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Submission zip to write.")
@click.option("--name", "model_name", required=True, help="Model name shown on the leaderboard (1-100 characters).")
@click.option("--author", "authors", required=True, multiple=True, help="An author's name; repeat for each.")
@click.option("--contact", required=True, help="Contact e-mail address.")
@click.option("--licence", required=True, help="Licence of the model, e.g. MIT.")
@click.option("--paper-url", default=None, help="http(s) URL of the paper.")
@click.option("--code-url", default=None, help="http(s) URL of the code.")
@click.option("--description", default=None, help="One paragraph about the model.")
@click.option("--batch-size", type=click.IntRange(1), default=128, show_default=True, help="Images per model call.")
@click.option("--device", default="cpu", show_default=True, help="Torch device for RUN/TorchScript models.")
@click.option("--allow-code", is_flag=True, help="Allow TorchScript and module:callable models (they run code).")
def submit_command(model_spec, probes, gallery, out, model_name, authors, contact, licence, paper_url, code_url,
                   description, batch_size, device, allow_code):
    """Run a model on the public probe sets and write a submission zip with its outputs.

    The zip holds submission.json (from the options and the model's own declaration: output kind,
    classes, preprocessing) and outputs/<probe set>.npz per probe set; it is validated before it is
    written. Send it to the maintainers, or drop it in the leaderboard's submissions folder.
    """
    from ..score import ModelError, ProbeError
    from .safezip import SubmissionError
    from .submit import build_submission

    meta = {"model_name": model_name, "authors": list(authors), "contact": contact, "licence": licence,
            **{k: v for k, v in (("paper_url", paper_url), ("code_url", code_url), ("description", description))
               if v is not None}}
    try:
        path = build_submission(model_spec, probes, out, meta, gallery_dir=gallery, batch_size=batch_size,
                                allow_code=allow_code, device=device)
    except ModelError as e:
        raise click.BadParameter(safe_text(e), param_hint="--model") from None
    except ProbeError as e:
        raise click.BadParameter(safe_text(e), param_hint="--probe/--gallery") from None
    except SubmissionError as e:
        raise click.ClickException("the submission would be invalid: " + "; ".join(e.problems)) from None
    except ValueError as e:
        raise click.UsageError(safe_text(e)) from None
    click.echo(safe_text(path))


@click.command("validate")
@click.argument("submission", type=click.Path(exists=True))
@click.option("--probe", "probes", multiple=True, metavar="DIR",
              help="Public probe set to check the outputs' keys against; repeat (default: form checks only).")
@click.option("--gallery", default=None, metavar="DIR", help="Canonical gallery whose keys embedding outputs must cover.")
def validate_command(submission, probes, gallery):
    """Check a submission zip or folder and print every problem found (exit 1 when there is one).

    Nothing is unpickled or executed. With --probe, outputs must cover exactly the probe sets' keys.
    """
    from ..score import ProbeError, read_probe_set
    from .safezip import SubmissionError
    from .submission import load_submission

    try:
        sets = [read_probe_set(p) for p in probes] + ([read_probe_set(gallery)] if gallery else [])
    except ProbeError as e:
        raise click.BadParameter(safe_text(e), param_hint="--probe/--gallery") from None
    keys = {("gallery" if gallery and p is sets[-1] else p.name): list(p.keys) for p in sets} or None
    try:
        sub = load_submission(submission, probes=keys)
    except SubmissionError as e:
        for p in e.problems:
            click.echo(f"problem: {safe_text(p)}")
        click.echo(f"{safe_text(submission)}: invalid ({len(e.problems)} problem(s))", err=True)
        raise SystemExit(1) from None
    click.echo(safe_text(f"{submission}: valid ({sub.meta['model_name']!r}, payload {sub.meta['payload']}, "
                         f"sha256 {sub.sha256})"))


@click.command("leaderboard")
@click.option("--submissions", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of submissions (zips or folders).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Site folder: index.html, models/, results/, figures/, leaderboard.md.")
@click.option("--probe", "probes", required=True, multiple=True, metavar="DIR", help=_PROBE_HELP)
@click.option("--gallery", default=None, metavar="DIR", help="Canonical gallery (embedding models; default: rendered).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1), default=1800, show_default=True,
              help="Wall-time limit per submission, seconds.")
@click.option("--memory-mb", type=click.IntRange(256), default=4096, show_default=True,
              help="Address-space limit (RLIMIT_AS) of each scoring process, MiB.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Threads per scoring process.")
@click.option("--n-boot", type=click.IntRange(10), default=1000, show_default=True,
              help="Bootstrap replicates for retention, d50 and shape bias.")
@click.option("--n-boot-mi", type=click.IntRange(10), default=200, show_default=True,
              help="Bootstrap replicates for the information scores.")
@click.option("--n-perm", type=click.IntRange(19), default=1000, show_default=True, help="Permutations for the MI nulls.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every bootstrap and permutation draw.")
@click.option("--no-maps", is_flag=True, help="Skip the per-vertex MI maps.")
@click.option("--force", is_flag=True, help="Rescore every submission, even unchanged ones.")
def leaderboard_command(submissions, out, probes, gallery, timeout_s, memory_mb, threads, n_boot, n_boot_mi, n_perm,
                        seed, no_maps, force):
    """Validate and score every submission, write one results JSON per entry, and render the static site.

    Submissions already scored with the same submission, probe-manifest and settings hashes are
    skipped. Each is scored in its own process under --timeout and --memory-mb; a rejected or
    failed one is reported (stdout, and on the site) and never stops the others.
    """
    from ..score import ProbeError, Settings
    from .runner import run_leaderboard

    settings = Settings(n_boot=n_boot, n_boot_mi=n_boot_mi, n_perm=n_perm, seed=seed, maps=not no_maps)
    try:
        records = run_leaderboard(submissions, out, probes, gallery_dir=gallery, timeout_s=timeout_s,
                                  memory_mb=memory_mb, settings=settings, threads=threads, force=force)
    except ProbeError as e:
        raise click.BadParameter(safe_text(e), param_hint="--probe/--gallery") from None
    for r in records:
        why = safe_text("; ".join(r["messages"]))
        click.echo(f"{safe_text(r['entry'])}\t{r['status']}{' (unchanged)' if r['skipped'] else ''}"
                   f"{chr(9) + why if why else ''}")
    click.echo(f"wrote {safe_text(out)}/index.html", err=True)
