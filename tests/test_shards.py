"""Sharding a plan and merging the shards back into one run (fake engine)."""

import json
from dataclasses import replace

import pytest

from bench.apps import load_apps, select
from bench.errors import UserError
from bench.merge import merge
from bench.plan import Shard, make_plan, shard_of
from bench.settings import Asked, from_profile
from bench.store import Run
from tests.test_runner import PROV, engine, demo, plan_of, runner  # noqa: F401  (fixtures)


def _plan(n=9):
    return make_plan(select(load_apps(), ["go", "node"])[:n], from_profile(Asked(profile="quick")))


def test_shards_partition_the_plan_deterministically():
    plan = _plan()
    parts = [shard_of(plan, Shard(i, 3)).keys for i in (1, 2, 3)]
    assert sorted(k for p in parts for k in p) == sorted(plan.keys)
    assert [len(p) for p in parts] == [3, 3, 3]
    assert parts == [shard_of(plan, Shard(i, 3)).keys for i in (1, 2, 3)]  # same answer every time


def test_shards_balance_by_the_cell_times_of_an_earlier_run():
    plan = _plan(4)
    a, b, c, d = plan.keys
    cost = {a: 100.0, b: 10.0, c: 10.0, d: 80.0}
    one, two = (shard_of(plan, Shard(i, 2), cost).keys for i in (1, 2))
    assert set(one) == {a} and set(two) == {b, c, d}  # 100 s against 100 s
    # a cell the earlier run did not measure costs the median of those it did
    assert sorted(shard_of(plan, Shard(1, 2), {a: 100.0}).keys + shard_of(plan, Shard(2, 2), {a: 100.0}).keys) == \
        sorted(plan.keys)


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0"])
def test_a_bad_shard_is_one_user_error(text):
    with pytest.raises(UserError, match=r"--shard .*I/N"):
        Shard.parse(text)


def _shard_runs(tmp_path, engine, demo, prov2=PROV):
    plan = plan_of(demo)
    out = []
    for i, prov in ((1, PROV), (2, prov2)):
        part = shard_of(plan, Shard(i, 2))
        run = Run.create(tmp_path / "results", {"run_id": f"S{i}", "shard": {"index": i, "of": 2, "plan": plan.keys}},
                         settings=plan.settings, planned=part.keys)
        runner(run, part, engine, tmp_path, prov=prov).execute()
        out.append(Run.open(run.folder))
    return plan, out


def test_merged_shards_equal_an_unsharded_run(tmp_path, engine, demo):
    plan, shards = _shard_runs(tmp_path, engine, demo)
    merged = merge(shards, tmp_path / "results", into="M").run
    whole = Run.create(tmp_path / "results", {"run_id": "W"}, settings=plan.settings, planned=plan.keys)
    runner(whole, plan, engine, tmp_path).execute()
    assert merged.complete and merged.metadata["merged_from"] == ["S1", "S2"]
    assert set(merged.cells) == set(whole.cells)
    cols = ["app", "variant", "scenario", "metric", "value", "detail"]
    sizes = lambda r: r.frame().query("unit == 'B'")[cols].sort_values(cols).reset_index(drop=True)  # noqa: E731
    assert sizes(merged).equals(sizes(whole))
    assert [s["shard_run_id"] for s in merged.metadata["segments"]] == ["S1", "S2"]
    assert {c.segment for c in merged.cells.values()} == {0, 1}
    again = merge(shards, tmp_path / "results", into="M")  # idempotent
    assert again.already and json.loads((again.run.folder / "cells.json").read_text()) == \
        json.loads((merged.folder / "cells.json").read_text())


def test_shards_of_two_engine_versions_are_refused_unless_mixed_is_allowed(tmp_path, engine, demo):
    _, shards = _shard_runs(tmp_path, engine, demo, prov2=replace(PROV, engine={"server": "27.0.1"}))
    with pytest.raises(UserError, match=r"differ in Docker Engine 26\.1\.5 \(now 27\.0\.1\).*--allow-mixed"):
        merge(shards, tmp_path / "results")
    merged = merge(shards, tmp_path / "results", allow_mixed=True).run
    assert merged.complete and "Docker Engine 26.1.5 (now 27.0.1)" in merged.metadata["mixed"][0]


def test_a_different_host_of_the_same_kind_is_not_a_difference(tmp_path, engine, demo):
    other = replace(PROV, machine={**PROV.machine, "hostname_hash": "h2"})
    _, shards = _shard_runs(tmp_path, engine, demo, prov2=other)
    assert "mixed" not in merge(shards, tmp_path / "results").run.metadata


def test_overlapping_or_unfinished_shards_are_refused(tmp_path, engine, demo):
    _, (one, two) = _shard_runs(tmp_path, engine, demo)
    with pytest.raises(UserError, match="is in both"):
        merge([one, Run.open(one.folder)], tmp_path / "results")
    two.metadata["complete"] = False
    with pytest.raises(UserError, match="not complete.*--resume"):
        merge([one, two], tmp_path / "results")
    plain = Run.create(tmp_path / "results", {"run_id": "P"})
    with pytest.raises(UserError, match="not a shard"):
        merge([one, plain], tmp_path / "results")
