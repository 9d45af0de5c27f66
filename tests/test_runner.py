"""The runner end to end against a fake engine (recorded rawjson, inspect and history),
with the real steps of a cell wired to it. Nothing is monkeypatched: what a test changes
(the smoke check, a build) it hands in."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.apps import load_apps
from bench.engine.docker import Docker
from bench.errors import UserError
from bench.measure.builds import image_tag, run_key
from bench.measure.builds import run_key
from bench.measure.smoke import SmokeResult
from bench.measure.steps import engine_steps
from bench.metadata import Provenance
from bench.plan import make_plan, to_measure
from bench.runner import Runner
from bench.settings import Asked, from_profile
from bench.store import Run
from tests.fakes import FakeExecutor

FIX = Path(__file__).parent / "fixtures"
PROV = Provenance(bench={"git_commit": "c0ffee", "git_dirty": False, "version": "0.1.0"},
                  engine={"server": "26.1.5", "buildx": "0.13.1"}, machine={"cpus": 2, "hostname_hash": "h1"})


def _app_dir(tmp_path):
    root = tmp_path / "apps" / "demo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.go").write_text("package main\n")
    (root / "app.toml").write_text('name = "demo"\n[edit]\nfile = "main.go"\nappend = "// edited"\n')
    for v in ("bloated", "scratch"):
        d = root / "variants" / v
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text("FROM scratch\nCOPY main.go /\n")
        (d / "variant.toml").write_text(f'techniques = ["{v}"]\nsummary = "{v}"\n')
    return tmp_path / "apps"


@pytest.fixture
def engine():
    ex = FakeExecutor()
    ex.on("docker", "info", stdout="26.1.5\n")
    ex.on("docker", "buildx", "version", stdout="github.com/docker/buildx 0.13.1\n")
    ex.on("docker", "buildx", "build", stderr=(FIX / "rawjson" / "cold_scratch.rawjson").read_text())
    ex.on("docker", "image", "inspect", stdout=(FIX / "inspect" / "scratch_image.json").read_text())
    ex.on("docker", "history", stdout=(FIX / "inspect" / "scratch_history.jsonl").read_text())
    ex.on("docker", "rmi")
    return ex


@pytest.fixture
def demo(tmp_path):
    return load_apps(_app_dir(tmp_path))[0]


def _ok(cell, tag, rep):
    return SmokeResult(True, 0.25, "")


def plan_of(demo, n=None, **asked):
    settings = from_profile(Asked(**{"profile": "quick", "push_pull": False, "analyze": False, **asked}))
    return make_plan([(demo, v) for v in demo.variants][:n], settings)


def runner(run, plan, ex, tmp_path, *, retry_failed=False, redo=frozenset(), smoke=_ok, tweak=None,
           prov=PROV, **kw) -> Runner:
    sel = to_measure(plan, run.statuses(), retry_failed=retry_failed, redo=redo, recorded_bases=frozenset(run.bases))
    work = tmp_path / "work"

    def open_steps(stack, needs):
        steps = engine_steps(Docker(ex), run, plan.settings, stack, needs_registry=False, work_dir=work)
        steps = replace(steps, smoke=smoke)
        return tweak(steps) if tweak else steps

    return Runner(run, sel, plan.settings, open_steps, prov, work_dir=work, **kw)


def _tagged(argv, prefix: str) -> bool:
    """Whether a build argv tags its image `prefix-<run key>`."""
    return any(a.startswith(prefix + "-") for a in argv)


def new_run(tmp_path, plan, run_id=None):
    return Run.create(tmp_path / "results", {"run_id": run_id} if run_id else {}, settings=plan.settings,
                      planned=plan.keys)


def test_a_cell_yields_build_image_and_smoke_samples(tmp_path, engine, demo):
    plan = plan_of(demo, repeat=2)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()

    df = run.frame()
    assert set(run.cells) == {"demo/bloated", "demo/scratch"}
    assert all(c.status == "ok" and c.smoke_ok for c in run.cells.values())
    assert len(df[(df.metric == "build_wall_seconds") & (df.scenario == "cold")]) == 4  # 2 variants x 2
    assert set(df[df.metric == "disk_bytes"]["value"]) == {12}
    assert set(df[df.metric == "layer_bytes"]["detail"]) == {"1: COPY a.txt /a.txt", "2: COPY a.txt /b.txt"}
    builds = [c for c in engine.calls if c[:3] == ("docker", "buildx", "build")]
    assert sum("--no-cache" in c for c in builds) == 4  # only cold builds skip the cache
    assert not (tmp_path / "work" / run_key(run.run_id, run.folder)).exists()  # the private copy is gone
    assert (tmp_path / "apps" / "demo" / "src" / "main.go").read_text() == "package main\n"
    assert Run.open(run.folder).complete


def test_a_broken_dockerfile_fails_its_cell_and_the_run_goes_on(tmp_path, engine, demo):
    bad = '{"vertexes":[{"digest":"x","name":"[1/1] RUN false","error":"exit code: 1"}]}'
    good = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()
    engine.responses[("docker", "buildx", "build")] = lambda argv: (
        (1, "", bad) if _tagged(argv, "bench/demo:bloated") else (0, "", good))
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()
    bloated = run.cells["demo/bloated"]
    assert bloated.status == "failed" and "does not build" in bloated.reason and "exit code: 1" in bloated.reason
    assert run.cells["demo/scratch"].status == "ok"


def test_an_image_that_does_not_serve_is_a_failed_cell(tmp_path, engine, demo):
    plan = plan_of(demo, n=1)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path, smoke=lambda c, t, r: SmokeResult(False, None, "GET /time answered 400")).execute()
    (cell,) = run.cells.values()
    assert cell.status == "failed" and cell.smoke_ok is False and "GET /time answered 400" in cell.reason


def test_resume_measures_only_unfinished_cells_in_a_new_segment(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path).execute()
    assert not Run.open(run.folder).complete and Run.open(run.folder).metadata["missing_cells"] == ["demo/scratch"]
    first = len(engine.calls)
    again = Run.open(run.folder)
    runner(again, plan, engine, tmp_path).execute()
    builds = [c for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")]
    assert builds and {c[c.index("-t") + 1] for c in builds} == {image_tag("demo", "scratch", run_key(run.run_id, run.folder))}
    done = Run.open(run.folder)
    assert done.complete and [s.cells for s in done.segments] == [1, 1]
    assert {k: c.segment for k, c in done.cells.items()} == {"demo/bloated": 0, "demo/scratch": 1}
    assert done.segments[1].bench["git_commit"] == "c0ffee" and done.segments[1].engine["server"] == "26.1.5"


def test_a_resume_on_another_engine_is_refused_unless_mixed_is_allowed(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path).execute()
    other = replace(PROV, engine={"server": "27.0.1", "buildx": "0.13.1"})
    with pytest.raises(UserError, match=r"Docker Engine 26\.1\.5 \(now 27\.0\.1\).*--allow-mixed"):
        runner(Run.open(run.folder), plan, engine, tmp_path, prov=other).execute()
    assert set(Run.open(run.folder).cells) == {"demo/bloated"}  # nothing measured, nothing lost
    runner(Run.open(run.folder), plan, engine, tmp_path, prov=other, allow_mixed=True).execute()
    done = Run.open(run.folder)
    assert done.complete and any("Docker Engine 26.1.5 (now 27.0.1)" in m for m in done.metadata["mixed"])


def test_a_resume_by_another_commit_is_refused(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path).execute()
    newer = replace(PROV, bench={**PROV.bench, "git_commit": "beef"})
    with pytest.raises(UserError, match="bench commit c0ffee"):
        runner(Run.open(run.folder), plan, engine, tmp_path, prov=newer).execute()


def test_ctrl_c_keeps_finished_cells_and_stores_nothing_half_measured(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    good = engine.responses[("docker", "buildx", "build")]

    def build(argv):  # Ctrl-C during the second cell's first build
        if _tagged(argv, "bench/demo:scratch"):
            raise KeyboardInterrupt
        return good

    engine.responses[("docker", "buildx", "build")] = build
    with pytest.raises(KeyboardInterrupt):
        runner(run, plan, engine, tmp_path).execute()
    saved = Run.open(run.folder)
    assert set(saved.cells) == {"demo/bloated"} and not saved.complete
    [seg] = saved.segments
    assert seg.cells == 1 and seg.ended_utc >= seg.started_utc
    assert not (tmp_path / "work" / run_key(run.run_id, run.folder)).exists()
    engine.responses[("docker", "buildx", "build")] = good
    runner(saved, plan, engine, tmp_path).execute()
    done = Run.open(run.folder)
    assert done.complete
    for c in done.cells.values():
        assert c.started_utc.startswith("20") and c.seconds is not None
        assert {"bases", "context", "builds", "image", "smoke"} <= set(c.phase_seconds)


def test_retry_failed_measures_failed_cells_again(tmp_path, engine, demo):
    plan = plan_of(demo, n=1)
    run = new_run(tmp_path, plan)
    engine.on("docker", "buildx", "build", rc=1, stderr='{"vertexes":[{"digest":"x","name":"[1/1] RUN x","error":"boom"}]}')
    runner(run, plan, engine, tmp_path).execute()
    assert Run.open(run.folder).cells["demo/bloated"].status == "failed"
    engine.on("docker", "buildx", "build", stderr=(FIX / "rawjson" / "cold_scratch.rawjson").read_text())
    runner(Run.open(run.folder), plan, engine, tmp_path).execute()  # failed counts as finished
    assert Run.open(run.folder).cells["demo/bloated"].status == "failed"
    runner(Run.open(run.folder), plan, engine, tmp_path, retry_failed=True).execute()
    assert Run.open(run.folder).cells["demo/bloated"].status == "ok"


def test_redo_measures_a_finished_cell_again_and_keeps_its_earlier_rows(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()
    n_scratch = int((run.frame().variant == "scratch").sum())
    first = len(engine.calls)
    runner(Run.open(run.folder), plan, engine, tmp_path, redo=frozenset({"demo/scratch"}),
           redo_because="npm ci stalled").execute()
    tags = {c[c.index("-t") + 1] for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")}
    assert tags == {image_tag("demo", "scratch", run_key(run.run_id, run.folder))}
    done = Run.open(run.folder)
    assert done.complete and "measured again with --redo" in done.cells["demo/scratch"].reason
    assert any("demo/scratch" in n and "npm ci stalled" in n for n in done.metadata["notes"])
    assert int((done.frame().variant == "scratch").sum()) == n_scratch
    old = __import__("pandas").read_csv(run.folder / "superseded.csv")
    assert len(old) == n_scratch and set(old.superseded_why) == {"npm ci stalled"}


def test_a_failing_analysis_is_noted_and_the_run_goes_on(tmp_path, engine, demo):
    def boom(cell, tag):
        raise TimeoutError("docker save timed out")

    plan = plan_of(demo, n=1, analyze=True)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path, tweak=lambda s: replace(s, analysis=boom)).execute()
    (cell,) = run.cells.values()
    assert cell.status == "ok" and "analysis failed: TimeoutError: docker save timed out" in cell.reason


def test_analysis_reads_one_saved_archive_and_removes_it(tmp_path, engine, demo):
    from bench.measure.steps import archive_analysis

    def save(argv):
        Path(argv[argv.index("-o") + 1]).write_bytes(b"tar")
        return 0, "", ""

    engine.responses[("docker", "save")] = save
    seen = []

    def fake_analyze_image(tag, app, variant, *, dockerfile=None, executor=None, archive=None):
        seen.append((tag, Path(archive), Path(archive).read_bytes()))
        return []

    plan = plan_of(demo, n=1, analyze=True)
    run = new_run(tmp_path, plan)
    analysis = archive_analysis(Docker(engine), run.run_id, lambda t: None, tmp_path / "work", analyze=fake_analyze_image)
    runner(run, plan, engine, tmp_path, tweak=lambda s: replace(s, analysis=analysis)).execute()
    [(tag, archive, data)] = seen
    mine = image_tag("demo", "bloated", run_key(run.run_id, run.folder))
    assert tag == mine and data == b"tar" and not archive.exists()
    assert [c[-1] for c in engine.calls if c[:2] == ("docker", "save")] == [mine]


def test_a_cell_removes_the_images_its_repeated_builds_left_untagged(tmp_path, engine, demo):
    raw = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()
    made = iter(["sha256:b0", "sha256:b1", "sha256:b2", "sha256:b3", "sha256:b4", "sha256:b5", "sha256:b6"])

    def build(argv):
        meta = Path(argv[argv.index("--metadata-file") + 1])
        meta.write_text(json.dumps({"containerimage.config.digest": next(made)}))
        return 0, "", raw

    engine.responses[("docker", "buildx", "build")] = build
    plan = plan_of(demo, n=1, repeat=2)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()
    removals = [c[2:] for c in engine.calls if c[:2] == ("docker", "rmi")]
    assert removals == [("sha256:b0", "sha256:b1", "sha256:b2", "sha256:b3", "sha256:b4", "sha256:b5")]
    assert next(made, None) is None  # 2 x (cold, warm, edit) and the restore


def test_a_resumed_run_measures_each_base_once_unless_it_changed(tmp_path, engine, demo):
    from bench.bases import Resolved

    ids = iter(["sha256:aaa", "sha256:aaa", "sha256:bbb"])

    def fake_resolve(refs, mode, executor=None):
        i = next(ids)
        return {r: Resolved(r, "local", "bench-standin/base:1", True, True, "", "1", "h", i) for r in refs}

    for v in demo.variants:
        v.dockerfile.write_text("FROM debian:bookworm-slim\nCOPY main.go /\n")
    demo = load_apps(tmp_path / "apps")[0]
    plan = plan_of(demo)

    def with_bases(steps):
        steps.bases.resolve = fake_resolve
        return steps

    def base_rows(r):
        return [x for x in r.rows if x["app"] == "_bases"]

    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path, tweak=with_bases).execute()
    assert len(base_rows(run)) == 1  # disk_bytes (no registry: no compressed size)
    again = Run.open(run.folder)
    runner(again, plan, engine, tmp_path, tweak=with_bases).execute()  # same base image: not measured again
    assert len(base_rows(again)) == 1 and "notes" not in again.metadata
    third = Run.open(run.folder)
    third.cells.pop("demo/scratch")
    third.metadata["complete"] = False
    runner(third, plan, engine, tmp_path, tweak=with_bases).execute()  # the base changed in between
    assert len(base_rows(third)) == 1 and "sha256:aaa" in third.metadata["notes"][0]


def test_one_run_is_measured_by_one_process_at_a_time(tmp_path, engine, demo):
    from tests.test_workdirs import _locked_by_child

    plan = plan_of(demo, n=1)
    run = new_run(tmp_path, plan)
    other = _locked_by_child(tmp_path / "work" / run_key(run.run_id, run.folder))  # a second `bench run --resume` of it
    try:
        with pytest.raises(UserError, match="being measured by another bench process"):
            runner(run, plan, engine, tmp_path).execute()
    finally:
        other.kill()
        other.wait()
    assert run.cells == {} and run.segments == []


def test_a_resumed_runs_progress_starts_at_the_cells_already_done(tmp_path, engine, demo):
    from bench.commands._progress import RichReporter

    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path).execute()
    with RichReporter(len(plan.cells)) as rep:
        seen = []
        real = rep.already_done
        rep.already_done = lambda n: (seen.append(n), real(n))
        runner(Run.open(run.folder), plan, engine, tmp_path, reporter=rep).execute()
        assert seen == [1] and rep.progress.tasks[0].completed == 2


def test_retry_failed_and_redo_need_resume_and_redo_a_cell_of_the_run(tmp_path, capsys):
    from bench.cli import main

    assert main(["run", "--retry-failed", "--only", "go/scratch"]) == 1
    assert "--retry-failed goes with --resume" in capsys.readouterr().err
    assert main(["run", "--redo", "go/scratch"]) == 1
    assert "--redo goes with --resume" in capsys.readouterr().err
    run = Run.create(tmp_path / "results", {})
    assert main(["run", "--resume", str(run.folder), "--results", str(tmp_path / "results"),
                 "--redo", "go/nosuch"]) == 1
    assert "--redo go/nosuch" in capsys.readouterr().err


def test_the_run_ends_by_saying_how_long_it_took_and_what_next():
    from types import SimpleNamespace

    from bench.commands._summary import closing_lines

    run = SimpleNamespace(run_id="R", metadata={"missing_cells": ["a/b"], "segments": [
        {"started_utc": "2026-11-27T08:00:00+00:00", "ended_utc": "2026-11-27T09:01:05+00:00"}]})
    text = closing_lines(run)
    assert "wall time: 1 h 1 min" in text
    assert "--resume R" in text and "bench report R" in text


def test_the_closing_hint_names_a_results_folder_that_is_not_the_projects(tmp_path):
    # `bench report RUN` looks in the project's results/; a run stored elsewhere needs --results
    from types import SimpleNamespace

    from bench.commands._summary import closing_lines
    from bench.store import RESULTS_DIR

    meta = {"segments": []}
    mine = SimpleNamespace(run_id="R", metadata=meta, folder=tmp_path / "mine" / "runs" / "R")
    assert f"`python -m bench report R --results {tmp_path / 'mine'}`" in closing_lines(mine)
    ours = SimpleNamespace(run_id="R", metadata=meta, folder=RESULTS_DIR / "runs" / "R")
    assert "`python -m bench report R`" in closing_lines(ours)


def test_a_run_becomes_latest_only_when_every_planned_cell_is_done(tmp_path, engine, demo):
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan_of(demo, n=1), engine, tmp_path).execute()
    assert not (tmp_path / "results" / "latest").exists()
    runner(Run.open(run.folder), plan, engine, tmp_path).execute()
    assert (tmp_path / "results" / "latest").read_text().strip() == run.run_id


def test_an_engine_on_another_host_gets_no_push_pull_and_every_cell_says_why(tmp_path, engine, demo, monkeypatch):
    from bench.engine.endpoint import Endpoint

    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.7:2376")  # the process environment, as --context sets it
    plan = plan_of(demo, n=1, push_pull=True)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()
    (cell,) = run.cells.values()
    assert cell.status == "ok" and "push and pull skipped: the engine at tcp://192.0.2.7:2376" in cell.reason
    assert not any(r["scenario"] in ("push", "pull") for r in run.rows)
    assert Endpoint("unix:///tmp/x.sock").local and Endpoint("tcp://127.0.0.1:2375").local
    assert not Endpoint("ssh://builder@ci-host").local


def test_a_run_whose_every_cell_failed_is_not_complete_and_never_latest(tmp_path, engine, demo):
    engine.on("docker", "buildx", "build", rc=1, stderr='{"vertexes":[{"digest":"x","name":"[1/1] RUN x","error":"boom"}]}')
    plan = plan_of(demo)
    run = new_run(tmp_path, plan)
    runner(run, plan, engine, tmp_path).execute()
    saved = Run.open(run.folder)
    assert {c.status for c in saved.cells.values()} == {"failed"}
    assert not saved.complete and saved.metadata["no_cell_measured"]
    assert not (tmp_path / "results" / "latest").exists()


def test_runs_of_your_own_apps_never_go_to_the_published_results(tmp_path, monkeypatch):
    import argparse

    from bench.commands import run as run_cmd
    from bench.store import RESULTS_DIR

    p = argparse.ArgumentParser()
    run_cmd.add_arguments(p)
    monkeypatch.chdir(tmp_path)
    assert run_cmd.results_dir(p.parse_args([])) == RESULTS_DIR
    assert run_cmd.results_dir(p.parse_args(["--apps", "my-apps"])) == tmp_path / "bench-results"
    assert run_cmd.results_dir(p.parse_args(["--apps", "a", "--results", "elsewhere"])) == Path("elsewhere")


def test_an_alpine_build_whose_apk_add_finds_no_mirror_is_skipped_with_its_reason(tmp_path, engine, demo):
    from bench.bases.measure import CellBases

    apk = '{"vertexes":[{"digest":"x","name":"[2/3] RUN apk add --no-cache tzdata","error":"ERROR: unable to select packages: tzdata (no such package)"}]}'
    engine.on("docker", "buildx", "build", rc=1, stderr=apk)
    plan = plan_of(demo, n=1)
    run = new_run(tmp_path, plan)
    alpine = lambda bases: CellBases(("sha256:alpine",), True, ())  # noqa: E731  (a stand-in base)
    runner(run, plan, engine, tmp_path, tweak=lambda s: replace(s, bases=alpine)).execute()
    (cell,) = run.cells.values()
    assert cell.status == "skipped" and "Alpine package mirror" in cell.reason and "tzdata" in cell.reason


def _bases_recorder(calls, fail=()):
    """A `bases` step that records each ref it resolves in the run, as RunBases does."""

    def step(run):
        def bases(refs):
            from bench.bases.measure import CellBases

            for ref in refs:
                calls.append(ref)
                if ref in fail:
                    raise UserError(f"cannot build the stand-in of {ref} here")
                run.metadata.setdefault("bases", {})[ref] = {"image": f"standin/{ref}", "standin": True}
            return CellBases((), True, ())

        return bases

    return step


def test_reference_bases_are_measured_after_the_cells_and_once(tmp_path, engine, demo):
    plan = replace(plan_of(demo), bases=("ubuntu:24.04", "gcr.io/distroless/base"))
    run = new_run(tmp_path, plan)
    calls, order = [], []
    tweak = lambda s: replace(s, bases=lambda refs: (order.append(tuple(refs)), _bases_recorder(calls)(run)(refs))[1])
    sel = to_measure(plan, run.statuses(), recorded_bases=frozenset(run.bases))
    assert sel.bases == ("ubuntu:24.04", "gcr.io/distroless/base")
    runner(run, plan, engine, tmp_path, tweak=tweak).execute()
    assert calls == ["ubuntu:24.04", "gcr.io/distroless/base"]
    assert order[-2:] == [("ubuntu:24.04",), ("gcr.io/distroless/base",)]  # after every cell's own
    assert set(Run.open(run.folder).bases) >= {"ubuntu:24.04", "gcr.io/distroless/base"}
    # a resume does not measure them again
    again = to_measure(plan, run.statuses(), recorded_bases=frozenset(Run.open(run.folder).bases))
    assert again.bases == () and again.cells == ()


def test_a_reference_base_that_cannot_be_built_is_noted_and_the_run_completes(tmp_path, engine, demo):
    plan = replace(plan_of(demo), bases=("ubuntu:24.04", "node:20"))
    run = new_run(tmp_path, plan)
    calls = []
    tweak = lambda s: replace(s, bases=_bases_recorder(calls, fail=("ubuntu:24.04",))(run))
    runner(run, plan, engine, tmp_path, tweak=tweak).execute()
    opened = Run.open(run.folder)
    assert calls[-2:] == ["ubuntu:24.04", "node:20"] and "node:20" in opened.bases
    assert any("reference base ubuntu:24.04 was not measured" in n for n in opened.metadata.get("notes", []))
    assert opened.complete
