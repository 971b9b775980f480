"""The moderngl (headless EGL) backend agrees with the default backend on the same scenes."""

import pytest

from facegen.render import available_backends
from gl_agreement import HEAD, SCENES, agreement, check_ict_mesh, check_landmarks, check_uv_texture_without_culling

BACKEND = "moderngl"
_STATUS = available_backends()[BACKEND]
pytestmark = pytest.mark.skipif(_STATUS != "ok", reason=f"{BACKEND} backend unavailable here: {_STATUS}")


@pytest.mark.parametrize("camera, lighting, ssaa", SCENES)
def test_agrees_with_default_backend_at_224(camera, lighting, ssaa):
    iou, mad, dz = agreement(HEAD, BACKEND, camera=camera, lighting=lighting, size=224, ssaa=ssaa, background=(0.3, 0.3, 0.3))
    assert iou >= 0.99 and mad <= 3.0 and dz < 0.1, (iou, mad, dz)


def test_agrees_on_ict_mesh(models_dir):
    check_ict_mesh(BACKEND, models_dir)


def test_agrees_with_uv_texture_and_without_culling():
    check_uv_texture_without_culling(BACKEND)


def test_landmarks_identical_across_backends():
    check_landmarks(BACKEND)