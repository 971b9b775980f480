"""The numpy reference rasteriser against analytic answers (coverage, depth, z-order, texture, resolve)."""
import numpy as np

from facegen.render import Camera, Lighting
from facegen.render.api import _scene
from facegen.render.camera import project_points
from facegen.render.reference import (rasterize_reference, resolve_reference, sample_texture_reference)
from facegen.render.meshes import cube

FLAT = Lighting((), ambient=1.0)  # colour = albedo


def quad(z0=0.0, z1=0.0, half=50.0, colour=(0.5, 0.5, 0.5)):
    """A square in the x-y plane (CCW seen from +z) whose left edge has z0 and right edge z1."""
    v = np.array([[-half, -half, z0], [half, -half, z1], [half, half, z1], [-half, half, z0]])
    t = np.array([[0, 1, 2], [0, 2, 3]])
    return v, t, np.tile(colour, (4, 1))


def scene(v, t, alb=None, size=32, camera=Camera(), lighting=FLAT, ssaa=1, uvs=None, texture=None, cull=True):
    return _scene(v, t, alb, camera, lighting, size, (0.0, 0.0, 0.0), uvs, texture, ssaa, cull)


def test_square_covers_its_projected_pixel_centres():
    v, t, a = quad()
    s = scene(v, t, a, size=32)
    buf = rasterize_reference(s)
    p = project_points(v, s.camera, 32, 32)
    lo, hi = p[:, 0].min(), p[:, 0].max()
    centres = np.arange(32) + 0.5
    cols = (centres >= lo) & (centres <= hi)
    covered = np.isfinite(buf.zbuf)
    assert np.array_equal(covered[16], cols)
    assert np.allclose(buf.colour[covered], 0.5)


def test_depth_is_perspective_correct_on_a_tilted_plane():
    v, t, a = quad(z0=-40.0, z1=40.0)
    cam = Camera(fov=40.0)
    s = scene(v, t, a, size=48, camera=cam)
    buf = rasterize_reference(s)
    f, d = 24 / np.tan(np.radians(20.0)), cam.distance
    rows, cols = np.nonzero(np.isfinite(buf.zbuf))
    # ray through the pixel centre: x = (u - cx) Z / f, plane: z = 0.8 x  ->  Z = d - 0.8 (u - cx) Z / f
    u = cols + 0.5 - 24
    expected = d / (1 + 0.8 * u / f)
    assert np.allclose(buf.zbuf[rows, cols], expected, rtol=1e-5)


def test_nearer_surface_wins_whatever_the_triangle_order():
    va, ta, aa = quad(z0=10, z1=10, colour=(1, 0, 0))
    vb, tb, ab = quad(z0=-10, z1=-10, half=30, colour=(0, 1, 0))
    for first_near in (True, False):
        parts = [(va, ta, aa), (vb, tb, ab)] if first_near else [(vb, tb, ab), (va, ta, aa)]
        v = np.concatenate([parts[0][0], parts[1][0]])
        t = np.concatenate([parts[0][1], parts[1][1] + 4])
        a = np.concatenate([parts[0][2], parts[1][2]])
        buf = rasterize_reference(scene(v, t, a))
        assert np.allclose(buf.colour[16, 16], (1, 0, 0))


def test_back_faces_are_culled_only_when_asked():
    v, t, a = quad()
    back = t[:, ::-1]
    assert not np.isfinite(rasterize_reference(scene(v, back, a)).zbuf).any()
    assert np.isfinite(rasterize_reference(scene(v, back, a, cull=False)).zbuf).any()


def test_cube_front_face_depth():
    v, t = cube(100.0)
    s = scene(v, t, np.full((8, 3), 0.5), size=32)
    buf = rasterize_reference(s)
    assert np.isclose(buf.zbuf[16, 16], s.camera.distance - 50.0, rtol=1e-6)


def test_texture_sampling_texel_centres_and_bilinear():
    tex = np.zeros((2, 2, 3), np.float32)
    tex[0, 0] = 1.0           # top-left texel: u = 0.25, v = 0.75
    assert np.allclose(sample_texture_reference(tex, np.array([[0.25, 0.75]])), 1.0)
    assert np.allclose(sample_texture_reference(tex, np.array([[0.5, 0.75]])), 0.5)
    assert np.allclose(sample_texture_reference(tex, np.array([[0.0, 1.0]])), 1.0)  # clamp to edge


def test_textured_quad_shows_texture_upright():
    v, t, _ = quad(half=125.0)
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    tex = np.zeros((2, 2, 3), np.uint8)
    tex[0, :, 0] = 255          # top row red
    tex[1, :, 2] = 255          # bottom row blue
    buf = rasterize_reference(scene(v, t, None, size=16, uvs=uvs, texture=tex))
    assert buf.colour[1, 8, 0] > 0.9 and buf.colour[14, 8, 2] > 0.9


def test_resolve_supersampling_averages_with_background():
    v, t, a = quad(colour=(1.0, 1.0, 1.0))
    s = scene(v, t, a, size=8, ssaa=2, camera=Camera(translation=(0.25, 0.0)))
    buf = rasterize_reference(s)
    img, mask, depth = resolve_reference(buf, s.background, 2, encoding="linear")
    vals = set(np.unique(img[4]).tolist())
    assert vals <= {0, 128, 255} and 128 in vals and 255 in vals   # half-covered edge pixel
    assert np.array_equal(mask, img[..., 0] >= 128)
    assert np.all(np.isinf(depth[~mask])) and np.all(np.isfinite(depth[mask]))
    # sRGB output averages in linear light: half white over black is linear 0.5, display 0.735
    srgb, mask2, depth2 = resolve_reference(buf, s.background, 2)
    assert set(np.unique(srgb[4]).tolist()) == {0, 188, 255} and np.array_equal(srgb == 188, img == 128)
    assert np.array_equal(mask2, mask) and np.array_equal(depth2, depth)
