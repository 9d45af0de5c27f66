"""The walking skeleton on the real engine: `bench run --only go/...` end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.network
@pytest.mark.docker
def test_go_bloated_and_optimized_build_serve_and_are_stored(tmp_path):
    env = {**os.environ, "BENCH_WORK_DIR": str(tmp_path / "work"), "COLUMNS": "200"}
    p = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--only", "go/bloated,go/optimized", "--profile", "quick",
         "--bases", "auto", "--results", str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "go" in p.stdout and "optimized" in p.stdout  # the printed table
    latest = (tmp_path / "results" / "latest").read_text().strip()
    run = tmp_path / "results" / "runs" / latest
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["schema"] == 2 and meta["complete"]
    assert meta["settings"]["profile"] == "quick" and [s["index"] for s in meta["segments"]] == [0]
    assert meta["engine"]["server"] and meta["machine"]["cpus"]
    df = pd.read_csv(run / "samples.csv", keep_default_na=False)
    size = df[(df.variant == "optimized") & (df.metric == "disk_bytes")]["value"].iloc[0]
    assert 0 < size <= 5e6
    bloated = df[(df.variant == "bloated") & (df.metric == "disk_bytes")]["value"].iloc[0]
    assert bloated > 20 * size
    for v in ("bloated", "optimized"):
        cell = df[df.variant == v]
        assert cell[cell.metric == "smoke_ok"]["value"].tolist() == [1]
        assert len(cell[(cell.metric == "build_wall_seconds")]) == 3  # cold, warm, edit
        warm = cell[(cell.scenario == "warm")]
        assert warm[warm.metric == "build_steps_cached"]["value"].iloc[0] == warm[warm.metric == "build_steps_total"]["value"].iloc[0]
        assert (cell.metric == "compressed_bytes").any()
        assert (cell.metric == "pull_seconds").any()
    assert df["bases"].str.contains("golang:1.22").any()
