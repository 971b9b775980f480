"""sRGB output (issue 15): the transfer functions and their table against IEC 61966-2-1, rendered
pixels against the encoded linear shade, the linear mode's old bytes, and the compiled backend
equal to the numpy reference bit for bit in sRGB mode."""
import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, render, render_batch
from facegen.render.colour import (ENCODINGS, SRGB_LUT, SRGB_LUT_SIZE, decode_srgb, encode_srgb,
                                   linear_background)
from facegen.render.meshes import ellipsoid_head
from facegen.render.numba_backend import resolve_buffers
from facegen.render.reference import resolve_reference
from facegen.render.types import Buffers

N = SRGB_LUT_SIZE
#: encode_srgb's largest slope (its linear segment; the power segment starts at 12.70 and falls)
MAX_SLOPE = 12.92
#: |table byte - 255 * encode_srgb(x)|: 0.5 from rounding the table's entry, plus the index rounding
#: (x moves by at most 0.5 / (N - 1), the encoding by MAX_SLOPE times that)
LUT_BOUND = 0.5 + 255.0 * MAX_SLOPE * 0.5 / (N - 1)


def lut_byte(x):
    """The documented encoding of linear x: SRGB_LUT[floor(clip(x, 0, 1) * (N - 1) + 0.5)]."""
    return SRGB_LUT[np.floor(np.clip(np.asarray(x, np.float64), 0, 1) * (N - 1) + 0.5).astype(np.intp)]


def test_formulas_at_known_points():
    assert ENCODINGS == ("srgb", "linear")
    assert np.isclose(encode_srgb(0.0031308), 0.04045, rtol=0, atol=1e-6)
    assert np.isclose(decode_srgb(0.04045), 0.0031308, rtol=0, atol=1e-7)
    assert np.isclose(decode_srgb(0.5), 0.21404, rtol=0, atol=1e-5)
    assert np.isclose(encode_srgb(0.21404), 0.5, rtol=0, atol=1e-5)
    assert encode_srgb(0.0) == 0.0 and np.isclose(encode_srgb(1.0), 1.0, rtol=0, atol=1e-15)
    assert decode_srgb(0.0) == 0.0 and np.isclose(decode_srgb(1.0), 1.0, rtol=0, atol=1e-15)
    assert encode_srgb(0.001) == 12.92 * 0.001                                   # linear segment
    assert np.isclose(encode_srgb(0.5), 1.055 * 0.5 ** (1 / 2.4) - 0.055, rtol=1e-15)  # power segment
    # the two segments meet at the knee (continuous to 1e-7)
    assert abs(12.92 * 0.0031308 - (1.055 * 0.0031308 ** (1 / 2.4) - 0.055)) < 1e-7


def test_round_trip_and_monotone():
    x = np.linspace(0.0, 1.0, 100001)
    assert np.abs(decode_srgb(encode_srgb(x)) - x).max() < 1e-12
    # the standard's two thresholds disagree by 6e-8 (12.92 * 0.0031308 = 0.040449936 < 0.04045): display
    # values in between decode on the linear segment and encode back on the power one, 3e-8 off
    assert np.abs(encode_srgb(decode_srgb(x)) - x).max() < 1e-7
    off_knee = np.abs(x - 0.04045) > 1e-7
    assert np.abs(encode_srgb(decode_srgb(x)) - x)[off_knee].max() < 1e-12
    assert np.all(np.diff(encode_srgb(x)) > 0) and np.all(np.diff(decode_srgb(x)) > 0)
    assert np.all(encode_srgb(x[1:-1]) > x[1:-1])  # encoding brightens: the point of the issue


def test_lut_against_exact_formula():
    assert SRGB_LUT.shape == (N,) and SRGB_LUT.dtype == np.uint8 and not SRGB_LUT.flags.writeable
    assert SRGB_LUT[0] == 0 and SRGB_LUT[-1] == 255 and np.all(np.diff(SRGB_LUT.astype(int)) >= 0)
    exact = 255.0 * encode_srgb(np.arange(N) / (N - 1))
    assert np.abs(SRGB_LUT - exact).max() <= 0.5 + 1e-9          # each entry rounded
    assert np.array_equal(SRGB_LUT, np.floor(exact + 0.5).astype(np.uint8))
    # any x: within the derived bound of the exact encoding (measured 0.843), so never more than one
    # byte from the exactly rounded byte
    x = np.linspace(0.0, 1.0, 2_000_001)
    err = lut_byte(x) - 255.0 * encode_srgb(x)
    assert np.abs(err).max() <= LUT_BOUND < 1.0
    assert np.abs(lut_byte(x).astype(int) - np.floor(255.0 * encode_srgb(x) + 0.5)).max() <= 1
    assert lut_byte(0.21404) == 127 and lut_byte(0.2159) == 128 and lut_byte(1.5) == 255 and lut_byte(-1) == 0


def test_every_8bit_background_value_survives_decode_and_table():
    b = np.arange(256)
    assert np.array_equal(lut_byte(decode_srgb(b / 255.0)), b)


def test_linear_background():
    img = np.random.default_rng(0).random((4, 5, 3))
    assert linear_background(img, "linear") is img
    assert np.array_equal(linear_background(img, "srgb"), decode_srgb(img))
    flat = np.array([0.5, 0.25, 1.0])
    assert np.array_equal(linear_background(flat, "srgb"), decode_srgb(flat))
    assert linear_background(flat, "srgb") is linear_background(flat.copy(), "srgb")  # cached by value


# -- rendered pixels ------------------------------------------------------------------------------

def _plane(grey):
    """A 300 mm square facing the camera (wider than the 250 mm frame), uniform albedo ``grey``."""
    v = np.array([[-150.0, -150.0, 0.0], [150.0, -150.0, 0.0], [150.0, 150.0, 0.0], [-150.0, 150.0, 0.0]])
    return v, np.array([[0, 1, 2], [0, 2, 3]]), np.full((4, 3), grey)


#: a light from the camera (n . l = 1 on the plane) plus ambient: linear shade = albedo * 0.9
PLANE_LIGHT = Lighting((DirectionalLight(0.0, 0.0, 0.6),), ambient=0.3)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_flat_lit_plane_pixel_is_the_encoded_linear_shade(backend):
    greys = [0.004, 0.02, 0.05, 0.11, 0.18, 0.3, 0.5, 0.7, 0.85]
    for g in greys:
        shade = g * (0.3 + 0.6)
        # away from either rounding boundary, so an ulp of interpolation cannot move the byte
        assert 0.05 < (shade * (N - 1)) % 1 < 0.95 and 0.05 < (shade * 255) % 1 < 0.95, g
        kw = dict(lighting=PLANE_LIGHT, size=16, backend=backend, background=(0.5, 0.5, 0.5), return_mask=True)
        srgb = render(*_plane(g), **kw)
        lin = render(*_plane(g), encoding="linear", **kw)
        assert srgb.mask.all() and lin.mask.all()
        assert np.all(srgb.image == lut_byte(shade)), (g, np.unique(srgb.image), lut_byte(shade))
        assert abs(int(srgb.image[8, 8, 0]) - 255 * encode_srgb(shade)) <= LUT_BOUND
        assert np.all(lin.image == np.floor(shade * 255 + 0.5)), (g, np.unique(lin.image))  # the old bytes
    # dark surfaces are what the issue is about: linear 0.045 is byte 11 linear, 60 encoded
    assert render(*_plane(0.05), lighting=PLANE_LIGHT, size=4).image[2, 2, 0] == 60
    assert render(*_plane(0.05), lighting=PLANE_LIGHT, size=4, encoding="linear").image[2, 2, 0] == 11


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("ssaa", [1, 2])
def test_background_is_a_display_value_and_edges_mix_in_linear_light(backend, ssaa):
    # an 8-bit image background shows through uncovered pixels unchanged in both encodings
    bg = np.arange(256, dtype=np.uint8).repeat(3).reshape(16, 16, 3)
    v, _, a = _plane(0.5)
    for enc in ENCODINGS:
        out = render(v, np.zeros((0, 3), np.int64), a, size=16, background=bg, ssaa=ssaa, backend=backend,
                     encoding=enc)
        assert np.array_equal(out.image, bg), enc
    # a flat grey 0.5 over which a white plane's edge half-covers pixels: those are the mean of
    # linear 1.0 and decode(0.5), encoded
    v, t, a = _plane(1.0)
    cam = Camera(translation=(0.25, 0.0))
    kw = dict(lighting=Lighting((), ambient=1.0), camera=cam, size=8, ssaa=2, background=(0.5, 0.5, 0.5),
              backend=backend, return_mask=True)
    v = v * np.array([0.5, 1.0, 1.0])  # narrower than the image: edges inside it
    srgb, lin = render(v, t, a, **kw), render(v, t, a, encoding="linear", **kw)
    half = lut_byte((1.0 + float(decode_srgb(0.5))) / 2)
    assert set(np.unique(srgb.image).tolist()) == {127, half, 255} and half == 204
    assert set(np.unique(lin.image).tolist()) == {128, 191, 255}  # (1 + 0.5) / 2 -> 191 as before
    assert np.array_equal(srgb.mask, lin.mask)


# -- the compiled backend equals the reference bit for bit in sRGB mode ----------------------------

@pytest.mark.parametrize("ssaa", [1, 2, 3])
@pytest.mark.parametrize("image_bg", [False, True])
def test_compiled_resolve_equals_reference_bit_for_bit(ssaa, image_bg):
    rng = np.random.default_rng(ssaa + 10 * image_bg)
    h = w = 24
    col = rng.uniform(-0.2, 1.3, (h * ssaa, w * ssaa, 3)).astype(np.float32)  # out of range too
    col[:4] = (np.arange(4 * w * ssaa * 3).reshape(4, w * ssaa, 3) / (N - 1) / 4).astype(np.float32)  # darks
    z = rng.uniform(100, 200, col.shape[:2]).astype(np.float32)
    z[rng.random(z.shape) < 0.4] = np.inf
    bg = rng.random((h, w, 3)) if image_bg else np.array([0.2, 0.5, 0.9])
    for enc in ENCODINGS:
        a = resolve_buffers(col, z, bg, ssaa, enc)
        b = resolve_reference(Buffers(col, z), bg, ssaa, enc)
        for x, y in zip(a, b):
            assert np.array_equal(x, y), enc
    srgb, lin = (resolve_buffers(col, z, bg, ssaa, enc)[0] for enc in ENCODINGS)
    assert not np.array_equal(srgb, lin)


HEAD = ellipsoid_head(24, 48)
LIGHTS = [Lighting(), Lighting((DirectionalLight(35, 20, 0.6, (1.0, 0.9, 0.8)),), ambient=0.25, specular=0.3)]


@pytest.mark.parametrize("ssaa", [1, 2])
@pytest.mark.parametrize("image_bg", [False, True])
@pytest.mark.parametrize("lighting", LIGHTS)
def test_numba_render_equals_numpy_reference_bit_for_bit(ssaa, image_bg, lighting):
    v, t, _ = HEAD
    alb = np.random.default_rng(3).uniform(0.0, 1.0, (len(v), 3))  # darks to brights
    bg = np.random.default_rng(4).integers(0, 256, (40, 40, 3), dtype=np.uint8) if image_bg else (0.3, 0.3, 0.3)
    kw = dict(camera=Camera(yaw=20, pitch=-10), lighting=lighting, size=40, ssaa=ssaa, background=bg,
              return_mask=True, return_depth=True)
    a = render(v, t, alb, backend="numba", **kw)
    b = render(v, t, alb, backend="numpy", **kw)
    assert 0.2 < a.mask.mean() < 0.9
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert np.array_equal(a.depth, b.depth)
    # and the batch path (two meshes: the parallel kernel) encodes the same way
    many = render_batch([v, v * 1.0], t, alb, cameras=[kw["camera"]] * 2, lightings=[lighting] * 2, size=40,
                        ssaa=ssaa, background=bg)
    assert np.array_equal(many[0].image, a.image) and np.array_equal(many[1].image, a.image)


@pytest.mark.parametrize("bad", ["sRGB", "gamma", "", None, 2.2])
def test_bad_encoding_is_refused_with_the_allowed_values(bad):
    v, t, a = HEAD
    msg = f"encoding: expected one of ['srgb', 'linear'] (the image's bytes: sRGB display values or the linear " \
          f"values), received {bad!r}"
    with pytest.raises(ValueError) as info:
        render(v, t, a, size=8, encoding=bad)
    assert str(info.value) == msg
    with pytest.raises(ValueError, match="encoding: expected one of"):
        render_batch(v, t, a, cameras=[Camera()] * 2, size=8, encoding=bad)
    from facegen.render import quick_render
    from facegen.render.api import render_checked_mesh

    with pytest.raises(ValueError, match="encoding: expected one of"):
        quick_render(v, t, a, size=8, encoding=bad)
    with pytest.raises(ValueError, match="encoding: expected one of"):
        render_checked_mesh(v, t.astype(np.int32), a, camera=Camera(), lighting=Lighting(), size=8,
                            background=(0.0, 0.0, 0.0), encoding=bad)


def test_encoding_reaches_every_entry_point():
    from facegen.render import quick_render
    from facegen.render.api import render_checked_mesh

    v, t, a = HEAD
    kw = dict(camera=Camera(), lighting=Lighting(), size=24, background=(0.0, 0.0, 0.0))
    for enc in ENCODINGS:
        ref = render(v, t, a, encoding=enc, **kw).image
        assert np.array_equal(render_checked_mesh(v, t.astype(np.int32), a, encoding=enc, **kw).image, ref)
        assert np.array_equal(render_batch(v, t, a, cameras=[Camera()] * 2, size=24, encoding=enc)[1].image, ref)
    srgb, lin = quick_render(v, t, a, size=24), quick_render(v, t, a, size=24, encoding="linear")
    cover = lin > 0
    assert np.all(srgb[cover] >= lin[cover]) and (srgb[cover].astype(int) - lin[cover]).mean() > 20  # brighter


def test_nan_colour_reads_the_table_not_past_it():
    # an infinite light gives 0 * inf = NaN where n . l = 0; the table lookup must stay inside
    col = np.full((4, 4, 3), np.nan, np.float32)
    col[0, 0] = (np.inf, -np.inf, 0.5)
    img, mask, _ = resolve_buffers(col, np.full((4, 4), 100.0, np.float32), np.zeros(3), 1, "srgb")
    assert mask.all() and np.all(img[1:] == 0) and tuple(img[0, 0]) == (255, 0, lut_byte(0.5))
