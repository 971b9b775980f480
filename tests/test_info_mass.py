"""benchmark.info.mass: vectorised estimators against the loop reference and frites's nd functions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.info import gcmi as G
from benchmark.info import mass as M

frites_nd = pytest.importorskip("frites.core.gcmi_nd")

V, N, K = 12, 240, 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y1 = rng.standard_normal(N)
    x1 = 0.5 * y1 + rng.standard_normal((V, N))
    x2 = rng.standard_normal((V, 2, N))
    x2[:, 0] += 0.4 * y1
    y2 = rng.standard_normal((2, N)) + y1
    yv = rng.standard_normal((V, 2, N)) + x2[:, :1]
    z = rng.standard_normal(N) + y1
    lab = rng.permutation(np.arange(N) % K)
    return dict(x1=x1, x2=x2, y1=y1, y2=y2, yv=yv, z=z, lab=lab)


def _close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=0)


@pytest.mark.parametrize("xk,yk", [("x1", "y1"), ("x1", "y2"), ("x2", "y1"), ("x2", "yv")])
def test_continuous_estimators_equal_the_loop(data, xk, yk):
    x, y = data[xk], data[yk]
    _close(M.gcmi_cc(x, y), M.loop_reference("gcmi_cc", x, y))
    _close(M.mi_gg(x, y), M.loop_reference("mi_gg", x, y))
    x3 = x[:, None] if x.ndim == 2 else x
    ys = [y[v] if y.ndim == 3 else y for v in range(V)]
    _close(M.mi_gg(x, y, biascorrect=False), [G.mi_gg(x3[v], ys[v], False) for v in range(V)])
    _close(M.cmi_ggg(x, y, data["z"]), M.loop_reference("cmi_ggg", x, y, data["z"]))
    _close(M.gccmi_ccc(x, data["z"], y), M.loop_reference("gccmi_ccc", x, data["z"], y))
    cmi, i = M.gccmi_ccd(x, y, data["lab"], K)
    ref_cmi, ref_i = M.loop_reference("gccmi_ccd", x, y, data["lab"], K)
    _close(cmi, ref_cmi)
    _close(i, ref_i)


@pytest.mark.parametrize("xk", ["x1", "x2"])
def test_discrete_and_entropy_equal_the_loop(data, xk):
    x, lab = data[xk], data["lab"]
    _close(M.ent_g(x), M.loop_reference("ent_g", x))
    _close(M.mi_model_gd(x, lab, K), M.loop_reference("mi_model_gd", x, lab, K))
    _close(M.mi_model_gd(x, lab, K, demeaned=True, biascorrect=False),
           [G.mi_model_gd(v, lab, K, False, True) for v in (x[:, None] if x.ndim == 2 else x)])
    _close(M.gcmi_model_cd(x, lab, K), M.loop_reference("gcmi_model_cd", x, lab, K))


def test_agrees_with_frites_nd_to_1e10(data):
    x1, x2, y1, lab = data["x1"], data["x2"], data["y1"], data["lab"]
    yy = np.broadcast_to(y1, x1.shape).copy()
    zz = np.broadcast_to(data["z"], x1.shape).copy()
    tol = 1e-10
    _close(M.gcmi_cc(x1, y1), frites_nd.gcmi_nd_cc(x1, yy), tol)
    _close(M.mi_gg(x1, y1), frites_nd.mi_nd_gg(x1.copy(), yy.copy()), tol)
    _close(M.gcmi_cc(x2, y1), frites_nd.gcmi_nd_cc(x2, yy[:, None, :], mvaxis=-2), tol)
    _close(M.ent_g(x2), frites_nd.ent_nd_g(x2.copy(), mvaxis=-2), tol)
    _close(M.mi_model_gd(x1, lab, K), frites_nd.mi_model_nd_gd(x1, lab), tol)
    _close(M.gcmi_model_cd(x1, lab, K), frites_nd.gcmi_model_nd_cd(x1, lab), tol)
    _close(M.gcmi_model_cd(x2, lab, K), frites_nd.gcmi_model_nd_cd(x2, lab, mvaxis=-2), tol)
    _close(M.cmi_ggg(x1, y1, data["z"]), frites_nd.cmi_nd_ggg(x1.copy(), yy.copy(), zz.copy()), tol)
    _close(M.gccmi_ccc(x1, y1, data["z"]), frites_nd.gccmi_nd_ccc(x1, yy, zz), tol)
    _close(M.gccmi_ccd(x1, y1, lab, K)[0], frites_nd.gccmi_nd_ccnd(x1, yy, lab), tol)


def test_shared_argument_forms_are_equivalent(data):
    x, y2 = data["x2"], data["y2"]
    ref = M.gcmi_cc(x, y2)
    _close(M.gcmi_cc(x, y2[None]), ref, 0)  # (1, d, n) is shared too
    _close(M.gcmi_cc(x, np.broadcast_to(y2, (V,) + y2.shape)), ref)  # per variable, all the same
    _close(M.gcmi_cc(data["x1"], data["y1"][None]), M.gcmi_cc(data["x1"], data["y1"]), 0)


def test_chunking_does_not_change_results(data):
    x2, y1, lab = data["x2"], data["y1"], data["lab"]
    for fn, args in [(M.gcmi_cc, (x2, y1)), (M.gcmi_cc, (data["x1"], y1)), (M.mi_gg, (x2, y1)),
                     (M.gcmi_model_cd, (x2, lab, K)), (M.gccmi_ccc, (x2, y1, data["z"]))]:
        _close(fn(*args, chunk_bytes=1), fn(*args), 1e-14)  # only BLAS batching differs


def test_copnorm_equals_single_variable_copnorm_any_shape():
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((3, 4, 50)), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(M.copnorm(x), G.copnorm(x), 0)
        _close(M.copnorm(x[0, 0]), G.copnorm(x[0, 0]), 0)


def test_tie_warning_counts_variables_once(data):
    x = data["x1"].copy()
    x[:3] = np.round(x[:3])
    with pytest.warns(UserWarning, match="3 variable") as rec:
        M.gcmi_cc(x, data["y1"])
    assert len([w for w in rec if "tied" in str(w.message)]) == 1


@pytest.mark.parametrize("call,exc,match", [
    (lambda d: M.gcmi_cc(d["x1"][0], d["y1"]), ValueError, "x must be 2-D or 3-D"),
    (lambda d: M.gcmi_cc(d["x1"], d["yv"][:5]), ValueError, "per-variable with 5 variables"),
    (lambda d: M.gcmi_cc(d["x1"], d["y1"][:-1]), ValueError, "number of samples"),
    (lambda d: M.gcmi_cc(d["x1"], d["x1"]), ValueError, r"ambiguous.*y\[:, None, :\]"),
    (lambda d: M.mi_gg(d["x1"][:, :2], d["y1"][:2]), ValueError, "more samples than dimensions"),
    (lambda d: M.gcmi_model_cd(d["x1"], d["lab"], K + 1), ValueError, "have no samples"),
    (lambda d: M.gcmi_model_cd(d["x1"], d["lab"].astype(float), K), TypeError, "integer class labels"),
    (lambda d: M.mi_gg(d["x1"], d["y1"], demeaned=1), TypeError, "demeaned must be a bool"),
    (lambda d: M.ent_g(np.full((2, 10), np.inf)), ValueError, "NaN or infinite"),
])
def test_clear_errors(data, call, exc, match):
    with pytest.raises(exc, match=match):
        call(data)
