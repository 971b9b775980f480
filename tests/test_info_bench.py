"""scripts/bench_info.py: runs end to end at a tiny size and reports the same numbers as frites."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("frites")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_info.py"


def test_bench_script_prints_table_with_matching_values(capsys):
    spec = importlib.util.spec_from_file_location("bench_info", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = ["--n-vars", "40", "--n-samples", "120", "--n-classes", "8", "--per-class", "6",
            "--model-vars", "10", "--loop-vars", "10", "--repeat", "1", "--no-torch"]
    assert mod.main(args) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| gcmi")]
    assert len(lines) == 7  # 3 + loop for gcmi_cc, 2 + loop for gcmi_model_cd
    assert sum("frites" in ln for ln in lines) == 2
    for ln in lines:  # last column: max abs difference from frites, bits
        assert float(ln.strip("| ").split("|")[-1]) < 1e-10, ln
