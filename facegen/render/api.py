"""Public entry points: ``render`` (one scene), ``render_batch`` (many faces sharing triangles),
``quick_render`` (auto-framed preview), ``available_backends``. Inputs are validated here, once;
backends trust the ``Scene`` they get. Conventions and units: ``facegen.render.camera``.

Images are uint8 RGB; by default (``encoding="srgb"``) they hold sRGB-encoded display values of the
linear shading, as a camera writes a JPEG; ``encoding="linear"`` writes the linear values as they
are. A ``background`` is a display value either way (``facegen.render.colour``)."""
from __future__ import annotations

import functools
import logging
import math
from typing import Sequence

import numpy as np

from .camera import Camera, DirectionalLight, Lighting
from .colour import ENCODINGS
from .landmarks import project_landmarks
from .types import RenderOutput, Scene

__all__ = ["BACKENDS", "available_backends", "get_backend", "quick_render", "render", "render_batch",
           "check_mesh_indices", "render_checked_mesh"]

log = logging.getLogger(__name__)

#: Backend names, in order of preference; "numba" is the default.
BACKENDS = ("numba", "numpy", "moderngl", "pyrender")

_INSTANCES: dict = {}


def get_backend(name: str):
    """The (cached) backend object called ``name``; raises ValueError or RuntimeError with the reason."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not a renderer backend; expected one of {list(BACKENDS)}")
    if name not in _INSTANCES:
        if name == "numba":
            from .numba_backend import NumbaBackend as cls
        elif name == "numpy":
            from .reference import NumpyBackend as cls
        elif name == "moderngl":
            from .moderngl_backend import ModernglBackend as cls
        else:
            from .pyrender_backend import PyrenderBackend as cls
        _INSTANCES[name] = cls()
    return _INSTANCES[name]


def available_backends() -> dict[str, str]:
    """Map each backend name to ``"ok"`` when it imports and initialises here, else to the reason."""
    out = {}
    for name in BACKENDS:
        try:
            get_backend(name)
            out[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the reason is the product here
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


# -- validation --------------------------------------------------------------------------------


def _array(x, name: str, shape: tuple, dtype=np.float64, keep_float32: bool = False) -> np.ndarray:
    """``x`` as a C-contiguous array of ``dtype`` with ``shape`` (None = any length), finite.

    ``keep_float32``: a float32 array stays float32 (the compiled kernels read it directly, so a
    per-sample mesh needs no float64 copy)."""
    if keep_float32 and isinstance(x, np.ndarray) and x.dtype == np.float32:
        dtype = np.float32
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected an array of shape {_fmt(shape)}, received {type(x).__name__}")
    try:
        a = np.ascontiguousarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a numeric array of shape {_fmt(shape)}, received "
                        f"{type(x).__name__} ({exc})") from None
    if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
        raise ValueError(f"{name}: expected shape {_fmt(shape)}, received {a.shape}; reshape or index it "
                         f"to match")
    if a.dtype.kind == "f" and not math.isfinite(float(a.sum())) and not np.all(np.isfinite(a)):
        # (the sum is NaN/inf when any element is; the full check rules out mere overflow)
        raise ValueError(f"{name}: expected finite values, received NaN or inf; remove or replace them")
    return a


def _indices_below(idx: np.ndarray, n: int) -> bool:
    """All of the signed integer array ``idx`` (non-empty) in [0, n): one pass over an unsigned view,
    where negative values wrap to above any valid index."""
    return int(idx.view(np.dtype(idx.dtype.str.replace("i", "u"))).max()) < n


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"


def _size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        h = w = int(size)
    elif isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(s, (int, np.integer)) for s in size):
        h, w = int(size[0]), int(size[1])
    else:
        raise TypeError(f"size: expected an int or (height, width) ints, received {size!r}")
    if not (1 <= h <= 8192 and 1 <= w <= 8192):
        raise ValueError(f"size: expected 1..8192 pixels per side, received {(h, w)}")
    return h, w


@functools.lru_cache(maxsize=256)
def _flat_colour(rgb: tuple) -> np.ndarray:
    """Validated, read-only (3,) float64 colour (cached: a dataset uses a handful of grey levels)."""
    c = _array(rgb, "background", (3,))
    if c.min() < 0 or c.max() > 1:
        raise ValueError(f"background: expected an RGB colour in [0, 1], received {tuple(rgb)}")
    c.setflags(write=False)
    return c


def _background(background, h: int, w: int) -> np.ndarray:
    """(H, W, 3) float64 image or (3,) float64 colour, in [0, 1]."""
    if isinstance(background, np.ndarray) and background.ndim == 3:
        if background.shape != (h, w, 3):
            raise ValueError(f"background: expected an image of shape {(h, w, 3)}, received {background.shape}")
        scale = 255.0 if background.dtype == np.uint8 else 1.0
        return np.ascontiguousarray(background, dtype=np.float64) / scale
    if isinstance(background, tuple):
        try:
            return _flat_colour(background)
        except TypeError:  # unhashable members: validated below with the usual message
            pass
    return _flat_colour(tuple(_array(background, "background", (3,)).tolist()))


def _check_camera(camera, name="camera") -> Camera:
    if not isinstance(camera, Camera):
        raise TypeError(f"{name}: expected facegen.render.Camera, received {type(camera).__name__}")
    if not 0.0 < camera.fov < 179.0:
        raise ValueError(f"{name}.fov: expected degrees in (0, 179), received {camera.fov}")
    if not camera.scale > 0.0 or not math.isfinite(camera.scale):
        raise ValueError(f"{name}.scale: expected a positive zoom factor, received {camera.scale}")
    if not camera.frame_mm > 0.0:
        raise ValueError(f"{name}.frame_mm: expected a positive width in mm, received {camera.frame_mm}")
    if not 0.0 < camera.near < camera.distance:
        raise ValueError(f"{name}.near: expected 0 < near < camera distance {camera.distance:.1f} mm, "
                         f"received {camera.near}")
    return camera


def _check_lighting(lighting, name="lighting") -> Lighting:
    if not isinstance(lighting, Lighting):
        raise TypeError(f"{name}: expected facegen.render.Lighting, received {type(lighting).__name__}")
    for j, light in enumerate(lighting.lights):
        if not isinstance(light, DirectionalLight):
            raise TypeError(f"{name}.lights[{j}]: expected DirectionalLight, received {type(light).__name__}")
    if lighting.sh is not None:
        _array(lighting.sh, f"{name}.sh", (9, 3))
    if lighting.specular < 0 or lighting.shininess <= 0:
        raise ValueError(f"{name}: expected specular >= 0 and shininess > 0, received "
                         f"{lighting.specular}, {lighting.shininess}")
    return lighting


def _scene(vertices, triangles, albedo, camera, lighting, size, background, uvs, texture, ssaa,
           cull_backfaces, want_depth=True, encoding="srgb") -> Scene:
    """Validate everything and build the ``Scene``."""
    v, t, alb, uv, tex = _mesh_arrays(vertices, triangles, albedo, uvs, texture)
    return _make_scene(v, t, alb, uv, tex, camera, lighting, size, background, ssaa, cull_backfaces, want_depth,
                       encoding)


def _mesh_arrays(vertices, triangles, albedo, uvs, texture):
    """Validated (vertices (V, 3) f64, triangles (F, 3) i32, albedo | None, uvs | None, texture | None)."""
    v = _array(vertices, "vertices", (None, 3), keep_float32=True)
    t_in = np.asarray(triangles) if not isinstance(triangles, (str, bytes)) and triangles is not None else triangles
    is_int = isinstance(t_in, np.ndarray) and t_in.dtype.kind in "iu"
    t = _array(t_in, "triangles", (None, 3), dtype=np.int32 if is_int else np.int64)
    if t.size and not _indices_below(t, len(v)):
        raise ValueError(f"triangles: expected vertex indices in [0, {len(v) - 1}], received "
                         f"[{t.min()}, {t.max()}]")
    if (albedo is None) == (texture is None):
        raise ValueError("expected exactly one of albedo (V, 3) or texture (Ht, Wt, 3) with uvs (V, 2), "
                         f"received albedo={'set' if albedo is not None else None}, "
                         f"texture={'set' if texture is not None else None}")
    alb = uv = tex = None
    if albedo is not None:
        alb = _array(albedo, "albedo", (len(v), 3), keep_float32=True)
    else:
        uv = _array(uvs, "uvs", (len(v), 2))
        tex_in = np.asarray(texture)
        tex = _array(tex_in, "texture", (None, None, 3), dtype=np.float32)
        if tex_in.dtype == np.uint8:
            tex = tex / np.float32(255.0)
    return v, t.astype(np.int32, copy=False), alb, uv, tex


def _check_encoding(encoding) -> str:
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise ValueError(f"encoding: expected one of {list(ENCODINGS)} (the image's bytes: sRGB display values "
                         f"or the linear values), received {encoding!r}")
    return encoding


def _make_scene(v, t, alb, uv, tex, camera, lighting, size, background, ssaa, cull_backfaces, want_depth,
                encoding="srgb") -> Scene:
    """``Scene`` from validated mesh arrays; checks the cheap per-image settings."""
    if not isinstance(ssaa, (int, np.integer)) or not 1 <= ssaa <= 8:
        raise ValueError(f"ssaa: expected an int in 1..8, received {ssaa!r}")
    _check_encoding(encoding)
    h, w = _size(size)
    return Scene(vertices=v, triangles=t, albedo=alb, uvs=uv, texture=tex,
                 camera=_check_camera(camera), lighting=_check_lighting(lighting), height=h, width=w,
                 background=_background(background, h, w), ssaa=int(ssaa), cull_backfaces=bool(cull_backfaces),
                 want_depth=bool(want_depth), encoding=encoding)


def _check_tolerance(tolerance_mm) -> None:
    if not isinstance(tolerance_mm, (int, float)) or not 0.0 <= tolerance_mm < math.inf:
        raise ValueError(f"visibility_tolerance_mm: expected a finite number of mm >= 0, received {tolerance_mm!r}")


def _landmark_indices(landmarks, n_vertices: int) -> np.ndarray:
    """Validated (K,) int64 landmark vertex indices in [0, n_vertices)."""
    idx = _array(landmarks, "landmarks", (None,), dtype=np.int64)
    if idx.size and not _indices_below(idx, n_vertices):
        raise ValueError(f"landmarks: expected vertex indices in [0, {n_vertices - 1}], received "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


def check_mesh_indices(triangles, landmarks, n_vertices: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(triangles (F, 3) int32, landmarks (K,) int64 or None), validated once for ``render_checked_mesh``."""
    t = _mesh_arrays(np.zeros((n_vertices, 3)), triangles, np.zeros((n_vertices, 3)), None, None)[1]
    return t, None if landmarks is None else _landmark_indices(landmarks, n_vertices)


def _output(scene, result, landmarks, return_mask, return_depth, tolerance_mm, checked=False) -> RenderOutput:
    """``RenderOutput`` of a backend's result; ``checked``: ``landmarks`` are already validated indices."""
    img, mask, depth = result
    lms = None
    if landmarks is not None:
        idx = landmarks if checked else _landmark_indices(landmarks, len(scene.vertices))
        lms = project_landmarks(scene.vertices, idx, scene.camera, depth, tolerance_mm)
    return RenderOutput(image=img, mask=mask if return_mask else None, depth=depth if return_depth else None,
                        landmarks_2d=lms)


# -- public API --------------------------------------------------------------------------------


def render(
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray | None = None,
    *,
    camera: Camera = Camera(),
    lighting: Lighting = Lighting(),
    size: int | tuple[int, int] = 224,
    background: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 0.0),
    uvs: np.ndarray | None = None,
    texture: np.ndarray | None = None,
    landmarks: np.ndarray | None = None,
    return_mask: bool = False,
    return_depth: bool = False,
    ssaa: int = 1,
    cull_backfaces: bool = True,
    visibility_tolerance_mm: float = 5.0,
    backend: str = "numba",
    encoding: str = "srgb",
) -> RenderOutput:
    """Render one mesh.

    Args:
        vertices: (V, 3) mm, model coordinates (conventions in ``facegen.render.camera``).
        triangles: (F, 3) int vertex indices, counter-clockwise seen from outside.
        albedo: (V, 3) per-vertex albedo in [0, 1]; or None and give ``uvs`` (V, 2) and ``texture``
            (Ht, Wt, 3) (uint8, or float in [0, 1]; row 0 is the top, v = 1).
        camera, lighting: pose, framing and lights.
        size: output side (int) or (height, width), pixels.
        background: RGB in [0, 1], or an (H, W, 3) image (uint8 or float in [0, 1]); display
            values (with ``encoding="srgb"`` decoded to linear light, composited, encoded again).
        landmarks: (K,) vertex indices whose 2-D positions and visibility to return.
        return_mask, return_depth: include the (H, W) mask / depth (mm) in the output.
        ssaa: supersampling anti-aliasing factor (k x k samples per pixel).
        cull_backfaces: skip triangles seen from behind.
        visibility_tolerance_mm: a landmark is visible when its depth is at most the z-buffer depth at
            its pixel plus this.
        backend: one of ``BACKENDS``.
        encoding: the image's bytes: "srgb" (default), sRGB-encoded display values of the linear
            shading; "linear", the linear values as they are (``RenderOutput.image``).

    Returns:
        ``RenderOutput``.
    """
    _check_tolerance(visibility_tolerance_mm)
    scene = _scene(vertices, triangles, albedo, camera, lighting, size, background, uvs, texture, ssaa,
                   cull_backfaces, return_depth or landmarks is not None, encoding)
    return _output(scene, get_backend(backend).render(scene), landmarks, return_mask, return_depth,
                   visibility_tolerance_mm)


def render_checked_mesh(
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    *,
    camera: Camera,
    lighting: Lighting,
    size: int,
    background: tuple[float, float, float],
    landmarks: np.ndarray | None = None,
    return_mask: bool = False,
    return_depth: bool = False,
    visibility_tolerance_mm: float = 5.0,
    backend: str = "numba",
    encoding: str = "srgb",
) -> RenderOutput:
    """``render`` of a mesh whose arrays the caller has already validated, for per-sample loops.

    The dataset sampler checks its model's ``triangles`` and ``landmarks`` once
    (``check_mesh_indices``), and composes finite float32 ``vertices`` and ``albedo`` in [0, 1]
    itself; re-checking them cost about a tenth of a 128 px sample. Camera, lighting, size and
    background (and encoding) are still checked, and the output equals ``render``'s bit for bit
    (``tests/test_render_api.py``). Anything else should call ``render``.
    """
    _check_tolerance(visibility_tolerance_mm)
    scene = _make_scene(vertices, triangles, albedo, None, None, camera, lighting, size, background, 1, True,
                        return_depth or landmarks is not None, encoding)
    return _output(scene, get_backend(backend).render(scene), landmarks, return_mask, return_depth,
                   visibility_tolerance_mm, checked=True)


def render_batch(
    vertices: np.ndarray | Sequence[np.ndarray],
    triangles: np.ndarray,
    albedo: np.ndarray | Sequence[np.ndarray],
    *,
    cameras: Camera | Sequence[Camera] = Camera(),
    lightings: Lighting | Sequence[Lighting] = Lighting(),
    size: int | tuple[int, int] = 224,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
    landmarks: np.ndarray | None = None,
    return_mask: bool = False,
    return_depth: bool = False,
    ssaa: int = 1,
    cull_backfaces: bool = True,
    visibility_tolerance_mm: float = 5.0,
    backend: str = "numba",
    encoding: str = "srgb",
) -> list[RenderOutput]:
    """Render B images of meshes that share ``triangles``.

    ``vertices``: (V, 3) one mesh for every image (e.g. one face in many poses and lights; B is
    then the number of cameras / lightings), or (B, V, 3), or a list of B (V, 3) arrays (list
    entries that are the same object are processed once). ``albedo``: (V, 3) shared, (B, V, 3) or
    a list. ``cameras`` / ``lightings``: one, or B of them. Other arguments as in ``render``.

    The "numba" backend spreads the images over all cores; every image equals ``render`` of that
    scene alone, bit for bit.
    """
    _check_tolerance(visibility_tolerance_mm)
    _check_encoding(encoding)
    cams = None if isinstance(cameras, Camera) else list(cameras)
    ligs = None if isinstance(lightings, Lighting) else list(lightings)
    if isinstance(vertices, (list, tuple)):
        verts = list(vertices)
    else:
        arr = np.asarray(vertices)
        if arr.ndim == 2:
            b = max(len(cams) if cams is not None else 1, len(ligs) if ligs is not None else 1)
            verts = [vertices] * b
        else:
            verts = list(_array(arr, "vertices", (None, None, 3)))
    b = len(verts)
    alb = albedo if isinstance(albedo, (list, tuple)) else np.asarray(albedo)
    albs = list(alb) if isinstance(alb, list) or (isinstance(alb, np.ndarray) and alb.ndim == 3) else [albedo] * b
    cams = [cameras] * b if cams is None else cams
    ligs = [lightings] * b if ligs is None else ligs
    for name, seq in (("albedo", albs), ("cameras", cams), ("lightings", ligs)):
        if len(seq) != b:
            raise ValueError(f"{name}: expected one or {b} (one per image), received {len(seq)}")
    # validate each distinct array once, so identical inputs stay one object downstream
    checked: dict = {}

    def once(x, name, shape, dtype=np.float64):
        key = (id(x), name)
        if key not in checked:
            checked[key] = _array(x, name, shape, dtype)
        return checked[key]

    t = _mesh_arrays(verts[0], triangles, albs[0], None, None)[1]
    verts = [once(v, "vertices", (None, 3)) for v in verts]
    nv = len(verts[0])
    for i, v in enumerate(verts):
        if len(v) != nv:
            raise ValueError(f"vertices[{i}]: expected ({nv}, 3) like vertices[0] (the triangles are shared), "
                             f"received {v.shape}")
    albs = [once(a, "albedo", (nv, 3)) for a in albs]
    bg = background if isinstance(background, np.ndarray) and background.ndim == 3 else tuple(
        np.asarray(background, dtype=np.float64).ravel())
    scenes = [_make_scene(verts[i], t, albs[i], None, None, cams[i], ligs[i], size, bg, ssaa, cull_backfaces,
                          return_depth or landmarks is not None, encoding) for i in range(b)]
    be = get_backend(backend)
    if hasattr(be, "render_many") and b > 1:
        imgs, masks, depths = be.render_many(scenes)
        results = [(imgs[i], masks[i], depths[i]) for i in range(b)]
    else:
        results = [be.render(s) for s in scenes]
    return [_output(s, r, landmarks, return_mask, return_depth, visibility_tolerance_mm)
            for s, r in zip(scenes, results)]


def quick_render(
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    *,
    size: int = 224,
    yaw: float = 0.0,
    pitch: float = 0.0,
    light_azimuth: float = 0.0,
    light_elevation: float = 0.0,
    ambient: float = 0.35,
    encoding: str = "srgb",
) -> np.ndarray:
    """Preview image (size, size, 3) uint8 of a head-sized mesh (mm, facegen conventions), auto-framed.

    The head centre is the centre of the vertices' bounding box; the zoom makes the larger of the
    box's width and height fill 85% of the image. One white light of intensity ``1 - ambient`` (so a
    surface facing the light shows its albedo), black background, default backend; ``encoding`` as
    in ``render`` (sRGB by default).
    """
    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient: expected a value in [0, 1] (the light gets 1 - ambient), received {ambient!r}")
    v = _array(vertices, "vertices", (None, 3))
    lo, hi = v.min(axis=0), v.max(axis=0)
    center = tuple(float(c) for c in (lo + hi) / 2)
    extent = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-6))
    camera = Camera(yaw=yaw, pitch=pitch, center=center, scale=0.85 * 250.0 / extent)
    lighting = Lighting(lights=(DirectionalLight(light_azimuth, light_elevation, 1.0 - ambient),), ambient=ambient)
    return render(v, triangles, albedo, camera=camera, lighting=lighting, size=size, encoding=encoding).image
