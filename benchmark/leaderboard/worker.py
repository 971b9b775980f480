"""The child process that scores one unpacked submission: ``python -m benchmark.leaderboard.worker ...``.

Started by :mod:`.runner` under a wall-time limit; it sets ``RLIMIT_AS`` (``--memory-mb``) on itself
first thing (before onnxruntime and the scorer are imported; what the interpreter has mapped already
counts against it), then opens the model with
:func:`benchmark.score.open_model` (``allow_code=False``: precomputed outputs, or an ONNX graph run
only in onnxruntime), scores it on the probe sets and writes ``OUT/scores.json`` and the figures
with :func:`benchmark.score.write_report`. A problem the scorer names (a model, probe or decision
error) is written to ``OUT/error.json`` as ``{"messages": [...]}`` and the exit status is 3; any
other failure exits non-zero with a traceback on stderr.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

__all__ = ["EXIT_SCORE_ERROR", "main"]

log = logging.getLogger(__name__)

EXIT_SCORE_ERROR = 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark.leaderboard.worker", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="Unpacked outputs folder (with model.json) or model.onnx.")
    p.add_argument("--probe", action="append", required=True, help="Probe dataset folder; repeat for each.")
    p.add_argument("--gallery", default=None, help="Canonical gallery folder (default: rendered).")
    p.add_argument("--out", required=True, help="Report folder to write.")
    p.add_argument("--settings", default="{}", help="benchmark.score.Settings fields as JSON.")
    p.add_argument("--expect", default=None, help="Declaration (JSON) the model must match (ONNX metadata check).")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads.")
    p.add_argument("--memory-mb", type=int, default=0, help="RLIMIT_AS in MiB, set first thing (0: none).")
    return p


def _check_declaration(info, expect: dict) -> None:
    """An ONNX graph's own metadata (``benchmark.config``) wins over the sidecar in the scorer; refuse a
    graph whose metadata disagrees with submission.json instead of scoring something undeclared."""
    from benchmark.score import ModelError

    got = {"output_kind": info.output_kind, "classes": None if info.classes is None else list(info.classes),
           "preprocessing": None if info.preprocess is None else info.preprocess.to_dict()}
    want = {"output_kind": expect["output_kind"], "classes": expect.get("classes"),
            "preprocessing": {k: (list(map(float, v)) if isinstance(v, list) else v)
                              for k, v in expect["preprocessing"].items()}}
    bad = [k for k in got if got[k] != want[k]]
    if bad:
        raise ModelError(f"model.onnx: its metadata 'benchmark.config' declares {', '.join(bad)} differently from "
                         f"submission.json ({ {k: got[k] for k in bad} } vs { {k: want[k] for k in bad} }); remove "
                         f"the metadata or make the two agree")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memory_mb:  # before onnxruntime and the scorer are imported
        import resource

        limit = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from benchmark.score import (
        ModelError,
        ProbeError,
        Settings,
        open_model,
        read_probe_set,
        score,
        write_report,
    )
    from benchmark.score.decisions import DecisionError

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        model = open_model(args.model, allow_code=False, threads=args.threads)
        if args.expect:
            _check_declaration(model.info, json.loads(args.expect))
        sets = [read_probe_set(p) for p in args.probe]
        gallery = read_probe_set(args.gallery) if args.gallery else None
        result = score(model, sets, gallery=gallery, settings=Settings(**json.loads(args.settings)))
    except (ModelError, ProbeError, DecisionError) as e:
        (out / "error.json").write_text(json.dumps({"messages": [str(e)]}))
        return EXIT_SCORE_ERROR
    except MemoryError:
        (out / "error.json").write_text(json.dumps({"messages": [
            f"scoring ran out of the memory limit of {args.memory_mb} MiB (RLIMIT_AS)"]}))
        return EXIT_SCORE_ERROR
    write_report(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
