"""facegen model info/export/preview on a synthetic model; exports read back with open3d."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from facegen.cli import main
from facegen.model import load_model, save_npz
from facegen.model.preview import face_for

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "synth.npz"
    save_npz(synthetic_model(), p)
    return p


def test_info_json(model_path):
    r = CliRunner().invoke(main, ["model", "info", str(model_path), "--json"])
    assert r.exit_code == 0
    info = json.loads(r.output)
    assert info["vertices"] == 362 and info["shape_modes"] == 6 and info["ethnicities"] == ["a", "b", "c"]
    assert info["albedo_gains"] == []                       # a purely additive factor model


def test_info_lists_the_embedded_models_albedo_gains():
    r = CliRunner().invoke(main, ["model", "info", "embedded", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["albedo_gains"] == ["gender", "ethnicity", "age"]


@pytest.mark.parametrize("ext", ["obj", "ply"])
def test_export_reads_back_with_open3d(model_path, tmp_path, ext):
    import open3d as o3d  # the reference mesh reader
    out = tmp_path / f"face.{ext}"
    r = CliRunner().invoke(main, ["model", "export", str(model_path), "--out", str(out), "--seed", "4",
                                  "--gender", "male", "--expression", "happy", "--age", "60"])
    assert r.exit_code == 0, r.output
    m = load_model(model_path)
    v, a = face_for(m, seed=4, gender="male", age=60, expression="happy")
    mesh = o3d.io.read_triangle_mesh(str(out))
    assert np.allclose(np.asarray(mesh.vertices), v, atol=1e-4)
    assert np.array_equal(np.asarray(mesh.triangles), m.triangles)
    assert np.allclose(np.asarray(mesh.vertex_colors), a, atol=1 / 255 + 1e-6)
    # a different expression moves the vertices
    v2, _ = face_for(m, seed=4, gender="male", age=60)
    assert not np.allclose(v, v2)


def test_export_rejects_bad_input(model_path, tmp_path):
    run = CliRunner().invoke
    r = run(main, ["model", "export", str(model_path), "--out", str(tmp_path / "f.stl")])
    assert r.exit_code == 2 and ".obj or .ply" in r.output
    r = run(main, ["model", "export", str(model_path), "--out", str(tmp_path / "f.obj"), "--gender", "robot"])
    assert r.exit_code == 2 and "gender='robot'" in r.output and "female" in r.output
    r = run(main, ["model", "info", str(tmp_path / "missing.npz")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_preview_sheet_has_every_row(model_path, tmp_path):
    out = tmp_path / "sheet.png"
    r = CliRunner().invoke(main, ["model", "preview", str(model_path), "--out", str(out), "--size", "48"])
    assert r.exit_code == 0, r.output
    im = np.asarray(Image.open(out))
    # 5 rows (identities, gender x age, ethnicity x gender, expressions, yaw) of 48 px + 18 px captions
    assert im.shape[0] == 5 * (48 + 18)
    # faces were drawn: the tile area is not blank
    assert (im[:48, 150:] < 200).mean() > 0.1


def test_build_from_exported_meshes(model_path, tmp_path):
    run = CliRunner().invoke
    rows = ["file,gender,ethnicity,age"]
    paths = []
    for k in range(12):
        g, e, age = ("female", "male")[k % 2], ("a", "b", "c")[k % 3], 25 + 3 * k
        p = tmp_path / f"f{k}.obj"
        r = run(main, ["model", "export", str(model_path), "--out", str(p), "--seed", str(k), "--gender", g,
                       "--ethnicity", e, "--age", str(age)])
        assert r.exit_code == 0, r.output
        rows.append(f"{p.name},{g},{e},{age}")
        paths.append(str(p))
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "built.npz"
    r = run(main, ["model", "build", *paths, "--labels", str(tmp_path / "labels.csv"), "--out", str(out),
                   "--shape-modes", "4", "--texture-modes", "3"])
    assert r.exit_code == 0, r.output
    m = load_model(out)
    assert m.n_vertices == 362 and m.n_shape == 4 and m.n_texture == 3
    assert set(m.factors.genders) == {"female", "male"} and set(m.factors.ethnicities) == {"a", "b", "c"}
    r = run(main, ["model", "build", *paths[:3], "--labels", str(tmp_path / "labels.csv"), "--out", str(out)])
    assert r.exit_code == 2
