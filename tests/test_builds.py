"""A cell's builds (bench.measure.builds) with a fake build function: order, edits, retries."""

from pathlib import Path

import pytest

from bench.apps import load_apps
from bench.engine.buildx import parse_rawjson
from bench.measure.build import BuildFailed, BuildResult
from bench.measure.builds import Builder, measure_builds, order
from bench.plan import Cell
from bench.settings import Asked, from_profile
from tests.test_runner import FIX, _app_dir

GOOD = parse_rawjson((FIX / "rawjson" / "cold_scratch.rawjson").read_text())
CACHED = parse_rawjson(
    '{"vertexes":[{"digest":"a","name":"[1/2] FROM scratch","cached":true,"started":"2026-11-27T00:00:00Z",'
    '"completed":"2026-11-27T00:00:00Z"},{"digest":"b","name":"[2/2] COPY main.go /","cached":true,'
    '"started":"2026-11-27T00:00:00Z","completed":"2026-11-27T00:00:00Z"}]}')


class FakeBuild:
    """Records each build's scenario and the edit target's text; fails as told."""

    def __init__(self, fail=(), progress=lambda scenario: GOOD):
        self.seen, self.fail, self.progress = [], list(fail), progress

    def __call__(self, executor, **kw):
        self.seen.append((kw["scenario"], (kw["context"] / "main.go").read_text(), "--no-cache" if kw["scenario"] == "cold" else ""))
        if self.fail:
            raise BuildFailed(self.fail.pop(0))
        return BuildResult(kw["scenario"], kw["repetition"], 1.0, self.progress(kw["scenario"]),
                           f"sha256:{len(self.seen)}", None)


@pytest.fixture
def cell(tmp_path):
    app = load_apps(_app_dir(tmp_path))[0]
    return Cell(app, app.variants[0])


def _settings(**kw):
    return from_profile(Asked(profile="quick", **kw))


def test_scenarios_rotate_so_none_always_runs_first():
    assert [order(("cold", "warm", "edit"), r)[0] for r in range(3)] == ["cold", "warm", "edit"]
    assert sorted(order(("cold", "warm", "edit"), 1)) == ["cold", "edit", "warm"]


def test_every_repetition_builds_each_scenario_and_edits_with_new_lines(cell, tmp_path):
    fake = FakeBuild()
    ctx = cell.app.context
    out = measure_builds(Builder(None, "R", build=fake), cell, _settings(repeat=3), ctx, [])
    scenarios = [s for s, _, _ in fake.seen]
    assert scenarios.count("cold") == scenarios.count("warm") == scenarios.count("edit") == 3
    assert scenarios[-1] == "restore" and scenarios[0] == "cold" and scenarios[3] == "warm"
    edits = [text for s, text, _ in fake.seen if s == "edit"]
    assert len(set(edits)) == 3 and all("// edited" in t for t in edits)
    assert (ctx / "main.go").read_text() == "package main\n"  # restored after each edit
    assert out.stale_images == tuple(f"sha256:{i}" for i in range(1, 10))
    again = FakeBuild()
    measure_builds(Builder(None, "R", build=again), cell, _settings(repeat=3), ctx, [])
    assert not {t for s, t, _ in again.seen if s == "edit"} & set(edits)  # a new attempt, new lines


def test_each_scenario_has_its_warmups_first_kept_and_flagged(cell):
    fake = FakeBuild()
    out = measure_builds(Builder(None, "R", build=fake), cell, _settings(repeat=1, warmup=2), cell.app.context, [])
    assert sorted(s for s, _, _ in fake.seen[:6]) == ["cold", "cold", "edit", "edit", "warm", "warm"]
    walls = [s for s in out.samples if s.metric == "build_wall_seconds"]
    assert [s.warmup for s in walls] == [True] * 6 + [False] * 3
    assert {s.scenario for s in walls if not s.warmup} == {"cold", "warm", "edit"}
    edits = [t for s, t, _ in fake.seen if s == "edit"]
    assert len(set(edits)) == 3  # a warmup edit is an edit no later build can find in cache


def test_a_network_flake_is_retried_once_after_a_pause_and_noted(cell):
    pauses = []
    fake = FakeBuild(fail=["npm ERR! code EAI_AGAIN"])
    out = measure_builds(Builder(None, "R", build=fake, sleep=pauses.append), cell, _settings(), cell.app.context, [])
    assert pauses == [15.0] and "cold build 1 retried after a network error" in out.notes


def test_a_network_error_twice_fails_and_says_how_to_retry(cell):
    fake = FakeBuild(fail=["Temporary failure resolving 'deb'", "Temporary failure resolving 'deb'"])
    with pytest.raises(BuildFailed, match="--retry-failed"):
        measure_builds(Builder(None, "R", build=fake, sleep=lambda s: None), cell, _settings(), cell.app.context, [])


def test_a_broken_dockerfile_is_not_retried(cell):
    fake = FakeBuild(fail=["exit code: 1"])
    with pytest.raises(BuildFailed, match="exit code: 1"):
        measure_builds(Builder(None, "R", build=fake, sleep=lambda s: None), cell, _settings(), cell.app.context, [])
    assert len(fake.seen) == 1


def test_an_edit_build_served_wholly_from_cache_is_noted(cell):
    fake = FakeBuild(progress=lambda s: CACHED if s == "edit" else GOOD)
    out = measure_builds(Builder(None, "R", build=fake), cell, _settings(), cell.app.context, [])
    assert any("edit build 1 reused every step from cache" in n for n in out.notes)


def test_image_tags_are_run_unique(tmp_path):
    """Two runs started in the same second into different results folders share a run id;
    their image tags must still differ, and stay the same across a resume."""
    from bench.measure.builds import image_tag, run_key

    a, b = run_key("20260101T000000Z", tmp_path / "a"), run_key("20260101T000000Z", tmp_path / "b")
    assert a != b and a == run_key("20260101T000000Z", tmp_path / "a")
    assert image_tag("go", "scratch", a).startswith("bench/go:scratch-20260101T000000Z-")
    assert image_tag("go", "scratch", a) != image_tag("go", "scratch", b)
