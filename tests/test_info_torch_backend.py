"""benchmark.info.torch_backend: equals the numpy mass functions (CPU float64 here; CUDA if present)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.info import mass as M

torch = pytest.importorskip("torch")
T = pytest.importorskip("benchmark.info.torch_backend")

V, N, K = 10, 200, 4
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(N)
    x1 = 0.5 * y + rng.standard_normal((V, N))
    x2 = rng.standard_normal((V, 2, N)) + y
    yv = rng.standard_normal((V, 2, N)) + x2[:, :1]
    z = rng.standard_normal(N) - y
    lab = rng.permutation(np.arange(N) % K)
    return dict(x1=x1, x2=x2, y=y, yv=yv, z=z, lab=lab)


def _eq(t, ref, tol=1e-6):
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.cpu().numpy(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("xk,yk", [("x1", "y"), ("x2", "y"), ("x2", "yv")])
def test_equals_numpy(data, device, xk, yk):
    x, y, z, lab = data[xk], data[yk], data["z"], data["lab"]
    _eq(T.gcmi_cc(x, y, device=device), M.gcmi_cc(x, y))
    _eq(T.mi_gg(x, y, device=device), M.mi_gg(x, y))
    _eq(T.mi_gg(x, y, biascorrect=False, demeaned=False, device=device), M.mi_gg(x, y, biascorrect=False))
    _eq(T.ent_g(x, device=device), M.ent_g(x))
    _eq(T.mi_model_gd(x, lab, K, device=device), M.mi_model_gd(x, lab, K))
    _eq(T.gcmi_model_cd(x, lab, K, device=device), M.gcmi_model_cd(x, lab, K))
    _eq(T.cmi_ggg(x, y, z, device=device), M.cmi_ggg(x, y, z))
    _eq(T.gccmi_ccc(x, z, y, device=device), M.gccmi_ccc(x, z, y))


def test_float64_cpu_agrees_to_rounding_and_accepts_tensors(data):
    x = torch.from_numpy(data["x2"])
    out = T.gcmi_cc(x, torch.from_numpy(data["y"]))
    assert out.dtype == torch.float64 and out.shape == (V,)
    _eq(out, M.gcmi_cc(data["x2"], data["y"]), 1e-12)
    _eq(T.gcmi_cc(x, data["y"], chunk_bytes=1), M.gcmi_cc(data["x2"], data["y"]), 1e-12)


def test_float32_input_is_promoted(data):
    x = torch.from_numpy(data["x1"]).float()
    _eq(T.gcmi_cc(x, data["y"]), M.gcmi_cc(x.double().numpy(), data["y"]), 1e-12)


def test_copnorm_and_tie_warning(data):
    tied = np.round(data["x1"], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = M.copnorm(tied)
    with pytest.warns(UserWarning, match="tied values"):
        _eq(T.copnorm(tied), ref, 1e-12)


@pytest.mark.parametrize("call,exc,match", [
    (lambda d: T.gcmi_cc(d["x1"][0], d["y"]), ValueError, "x must be 2-D or 3-D"),
    (lambda d: T.gcmi_cc(torch.full((3, 20), float("nan")), d["y"][:20]), ValueError, "NaN"),
    (lambda d: T.gcmi_model_cd(d["x1"], d["lab"], K + 2), ValueError, "have no samples"),
    (lambda d: T.gcmi_cc(None, d["y"]), TypeError, "x must be a tensor"),
    (lambda d: T.gcmi_cc(d["x1"], d["yv"][:3]), ValueError, "per-variable with 3 variables"),
])
def test_clear_errors(data, call, exc, match):
    with pytest.raises(exc, match=match):
        call(data)
