"""Two shards on two real engines (the main one, and a second dockerd reached through a
docker context, as a remote engine would be), merged into one run that equals an unsharded
run of the same cells: same cells, same statuses, same sizes to the byte, and a report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

from tests.faultkit import BUSYBOX, Sandbox, make_apps, short_dir

pytestmark = [pytest.mark.docker,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a second dockerd)"),
              pytest.mark.skipif(BUSYBOX is None, reason="no static busybox: apt-get install busybox-static")]

MAIN = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
ARGS = ("--profile", "quick", "--no-analyze", "--bases", "local")


@pytest.fixture(scope="module")
def second_engine():
    from bench.engine.coldpull import ColdEngine

    base = short_dir("bsh-")
    with ColdEngine(work_dir=base, bridge_prefix=28) as eng:
        yield eng
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def context(second_engine):
    """A docker context naming the second engine, removed afterwards."""
    name = f"bench-test-{uuid.uuid4().hex[:6]}"
    subprocess.run(["docker", "context", "create", name, "--docker", f"host={second_engine.host}"],
                   check=True, capture_output=True)
    yield name
    subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)


def _sizes(results, run_id, metrics):
    import pandas as pd

    df = pd.read_csv(results / "runs" / run_id / "samples.csv", keep_default_na=False)
    df = df[df["metric"].isin(metrics)][["app", "variant", "metric", "detail", "value"]]
    return df.sort_values(list(df.columns)).reset_index(drop=True)


# An image's own sizes are equal to the byte wherever it was built. A push gzips each layer
# anew, and a layer's tar carries the mtimes of the folders its build made: the compressed
# size may move by a few bytes between two builds of one Dockerfile. (How many context bytes
# a build transfers depends on what that engine's BuildKit already holds: not compared.)
EXACT = ("disk_bytes", "layer_bytes", "context_bytes")


def _cells(results, run_id):
    cells = json.loads((results / "runs" / run_id / "cells.json").read_text())
    return {f"{c['app']}/{c['variant']}": (c["status"], c["smoke_ok"]) for c in cells}


def test_two_shards_on_two_engines_merge_into_the_unsharded_run(tmp_path, context):
    apps = make_apps(tmp_path, ("ok1", "ok2"))
    main = Sandbox(MAIN, short_dir("bsm-"))
    sharded, whole = tmp_path / "sharded", tmp_path / "whole"
    try:
        one = main.bench("run", "--apps", str(apps), "--results", str(sharded), "--shard", "1/2", *ARGS, timeout=300)
        assert one.returncode == 0, one.stdout + one.stderr
        env = {k: v for k, v in main.env.items() if k != "DOCKER_HOST"}  # the context decides
        two = main.bench("--context", context, "run", "--apps", str(apps), "--results", str(sharded),
                         "--shard", "2/2", *ARGS, timeout=300, env=env)
        assert two.returncode == 0, two.stdout + two.stderr
        shards = sorted(p.name for p in (sharded / "runs").iterdir())
        assert [s.rsplit("-", 1)[1] for s in shards] == ["shard1of2", "shard2of2"]
        endpoints = [json.loads((sharded / "runs" / s / "metadata.json").read_text())["segments"][0]["engine"]["endpoint"]
                     for s in shards]
        assert endpoints[1].startswith("unix://") and endpoints[0] != endpoints[1]  # two engines

        merged = main.bench("merge", *(str(sharded / "runs" / s) for s in shards), "--into", "M",
                            "--results", str(sharded))
        assert merged.returncode == 0 and "complete" in merged.stdout, merged.stdout + merged.stderr
        unsharded = main.bench("run", "--apps", str(apps), "--results", str(whole), *ARGS, timeout=300)
        assert unsharded.returncode == 0, unsharded.stdout + unsharded.stderr
        [whole_id] = [p.name for p in (whole / "runs").iterdir()]

        assert _cells(sharded, "M") == _cells(whole, whole_id)
        assert _sizes(sharded, "M", EXACT).equals(_sizes(whole, whole_id, EXACT))
        a, b = (_sizes(r, i, ("compressed_bytes",)) for r, i in ((sharded, "M"), (whole, whole_id)))
        assert len(a) == len(b) == 2 and ((a["value"] - b["value"]).abs() <= b["value"] * 1e-4).all()
        report = main.bench("report", "M", "--results", str(sharded), "--out", str(tmp_path / "report"))
        assert report.returncode == 0, report.stderr
        text = (tmp_path / "report" / "REPORT.md").read_text()
        assert "shard 1" in text and "shard 2" in text  # each cell's segment says where it was measured
    finally:
        shutil.rmtree(main.work.parent, ignore_errors=True)
