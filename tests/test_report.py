"""The report on the synthetic fixture run: verdicts, "after", stand-ins, CV flags, command."""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.errors import UserError
from bench.report import charts, claims, fmt, markdown, stats, tables
from bench.report.claims_data import load_claims_file
from bench.report.load import load_run, provenance_of

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "run_small"

# docs/CONTRACTS.md, "Results": every (scenario, metric) a run can hold.
CONTRACT = {(s, m) for s in ("cold", "warm", "edit") for m in
            ("build_wall_seconds", "build_steps_total", "build_steps_cached", "context_transferred_bytes",
             "step_seconds")} | {
    ("image", "disk_bytes"), ("image", "layers"), ("image", "layer_bytes"), ("image", "compressed_bytes"),
    ("image", "context_bytes"), ("image", "context_files"),
    ("push", "push_seconds"), ("pull", "pull_seconds"), ("pull", "pull_model_seconds"),
    ("smoke", "start_to_healthy_seconds"), ("smoke", "smoke_ok"),
    ("analyze", "efficiency"), ("analyze", "user_wasted_percent"), ("analyze", "wasted_bytes"),
    ("analyze", "reclaimable_bytes"), ("analyze", "packages"), ("analyze", "hadolint_findings"),
    ("base", "disk_bytes"), ("base", "compressed_bytes"),
}


@pytest.fixture(scope="module")
def run():
    return load_run(FIXTURE)


@pytest.fixture(scope="module")
def summary(run):
    return stats.summarize(run.samples)


def _with(run, samples=None, cells=None, metadata=None):
    samples = run.samples.copy() if samples is None else samples
    cells = run.cells.copy() if cells is None else cells
    metadata = run.metadata if metadata is None else metadata
    return dataclasses.replace(run, samples=samples, cells=cells, metadata=metadata,
                               provenance=provenance_of(metadata, samples, cells))


# -- the fixture -----------------------------------------------------------------------------
def test_fixture_covers_the_contract(run):
    s = run.samples
    present = set(zip(s["scenario"], s["metric"]))
    assert CONTRACT <= present, f"fixture lacks {sorted(CONTRACT - present)}"
    assert set(s.loc[s["metric"] == "pull_seconds", "profile"]) == {"loopback", "1gbit", "150mbit"}
    apps = run.cells.groupby("app")["variant"].count()
    assert len(apps) == 2 and (apps == 3).all()
    assert set(s.loc[s["scenario"] == "cold", "repetition"]) == {0, 1, 2}
    status = dict(zip(run.cells["app"] + "/" + run.cells["variant"], run.cells["status"]))
    assert "skipped" in status.values() and "failed" in status.values()
    assert status["node/alpine"] == "skipped"
    assert run.provenance.synthetic and run.provenance.standin


def test_fixture_is_what_its_script_writes(tmp_path):
    script = ROOT / "tests" / "fixtures" / "make_run_small.py"
    # The script writes next to itself and imports bench from two folders up.
    nested = tmp_path / "tests" / "fixtures"
    nested.mkdir(parents=True)
    shutil.copy(script, nested / "make_run_small.py")
    (tmp_path / "bench").symlink_to(ROOT / "bench")
    subprocess.run([sys.executable, str(nested / "make_run_small.py")], check=True, capture_output=True)
    fresh = pd.read_csv(nested / "run_small" / "samples.csv", keep_default_na=False)
    committed = pd.read_csv(FIXTURE / "samples.csv", keep_default_na=False)
    pd.testing.assert_frame_equal(fresh, committed)


# -- verdict logic ---------------------------------------------------------------------------
def test_relative_verdict_within_and_outside_tolerance():
    assert claims.relative(110, 100, 0.25).status == claims.HOLDS
    assert claims.relative(125, 100, 0.25).status == claims.HOLDS
    v = claims.relative(138, 100, 0.25)
    assert v.status == claims.OFF and "+38%" in v.text
    v = claims.relative(40, 100, 0.25)
    assert v.status == claims.OFF and "-60%" in v.text
    assert claims.relative(float("nan"), 100, 0.25).status == claims.UNTESTABLE


def test_points_and_range_verdicts():
    assert claims.points(82, 85, 5).status == claims.HOLDS
    v = claims.points(79.6, 85, 5)
    assert v.status == claims.OFF and "-5.4 percentage points" in v.text
    assert claims.within_range(70e6, 50e6, 100e6, 0.25).status == claims.HOLDS
    assert claims.within_range(45e6, 50e6, 100e6, 0.25).status == claims.HOLDS  # widened by 25%
    v = claims.within_range(20e6, 50e6, 100e6, 0.25)
    assert v.status == claims.OFF and "lower" in v.text
    assert claims.within_range(200e6, 50e6, 100e6, 0.25).status == claims.OFF


def test_claims_file_has_every_quantitative_claim():
    c = load_claims_file()
    refs = {x["ref"] for x in c["claims"] if x["kind"] == "base_size"}
    assert {"ubuntu:24.04", "debian:bookworm-slim", "python:3.12", "python:3.12-slim", "python:3.12-alpine",
            "node:20", "node:20-slim", "node:20-alpine", "golang:1.22-alpine", "gcr.io/distroless/base"} <= refs
    kinds = {x["kind"] for x in c["claims"]}
    assert {"pull_time", "range", "reduction", "app_size", "technique_reduction"} <= kinds
    scen = {(x.get("scenario"), x.get("which", "reduction")) for x in c["claims"] if "scenario" in x}
    for app in ("node", "python", "go", "java"):
        assert {(app, "before"), (app, "after"), (app, "reduction")} <= scen
    assert c["rules"]["relative_tolerance"] == 0.25 and "25%" in c["rules"]["text"]


def test_claim_verdicts_on_fixture(run, summary):
    ev = claims.evaluate(run, summary).set_index("id")
    assert ev.loc["node-before", "verdict"] == claims.HOLDS
    assert ev.loc["node-after", "verdict"] == claims.OFF
    assert ev.loc["node-after", "verdict_text"].startswith("off by +")
    # the article's sizes are on-disk; the note says pulls move compressed bytes
    assert "on-disk" in ev.loc["node-after", "note"] and "compressed" in ev.loc["node-after", "note"]
    # Alpine is unavailable offline: not testable, with the reason from the run
    assert ev.loc["base-node-20-alpine", "verdict"] == claims.UNTESTABLE
    assert "Alpine" in ev.loc["base-node-20-alpine", "verdict_text"]
    # a base measured as a stand-in is judged, and says it is a stand-in
    assert ev.loc["base-node-20", "verdict"] != claims.UNTESTABLE
    assert "stand-in" in ev.loc["base-node-20", "measured"] and "not the upstream image" in ev.loc["base-node-20", "note"]
    assert ev.loc["base-ubuntu-24.04", "verdict"] == claims.UNTESTABLE  # the fixture did not measure it
    # no python app in the fixture
    assert ev.loc["python-after", "verdict"] == claims.UNTESTABLE
    # the apt lists claim is measured from an update-only layer
    assert ev.loc["apt-lists-50-100mb", "measured_value"] == pytest.approx(45e6)
    # the pull claim notes that the article counts on-disk bytes
    assert "= 64 s" in ev.loc["pull-1.2gb-150mbps", "note"]


def test_the_java_row_is_the_spring_app_labelled_not_spring_boot_never_the_jdk_server(run, summary):
    s, c = run.samples.copy(), run.cells.copy()
    s.loc[s["app"] == "go", "app"] = "java"  # the JDK HTTP server: the jlink showcase only
    c.loc[c["app"] == "go", "app"] = "java"
    ev = claims.evaluate(_with(run, s, c)).set_index("id")
    for cid in ("java-before", "java-after", "java-reduction"):
        assert ev.loc[cid, "verdict"] == claims.UNTESTABLE
        assert "no app for the article's Java Spring Boot" in ev.loc[cid, "verdict_text"]
    s.loc[s["app"] == "java", "app"] = "spring"  # the Spring MVC + Tomcat app
    c.loc[c["app"] == "java", "app"] = "spring"
    ev = claims.evaluate(_with(run, s, c)).set_index("id")
    assert ev.loc["java-before", "verdict"] != claims.UNTESTABLE
    assert "Spring MVC 4.3 + Tomcat 9, not Spring Boot" in ev.loc["java-before", "note"]


# -- "after" ---------------------------------------------------------------------------------
def test_after_is_smallest_variant_that_passed_smoke(run, summary):
    ba = tables.before_after(run, summary).set_index("app")
    v = tables.variants(run, summary).set_index(["app", "variant"])
    # go/scratch is the smallest image but failed its smoke check
    assert v.loc[("go", "scratch"), "disk_bytes"] < v.loc[("go", "distroless"), "disk_bytes"]
    assert ba.loc["go", "after_variant"] == "distroless"
    assert ba.loc["go", "smaller_but_failed"] == "scratch"
    assert ba.loc["node", "after_variant"] == "multistage"
    assert ba.loc["node", "before_variant"] == "bloated"
    assert ba.loc["go", "reduction"] == pytest.approx(1 - 28e6 / 960.2e6)


def test_failed_smoke_sample_excludes_even_without_cell_flag(run):
    c = run.cells.copy()
    c["smoke_ok"] = None  # a runner that only wrote samples
    s = run.samples.copy()
    s.loc[(s["app"] == "go") & (s["variant"] == "distroless") & (s["metric"] == "smoke_ok")
          & (s["repetition"] == 1), "value"] = 0.0
    ba = tables.before_after(_with(run, s, c)).set_index("app")
    assert pd.isna(ba.loc["go", "after_variant"])
    assert "none smaller that passed smoke" in markdown.before_after_table(ba.reset_index())
    assert math.isnan(ba.loc["go", "reduction"])
    ev = claims.evaluate(_with(run, s, c)).set_index("id")
    assert ev.loc["go-after", "verdict"] == claims.UNTESTABLE
    assert "smoke" in ev.loc["go-after", "verdict_text"]


def test_no_smoke_evidence_is_not_a_pass(run):
    c = run.cells.copy()
    c["smoke_ok"] = None
    s = run.samples[run.samples["metric"] != "smoke_ok"].copy()
    assert not tables.smoke_passed(s, c, "node", "multistage")
    assert tables.smoke_passed(run.samples, c, "node", "multistage")


# -- stand-ins -------------------------------------------------------------------------------
def test_standins_labelled_in_tables_and_provenance(run, summary):
    b = tables.bases(run, summary)
    md = markdown.bases_table(b)
    assert "node:20 (stand-in)" in md
    assert "local stand-in, not the upstream image" in md
    assert "node:20-alpine | not measured" in md
    assert "| local stand-in, not the upstream image | fixture |" in md  # the runtime it really holds
    assert "stand-in bases" in run.provenance.line()
    assert "stand-in bases" in markdown.before_after_table(tables.before_after(run, summary))


def test_no_standin_label_when_bases_are_upstream(run):
    meta = {**run.metadata, "bases_mode": "hub",
            "bases": {k: {**v, "standin": False} for k, v in run.metadata["bases"].items()}}
    s = run.samples.assign(standin=False)
    c = run.cells.assign(standin=False)
    r = _with(run, s, c, meta)
    assert "stand-in" not in r.provenance.line()
    md = markdown.bases_table(tables.bases(r))
    assert "(stand-in)" not in md and "upstream image" in md
    assert "nan" not in md
    ev = claims.evaluate(r).set_index("id")
    assert ev.loc["base-node-20", "verdict"] == claims.HOLDS  # 1.10 GB measured, 1.1 GB claimed


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_every_chart_carries_provenance(run, name, tmp_path):
    fig = charts.CHARTS[name](run.samples, cells=run.cells, provenance=run.provenance)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "stand-in bases" in texts and "BuildKit fixture-0.13" in texts and "2026-01-01" in texts
    assert "SYNTHETIC" in texts
    png, svg = charts.save(fig, tmp_path, name)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "stand-in bases" in svg.read_text()


def test_chart_provenance_from_frame_attrs(run):
    fig = charts.sizes(run.samples, cells=run.cells)
    assert any("stand-in bases" in t.get_text() for t in fig.texts)


def test_base_layers_found_by_size():
    assert charts._base_layer_count([700e6, 300e6, 5e6], [1000e6]) == 2
    assert charts._base_layer_count([5e6, 7e6], [1000e6]) == 0


# -- statistics ------------------------------------------------------------------------------
def test_cv_flags_the_unstable_number_only(run, summary):
    flagged = stats.unstable(summary)
    keys = set(zip(flagged["app"], flagged["variant"], flagged["scenario"], flagged["metric"]))
    assert keys == {("node", "bloated", "cold", "build_wall_seconds")}
    w = stats.cv_warnings(summary)
    assert len(w) == 1 and "CV 22%" in w[0] and "pyperf" in w[0] and "repetitions" in w[0]
    assert markdown.stability_counts(summary).startswith("cold builds 1 (typically ")
    text = markdown.render(run, "report/", summary=summary)
    stability = text[text.index("## 6. Stability"):]
    assert "1 number varies by more than 10%" in stability and "By kind: cold builds 1" in stability
    # flagged once for its CV and once for its 95% interval (wider than ±10% of the median)
    assert stability.count("- ⚠ node/bloated cold build_wall_seconds") == 2
    assert "1 of 39 timing medians have a 95% interval wider than ±10%" in stability
    assert "more repetitions" in stability and "quieter machine" in stability


def test_timing_medians_carry_a_bootstrap_interval_and_sizes_none(summary):
    t = summary[(summary["metric"] == "build_wall_seconds") & (summary["n"] >= 3)].iloc[0]
    assert t["ci_lo"] <= t["median"] <= t["ci_hi"] and t["ci_note"] == ""
    size = summary[summary["metric"] == "disk_bytes"].iloc[0]
    assert math.isnan(size["ci_lo"]) and size["ci_note"] == "single deterministic measurement"
    two = pd.DataFrame({"app": "a", "variant": "v", "scenario": "push", "metric": "push_seconds", "profile": "",
                        "detail": "", "unit": "s", "value": [10.0, 30.0]})
    r = stats.summarize(two).iloc[0]
    assert math.isnan(r["ci_lo"]) and r["ci_note"] == "n too small for an interval" and not r["ci_wide"]
    assert stats.ci_text(r) == "n too small for an interval"
    wide = stats.summarize(pd.concat([two, two.iloc[:1].assign(value=20.0)])).iloc[0]
    assert wide["ci_wide"] and stats.ci_text(wide) == "[10.0–30.0 s]"


def test_summary_csv_has_the_intervals(tmp_path):
    from bench.report import generate

    generate(load_run(FIXTURE), tmp_path)
    s = pd.read_csv(tmp_path / "report" / "summary.csv", keep_default_na=False)
    assert {"ci_lo", "ci_hi", "ci_note"} <= set(s.columns)
    assert set(s.loc[s["unit"] == "B", "ci_note"]) == {"single deterministic measurement"}


def test_a_change_against_the_parent_is_real_only_when_the_intervals_part():
    r = {"push_s": 20.0, "push_s_parent": 10.0, "push_s_ci_lo": 19.0, "push_s_ci_hi": 21.0,
         "push_s_parent_ci_lo": 9.0, "push_s_parent_ci_hi": 11.0}
    assert markdown.timing_cell(r, "push_s") == "20.0 s [19.0–21.0 s] (+100%)"
    overlapping = {**r, "push_s_parent_ci_hi": 19.5}
    assert markdown.timing_cell(overlapping, "push_s").endswith("(~)")
    no_interval = {**r, "push_s_parent_ci_lo": float("nan")}
    assert markdown.timing_cell(no_interval, "push_s").endswith("(~)")
    ab = markdown.ablation_tables(load_run(FIXTURE), tables.ablation(load_run(FIXTURE)))
    assert ab.startswith(markdown.NOISE_LEGEND) and "**~** = no real change" in ab
    assert "median [IQR]" not in markdown.render(load_run(FIXTURE), "report/")


def test_an_unstable_build_time_names_the_step_that_moved():
    base = {"app": "node", "variant": "optimized", "scenario": "cold", "profile": ""}
    rows = []
    for rep, (wall, npm, apt) in enumerate([(20.0, 5.0, 6.2), (318.0, 315.2, 66.7), (317.6, 315.3, 47.4)]):
        rows += [{**base, "metric": "build_wall_seconds", "detail": "", "unit": "s", "value": wall},
                 {**base, "metric": "step_seconds", "detail": "[build 3/7] RUN npm ci", "unit": "s", "value": npm},
                 {**base, "metric": "step_seconds", "detail": "[runtime 1/2] RUN apt-get update", "unit": "s",
                  "value": apt}]
    samples = pd.DataFrame(rows)
    (w,) = stats.cv_warnings(stats.summarize(samples), samples)
    assert "the step that varied most: `[build 3/7] RUN npm ci`, 5.0 s to 315.3 s" in w
    (plain,) = stats.cv_warnings(stats.summarize(samples))
    assert "varied most" not in plain


def test_summary_median_iqr_and_single_samples():
    df = pd.DataFrame({"app": "a", "variant": "v", "scenario": "cold", "metric": "build_wall_seconds",
                       "profile": "", "detail": "", "unit": "s", "value": [10.0, 20.0, 30.0, 40.0]})
    one = df.iloc[:1].assign(variant="w")
    s = stats.summarize(pd.concat([df, one])).set_index("variant")
    assert s.loc["v", "median"] == 25 and s.loc["v", "q1"] == 17.5 and s.loc["v", "iqr"] == 15
    assert s.loc["v", "unstable"]
    assert math.isnan(s.loc["w", "cv"]) and not s.loc["w", "unstable"]


def test_sizes_are_decimal_like_docker():
    assert fmt.size(1.24e9) == "1.24 GB"
    assert fmt.size(182e6) == "182 MB"
    assert fmt.size(12.3e6) == "12.3 MB"


# -- the command -----------------------------------------------------------------------------
def _args(run=None, results=None, out=None):
    return argparse.Namespace(run=run, results=results, out=out)


def test_report_command_writes_report_into_run_and_results(tmp_path, capsys):
    from bench.commands import report

    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results / "runs" / "synthetic-run-small")
    assert report.run(_args("synthetic-run-small", results)) == 0
    folder = results / "runs" / "synthetic-run-small"
    text = (folder / "REPORT.md").read_text()
    top = (results / "REPORT.md").read_text()
    for name in charts.CHARTS:
        assert (folder / "report" / f"{name}.png").is_file()
        assert (folder / "report" / f"{name}.svg").is_file()
        assert f"](report/{name}.png)" in text
        assert f"](runs/synthetic-run-small/report/{name}.png)" in top
    assert "SYNTHETIC FIXTURE" in text and "Do not edit by hand" in text
    assert (folder / "report" / "claims.csv").is_file()
    # regenerating gives the same files: no clock, no random ids (charts live in git diffs)
    svgs = {n: (folder / "report" / f"{n}.svg").read_bytes() for n in charts.CHARTS}
    png = (folder / "report" / "sizes.png").read_bytes()
    assert report.run(_args("synthetic-run-small", results)) == 0
    assert (folder / "REPORT.md").read_text() == text
    assert {n: (folder / "report" / f"{n}.svg").read_bytes() for n in charts.CHARTS} == svgs
    assert (folder / "report" / "sizes.png").read_bytes() == png
    assert "SYNTHETIC" in capsys.readouterr().out


def test_report_of_a_run_outside_results_leaves_results_report_alone(tmp_path):
    from bench.commands import report

    results = tmp_path / "results"
    results.mkdir()
    out = tmp_path / "out"
    assert report.run(_args(str(FIXTURE), results, out)) == 0
    assert (out / "REPORT.md").is_file() and (out / "report" / "sizes.png").is_file()
    assert not (results / "REPORT.md").exists()
    assert not (FIXTURE / "REPORT.md").exists()


def test_unknown_run_is_one_line_user_error(tmp_path, capsys):
    from bench.cli import main

    (tmp_path / "runs").mkdir()
    with pytest.raises(UserError):
        load_run("nope", tmp_path)
    assert main(["report", "nope", "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error:") and "nope" in err[0]
    assert main(["report", "--results", str(tmp_path)]) == 1  # no run at all
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bench run" in err[0]


def test_waterfall_starts_at_bloated_when_parents_were_not_measured(run):
    s = run.samples[~((run.samples["app"] == "go") & (run.samples["variant"] == "distroless"))].copy()
    s.loc[(s["app"] == "go") & (s["variant"] == "scratch") & (s["metric"] == "smoke_ok"), "value"] = 1.0
    c = run.cells[~((run.cells["app"] == "go") & (run.cells["variant"] == "distroless"))].copy()
    c.loc[(c["app"] == "go") & (c["variant"] == "scratch"), ["status", "smoke_ok"]] = ["ok", True]
    fig = charts.waterfall(s, cells=c, provenance="p")
    go = [ax for ax in fig.axes if ax.get_title(loc="left").startswith("go")][0]
    ticks = [t.get_text() for t in go.get_xticklabels()]
    assert ticks[0] == "bloated" and ticks[1].startswith("scratch")
    assert "(via distroless,\nnot in this run)" in ticks[1]


def test_report_leads_with_findings(run, summary):
    text = markdown.render(run, "report/", summary=summary)
    head = text.split("## 1.")[0]
    assert "## Where the article holds and where it does not" in head
    assert "❌ “myapp   multistage" in head and "✅ “myapp   bloated" in head
    assert "not testable here" in head


def test_malformed_claims_file_is_a_user_error(tmp_path):
    from bench.report.claims_data import load_claims_file

    bad = tmp_path / "claims.toml"
    bad.write_text('[[claim]]\nid = "x"\nsection = "s"\nquote = "q"\nkind = "app_size"\nscenario = "node"\n')
    with pytest.raises(UserError, match="needs `which`"):
        load_claims_file(bad)
    bad.write_text('[[claim]]\nid = "x"\nsection = "s"\nquote = "q"\nkind = "guess"\n')
    with pytest.raises(UserError, match="kind 'guess'"):
        load_claims_file(bad)


def test_citation_file_is_valid_cff():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license"):
        assert cff.get(key), key
    assert all("name" in a or "family-names" in a for a in cff["authors"])


def test_a_skipped_cell_whose_base_resolved_to_nothing_still_loads(tmp_path):
    from bench.store import Cell, Run

    run = Run.create(tmp_path, {"run_id": "R"})
    run.set_cell(Cell(app="go", variant="alpine", techniques=["alpine"], parent="multistage", summary="",
                      bases=["golang:1.22-alpine"], bases_resolved=[None], standin=True, status="skipped",
                      reason="golang:1.22-alpine: no Alpine package source is reachable here"))
    run.save()
    cells = load_run(run.folder).cells
    row = cells[cells.variant == "alpine"].iloc[0]
    assert row.status == "skipped" and row.bases_resolved == "unavailable"


def test_wall_time_is_the_sum_of_the_runs_segments():
    from bench.report import fmt
    from bench.report.load import wall_time
    from bench.report.markdown import _wall_line

    m = {"segments": [
        {"started_utc": "2026-11-27T08:00:00+00:00", "ended_utc": "2026-11-27T08:10:00+00:00", "cells": 2},
        {"started_utc": "2026-11-27T09:00:00+00:00", "ended_utc": "2026-11-27T10:05:30+00:00", "cells": 7},
    ]}
    assert wall_time(m) == (4530.0, 2)  # the hour between the two is not the run's
    assert "1 h 15 min" in _wall_line(m) and "2 invocations" in _wall_line(m)
    assert wall_time({}) is None and "not recorded" in _wall_line({})
    assert [fmt.duration(x) for x in (42, 425, 8040, None)] == ["42 s", "7 min 5 s", "2 h 14 min", "–"]


def test_the_runs_notes_reach_the_provenance_block(run):
    note = "2026-11-27T12:40:00+00:00: node/optimized set aside to be measured again (npm ci stalled)"
    noted = _with(run, metadata={**run.metadata, "notes": [note]})
    assert f"- **Note**: {note}" in markdown.provenance_block(noted)
    assert "**Note**" not in markdown.provenance_block(_with(run, metadata={**run.metadata, "notes": []}))


def test_time_by_phase_sums_the_cells_phases():
    import pandas as pd

    from bench.report.markdown import time_by_phase

    class R:
        cells = pd.DataFrame({"phase_seconds": [{"builds": 60.0, "push_pull": 240.0}, {"builds": 60.0}, {}]})
        metadata: dict = {}

    line = time_by_phase(R())
    assert "over the 2 cells" in line
    assert line.index("push and cold pulls 4 min 0 s (67%)") < line.index("builds (cold, warm, edit) 2 min 0 s (33%)")
    assert "Outside the cells" not in line  # no wall time recorded: nothing to set the cells against
    R.cells = pd.DataFrame({"phase_seconds": [{}]})
    assert time_by_phase(R()) == ""


def test_time_by_phase_names_the_wall_time_outside_the_cells():
    import pandas as pd

    from bench.report.markdown import time_by_phase

    class R:
        cells = pd.DataFrame({"phase_seconds": [{"builds": 60.0}, {"builds": 100.0}], "seconds": [70.0, 110.0]})
        metadata = {"segments": [{"started_utc": "2026-12-01T10:00:00+00:00", "ended_utc": "2026-12-01T10:04:00+00:00"}]}

    assert "Outside the cells, 1 min 0 s of the 4 min 0 s wall time" in time_by_phase(R())
    R.metadata = {"segments": [{"started_utc": "2026-12-01T10:00:00+00:00", "ended_utc": "2026-12-01T10:03:30+00:00"}]}
    assert "Outside the cells" not in time_by_phase(R())  # 30 s: not worth a sentence
    R.metadata = {"segments": [{"started_utc": "2026-12-01T10:00:00+00:00", "ended_utc": "2026-12-01T10:05:00+00:00"}]}
    R.cells = pd.DataFrame({"phase_seconds": [{"builds": 60.0}, {}], "seconds": [70.0, 110.0]})
    assert "Outside the cells" not in time_by_phase(R())  # a cell without phases: its time is unaccounted


def test_a_preview_written_elsewhere_leaves_the_published_report_alone(tmp_path):
    from bench.commands import report

    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results / "runs" / "synthetic-run-small")
    (results / "REPORT.md").write_text("published\n")
    out = tmp_path / "preview"
    assert report.run(_args("synthetic-run-small", results, out)) == 0
    assert (out / "REPORT.md").is_file()
    assert (results / "REPORT.md").read_text() == "published\n"


def test_an_unfinished_last_segment_counts_up_to_the_last_save():
    from bench.report.load import wall_time

    m = {"updated_utc": "2026-11-27T08:30:00+00:00",
         "segments": [{"started_utc": "2026-11-27T08:00:00+00:00", "ended_utc": None, "cells": 0}]}
    assert wall_time(m) == (1800.0, 1)


def test_a_pull_time_is_not_read_off_images_of_one_size():
    import pandas as pd

    from bench.report.claims import pull_estimate

    def frame(sizes):
        v = pd.DataFrame({"app": "a", "variant": [f"v{i}" for i in range(len(sizes))],
                          "disk_bytes": sizes, "compressed_bytes": [s / 3 for s in sizes]})
        summary = pd.DataFrame([{"app": "a", "variant": f"v{i}", "scenario": "pull", "metric": "pull_seconds",
                                 "profile": "150mbit", "detail": "", "median": 1 + s / 30e6, "q1": 0, "q3": 0,
                                 "n": 3, "cv": 0, "unit": "s"} for i, s in enumerate(sizes)])
        return v, summary

    v, summary = frame([904e6, 905e6])  # two images of one size: no line through them
    est, n, _, _ = pull_estimate(v, summary, "150mbit", 1.2e9)
    assert n == 2 and est != est  # NaN: not testable
    v, summary = frame([5e6, 120e6, 904e6])
    est, n, extrapolated, _ = pull_estimate(v, summary, "150mbit", 1.2e9)
    assert n == 3 and extrapolated and abs(est - (1 + 1.2e9 / 30e6)) < 0.01
    est, *_ = pull_estimate(v, summary, "150mbit", 5e9)  # more than twice beyond the largest
    assert est != est


def test_a_run_still_measuring_has_no_after_bigger_than_its_before():
    import pandas as pd

    from bench.report import tables

    v = pd.DataFrame({"app": "node", "variant": ["bloated", "dockerignore"], "techniques": ["bloated", "dockerignore"],
                      "disk_bytes": [1.13e9, 1.16e9], "smoke_ok": [True, True]})
    assert tables.after_variant(v) is None  # dockerignore is measured, optimized not yet
    v.loc[len(v)] = {"app": "node", "variant": "optimized", "techniques": "optimized", "disk_bytes": 112e6,
                     "smoke_ok": True}
    assert tables.after_variant(v)["variant"] == "optimized"


def test_a_step_is_credited_only_with_what_it_adds():
    # slim inherits the multistage tag from its parent; the big saving is slim's, not multi-stage's
    v = pd.DataFrame([
        {"app": "node", "variant": "bloated", "parent": None, "techniques": "bloated", "smoke_ok": True, "disk_bytes": 1130e6},
        {"app": "node", "variant": "multistage", "parent": "bloated", "techniques": "multistage+non-root",
         "smoke_ok": True, "disk_bytes": 1084e6},
        {"app": "node", "variant": "slim", "parent": "multistage", "techniques": "multistage+non-root+slim",
         "smoke_ok": True, "disk_bytes": 244e6},
    ])
    st = claims.steps(None, v).set_index("variant")
    assert st.loc["multistage", "adds"] == "multistage+non-root"
    assert st.loc["slim", "adds"] == "slim"
    assert round(st.loc["slim", "saved_bytes"] / 1e6) == 840


def test_svg_clip_ids_do_not_depend_on_python_object_ids():
    a = '<clipPath id="p5e2ab1f9d3"/><path clip-path="url(#p5e2ab1f9d3)"/><clipPath id="p0123456789"/>'
    b = '<clipPath id="p18bf4ca77a"/><path clip-path="url(#p18bf4ca77a)"/><clipPath id="pffffffffff"/>'
    assert charts._stable_clip_ids(a) == charts._stable_clip_ids(b)
    assert 'url(#clip0000)' in charts._stable_clip_ids(a) and 'id="clip0001"' in charts._stable_clip_ids(a)


def test_saved_charts_keep_one_rounded_layout(tmp_path, run):
    # kiwisolver's constrained-layout answers vary in their last bits between solves: save
    # solves once and keeps rounded Axes positions, so PNG and SVG never differ run to run.
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = charts.waterfall(run.samples, cells=run.cells)
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    charts.save(fig, tmp_path, "waterfall")
    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    assert len(fig.axes) >= 2
    for ax in fig.axes:
        assert all(v == round(v, charts.LAYOUT_DECIMALS) for v in ax.get_position().bounds)


def _with_article_and_marks(run, tmp_path):
    """node/multistage renamed `article`; app.toml marks: go practical = scratch (failed smoke),
    node practical = alpine (skipped)."""
    for app, practical in (("go", "scratch"), ("node", "alpine")):
        (tmp_path / app).mkdir()
        (tmp_path / app / "app.toml").write_text(f'name = "{app}"\npractical = "{practical}"\n')
    rename = lambda df: df.assign(variant=[  # noqa: E731
        "article" if (a, v) == ("node", "multistage") else v for a, v in zip(df["app"], df["variant"])])
    return _with(run, samples=rename(run.samples), cells=rename(run.cells),
                 metadata={**run.metadata, "apps_dir": str(tmp_path)})


def test_before_after_has_the_article_recipe_practical_and_ceiling(run, tmp_path):
    r = _with_article_and_marks(run, tmp_path)
    assert tables.app_marks(r) == {"go": {"practical": "scratch"}, "node": {"practical": "alpine"}}
    ba = tables.before_after(r).set_index("app")
    assert ba.loc["node", "recipe_variant"] == "article" and ba.loc["node", "recipe_ok"]
    assert ba.loc["node", "recipe_reduction"] == pytest.approx(1 - ba.loc["node", "recipe_bytes"] / ba.loc["node", "before_bytes"])
    assert not isinstance(ba.loc["go", "recipe_variant"], str)
    assert ba.loc["go", "practical_variant"] == "scratch" and not ba.loc["go", "practical_ok"]
    assert ba.loc["go", "after_variant"] == "distroless"  # the broken scratch is never the ceiling
    text = markdown.before_after_table(tables.before_after(r))
    go = next(line for line in text.splitlines() if line.startswith("| go "))
    assert "(scratch; broken image: smoke not passed" in go and "no `article` variant in this run" in go
    node = next(line for line in text.splitlines() if line.startswith("| node "))
    assert "(article, -" in node and "alpine: not measured in this run" in node
    assert "median [IQR]" not in text


def test_marks_fall_back_when_no_app_toml_is_found(run, tmp_path):
    r = _with(run, metadata={**run.metadata, "apps_dir": str(tmp_path / "nowhere")})
    ba = tables.before_after(r)
    assert set(tables.app_marks(r)) <= {"go", "node"}  # bench's own sample_apps, or nothing
    assert "practical_variant" in ba and "recipe_variant" in ba


def test_technique_1_claims_use_the_runs_article_variant(run, tmp_path):
    ev = claims.evaluate(_with_article_and_marks(run, tmp_path)).set_index("id")
    assert ev.loc["node-after", "compared"] == "node/article"
    assert ev.loc["node-reduction", "compared"] == "node/bloated → node/article"
    assert ev.loc["go-after-12.3mb", "compared"] == "go/distroless" and "no `article` variant" in ev.loc["go-after-12.3mb", "note"]
    assert ev.loc["python-after", "verdict"] == claims.UNTESTABLE  # no python app in the fixture
    with_base = ev.loc["faq-85-percent-with-base"]
    assert with_base["verdict"] == claims.INCONCLUSIVE and with_base["compared"] == "node/bloated → node/article"


# -- a user's own apps ---------------------------------------------------------------------------
def _as_user_apps(run, tmp_path, baseline=None):
    """The fixture's go and node apps renamed `shop` and `api`, with no bloated variant."""
    names = {"go": "shop", "node": "api"}
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "app.toml").write_text('name = "shop"\n' + (f'baseline = "{baseline}"\n' if baseline else ""))

    def user(df):
        df = df[df["variant"] != "bloated"].copy()
        df["app"] = [names.get(a, a) for a in df["app"]]
        return df

    return _with(run, samples=user(run.samples), cells=user(run.cells),
                 metadata={**run.metadata, "apps_dir": str(tmp_path)})


def test_a_users_app_is_compared_with_its_baseline_or_its_first_variant(run, summary, tmp_path):
    r = _as_user_apps(run, tmp_path, baseline="scratch")
    ba = tables.before_after(r).set_index("app")
    assert ba.loc["shop", "before_variant"] == "scratch"  # declared in app.toml
    assert ba.loc["shop", "after_variant"] != "scratch"
    first = [v for a, v in zip(r.cells["app"], r.cells["variant"]) if a == "api"][0]
    assert ba.loc["api", "before_variant"] == first == "multistage"  # no baseline, no bloated: the first


def test_a_report_of_apps_the_article_does_not_have_judges_none_of_its_claims(run, tmp_path):
    text = markdown.render(_as_user_apps(run, tmp_path), "report/")
    assert markdown.NO_ARTICLE_APPS in text
    assert "Where the article holds" not in text and "Rule:" not in text and "**Verdicts**" not in text
    assert "## 1. Before and after" in text
    assert "Where the article holds" in markdown.render(run, "report/")  # the sample apps: judged


def test_a_base_measured_without_a_push_has_no_compression_ratio():
    b = pd.DataFrame([{"ref": "python:slim", "standin": True, "measured": True, "disk_bytes": 122e6,
                       "compressed_bytes": float("nan"), "article_bytes": float("nan"), "resolved": "",
                       "runtime": "3.13.0", "reason": ""}])
    md = markdown.bases_table(b)
    assert "nan" not in md and "| 3.13.0 | 122 MB | – | – |" in md


def test_a_run_listed_as_superseded_carries_the_banner_and_others_do_not(tmp_path):
    import shutil

    from bench.report.load import superseded_runs

    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results / "runs" / "old")
    shutil.copytree(FIXTURE, results / "runs" / "new")
    (results / "superseded.toml").write_text('[[run]]\nid = "old"\nby = "new"\nwhy = "measured on the old bases."\n')
    old, new = load_run(results / "runs" / "old"), load_run(results / "runs" / "new")
    assert old.superseded == {"by": "new", "why": "measured on the old bases."} and new.superseded is None
    assert "**Superseded** by run `new`" in markdown.render(old, "report/")
    assert "Superseded" not in markdown.render(new, "report/")
    (results / "superseded.toml").write_text('[[run]]\nid = "old"\n')
    with pytest.raises(UserError, match="needs id, by and why"):
        superseded_runs(results)


def test_the_committed_superseded_runs_exist_and_name_existing_runs():
    from bench.report.load import superseded_runs

    listed = superseded_runs(ROOT / "results")
    latest = (ROOT / "results" / "latest").read_text().strip()
    assert latest not in listed
    for run_id, s in listed.items():
        assert (ROOT / "results" / "runs" / run_id).is_dir() and (ROOT / "results" / "runs" / s["by"]).is_dir()
