"""Score a few known models with the leaderboard runner, render the site, and save a screenshot of it.

Entries (scored end to end: submission zips -> validation -> child-process scoring -> site):
controls with known answers on the small synthetic probe sets of the tests (a model that sees only
face shape, one that sees only texture, an even mix of both, pure noise), a tiny ONNX classifier
(global average colour -> linear map) scored in onnxruntime, and a hostile submission (pickled
outputs) listed as rejected. Instead, ``--model`` (anything ``benchmark submit`` accepts, repeat)
with ``--probe`` (the probe sets those models were trained for) makes a board of those models. The page is opened in headless Chromium (Debian's chromium and
chromium-driver) and saved as a PNG::

    python scripts/leaderboard_screenshot.py --out docs/leaderboard.png
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

log = logging.getLogger("leaderboard_screenshot")

META = {"schema": "facegen.submission/1", "authors": ["facegen controls"], "contact": "benchmark@example.org",
        "licence": "MIT", "output_kind": "logits", "payload": "outputs",
        "preprocessing": {"image_size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "code_url": "https://example.org/facegen/tests/test_score_controls.py"}


def control_submissions(folder: Path) -> list[str]:
    """Control submissions on the synthetic probe sets; returns the probe set folders."""
    from test_leaderboard_runner import onnx_zip, tiny_onnx
    from test_score_controls import N_IDS, PROBES, control_outputs, probe_sets

    from benchmark.score import read_probe_set

    _, folders = probe_sets()
    dirs = [folders[n] for n, _, _ in PROBES]
    sets = [read_probe_set(d) for d in dirs]
    names = {"shape": "shape-only control", "texture": "texture-only control", "noise": "noise control",
             "mix": "shape + texture control"}
    for seed, kind in enumerate(("shape", "texture", "noise", "mix")):
        rng = np.random.default_rng(seed)
        with zipfile.ZipFile(folder / f"{kind}.zip", "w") as zf:
            zf.writestr("submission.json", json.dumps({**META, "model_name": names[kind], "classes": list(range(N_IDS))}))
            for p in sets:
                out = (control_outputs(p, "shape", rng) + control_outputs(p, "texture", rng) if kind == "mix"
                       else control_outputs(p, kind, rng))
                buf = io.BytesIO()
                np.savez(buf, keys=np.asarray(p.keys, dtype="U"), outputs=out)
                zf.writestr(f"outputs/{p.name}.npz", buf.getvalue())
    onnx_zip(folder / "tiny-onnx.zip", tiny_onnx(folder.parent / "tiny.onnx"), "tiny ONNX (mean colour)")
    with zipfile.ZipFile(folder / "pickled.zip", "w") as zf:  # hostile: an object array in its outputs
        zf.writestr("submission.json", json.dumps({**META, "model_name": "pickler", "classes": list(range(N_IDS))}))
        for k, p in enumerate(sets):
            buf = io.BytesIO()
            np.savez(buf, keys=np.asarray(p.keys, dtype=object if k == 0 else "U"), outputs=np.zeros((len(p), N_IDS)))
            zf.writestr(f"outputs/{p.name}.npz", buf.getvalue())
    return dirs


def screenshot(index: Path, png: Path, width: int, height: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)
    try:
        drv.get(index.as_uri())
        png.parent.mkdir(parents=True, exist_ok=True)
        drv.save_screenshot(str(png))
    finally:
        drv.quit()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "leaderboard.png"), help="PNG to write.")
    ap.add_argument("--site", default=None, help="Keep the rendered site in this folder (default: temporary).")
    ap.add_argument("--model", action="append", default=[], help="Extra model to submit (needs --probe).")
    ap.add_argument("--probe", action="append", default=[], help="Probe sets for the extra models.")
    ap.add_argument("--size", default="1280x720", help="Browser window, WIDTHxHEIGHT px.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from benchmark.leaderboard.runner import run_leaderboard
    from benchmark.leaderboard.submit import build_submission
    from benchmark.score import Settings

    work = Path(tempfile.mkdtemp(prefix="leaderboard-shot-"))
    try:
        subs = work / "subs"
        subs.mkdir()
        site = Path(args.site) if args.site else work / "site"
        settings = Settings(n_boot=500, n_boot_mi=100, n_perm=500, maps=True, layers=False)
        if args.model:
            if not args.probe:
                ap.error("--model needs --probe (the probe sets to run it on)")
            for k, m in enumerate(args.model):
                build_submission(m, args.probe, subs / f"model{k}.zip",
                                 {"model_name": Path(m).name, "authors": ["facegen"], "contact": META["contact"],
                                  "licence": "MIT"})
            dirs = args.probe
        else:
            dirs = control_submissions(subs)
        run_leaderboard(subs, site, dirs, settings=settings, timeout_s=3600)
        w, h = (int(x) for x in args.size.split("x"))
        screenshot(site / "index.html", Path(args.out), w, h)
        log.info("wrote %s", args.out)
    finally:
        if not args.site:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
