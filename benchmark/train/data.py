"""Streaming facegen shards into training batches: shards -> shuffle -> decode + augment -> batches.

Stages are generators over WebDataset sample dicts (``__key__`` plus one entry per extension).
Every random choice is a pure function of the seed and the sample, so a stream can be restarted at
any batch without decoding what came before (:meth:`ShardStream.batches` ``skip``):

* shard order per epoch: a permutation drawn from ``(seed, epoch)``; epoch ``e``'s shards are dealt
  to the ``G = world_size * workers`` virtual workers as ``shards[g::G]``;
* worker ``g`` reads up to ``open_shards`` of its shards at once, interleaved at random, through a
  shuffle buffer; both draw from ``(seed, epoch, g)``;
* the augmentation of a sample draws from ``(seed, epoch, identity, sample)`` via splitmix64.

Each virtual worker yields an endless stream of batches (epochs back to back, a batch may span two
epochs, no sample is dropped); a PyTorch DataLoader interleaves its workers round-robin, so global
batch ``t`` of a rank is batch ``t // W`` of its worker ``t % W``.

Batches are ``(images, labels)``: images uint8 (B, 3, S, S) in channels-last memory (a view of
(B, S, S, 3)), labels int64 (B,) contiguous class indices. :func:`normalize` turns images into the
network's float input: ``(x / 255 - MEAN) / STD`` per channel.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image

from facegen.design import parse_config
from facegen.design.plan import uniform_hash
from facegen.shards.manifest import ManifestError, shard_urls

__all__ = [
    "MEAN",
    "STD",
    "Augment",
    "DataError",
    "DataSpec",
    "EvalStream",
    "ShardStream",
    "augment_params",
    "decode_image",
    "normalize",
    "open_dataset",
    "worker_skip",
]

log = logging.getLogger(__name__)

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
_STREAM_AUG, _STREAM_SHARDS = 101, 102


class DataError(ValueError):
    """A dataset cannot be used for training as asked (wrong split, unknown identity, bad checksum)."""


@dataclass(frozen=True)
class Augment:
    """The paper's augmentation: a random zoom and a small shift, one bilinear affine warp per image.

    ``zoom`` (lo, hi): magnification drawn uniformly (1 = none, > 1 crops in); ``shift``: the largest
    translation as a fraction of the image side, drawn uniformly in [-shift, shift] per axis.
    """

    zoom: tuple[float, float] = (0.95, 1.1)
    shift: float = 0.06

    @property
    def off(self) -> bool:
        return self.zoom == (1.0, 1.0) and self.shift == 0


NO_AUGMENT = Augment(zoom=(1.0, 1.0), shift=0.0)


@dataclass(frozen=True)
class DataSpec:
    """What a run learnt from a dataset's manifest: shard locations per split, sizes and classes.

    ``classes`` lists facegen identity indices; class ``k`` of the network is identity ``classes[k]``.
    ``shards[split]`` is a tuple of (location, samples, sha256); ``image_size`` the rendered side in px.
    """

    source: str
    name: str
    image_size: int
    classes: tuple[int, ...]
    shards: dict[str, tuple[tuple[str, int, str], ...]]
    split_by: str

    def samples(self, split: str) -> int:
        return sum(n for _, n, _ in self.shards.get(split, ()))


def open_dataset(source: str) -> DataSpec:
    """Read the manifest of ``source`` (folder, manifest file or URL) into a :class:`DataSpec`.

    Classes are the identities the (possibly ``--limit``-ed) design contains: identity ``i`` holds the
    global samples ``[i * per_identity, (i + 1) * per_identity)``. Designs split by identity are
    refused (validation identities would be classes never seen in training).
    """
    try:
        m, _ = shard_urls(source)
    except ManifestError as e:
        raise DataError(str(e)) from None
    cfg = parse_config(m["config"])
    if cfg.split_by == "identity":
        raise DataError(f"{source}: design {cfg.name!r} splits by identity, so validation identities are never "
                        f"trained on; identity classification needs splits.by 'image' or 'factors'")
    n = cfg.n_samples if m.get("limit") is None else min(int(m["limit"]), cfg.n_samples)
    classes = tuple(range(math.ceil(n / cfg.samples_per_identity)))
    shards: dict[str, list] = {}
    for split in sorted({s["split"] for s in m["shards"]}):
        _, urls = shard_urls(source, split)
        recs = [s for s in m["shards"] if s["split"] == split]
        shards[split] = tuple((u, int(r["samples"]), r["sha256"]) for u, r in zip(urls, recs))
    if not m.get("complete", False):
        log.warning("%s: manifest is incomplete (%d of %d shards); training on what is there", source,
                    len(m["shards"]), m.get("planned_shards", -1))
    return DataSpec(source=str(source), name=cfg.name, image_size=cfg.image_size, classes=classes,
                    shards={k: tuple(v) for k, v in shards.items()}, split_by=cfg.split_by)


# --- stage 1: shards -> raw samples -----------------------------------------------------------------

def _read_shard(url: str, sha256: str | None) -> Iterator[dict]:
    """Raw samples ``{"__key__", "jpg"|"png", "json", ...}`` of one shard, in file order."""
    from webdataset.gopen import gopen
    from webdataset.tariterators import group_by_keys, tar_file_expander

    stream = gopen(url, "rb")
    if sha256 is not None:
        with stream:
            data = stream.read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise DataError(f"{url}: sha256 {got} differs from the manifest's {sha256}; the shard is corrupt "
                            f"or was replaced: regenerate it (rerun facegen sample)")
        stream = io.BytesIO(data)
    yield from group_by_keys(tar_file_expander([{"url": url, "stream": stream}]))


def _interleave(shards: list[tuple[str, int, str]], pool: int, rng: np.random.Generator,
                verify: bool) -> Iterator[dict]:
    """Samples of ``shards`` with up to ``pool`` shards open at once, each next sample taken from a
    randomly chosen open shard. facegen writes shards in identity order, so one shard holds few
    identities: reading shards one after another would feed the net a few classes at a time."""
    pending, active = list(shards), []
    while pending or active:
        while pending and len(active) < pool:
            u, _, h = pending.pop(0)
            active.append(_read_shard(u, h if verify else None))
        j = int(rng.integers(len(active)))
        try:
            yield next(active[j])
        except StopIteration:
            active.pop(j)


def _shuffle(samples: Iterator[dict], size: int, rng: np.random.Generator) -> Iterator[dict]:
    """A shuffle buffer of ``size`` samples (reservoir-style, as webdataset's ``shuffle``)."""
    buf: list[dict] = []
    for s in samples:
        if len(buf) < size:
            buf.append(s)
            continue
        j = int(rng.integers(size))
        buf[j], s = s, buf[j]
        yield s
    order = rng.permutation(len(buf))
    for j in order:
        yield buf[j]


# --- stage 2: decode + augment ----------------------------------------------------------------------

def augment_params(aug: Augment, seed: int, epoch: int, identity: int, sample: int) -> tuple[float, float, float]:
    """(zoom, shift_x, shift_y) of one sample; shifts as fractions of the side, a pure function of its args."""
    u = uniform_hash(seed, _STREAM_AUG, epoch, identity, sample, np.arange(3))
    z = aug.zoom[0] + (aug.zoom[1] - aug.zoom[0]) * float(u[0])
    return z, aug.shift * (2 * float(u[1]) - 1), aug.shift * (2 * float(u[2]) - 1)


def decode_image(data: bytes, size: int, zoom: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Decode a JPEG/PNG to uint8 (size, size, 3), zoomed by ``zoom`` about the centre and shifted by
    ``shift`` (fractions of the side, +x right, +y down) in one bilinear warp; edges repeat the corner."""
    img = Image.open(io.BytesIO(data))
    img = img.convert("RGB") if img.mode != "RGB" else img
    n = img.size[0]
    if zoom == 1.0 and shift == (0.0, 0.0) and img.size == (size, size):
        return np.asarray(img)
    r = n / size / zoom
    # continuous coordinates (pixel centres at k + 0.5): output X maps to input (X - S/2 - tx S) r + N/2
    cx = n / 2 - (size / 2 + shift[0] * size) * r
    cy = img.size[1] / 2 - (size / 2 + shift[1] * size) * r
    out = img.transform((size, size), Image.Transform.AFFINE, (r, 0, cx, 0, r, cy),
                        resample=Image.Resampling.BILINEAR, fillcolor=img.getpixel((0, 0)))
    return np.asarray(out)


def _image_bytes(s: dict) -> bytes:
    for ext in ("jpg", "png", "jpeg"):
        if ext in s:
            return s[ext]
    raise DataError(f"{s.get('__url__')}: sample {s['__key__']} has no jpg/png image; has {sorted(s)}")


def _collate(imgs: list[np.ndarray], labels: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)  # (B, 3, S, S) view of NHWC = channels-last
    return x, torch.tensor(labels, dtype=torch.int64)


def normalize(x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> ``dtype`` ``(x / 255 - MEAN) / STD``, same memory format."""
    mean = torch.tensor(MEAN, device=x.device, dtype=dtype).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD, device=x.device, dtype=dtype).view(1, 3, 1, 1) * 255
    return (x.to(dtype) - mean) / std


def worker_skip(batches: int, worker: int, workers: int) -> int:
    """Batches worker ``worker`` of ``workers`` has produced when its rank has consumed ``batches``
    (round-robin interleaving: global batch t comes from worker t mod W)."""
    return (batches - worker + workers - 1) // workers if batches > worker else 0


# --- the training stream ----------------------------------------------------------------------------

class ShardStream(torch.utils.data.IterableDataset):
    """Endless training batches of one rank (see the module docstring for the order).

    ``shuffle_buffer`` samples are held per worker and ``open_shards`` shards read at once.

    ``rank``/``world_size`` select the rank's share of each epoch's shards; the DataLoader's worker
    count must equal ``workers`` (0 and 1 both mean one stream). ``start_batch`` restarts the rank's
    stream after that many batches, reading but not decoding the samples it skips.
    """

    def __init__(self, spec: DataSpec, split: str, *, batch_size: int, seed: int, image_size: int,
                 augment: Augment, shuffle_buffer: int = 2000, rank: int = 0, world_size: int = 1,
                 workers: int = 1, start_batch: int = 0, verify_sha256: bool = False, open_shards: int = 16) -> None:
        super().__init__()
        if split not in spec.shards:
            raise DataError(f"{spec.source}: no split {split!r}; splits: {sorted(spec.shards)}")
        self.shards = spec.shards[split]
        self.classes = {c: k for k, c in enumerate(spec.classes)}
        self.batch_size, self.seed, self.size, self.augment = batch_size, seed, image_size, augment
        self.buffer, self.rank, self.world, self.workers = shuffle_buffer, rank, world_size, max(1, workers)
        self.start_batch, self.verify, self.open_shards = start_batch, verify_sha256, max(1, open_shards)
        g = self.world * self.workers
        counts = sorted(n for _, n, _ in self.shards)
        if len(counts) < g or sum(counts[:len(counts) // g]) < batch_size:
            raise DataError(f"{spec.source}: split {split!r} has {len(counts)} shards ({sum(counts)} samples); "
                            f"{self.world} rank(s) x {self.workers} worker(s) need every worker to get at least "
                            f"one batch of {batch_size} per epoch: use fewer --workers, a smaller --batch-size, "
                            f"or more, smaller shards (shards.samples_per_shard)")

    def epoch_shards(self, epoch: int, g: int) -> list[tuple[str, int, str]]:
        """The shards virtual worker ``g`` reads in ``epoch``."""
        rng = np.random.default_rng([self.seed, _STREAM_SHARDS, epoch])
        order = rng.permutation(len(self.shards))
        return [self.shards[i] for i in order[g::self.world * self.workers]]

    def _samples(self, g: int, skip: int) -> Iterator[tuple[int, dict]]:
        epoch = 0
        while True:
            shards = self.epoch_shards(epoch, g)
            n = sum(c for _, c, _ in shards)
            if skip >= n:
                skip -= n
                epoch += 1
                continue
            rng = np.random.default_rng([self.seed, epoch, g])
            for s in _shuffle(_interleave(shards, self.open_shards, rng, self.verify), self.buffer, rng):
                if skip:
                    skip -= 1
                    continue
                yield epoch, s
            epoch += 1

    def _decode(self, epoch: int, s: dict) -> tuple[np.ndarray, int]:
        rec = json.loads(s["json"])
        ident = rec["identity"]
        if ident not in self.classes:
            raise DataError(f"{s.get('__url__')}: sample {s['__key__']} has identity {ident}, which is not "
                            f"among the run's {len(self.classes)} classes")
        if self.augment.off:
            return decode_image(_image_bytes(s), self.size), self.classes[ident]
        z, tx, ty = augment_params(self.augment, self.seed, epoch, ident, rec["sample"])
        return decode_image(_image_bytes(s), self.size, z, (tx, ty)), self.classes[ident]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        w = 0 if info is None else info.id
        nw = 1 if info is None else info.num_workers
        if nw != self.workers:
            raise DataError(f"ShardStream built for {self.workers} workers runs under {nw} DataLoader workers")
        # after a restart at batch k, loader worker w plays the part of worker (w + k) mod W, whose
        # batch comes next in the round-robin order of the uninterrupted stream
        w = (w + self.start_batch) % self.workers
        g = self.rank * self.workers + w
        skip = worker_skip(self.start_batch, w, self.workers) * self.batch_size
        imgs, labels = [], []
        for epoch, s in self._samples(g, skip):
            im, lab = self._decode(epoch, s)
            imgs.append(im)
            labels.append(lab)
            if len(imgs) == self.batch_size:
                yield _collate(imgs, labels)
                imgs, labels = [], []


class EvalStream(torch.utils.data.IterableDataset):
    """Batches of a split in manifest order, without augmentation: ``(images, labels, records)``.

    ``records`` is the list of the batch's decoded JSON records; ``part``/``parts`` keep shards
    ``[part::parts]`` (one part per rank x worker). Every sample is yielded once; the last batch may be short.
    """

    def __init__(self, spec: DataSpec, split: str, *, batch_size: int, image_size: int, part: int = 0,
                 parts: int = 1, verify_sha256: bool = False) -> None:
        super().__init__()
        if split not in spec.shards:
            raise DataError(f"{spec.source}: no split {split!r}; splits: {sorted(spec.shards)}")
        self.shards = spec.shards[split]
        self.classes = {c: k for k, c in enumerate(spec.classes)}
        self.batch_size, self.size, self.verify = batch_size, image_size, verify_sha256
        self.part, self.parts = part, parts

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, nw = (0, 1) if info is None else (info.id, info.num_workers)
        imgs, labels, recs = [], [], []
        for u, _, h in self.shards[self.part * nw + w::self.parts * nw]:
            for s in _read_shard(u, h if self.verify else None):
                rec = json.loads(s["json"])
                imgs.append(decode_image(_image_bytes(s), self.size))
                labels.append(self.classes.get(rec["identity"], -1))
                recs.append(rec)
                if len(imgs) == self.batch_size:
                    yield (*_collate(imgs, labels), recs)
                    imgs, labels, recs = [], [], []
        if imgs:
            yield (*_collate(imgs, labels), recs)


def spec_dict(spec: DataSpec) -> dict:
    """JSON-able summary of a DataSpec (no shard lists)."""
    d = asdict(spec)
    d["shards"] = {k: {"shards": len(v), "samples": sum(n for _, n, _ in v)} for k, v in spec.shards.items()}
    d["classes"] = list(spec.classes)
    return d
