"""The pyrender (EGL or OSMesa) reference backend agrees with the default backend on the same scenes."""

import numpy as np
import pytest

from facegen.render import Lighting, available_backends, render
from facegen.render.meshes import uv_sphere
from gl_agreement import HEAD, SCENES, agreement, check_ict_mesh, check_landmarks, check_uv_texture_without_culling

BACKEND = "pyrender"
_STATUS = available_backends()[BACKEND]
pytestmark = pytest.mark.skipif(_STATUS != "ok", reason=f"{BACKEND} backend unavailable here: {_STATUS}")


@pytest.mark.parametrize("camera, lighting, ssaa", SCENES)
def test_agrees_with_default_backend_at_224(camera, lighting, ssaa):
    iou, mad, dz = agreement(HEAD, BACKEND, camera=camera, lighting=lighting, size=224, ssaa=ssaa, background=(0.3, 0.3, 0.3))
    assert iou >= 0.99 and mad <= 3.0 and dz < 0.5, (iou, mad, dz)  # EGL: MSAA depth = one sample


def test_agrees_on_ict_mesh(models_dir):
    check_ict_mesh(BACKEND, models_dir)


def test_agrees_with_uv_texture_and_without_culling():
    """pyrender takes textures only without specular (documented limit)."""
    check_uv_texture_without_culling(BACKEND)


def test_landmarks_identical_across_backends():
    check_landmarks(BACKEND)


def test_import_leaves_environment_as_it_was():
    import os
    import subprocess
    import sys

    code = ("import os; from facegen.render import get_backend; b = get_backend('pyrender'); "
            "print(b.platform, os.environ.get('PYOPENGL_PLATFORM'))")
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    platform, leaked = out.stdout.split()
    assert platform in ("egl", "osmesa") and leaked == "None"


def test_specular_with_texture_is_refused_with_reason():
    v, t = uv_sphere(8, 16, 100.0)
    with pytest.raises(ValueError, match="without specular"):
        render(v, t, uvs=np.zeros((len(v), 2)), texture=np.zeros((2, 2, 3)), size=16,
               lighting=Lighting(specular=0.5), backend=BACKEND)
