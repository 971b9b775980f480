"""GL backend ``"moderngl"``: the same scene maths as the default backend, in GLSL, through a
headless EGL context (Mesa llvmpipe on a CPU, the vendor driver on a GPU).

The vertex shader does the pose, projection and Gouraud shading of ``facegen.render.camera`` (float32
on the GPU); the fragment shader writes colour (+ alpha = coverage) and the camera depth Z (mm)
into a colour and a float32 attachment (the latter read only when depth or landmarks are asked
for), which are read back and resolved, composited and encoded by the same code as the default
backend (``numba_backend.resolve_buffers``). The colour attachment is RGBA32F for sRGB output (the
default): 8-bit linear values would lose the darks, where one linear step is up to 13 sRGB steps;
it is RGBA8, as it always was, for ``encoding="linear"``. Vertex normals are computed on the CPU
(``numba_backend.NormalsCache``) in model coordinates and rotated in the shader.

Differences from the default backend (tested to stay within the issue's tolerances): float32 maths,
GL's own edge fill rule, triangles crossing the near plane are clipped rather than dropped; with
linear output the RGBA8 attachment also rounds each sample to 8 bits and clamps it to [0, 1]
before the box filter.
"""
from __future__ import annotations

import logging

import numpy as np

from .camera import camera_intrinsics, rotation_matrix
from .numba_backend import NormalsCache, lighting_arrays, resolve_buffers
from .types import Scene

__all__ = ["MAX_LIGHTS", "ModernglBackend"]

log = logging.getLogger(__name__)

#: Directional lights the shader supports.
MAX_LIGHTS = 8

_VERT = """
#version 330
in vec3 in_pos;
in vec3 in_nrm;
in vec3 in_alb;
in vec2 in_uv;
uniform mat3 R;
uniform vec3 center;
uniform vec4 intr;        // f, cx, cy, d   (pixels of the supersampled image, mm)
uniform vec4 view;        // W, H, znear, zfar
uniform int n_lights;
uniform vec3 ldir[%(L)d];
uniform vec3 lrad[%(L)d];
uniform vec3 amb;
uniform vec3 sh[9];
uniform bool use_sh;
uniform float spec;
uniform float shin;
out vec3 v_col;
out vec3 v_dif;
out vec3 v_spc;
out vec2 v_uv;
out float v_z;
void main() {
    vec3 p = R * (in_pos - center);
    vec3 n = R * in_nrm;
    float ln = length(n);
    n = ln > 0.0 ? n / ln : vec3(0.0);
    float Z = intr.w - p.z;
    vec3 dif = amb;
    vec3 spc = vec3(0.0);
    vec3 vdir = normalize(vec3(-p.x, -p.y, Z));
    for (int j = 0; j < n_lights; j++) {
        float ndl = dot(n, ldir[j]);
        dif += max(ndl, 0.0) * lrad[j];
        if (spec > 0.0 && ndl > 0.0) {
            vec3 h = normalize(vdir + ldir[j]);
            spc += spec * pow(max(dot(n, h), 0.0), shin) * lrad[j];
        }
    }
    if (use_sh) {
        float b[9] = float[9](0.282095, 0.488603 * n.y, 0.488603 * n.z, 0.488603 * n.x,
                              1.092548 * n.x * n.y, 1.092548 * n.y * n.z, 0.315392 * (3.0 * n.z * n.z - 1.0),
                              1.092548 * n.x * n.z, 0.546274 * (n.x * n.x - n.y * n.y));
        for (int q = 0; q < 9; q++) dif += b[q] * sh[q];
    }
    v_col = in_alb * dif + spc;
    v_dif = dif;
    v_spc = spc;
    v_uv = in_uv;
    v_z = Z;
    float W = view.x, H = view.y, zn = view.z, zf = view.w;
    gl_Position = vec4(2.0 * intr.x / W * p.x + (2.0 * intr.y / W - 1.0) * Z,
                       2.0 * intr.x / H * p.y + (1.0 - 2.0 * intr.z / H) * Z,
                       (zf + zn) / (zf - zn) * Z - 2.0 * zf * zn / (zf - zn),
                       Z);
}
"""

_FRAG = """
#version 330
in vec3 v_col;
in vec3 v_dif;
in vec3 v_spc;
in vec2 v_uv;
in float v_z;
uniform bool use_tex;
uniform sampler2D tex;
layout(location = 0) out vec4 o_col;
layout(location = 1) out float o_z;
void main() {
    o_col = vec4(use_tex ? texture(tex, v_uv).rgb * v_dif + v_spc : v_col, 1.0);
    o_z = v_z;
}
"""


class ModernglBackend:
    """See the module docstring. Creating it opens a headless EGL context (raises if none)."""

    name = "moderngl"

    def __init__(self) -> None:
        import moderngl

        self._mgl = moderngl
        self.ctx = moderngl.create_context(standalone=True, backend="egl")
        info = self.ctx.info
        self.device = f"{info.get('GL_RENDERER', '?')} ({info.get('GL_VERSION', '?')})"
        log.info("moderngl backend on %s", self.device)
        self.prog = self.ctx.program(vertex_shader=_VERT % {"L": MAX_LIGHTS}, fragment_shader=_FRAG)
        self._fbos: dict = {}
        self.normals = NormalsCache()
        self._tris_key = None
        self._ibo = None

    def _fbo(self, hs: int, ws: int, dtype: str):
        """Framebuffer of (hs, ws) pixels with a colour attachment of ``dtype`` ("f1" RGBA8 or "f4"
        RGBA32F, unclamped) and a float32 camera-depth attachment."""
        if (hs, ws, dtype) not in self._fbos:
            col = self.ctx.texture((ws, hs), 4, dtype=dtype)
            zt = self.ctx.texture((ws, hs), 1, dtype="f4")
            depth = self.ctx.depth_renderbuffer((ws, hs))
            self._fbos[(hs, ws, dtype)] = self.ctx.framebuffer(color_attachments=[col, zt], depth_attachment=depth)
        return self._fbos[(hs, ws, dtype)]

    def _index_buffer(self, tris: np.ndarray):
        key = (tris.shape, hash(tris.tobytes()))
        if key != self._tris_key:
            if self._ibo is not None:
                self._ibo.release()
            self._ibo = self.ctx.buffer(np.ascontiguousarray(tris, dtype="u4").tobytes())
            self._tris_key = key
        return self._ibo

    def render(self, scene: Scene):
        """(image (H, W, 3) uint8, mask (H, W) bool, depth (H, W) float32) of one scene."""
        with self.ctx:  # make our context current: another GL user (pyrender) may have switched it
            return self._render(scene)

    def _render(self, scene: Scene):
        if len(scene.lighting.lights) > MAX_LIGHTS:
            raise ValueError(f"lighting.lights: the moderngl backend supports at most {MAX_LIGHTS} "
                             f"directional lights, received {len(scene.lighting.lights)}; use backend='numba'")
        ctx, prog, k = self.ctx, self.prog, scene.ssaa
        hs, ws = scene.height * k, scene.width * k
        cam = scene.camera
        f, cx, cy, d = camera_intrinsics(cam, scene.height, scene.width)
        ldirs, lrads, amb, sh, use_sh = lighting_arrays(scene.lighting, MAX_LIGHTS)
        prog["R"].write(rotation_matrix(cam.yaw, cam.pitch, cam.roll).T.astype("f4").tobytes())
        prog["center"].value = tuple(float(c) for c in cam.center)
        prog["intr"].value = (f * k, cx * k, cy * k, d)
        prog["view"].value = (float(ws), float(hs), float(cam.near), float(d + 10.0 * cam.frame_mm))
        prog["n_lights"].value = len(scene.lighting.lights)
        prog["ldir"].write(ldirs.astype("f4").tobytes())
        prog["lrad"].write(lrads.astype("f4").tobytes())
        prog["amb"].value = tuple(float(a) for a in amb)
        prog["sh"].write(sh.astype("f4").tobytes())
        prog["use_sh"].value = bool(use_sh)
        prog["spec"].value = float(scene.lighting.specular)
        prog["shin"].value = float(scene.lighting.shininess)
        use_tex = scene.texture is not None
        prog["use_tex"].value = use_tex
        nv = len(scene.vertices)
        nrm = self.normals.get(scene.vertices, scene.triangles)
        alb = np.zeros((nv, 3)) if use_tex else scene.albedo
        uvs = scene.uvs if use_tex else np.zeros((nv, 2))
        data = np.concatenate([scene.vertices, nrm, alb, uvs], axis=1).astype("f4")
        vbo = ctx.buffer(data.tobytes())
        tex = None
        try:
            vao = ctx.vertex_array(prog, [(vbo, "3f 3f 3f 2f", "in_pos", "in_nrm", "in_alb", "in_uv")],
                                   index_buffer=self._index_buffer(scene.triangles))
            if use_tex:
                t = np.ascontiguousarray(scene.texture[::-1], dtype="f4")  # GL row 0 = bottom = v 0
                tex = ctx.texture((t.shape[1], t.shape[0]), 3, t.tobytes(), dtype="f4")
                tex.repeat_x = tex.repeat_y = False
                tex.filter = (self._mgl.LINEAR, self._mgl.LINEAR)
                tex.use(0)
                prog["tex"].value = 0
            linear = scene.encoding == "linear"
            fbo = self._fbo(hs, ws, "f1" if linear else "f4")
            fbo.use()
            fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            ctx.enable(self._mgl.DEPTH_TEST)
            if scene.cull_backfaces:
                ctx.enable(self._mgl.CULL_FACE)
                ctx.front_face = "ccw"
            else:
                ctx.disable(self._mgl.CULL_FACE)
            vao.render(self._mgl.TRIANGLES)
            if linear:
                col = np.frombuffer(fbo.read(components=4, attachment=0), "u1").reshape(hs, ws, 4)[::-1]
            else:
                col = np.frombuffer(fbo.read(components=4, attachment=0, dtype="f4"), "f4").reshape(hs, ws, 4)[::-1]
            if scene.want_depth:
                z = np.frombuffer(fbo.read(components=1, dtype="f4", attachment=1), "f4").reshape(hs, ws)[::-1]
            else:
                z = np.ones((hs, ws), np.float32)
            vao.release()
        finally:
            vbo.release()
            if tex is not None:
                tex.release()
        if linear:
            zbuf = np.where(col[..., 3] >= 128, z, np.float32(np.inf)).astype(np.float32)
            colour = col[..., :3].astype(np.float32) * np.float32(1.0 / 255.0)
        else:
            zbuf = np.where(col[..., 3] >= 0.5, z, np.float32(np.inf)).astype(np.float32)
            colour = np.ascontiguousarray(col[..., :3])
        return resolve_buffers(colour, zbuf, scene.background, k, scene.encoding)
