"""tario.shard_bytes writes exactly the bytes tarfile writes, and the result reads back."""
from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from facegen.shards.tario import _member, read_shard, shard_bytes, write_shard


def _tarfile_reference(samples) -> bytes:
    """The same members written by tarfile.TarFile.addfile (the library as the reference)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for s in samples:
            for ext in sorted(k for k in s if k != "__key__"):
                tf.addfile(_member(f"{s['__key__']}.{ext}", s[ext]), io.BytesIO(s[ext]))
    return buf.getvalue()


def _samples(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [{"__key__": f"{i:06d}_{i * 7:06d}", "jpg": rng.bytes(n), "json": b'{"i":%d}' % i}
            for i, n in enumerate(sizes)]


@pytest.mark.parametrize("sizes", [[], [0], [1], [511, 512, 513], [10240 - 1024], list(range(0, 3000, 97))])
def test_shard_bytes_equal_tarfile_output(sizes):
    samples = _samples(sizes)
    data, n = shard_bytes(samples)
    assert n == len(samples)
    assert data == _tarfile_reference(samples)
    assert len(data) % tarfile.RECORDSIZE == 0


def test_shards_read_back_with_tarfile_webdataset_and_read_shard(tmp_path):
    wds = pytest.importorskip("webdataset")
    samples = _samples([100, 5000, 0, 777])
    n, size, digest = write_shard(tmp_path / "a.tar", samples)
    assert (n, size) == (4, (tmp_path / "a.tar").stat().st_size)
    with tarfile.open(tmp_path / "a.tar") as tf:
        names = tf.getnames()
        assert all(m.mtime == 0 and m.uid == 0 and m.mode == 0o644 for m in tf.getmembers())
    assert names == [f"{s['__key__']}.{e}" for s in samples for e in ("jpg", "json")]
    back = read_shard(tmp_path / "a.tar")
    assert [dict(b) for b in back] == samples
    got = list(wds.WebDataset(str(tmp_path / "a.tar"), shardshuffle=False))
    assert [(g["__key__"], g["jpg"], g["json"]) for g in got] == [(s["__key__"], s["jpg"], s["json"]) for s in samples]


def test_key_with_a_dot_is_refused_before_anything_is_built():
    with pytest.raises(ValueError, match="contains '.'"):
        shard_bytes([{"__key__": "a.b", "jpg": b"x"}])


@pytest.mark.parametrize("name", ["a.jpg", "000001_000002.json", "x" * 99 + ".", "y" * 100, "z" * 96 + "/" + "w" * 40,
                                  "gesicht_ä.png"])
@pytest.mark.parametrize("size", [0, 1, 512, 7 * 8**5, 8**11 - 1])
def test_fast_header_equals_tarinfo_tobuf(name, size):
    from facegen.shards.tario import _header

    ref = _member(name, b"")
    ref.size = size
    assert _header(name, size) == ref.tobuf(tarfile.USTAR_FORMAT, tarfile.ENCODING, "surrogateescape")
