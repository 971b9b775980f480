"""Camera and lighting settings, and the pose / projection / shading maths every backend shares.

Conventions (written once here; ``tests/test_render_camera.py`` checks each sign):

Geometry (the model's, see ``facegen.model.types``): millimetres, right-handed, head-centred;
+x is the face's left (the viewer's right when the face looks at the camera), +y is up, +z points
out of the face towards the viewer.

World frame = the head frame at zero pose. The head is rotated about its centre
``Camera.center`` (mm, model coordinates) by ``R = R_y(yaw) @ R_x(-pitch) @ R_z(roll)`` (roll is
applied first, then pitch, then yaw), and the result is placed with its centre at the world origin:
``p_world = R @ (p - center)``.

* **yaw** (degrees), positive = the face turns towards its own left (+x): the nose moves to the
  image right.
* **pitch** (degrees), positive = nose up (the face looks up): the nose moves to the image top.
* **roll** (degrees), positive = counter-clockwise in the image as the viewer sees it: the top of
  the head moves to the image left (towards the face's right, -x).

The camera sits on the +z axis at distance ``d = (frame_mm / 2) / tan(fov / 2)`` from the origin and
looks down -z, with +y up. Camera depth of a world point is ``Z = d - z_world`` (mm, > 0 in front).
Projection to pixels (origin at the top-left corner of the top-left pixel, +x right, +y down; pixel
(i, j) covers [j, j+1) x [i, i+1) and is sampled at its centre (j + 0.5, i + 0.5))::

    f  = scale * (W / 2) / tan(fov / 2)          # focal length, pixels
    u  = W / 2 + tx + f * x_world / Z
    v  = H / 2 + ty - f * y_world / Z

* **fov** (degrees) is the horizontal field of view at ``scale = 1``.
* **scale** is a multiplicative zoom of the focal length (camera position fixed, so perspective is
  unchanged). ``scale = 1`` is the reference framing: a ``frame_mm``-wide (default 250 mm) segment
  through the head centre, perpendicular to the view axis, spans the image width exactly.
* **translation** ``(tx, ty)`` is in pixels of the output image, +tx right, +ty down; it shifts the
  principal point, so the whole image content moves by exactly that many pixels.

Lighting is fixed to the world (camera) frame, not to the head. A directional light's direction
(unit vector from the surface towards the light) is
``L = (cos(el) sin(az), sin(el), cos(el) cos(az))``:

* **azimuth** (degrees), positive = light from +x, i.e. from the face's left when the face is
  frontal, which brightens the face's left half (the image's right half); 0 = from the camera.
* **elevation** (degrees), positive = light from above.

Shading (Gouraud: evaluated per vertex, then interpolated perspective-correctly)::

    D = ambient * ambient_colour + sum_l intensity_l * colour_l * max(0, n . L_l) + SH(n)
    S = specular * sum_l intensity_l * colour_l * max(0, n . h_l) ** shininess   [n . L_l > 0]
    colour = albedo * D + S                              (linear light)
    image  = encode(composite(colour, decode(background)))  (encoding "srgb", the default)
    image  = round(255 * clip(composite(colour, background), 0, 1))   (encoding "linear")

where n is the unit vertex normal in the world frame (area-weighted mean of its triangles' normals)
and h_l = normalize(L_l + view direction). Albedo (per-vertex or texture) and lights are linear
values and shading is done in linear light. ``composite`` is the mean over a pixel's ssaa samples
of the colour where covered and the background elsewhere; the background is a display value,
decoded to linear light first for sRGB output. ``encode`` writes sRGB display bytes (IEC
61966-2-1) through a 4096-entry table: ``SRGB_LUT[round(4095 * clip(x, 0, 1))]``, within one byte
of ``round(255 * encode_srgb(x))`` (``facegen.render.colour``). ``SH(n)`` is irradiance from 9
real spherical-harmonics coefficients per channel (Ramamoorthi & Hanrahan 2001 basis order Y00,
Y1-1, Y10, Y11, Y2-2, Y2-1, Y20, Y21, Y22).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Camera",
    "DirectionalLight",
    "Lighting",
    "camera_intrinsics",
    "light_direction",
    "project_points",
    "rotation_matrix",
    "shade_vertices",
    "sh_basis",
    "transform_points",
    "vertex_normals",
]

#: Real SH basis constants, bands 0-2 (Ramamoorthi & Hanrahan 2001).
_SH_C = (0.282095, 0.488603, 0.488603, 0.488603, 1.092548, 1.092548, 0.315392, 1.092548, 0.546274)


@dataclass(frozen=True)
class Camera:
    """Head pose and camera; see the module docstring for every sign and unit.

    Attributes:
        yaw, pitch, roll: head rotation about ``center``, degrees.
        scale: zoom factor on the focal length (1.0 = ``frame_mm`` fills the image width).
        translation: (tx, ty) pixels, +x right, +y down.
        fov: horizontal field of view at scale 1, degrees, in (0, 180).
        center: head centre in model coordinates, mm; pose rotates about it and it maps to the
            image centre (plus translation).
        frame_mm: width in mm at the head centre that fills the image at scale 1.
        near: near clipping distance in mm from the camera; triangles with a vertex nearer are dropped.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    translation: tuple[float, float] = (0.0, 0.0)
    fov: float = 20.0
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    frame_mm: float = 250.0
    near: float = 10.0

    @property
    def distance(self) -> float:
        """Camera distance from the head centre, mm."""
        return 0.5 * self.frame_mm / math.tan(math.radians(self.fov) / 2.0)


@dataclass(frozen=True)
class DirectionalLight:
    """A light at infinity. ``azimuth``/``elevation`` in degrees (module docstring), ``colour`` linear RGB."""

    azimuth: float = 0.0
    elevation: float = 0.0
    intensity: float = 0.65
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Lighting:
    """All lights of a scene.

    Attributes:
        lights: directional lights (any number, including none).
        ambient: ambient intensity (scalar), multiplied by ``ambient_colour``.
        ambient_colour: linear RGB.
        sh: optional (9, 3) spherical-harmonics irradiance coefficients (world frame), or None.
        specular: Blinn-Phong specular strength (0 disables it).
        shininess: Blinn-Phong exponent.
    """

    lights: tuple[DirectionalLight, ...] = (DirectionalLight(),)
    ambient: float = 0.35
    ambient_colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sh: np.ndarray | None = field(default=None, compare=False)
    specular: float = 0.0
    shininess: float = 32.0


# ---------------------------------------------------------------------------------------------
# Pure functions (numpy, float64). Backends use these directly or mirror them in compiled code.


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) head rotation ``R_y(yaw) @ R_x(-pitch) @ R_z(roll)``; angles in degrees.

    Written out element by element (the product of the three elementary rotations).
    """
    y, p, r = math.radians(yaw), -math.radians(pitch), math.radians(roll)
    cy, sy = math.cos(y), math.sin(y)
    cp, sp = math.cos(p), math.sin(p)
    cr, sr = math.cos(r), math.sin(r)
    return np.array([
        [cy * cr + sy * sp * sr, -cy * sr + sy * sp * cr, sy * cp],
        [cp * sr, cp * cr, -sp],
        [-sy * cr + cy * sp * sr, sy * sr + cy * sp * cr, cy * cp],
    ])


def camera_intrinsics(camera: Camera, height: int, width: int) -> tuple[float, float, float, float]:
    """(f, cx, cy, d): focal length (px), principal point (px, top-left origin) and distance (mm)."""
    t = math.tan(math.radians(camera.fov) / 2.0)
    f = camera.scale * 0.5 * width / t
    cx = 0.5 * width + float(camera.translation[0])
    cy = 0.5 * height + float(camera.translation[1])
    return f, cx, cy, camera.distance


def transform_points(points: np.ndarray, camera: Camera) -> np.ndarray:
    """World coordinates (N, 3) mm of model points (N, 3) mm: ``R @ (p - center)``."""
    r = rotation_matrix(camera.yaw, camera.pitch, camera.roll)
    return (np.asarray(points, dtype=np.float64) - np.asarray(camera.center, dtype=np.float64)) @ r.T


def project_points(points: np.ndarray, camera: Camera, height: int, width: int) -> np.ndarray:
    """Pixel coordinates and depth (N, 3) = [u, v, Z] of model points (N, 3) mm.

    u, v in pixels (top-left origin, +v down); Z camera depth in mm (> 0 in front of the camera).
    """
    w = transform_points(points, camera)
    f, cx, cy, d = camera_intrinsics(camera, height, width)
    z = d - w[:, 2]
    return np.stack([cx + f * w[:, 0] / z, cy - f * w[:, 1] / z, z], axis=1)


def light_direction(light: DirectionalLight) -> np.ndarray:
    """(3,) unit vector from the surface towards the light, world frame."""
    az, el = math.radians(light.azimuth), math.radians(light.elevation)
    return np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) unit vertex normals: area-weighted sum of incident triangle normals (CCW = outward).

    Vertices without a triangle (or with a zero sum) get a zero normal. Reference implementation
    (the compiled twin sums the same terms triangle by triangle, so results agree to rounding).
    """
    v = np.asarray(vertices, dtype=np.float64)
    t = np.asarray(triangles)
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, t[:, k], fn)
    length = np.sqrt((n * n).sum(axis=1, keepdims=True))
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """(N, 9) real SH basis values of unit normals (N, 3) in the documented order."""
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    c = _SH_C
    return np.stack([
        np.full_like(x, c[0]), c[1] * y, c[2] * z, c[3] * x,
        c[4] * x * y, c[5] * y * z, c[6] * (3.0 * z * z - 1.0), c[7] * x * z, c[8] * (x * x - y * y),
    ], axis=1)


def shade_vertices(
    world_vertices: np.ndarray, normals: np.ndarray, lighting: Lighting, distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex diffuse factor D (V, 3) and specular S (V, 3); colour = albedo * D + S.

    ``world_vertices`` (V, 3) mm and ``normals`` (V, 3) unit, both in the world frame; ``distance``
    is the camera distance (mm), used for the Blinn-Phong view direction.
    """
    n = np.asarray(normals, dtype=np.float64)
    d = np.empty_like(n)
    d[:] = lighting.ambient * np.asarray(lighting.ambient_colour, dtype=np.float64)
    s = np.zeros_like(n)
    view = np.array([0.0, 0.0, distance]) - world_vertices
    view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-12)
    for light in lighting.lights:
        ld = light_direction(light)
        rad = light.intensity * np.asarray(light.colour, dtype=np.float64)
        ndl = n @ ld
        d += np.maximum(ndl, 0.0)[:, None] * rad
        if lighting.specular > 0.0:
            h = view + ld
            h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
            ndh = np.maximum((n * h).sum(axis=1), 0.0)
            sp = np.where(ndl > 0.0, ndh ** lighting.shininess, 0.0)
            s += lighting.specular * sp[:, None] * rad
    if lighting.sh is not None:
        d += sh_basis(n) @ np.asarray(lighting.sh, dtype=np.float64)
    return d, s
