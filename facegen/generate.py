"""Run a design into WebDataset shards: plan, skip finished shards, fan out, write the manifest.

Work is divided by shard. A shard is built in memory by whichever process (or Ray task) gets it,
then written atomically by the driver-side writer, and recorded; a rerun of the same command skips
shards whose bytes match their records and regenerates the rest, so ``kill -9`` at any moment loses
at most the shards in flight.
"""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from . import __version__
from .design import ConfigError, DesignConfig, parse_config, plan_shards
from .design.plan import ShardSpec
from .shards.manifest import assemble_manifest, shard_is_done, write_json_atomic, write_part
from .shards.tario import shard_bytes, write_atomic

__all__ = ["generate", "check_design", "factor_keys_set", "build_shard", "parse_slice", "RunResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    out: Path
    planned: int
    written: int
    skipped: int
    manifest: dict


def parse_slice(text: str, n: int) -> slice:
    """'A:B' (either side may be empty) -> slice over n shards; errors say what is allowed."""
    try:
        a, b = text.split(":")
        a = int(a) if a else 0
        b = int(b) if b else n
    except ValueError:
        raise ConfigError(f"--shards {text!r}: expected A:B with integers, e.g. 0:4") from None
    if not 0 <= a < b <= n:
        raise ConfigError(f"--shards {text!r}: this run has {n} shards; need 0 <= A < B <= {n}")
    return slice(a, b)


def byte_versions() -> dict:
    """Versions of the packages whose code decides a shard's bytes (resuming under others would mix them)."""
    import fast_simplification
    import numba
    import orjson
    import PIL
    import simplejpeg

    return {"facegen": __version__, "numpy": np.__version__, "numba": numba.__version__, "pillow": PIL.__version__,
            "simplejpeg": simplejpeg.__version__, "fast_simplification": fast_simplification.__version__,
            "orjson": orjson.__version__}


def check_design(cfg: DesignConfig, model) -> None:
    """Validate the parts of a design that depend on the model and the renderer, before any work."""
    f = model.factors
    if f is None:
        _check_factorless(cfg, model)
    else:
        for key, vals, allowed in (("identities.genders", cfg.genders, f.genders),
                                   ("identities.ethnicities", cfg.ethnicities, f.ethnicities)):
            bad = [v for v in vals if v not in allowed]
            if bad:
                raise ConfigError(f"{key}: {bad} not in model {model.name!r}; allowed: {list(allowed)}")
        lo, hi = f.age_range
        for key, spec in (("intrinsic.age", cfg.factors["age"]), ("identities.base_age", cfg.base_age)):
            if spec.values == ("base",):
                continue
            sup = spec.support()
            if min(sup) < lo or max(sup) > hi:
                raise ConfigError(f"{key}: {spec.to_yaml()!r} leaves model {model.name!r}'s age range [{lo}, {hi}]")
    for e in cfg.factors["expression"].support():
        if e != "neutral" and e not in model.expressions:
            raise ConfigError(f"intrinsic.expression: {e!r} is not defined by model {model.name!r}; "
                              f"allowed: {sorted(model.expressions)}")
    from .render import BACKENDS, get_backend

    try:
        get_backend(cfg.backend)
    except Exception as e:  # noqa: BLE001 - any failure to start the backend is reported the same way
        raise ConfigError(f"render.backend: {cfg.backend!r} is not usable here ({e}); "
                          f"backends: {list(BACKENDS)}") from None


def factor_keys_set(cfg: DesignConfig) -> list[str]:
    """The keys of ``cfg`` that ask for gender, ethnicity or age (values other than the defaults).

    A key counts when its value differs from what a design without it gets: ``identities.genders``
    (default ``[female, male]``), ``identities.ethnicities`` (the four defaults),
    ``identities.base_age`` (default ``{uniform: [25, 45]}``) and ``intrinsic.age`` (default ``base``;
    a constant such as 30 counts too). Comparing values rather than the keys of ``cfg.raw`` keeps a
    config that every default was written into (``--print-config``, a manifest's ``config``) valid.
    """
    from .design.config import DEFAULT_BASE_AGE, DEFAULT_ETHNICITIES, DEFAULT_GENDERS
    from .design.spec import parse_spec

    keys = []
    if tuple(cfg.genders) != DEFAULT_GENDERS:
        keys.append("identities.genders")
    if tuple(cfg.ethnicities) != DEFAULT_ETHNICITIES:
        keys.append("identities.ethnicities")
    if cfg.base_age != parse_spec("identities.base_age", DEFAULT_BASE_AGE, bounds=(0.0, 120.0)):
        keys.append("identities.base_age")
    if cfg.factors["age"].values != ("base",):
        keys.append("intrinsic.age")
    return keys


def _check_factorless(cfg: DesignConfig, model) -> None:
    """A model without a factor model renders the same face whatever gender, ethnicity or age a
    design names, so a design that names them is refused (its records carry those labels as null)."""
    keys = factor_keys_set(cfg)
    if keys:
        raise ConfigError(
            f"{', '.join(keys)}: model {model.name!r} has no factor model (gender, ethnicity and age change "
            f"nothing in its images; its records carry them as null); remove {' and '.join(keys)} from the "
            "design: with this model, identities takes only count, truncation and seed, and intrinsic.age "
            "only 'base'")


def build_shard(cfg_json: str, shard: ShardSpec) -> tuple[str, bytes, int]:
    """Build one shard's tar bytes (runs in a worker process or a Ray task)."""
    from .sampler import render_samples

    cfg = parse_config(json.loads(cfg_json))
    data, n = shard_bytes(render_samples(cfg, shard))
    return shard.name, data, n


def _build_star(args) -> tuple[str, bytes, int]:
    return build_shard(*args)


def _local(cfg_json: str, todo: list[ShardSpec], workers: int) -> Iterator[tuple[str, bytes, int]]:
    if workers <= 1:
        for s in todo:
            yield build_shard(cfg_json, s)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        yield from pool.imap_unordered(_build_star, [(cfg_json, s) for s in todo])


def _ray(cfg_json: str, todo: list[ShardSpec], address: str | None) -> Iterator[tuple[str, bytes, int]]:
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs the 'ray' package: pip install 'ray[default]'") from None
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    task = ray.remote(build_shard)
    pending = [task.remote(cfg_json, s) for s in todo]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def generate(cfg: DesignConfig, out: str | Path, *, workers: int = 1, shards: str | None = None,
             limit: int | None = None, backend: str = "local", ray_address: str | None = None,
             progress: bool = True) -> RunResult:
    """Render ``cfg`` into ``out``: ``{split}-{NNNNNN}.tar`` shards and ``manifest.json``.

    ``shards`` 'A:B' produces only that slice of the run's shards (run order); ``limit`` keeps the
    first N samples of the design; ``workers`` local processes, or ``backend='ray'`` for Ray tasks.
    """
    from .model import load_model

    if workers < 1:
        raise ConfigError(f"--workers {workers}: must be >= 1")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be >= 1")
    if backend not in ("local", "ray"):
        raise ConfigError(f"--backend {backend!r}: allowed: ['local', 'ray']")
    model = load_model(cfg.model)
    check_design(cfg, model)
    plan = plan_shards(cfg, limit=limit)
    sel = plan[parse_slice(shards, len(plan))] if shards else plan

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / ".facegen" / "run.json"
    run = {"config": cfg.to_dict(), "limit": limit, "software": byte_versions()}
    if run_file.exists():
        prev = json.loads(run_file.read_text())
        now = json.loads(json.dumps(run))
        if (prev.get("config"), prev.get("limit")) != (now["config"], now["limit"]):
            raise ConfigError(f"{out} holds a run of a different design or --limit; use a new --out "
                              f"folder, or delete {out} to start over")
        if prev.get("software") != now["software"]:
            was = prev.get("software") or {}
            diff = {k: (was.get(k), v) for k, v in now["software"].items() if was.get(k) != v}
            raise ConfigError(f"{out} was started with other versions of the software that decides the shard "
                              "bytes (" + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in diff.items()) + "); "
                              "finishing it here would mix bytes of both. Install the versions it was started "
                              f"with, or use a new --out folder")
    else:
        run_file.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_file, run)

    for stale in out.glob("*.tar.tmp-*"):  # left by a killed run; never a finished shard
        stale.unlink()
    todo = [s for s in sel if shard_is_done(out, s.name, len(s.samples)) is None]
    by_name = {s.name: s for s in todo}
    log.info("%d shards planned, %d selected, %d to write", len(plan), len(sel), len(todo))
    cfg_json = json.dumps(cfg.to_dict(), sort_keys=True)
    from tqdm import tqdm

    bar = tqdm(total=int(sum(len(s.samples) for s in todo)), unit="img", disable=not progress,
               desc=f"facegen sample {cfg.name}", dynamic_ncols=True)
    it = _local(cfg_json, todo, workers) if backend == "local" else _ray(cfg_json, todo, ray_address)
    for name, data, n in it:
        s = by_name[name]
        size, digest = write_atomic(out / name, data)
        write_part(out, {"name": name, "split": s.split, "index": s.index, "samples": n, "bytes": size,
                         "sha256": digest})
        bar.update(n)
    bar.close()
    manifest = assemble_manifest(out, head=_head(cfg, model, limit), planned=[s.name for s in plan])
    from .datasets import write_datasheet

    # counts from the design: exact for what was just rendered (tests/test_datasheet.py checks that
    # they equal the records' counts) without reading every shard back; `facegen inspect` and
    # `facegen datasheet --counts shards` read the records
    write_datasheet(out, counts="design")
    return RunResult(out=out, planned=len(plan), written=len(todo), skipped=len(sel) - len(todo),
                     manifest=manifest)


def _head(cfg: DesignConfig, model, limit: int | None) -> dict:
    from .sampler import context_for

    return {"name": cfg.name, "limit": limit, "n_samples_design": cfg.n_samples, "config": cfg.to_dict(),
            "model": {"name": model.name, "version": model.version, "sha256": model.sha256()},
            "software": {**byte_versions(), "python": platform.python_version(),
                         "renderer": context_for(cfg).renderer}}

