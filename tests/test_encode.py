"""Image encoders: JPEG through simplejpeg, checked against Pillow's encoder; PNG lossless."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facegen.render import quick_render
from facegen.shards.encode import decode_image, encode_image


@pytest.fixture(scope="module")
def face(embedded):
    return quick_render(embedded.mean_shape, embedded.triangles, np.clip(embedded.mean_albedo, 0, 1), size=128, yaw=20)


@pytest.mark.parametrize("quality", [75, 90, 95])
def test_jpeg_matches_pillow_at_the_same_quality(face, quality):
    ours = encode_image(face, "jpg", quality)
    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="JPEG", quality=quality)  # 4:2:0, the reference encoder
    a, b = decode_image(ours).astype(int), np.asarray(Image.open(buf)).astype(int)
    assert Image.open(io.BytesIO(ours)).format == "JPEG" and a.shape == face.shape
    assert np.abs(a - b).mean() < 0.5 and abs(len(ours) - len(buf.getvalue())) < 0.05 * len(buf.getvalue())
    assert np.abs(a - face.astype(int)).mean() < 4.0  # and near the original
    assert encode_image(face, "jpg", quality) == ours  # deterministic


def test_grey_jpeg_png_round_trip_and_bad_format(face):
    grey = face[..., 1].copy()
    g = np.asarray(Image.open(io.BytesIO(encode_image(grey, "jpg", 90))))
    assert g.shape == grey.shape and np.abs(g.astype(int) - grey).mean() < 3.0
    assert np.array_equal(decode_image(encode_image(face, "png")), face)
    with pytest.raises(ValueError, match="allowed: \\['png', 'jpg'\\]"):
        encode_image(face, "webp")
