"""Scenes and checks shared by the GL backend tests: each GL backend must agree with the default one.

Agreement is measured over the pixels both renders cover (``Agreement``) and held to a per-backend
``Tolerance`` that each backend's test file declares beside the numbers measured on the CI machine
(Mesa, llvmpipe). For scale, on scene 1 of ``SCENES`` these changes to the GL render alone give a
mean |difference| of: ambient 0.25 -> 0.26, 1.6/255; specular 0.30 -> 0.32, 0.54/255; half a pixel
of translation, 0.56/255 (and 2.8% of pixels off by more than 2/255); yaw + 0.2 deg, 0.22/255 (1.7%
of pixels off by more than 2/255). The tolerances below 3/255 exist to catch changes of that size.

The renders are in the default sRGB encoding (``facegen.render.colour``); ``DARK`` is the head with a
dark albedo, where sRGB output magnifies any loss of linear precision (one 8-bit linear step near
black is 13 sRGB steps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.meshes import ellipsoid_head, read_obj, uv_sphere

HEAD = ellipsoid_head()
RICH = Lighting((DirectionalLight(35, 20, 0.6, (1.0, 0.9, 0.8)), DirectionalLight(-60, -10, 0.3)),
                ambient=0.25, specular=0.3, shininess=16.0,
                sh=np.random.default_rng(1).normal(0, 0.05, (9, 3)))
SCENES = [
    (Camera(), Lighting(), 1),
    (Camera(yaw=30, pitch=-20, roll=10, scale=1.2, translation=(7.0, -5.0)), RICH, 1),
    (Camera(yaw=-30, pitch=30, fov=40), Lighting((DirectionalLight(-30, 30),)), 2),
]
#: ``HEAD`` with albedo 0.08 everywhere (sRGB bytes about 45-130 on SCENES, mostly 65-80).
DARK = (HEAD[0], HEAD[1], np.full_like(HEAD[2], 0.08))
#: A pixel is "off" when its |difference| exceeds this many 1/255 steps (rounding gives 1 step).
OFF_STEPS = 2


@dataclass(frozen=True)
class Agreement:
    """Two renders of one scene compared.

    iou: mask intersection over union. mad: mean |image difference| over the pixels both cover, in
    1/255 units (all channels). off: fraction of those pixel channels differing by more than
    ``OFF_STEPS``/255. dz: median |depth difference| over those pixels, mm (None without depth).
    """

    iou: float
    mad: float
    off: float
    dz: float | None


@dataclass(frozen=True)
class Tolerance:
    """The worst agreement a backend may show: ``iou >= iou_min``, ``mad <= mad_max`` (1/255),
    ``off <= off_max`` (fraction) and ``dz <= dz_max`` (mm)."""

    iou_min: float
    mad_max: float
    off_max: float
    dz_max: float = np.inf

    def check(self, a: Agreement, what: str) -> None:
        bad = []
        if not a.iou >= self.iou_min:
            bad.append(f"IoU {a.iou:.4f} < {self.iou_min}")
        if not a.mad <= self.mad_max:
            bad.append(f"mean |diff| {a.mad:.3f}/255 > {self.mad_max}/255")
        if not a.off <= self.off_max:
            bad.append(f"{a.off:.4%} of pixels off by > {OFF_STEPS}/255 (allowed {self.off_max:.4%})")
        if a.dz is not None and not a.dz <= self.dz_max:
            bad.append(f"median |depth diff| {a.dz:.4f} mm > {self.dz_max} mm")
        assert not bad, f"{what}: " + "; ".join(bad) + f" ({a})"


def compare(a, b) -> Agreement:
    """``Agreement`` of two ``RenderOutput`` with masks (and depth, when both have it)."""
    both = a.mask & b.mask
    d = np.abs(a.image[both].astype(int) - b.image[both])
    dz = None
    if a.depth is not None and b.depth is not None:
        dz = float(np.median(np.abs(a.depth[both] - b.depth[both])))
    return Agreement(float(both.sum() / (a.mask | b.mask).sum()), float(d.mean()), float((d > OFF_STEPS).mean()), dz)


def agreement(mesh, backend, **kw) -> Agreement:
    """``Agreement`` of ``backend`` with the default backend on one scene (``render`` keywords)."""
    a = render(*mesh, backend="numba", return_mask=True, return_depth=True, **kw)
    b = render(*mesh, backend=backend, return_mask=True, return_depth=True, **kw)
    return compare(a, b)


def check_ict_mesh(backend, models_dir, tol: Tolerance):
    path = models_dir / "ict-facekit-subset" / "generic_neutral_mesh.obj"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    v, t = read_obj(path)
    v = v * 10.0
    mesh = (v, t, np.full((len(v), 3), 0.7))
    cam = Camera(yaw=20, pitch=10, center=tuple((v.min(0) + v.max(0)) / 2))
    tol.check(agreement(mesh, backend, camera=cam, lighting=RICH, size=224), f"{backend} ICT mesh")


def check_uv_texture_without_culling(backend, tol: Tolerance):
    v, t = uv_sphere(24, 48, 100.0)
    uvs = np.stack([np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi) + 0.5, v[:, 1] / 200.0 + 0.5], axis=1)
    tex = np.kron(np.random.default_rng(0).integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    a = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False)
    b = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False, backend=backend)
    tol.check(compare(a, b), f"{backend} UV texture without culling")


def check_landmarks(backend):
    v, t, a = HEAD
    idx = np.argsort(v[:, 2])[-20:]
    la = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx).landmarks_2d
    lb = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx, backend=backend).landmarks_2d
    assert np.array_equal(la[:, :2], lb[:, :2]) and (la[:, 2] == lb[:, 2]).mean() >= 0.9
