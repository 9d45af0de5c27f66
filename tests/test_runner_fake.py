"""The runner end to end against a fake engine: recorded rawjson, inspect and history."""

import json
from pathlib import Path

import pytest

import bench.runner as runner_mod
from bench.apps import load_apps
from bench.errors import EngineUnavailable
from bench.measure.smoke import SmokeResult
from bench.plan import make_plan
from bench.runner import Runner, check_engine
from bench.store import Run
from tests.fakes import FakeExecutor

FIX = Path(__file__).parent / "fixtures"


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
    raw = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()
    ex.on("docker", "buildx", "build", stderr=raw)
    ex.on("docker", "image", "inspect", stdout=(FIX / "inspect" / "scratch_image.json").read_text())
    ex.on("docker", "history", stdout=(FIX / "inspect" / "scratch_history.jsonl").read_text())
    return ex


def test_a_cell_yields_build_image_and_smoke_samples(tmp_path, engine, monkeypatch):
    seen_edits = []

    def fake_smoke(executor, tag, **kw):
        return SmokeResult(True, 0.25, "")

    real_build = runner_mod.run_build

    def spy_build(executor, **kw):
        seen_edits.append((kw["scenario"], (kw["context"] / "main.go").read_text()))
        assert kw["context"].parent.name == run.run_id
        return real_build(executor, **kw)

    monkeypatch.setattr(runner_mod, "smoke", fake_smoke)
    monkeypatch.setattr(runner_mod, "run_build", spy_build)
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], v) for v in apps[0].variants], profile="quick", repeat=2,
                     push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {"run_id": "T"})
    Runner(engine, run, plan).execute()

    df = run.frame()
    assert set(run.cells) == {"demo/bloated", "demo/scratch"}
    assert all(c.status == "ok" and c.smoke_ok for c in run.cells.values())
    cold = df[(df.metric == "build_wall_seconds") & (df.scenario == "cold")]
    assert len(cold) == 4  # 2 variants x 2 repetitions
    assert set(df[df.metric == "disk_bytes"]["value"]) == {12}
    assert set(df[df.metric == "layers"]["value"]) == {2}
    layer_details = set(df[df.metric == "layer_bytes"]["detail"])
    assert layer_details == {"1: COPY a.txt /a.txt", "2: COPY a.txt /b.txt"}
    # cold builds pass --no-cache, warm ones do not
    builds = [c for c in engine.calls if c[:3] == ("docker", "buildx", "build")]
    assert sum("--no-cache" in c for c in builds) == 4
    # every edit build saw a different one-line change, and the source was restored after
    edits = [text for scenario, text in seen_edits if scenario == "edit"]
    assert len(edits) == 4 and len(set(edits)) == 4 and all("// edited" in t for t in edits)
    assert not (tmp_path / "work" / run.run_id).exists()  # the private copy is gone
    assert (tmp_path / "apps" / "demo" / "src" / "main.go").read_text() == "package main\n"
    assert (run.folder / "samples.csv").is_file() and run.metadata["complete"]


def test_a_broken_dockerfile_fails_its_cell_and_the_run_goes_on(tmp_path, engine, monkeypatch):
    bad = '{"vertexes":[{"digest":"x","name":"[1/1] RUN false","error":"exit code: 1"}]}'
    calls = {"n": 0}

    def build(argv):
        calls["n"] += 1
        if "bench/demo:bloated" in argv:
            return 1, "", bad
        return 0, "", (FIX / "rawjson" / "cold_scratch.rawjson").read_text()

    engine.responses[("docker", "buildx", "build")] = build
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], v) for v in apps[0].variants], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    assert run.cells["demo/bloated"].status == "failed"
    assert "does not build" in run.cells["demo/bloated"].reason and "exit code: 1" in run.cells["demo/bloated"].reason
    assert run.cells["demo/scratch"].status == "ok"


def test_resume_skips_finished_cells(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    pairs = [(apps[0], v) for v in apps[0].variants]
    plan = make_plan(pairs, profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, make_plan(pairs[:1], profile="quick", push_pull=False, analyze=False)).execute()
    first = len(engine.calls)
    run.metadata["complete"] = False
    run.save()
    Runner(engine, Run.open(run.folder), plan, resume=True).execute()
    builds = [c for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")]
    assert builds and {c[c.index("-t") + 1] for c in builds} == {"bench/demo:scratch"}
    assert set(Run.open(run.folder).cells) == {"demo/bloated", "demo/scratch"}


def test_no_engine_is_one_user_error():
    ex = FakeExecutor().on("docker", "info", rc=1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    with pytest.raises(EngineUnavailable, match="bootstrap-engine"):
        check_engine(ex)


def test_a_failing_analysis_is_recorded_and_the_run_goes_on(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")

    def boom(self, cell, tag):
        raise TimeoutError("docker save timed out")

    monkeypatch.setattr(Runner, "_analyze", boom)
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], v) for v in apps[0].variants], profile="quick", push_pull=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    for c in run.cells.values():
        assert c.status == "ok" and "analysis failed: TimeoutError: docker save timed out" in c.reason
    assert (run.frame().metric == "disk_bytes").sum() == 2


def test_clean_selects_by_label_and_keeps_standins_unless_asked():
    from bench.runner import cleanup

    ex = FakeExecutor()
    ex.on("docker", "ps", stdout="c1\n")
    ex.on("docker", "images", stdout="bench/go:scratch\tsha256:a\t\nbench-standin/golang-1.22:abc\tsha256:b\tgolang:1.22\n<none>:<none>\tsha256:c\t\n")
    ex.on("docker", "rm")
    ex.on("docker", "rmi")
    assert cleanup(ex) == ["c1", "bench/go:scratch", "sha256:c"]
    assert all(f"label=org.bench.managed=true" in c for c in ex.calls if c[1] in ("ps", "images"))
    ex.calls.clear()
    assert "bench-standin/golang-1.22:abc" in cleanup(ex, standins=True)


def test_a_network_flake_is_retried_once_and_noted(tmp_path, engine, monkeypatch):
    flaky = '{"vertexes":[{"digest":"x","name":"[2/3] RUN npm ci","error":"npm ERR! getaddrinfo EAI_AGAIN registry"}]}'
    seen = {"n": 0}
    good = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()

    def build(argv):
        seen["n"] += 1
        return (1, "", flaky) if seen["n"] == 1 else (0, "", good)

    engine.responses[("docker", "buildx", "build")] = build
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    pauses = []
    monkeypatch.setattr(runner_mod.time, "sleep", pauses.append)
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], apps[0].variants[0])], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    (cell,) = run.cells.values()
    assert cell.status == "ok" and "cold build 1 retried after a network error" in cell.reason
    assert len(run.frame().query("metric == 'build_wall_seconds' and scenario == 'cold'")) == 1
    assert pauses == [runner_mod.RETRY_PAUSE]


def test_a_network_error_twice_fails_the_cell_and_says_how_to_retry(tmp_path, engine, monkeypatch):
    flaky = '{"vertexes":[{"digest":"x","name":"[1/2] RUN apt-get update","error":"Temporary failure resolving"}]}'
    engine.responses[("docker", "buildx", "build")] = lambda argv: (1, "", flaky)
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    monkeypatch.setattr(runner_mod.time, "sleep", lambda s: None)
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], apps[0].variants[0])], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    (cell,) = run.cells.values()
    assert cell.status == "failed" and "network error twice" in cell.reason and "--retry-failed" in cell.reason


def test_resume_with_retry_failed_measures_failed_cells_again(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], v) for v in apps[0].variants], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    run.cells["demo/bloated"].status = "failed"
    run.metadata["complete"] = False
    run.save()
    first = len(engine.calls)
    Runner(engine, Run.open(run.folder), plan, resume=True).execute()
    assert not [c for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")]
    again = Run.open(run.folder)
    Runner(engine, again, plan, resume=True, retry_failed=True).execute()
    tags = {c[c.index("-t") + 1] for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")}
    assert tags == {"bench/demo:bloated"} and again.cells["demo/bloated"].status == "ok"


def test_retry_failed_without_resume_is_a_user_error(capsys):
    from bench.cli import main

    assert main(["run", "--retry-failed", "--only", "go/scratch"]) == 1
    assert "--retry-failed goes with --resume" in capsys.readouterr().err


def test_a_run_is_complete_only_when_every_planned_cell_is_done(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    pairs = [(apps[0], v) for v in apps[0].variants]
    run = Run.create(tmp_path / "results", {"plan": {"cells": ["demo/bloated", "demo/scratch"]}})
    Runner(engine, run, make_plan(pairs[:1], profile="quick", push_pull=False, analyze=False)).execute()
    assert not run.metadata["complete"] and run.metadata["missing_cells"] == ["demo/scratch"]
    assert not (tmp_path / "results" / "latest").exists()
    Runner(engine, run, make_plan(pairs, profile="quick", push_pull=False, analyze=False), resume=True).execute()
    assert run.metadata["complete"] and "missing_cells" not in run.metadata
    assert (tmp_path / "results" / "latest").read_text().strip() == run.run_id


def test_cells_carry_their_start_and_duration_and_each_invocation_is_a_segment(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    pairs = [(apps[0], v) for v in apps[0].variants]
    interrupted = {"n": 0}
    real = runner_mod.run_build

    def build(executor, **kw):  # Ctrl-C during the second cell's first build
        if kw["tag"] == "bench/demo:scratch" and not interrupted["n"]:
            interrupted["n"] += 1
            raise KeyboardInterrupt
        return real(executor, **kw)

    monkeypatch.setattr(runner_mod, "run_build", build)
    plan = make_plan(pairs, profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {"plan": {"cells": [k for k in ("demo/bloated", "demo/scratch")]}})
    with pytest.raises(KeyboardInterrupt):
        Runner(engine, run, plan).execute()
    saved = Run.open(run.folder)
    assert set(saved.cells) == {"demo/bloated"}  # nothing half-measured is stored
    [seg] = saved.metadata["segments"]
    assert seg["cells"] == 1 and seg["ended_utc"] >= seg["started_utc"]
    Runner(engine, saved, plan, resume=True).execute()
    again = Run.open(run.folder)
    assert again.metadata["complete"] and [s["cells"] for s in again.metadata["segments"]] == [1, 1]
    for c in again.cells.values():
        assert c.started_utc.startswith("20") and c.seconds is not None and c.seconds >= 0
        assert {"bases", "context", "builds", "image", "smoke"} <= set(c.phase_seconds)  # no push/pull, analysis
        assert sum(c.phase_seconds.values()) <= c.seconds + 0.2


def _resume_args(**kw):
    import argparse

    from bench.commands import run as run_cmd

    p = argparse.ArgumentParser()
    run_cmd.add_arguments(p)
    return run_cmd, p.parse_args(kw.get("argv", []))


def test_resume_measures_the_rest_with_the_runs_own_settings():
    run_cmd, args = _resume_args(argv=["--resume", "R"])
    stored = {"run_id": "R", "profile": "quick",
              "plan": {"repeat": 1, "scenarios": ["cold"], "pull_profiles": ["loopback", "150mbit"]}}
    s = run_cmd._settings(args, stored)
    assert s["profile"] == "quick" and s["repeat"] == 1
    assert s["scenarios"] == ("cold",) and s["pull_profiles"] == ("loopback", "150mbit")


def test_resume_with_a_different_setting_is_one_user_error():
    from bench.errors import UserError

    run_cmd, args = _resume_args(argv=["--resume", "R", "--profile", "standard"])
    with pytest.raises(UserError, match="profile quick; resume it without --profile"):
        run_cmd._settings(args, {"run_id": "R", "profile": "quick", "plan": {"repeat": 1}})
    run_cmd, args = _resume_args(argv=["--resume", "R", "--repeat", "3", "--profile", "quick"])
    with pytest.raises(UserError, match="repeat 1"):
        run_cmd._settings(args, {"run_id": "R", "profile": "quick", "plan": {"repeat": 1}})


def test_a_new_run_defaults_to_the_standard_profile():
    run_cmd, args = _resume_args()
    assert run_cmd._settings(args, None)["profile"] == "standard"


def test_resume_of_a_run_that_did_not_record_its_profile_takes_the_flag():
    run_cmd, args = _resume_args(argv=["--resume", "R", "--profile", "quick"])
    assert run_cmd._settings(args, {"run_id": "R", "plan": {}})["profile"] == "quick"
    run_cmd, args = _resume_args(argv=["--resume", "R"])
    assert run_cmd._settings(args, {"run_id": "R", "plan": {}})["profile"] == "standard"


def test_analysis_reads_one_saved_archive_and_removes_it(tmp_path, engine, monkeypatch):
    import bench.analyze as analyze_mod

    def save(argv):
        out = Path(argv[argv.index("-o") + 1])
        out.write_bytes(b"tar")
        return 0, "", ""

    engine.responses[("docker", "save")] = save
    seen = []

    def fake_analyze_image(tag, app, variant, *, dockerfile=None, executor=None, archive=None):
        seen.append((tag, Path(archive), Path(archive).read_bytes()))
        return []

    monkeypatch.setattr(analyze_mod, "analyze_image", fake_analyze_image)
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], apps[0].variants[0])], profile="quick", push_pull=False, analyze=True)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    [(tag, archive, data)] = seen
    assert tag == "bench/demo:bloated" and data == b"tar"  # both analyses read the one export
    assert not archive.exists()
    saves = [c for c in engine.calls if c[:2] == ("docker", "save")]
    assert len(saves) == 1 and saves[0][-1] == "bench/demo:bloated"


def test_the_run_ends_by_saying_how_long_it_took_and_what_next():
    from types import SimpleNamespace

    from bench.commands._summary import closing_lines

    run = SimpleNamespace(run_id="R", metadata={"missing_cells": ["a/b"], "segments": [
        {"started_utc": "2026-11-27T08:00:00+00:00", "ended_utc": "2026-11-27T09:01:05+00:00"}]})
    text = closing_lines(run)
    assert "wall time: 1 h 1 min" in text
    assert "--resume R" in text and "bench report R" in text


def test_a_resumed_run_measures_each_base_once_unless_it_changed(tmp_path, engine, monkeypatch):
    import bench.bases as bases_mod
    from bench.bases import Resolved

    ids = iter(["sha256:aaa", "sha256:aaa", "sha256:bbb"])

    def fake_resolve(refs, mode, executor=None):
        i = next(ids)
        return {r: Resolved(r, "local", "bench-standin/base:1", True, True, "", "1", "h", i) for r in refs}

    monkeypatch.setattr(bases_mod, "resolve", fake_resolve)
    monkeypatch.setattr(bases_mod, "build_context_args", lambda res: [])
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps_dir = _app_dir(tmp_path)
    for v in ("bloated", "scratch"):
        (apps_dir / "demo" / "variants" / v / "Dockerfile").write_text("FROM debian:bookworm-slim\nCOPY main.go /\n")
    apps = load_apps(apps_dir)
    pairs = [(apps[0], v) for v in apps[0].variants]
    plan = make_plan(pairs, profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {"plan": {"cells": [f"demo/{v.name}" for _, v in pairs]}})
    Runner(engine, run, make_plan(pairs[:1], profile="quick", push_pull=False, analyze=False)).execute()

    def base_rows(r):
        return [x for x in r.rows if x["app"] == "_bases"]

    assert len(base_rows(run)) == 1  # disk_bytes (no registry: no compressed size)
    again = Run.open(run.folder)
    Runner(engine, again, plan, resume=True).execute()  # same base image: not measured again
    assert len(base_rows(again)) == 1 and "notes" not in again.metadata
    third = Run.open(run.folder)
    third.metadata["complete"] = False
    third.cells.pop("demo/scratch")
    Runner(engine, third, plan, resume=True).execute()  # the base changed in between
    assert len(base_rows(third)) == 1 and "sha256:aaa" in third.metadata["notes"][0]


def test_a_resumed_runs_progress_starts_at_the_cells_already_done(tmp_path, engine, monkeypatch):
    from bench.commands._progress import RichReporter

    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    pairs = [(apps[0], v) for v in apps[0].variants]
    plan = make_plan(pairs, profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {"plan": {"cells": [f"demo/{v.name}" for _, v in pairs]}})
    Runner(engine, run, make_plan(pairs[:1], profile="quick", push_pull=False, analyze=False)).execute()
    with RichReporter(len(plan.cells)) as rep:
        seen = []
        real = rep.already_done
        rep.already_done = lambda n: (seen.append(n), real(n))
        Runner(engine, Run.open(run.folder), plan, reporter=rep, resume=True).execute()
        task = rep.progress.tasks[0]
        assert seen == [1] and task.completed == 2


def test_one_run_is_measured_by_one_process_at_a_time(tmp_path, engine, monkeypatch):
    from bench.errors import UserError
    from tests.test_workdirs import _locked_by_child

    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    apps = load_apps(_app_dir(tmp_path))
    plan = make_plan([(apps[0], apps[0].variants[0])], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    other = _locked_by_child(tmp_path / "work" / run.run_id)  # a second `bench run --resume` of it
    try:
        with pytest.raises(UserError, match="being measured by another bench process"):
            Runner(engine, run, plan).execute()
    finally:
        other.kill()
        other.wait()
    assert run.cells == {}


@pytest.fixture
def demo(tmp_path, monkeypatch):
    """The demo app, with a smoke check that passes and a private work folder."""
    monkeypatch.setattr(runner_mod, "smoke", lambda *a, **k: SmokeResult(True, 0.1, ""))
    monkeypatch.setattr(runner_mod, "WORK_DIR", tmp_path / "work")
    return load_apps(_app_dir(tmp_path))[0]


def test_a_cell_removes_the_images_its_repeated_builds_left_untagged(tmp_path, engine, demo):
    # Every cold and edit build makes a new image; the tag ends on the restored unedited one.
    raw = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()
    made = iter(["sha256:cold0", "sha256:cold0", "sha256:edit0",
                 "sha256:cold1", "sha256:cold1", "sha256:edit1", "sha256:cold1"])

    def build(argv):
        meta = Path(argv[argv.index("--metadata-file") + 1])
        meta.write_text(json.dumps({"containerimage.config.digest": next(made)}))
        return 0, "", raw

    engine.responses[("docker", "buildx", "build")] = build
    engine.on("docker", "rmi")
    plan = make_plan([(demo, demo.variants[0])], profile="quick", repeat=2, push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    removals = [c[2:] for c in engine.calls if c[:2] == ("docker", "rmi")]
    assert removals == [("sha256:cold0", "sha256:edit0", "sha256:edit1")]
    assert next(made, None) is None  # 2 x (cold, warm, edit) and the restore


def test_redo_measures_a_finished_cell_again_and_keeps_its_earlier_rows(tmp_path, engine, demo):
    plan = make_plan([(demo, v) for v in demo.variants], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    assert run.metadata["complete"]
    before = run.frame()
    n_scratch = int((before.variant == "scratch").sum())
    first = len(engine.calls)

    again = Run.open(run.folder)
    Runner(engine, again, plan, resume=True, redo=frozenset({"demo/scratch"}),
           redo_because="npm ci stalled").execute()
    tags = {c[c.index("-t") + 1] for c in engine.calls[first:] if c[:3] == ("docker", "buildx", "build")}
    assert tags == {"bench/demo:scratch"}  # the other cell is not rebuilt

    done = Run.open(run.folder)
    assert done.metadata["complete"] and done.cells["demo/scratch"].status == "ok"
    assert "measured again with --redo" in done.cells["demo/scratch"].reason
    assert any("demo/scratch" in n and "npm ci stalled" in n for n in done.metadata["notes"])
    # the new rows replace the old in samples.csv; the old ones are kept, marked, beside it
    assert int((done.frame().variant == "scratch").sum()) == n_scratch
    old = __import__("pandas").read_csv(run.folder / "superseded.csv")
    assert len(old) == n_scratch and set(old.superseded_why) == {"npm ci stalled"}
    assert set(old.variant) == {"scratch"} and set(old.superseded_status) == {"ok"}
    assert len(done.superseded) == n_scratch


def test_redo_needs_resume_and_a_cell_of_the_run(tmp_path, capsys):
    from bench.cli import main

    assert main(["run", "--redo", "go/scratch"]) == 1
    assert "--redo goes with --resume" in capsys.readouterr().err
    run = Run.create(tmp_path / "results", {})
    assert main(["run", "--resume", str(run.folder), "--results", str(tmp_path / "results"),
                 "--redo", "go/nosuch"]) == 1
    assert "--redo go/nosuch" in capsys.readouterr().err


def test_every_attempt_at_a_cell_edits_with_new_lines(tmp_path, engine, demo, monkeypatch):
    # A cut-short or --redo attempt leaves its edit builds in BuildKit's cache: the next
    # attempt must not write the same lines, or its "edit" builds are cache hits.
    seen = []
    real_build = runner_mod.run_build

    def spy(executor, **kw):
        if kw["scenario"] == "edit":
            seen.append((kw["context"] / "main.go").read_text())
        return real_build(executor, **kw)

    monkeypatch.setattr(runner_mod, "run_build", spy)
    plan = make_plan([(demo, demo.variants[0])], profile="quick", repeat=2, push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {"run_id": "R"})
    Runner(engine, run, plan).execute()
    Runner(engine, Run.open(run.folder), plan, resume=True, redo=frozenset({"demo/bloated"})).execute()
    assert len(seen) == 4 and len(set(seen)) == 4


def test_an_edit_build_served_wholly_from_cache_is_noted(tmp_path, engine, demo, monkeypatch):
    cached = '{"vertexes":[{"digest":"a","name":"[1/2] FROM scratch","cached":true,"started":"2026-11-27T00:00:00Z","completed":"2026-11-27T00:00:00Z"},' \
             '{"digest":"b","name":"[2/2] COPY main.go /","cached":true,"started":"2026-11-27T00:00:00Z","completed":"2026-11-27T00:00:00Z"}]}'
    good = (FIX / "rawjson" / "cold_scratch.rawjson").read_text()
    real_build = runner_mod.run_build

    def spy(executor, **kw):
        if kw["scenario"] == "edit":
            engine.responses[("docker", "buildx", "build")] = lambda argv: (0, "", cached)
        else:
            engine.responses[("docker", "buildx", "build")] = lambda argv: (0, "", good)
        return real_build(executor, **kw)

    monkeypatch.setattr(runner_mod, "run_build", spy)
    plan = make_plan([(demo, demo.variants[0])], profile="quick", push_pull=False, analyze=False)
    run = Run.create(tmp_path / "results", {})
    Runner(engine, run, plan).execute()
    (cell,) = run.cells.values()
    assert cell.status == "ok" and "edit build 1 reused every step from cache" in cell.reason
