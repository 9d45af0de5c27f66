"""The charts of the committed runs and the fixture: no text drawn over another, sizes on a
scale where lengths mean something, the waterfall in percent of the before, the article's pull
claim where its own arithmetic puts it, the stand-in banner on every chart. No engine."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from bench.report import charts, stats, tables
from bench.report.claims_data import load_claims_file
from bench.report.load import load_run

ROOT = Path(__file__).resolve().parent.parent
RUNS = {"standard": ROOT / "results" / "runs" / "20261127T085629Z",
        "quick": ROOT / "results" / "runs" / "20261127T064158Z",
        "quick on the layered bases": ROOT / "results" / "runs" / "20261202T005744Z",
        "standard on the layered bases (published)": ROOT / "results" / "runs" / "20261205T171111Z",
        "fixture": ROOT / "tests" / "fixtures" / "run_small"}
TOLERANCE_PX = 1.0  # boxes may touch, not overlap


@pytest.fixture(scope="module", params=list(RUNS))
def run(request):
    return load_run(RUNS[request.param])


def drawn(fig):
    """The figure laid out as save() lays it out, drawn once, and its renderer."""
    charts._freeze_layout(fig)
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of annotation, in-axes text and tick labels whose boxes overlap."""
    renderer = drawn(fig)
    boxes = []
    for ax in fig.axes:
        for t in list(ax.texts) + charts.visible_tick_labels(ax):
            if t.get_visible() and t.get_text().strip():
                boxes.append((t.get_text(), t.get_window_extent(renderer)))
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
            if charts._overlap(ba, bb, TOLERANCE_PX)]


def outside(fig) -> list[str]:
    """Titles, labels and texts that run off the figure."""
    renderer = drawn(fig)
    texts = list(fig.texts) + [fig._suptitle] if fig._suptitle else list(fig.texts)
    for ax in fig.axes:
        texts += list(ax.texts) + [ax.title, ax._left_title, ax.xaxis.label, ax.yaxis.label]
    fb = fig.bbox
    out = []
    for t in texts:
        if t.get_visible() and t.get_text().strip():
            b = t.get_window_extent(renderer)
            if b.x0 < fb.x0 - 2 or b.x1 > fb.x1 + 2:
                out.append(t.get_text())
    return out


ALL_CHARTS = {**charts.CHARTS, **charts.NOTEBOOK_CHARTS}


@pytest.mark.parametrize("name", list(ALL_CHARTS))
def test_no_chart_draws_text_over_text_or_off_the_figure(run, name):
    fig = ALL_CHARTS[name](run.samples, cells=run.cells, provenance=run.provenance)
    assert overlapping_texts(fig) == []
    assert outside(fig) == []


def test_the_overlap_check_finds_an_overlap():
    fig = charts._figure(4, 3, "provenance")
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "one label")
    ax.text(0.52, 0.5, "another label")
    assert overlapping_texts(fig) == [("one label", "another label")]


def test_crowded_labels_are_dropped_in_priority_order():
    fig = charts._figure(4, 3, "provenance")
    ax = fig.add_subplot()
    first = ax.text(0.5, 0.5, "kept: first in line")
    ax.text(0.52, 0.5, "dropped: overlaps the first")
    assert charts.drop_overlapping(fig, list(ax.texts)) == 1
    assert list(ax.texts) == [first]


def test_the_standin_banner_is_in_every_charts_title():
    run = load_run(RUNS["standard"])
    assert run.provenance.standin
    for name, fn in charts.CHARTS.items():
        fig = fn(run.samples, cells=run.cells, provenance=run.provenance)
        assert charts.STANDIN_BANNER in fig._suptitle.get_text(), name
    plain = charts.sizes(run.samples, cells=run.cells, provenance="run x · bases: upstream")
    assert charts.STANDIN_BANNER not in plain._suptitle.get_text()


def test_sizes_are_dots_on_a_log_axis_without_whiskers_in_one_variant_order():
    run = load_run(RUNS["quick"])
    fig = charts.sizes(run.samples, cells=run.cells, provenance=run.provenance)
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        assert not [p for p in ax.patches if isinstance(p, Rectangle)]  # no bars on a log axis
        assert not [c for c in ax.collections if isinstance(c, LineCollection)]  # no whiskers
        names = [t.get_text() for t in ax.get_yticklabels()]  # top to bottom, as set_yticks got them
        ranks = [charts.LADDER.index(n) for n in names]
        assert ranks == sorted(ranks), names  # the quick run lists them in another order
    assert len({ax.get_xlim() for ax in fig.axes}) == 1  # one scale


def test_the_waterfall_is_in_percent_of_the_before_on_one_scale():
    run = load_run(RUNS["standard"])
    fig = charts.waterfall(run.samples, cells=run.cells, provenance=run.provenance)
    axes = [ax for ax in fig.axes if ax.axison]
    assert len({ax.get_ylim() for ax in axes}) == 1
    for ax in axes:
        first = ax.patches[0]
        assert first.get_height() == pytest.approx(100)
        assert ax.patches[-1].get_height() < 20  # every app ends below a fifth of its before


def test_the_articles_pull_claim_sits_at_its_compressed_equivalent():
    run = load_run(RUNS["standard"])
    fig = charts.pull_times(run.samples, cells=run.cells, provenance=run.provenance)
    ax = fig.axes[0]
    ratio = charts.compressed_ratio(stats.summarize(run.samples))
    assert 0.2 < ratio < 0.6
    (marks,) = [c for c in ax.collections if "article's claim" in str(c.get_label())]
    xs = sorted(marks.get_offsets()[:, 0])
    sizes = sorted(c["size"] for c in load_claims_file()["claims"] if c.get("kind") == "pull_time")
    assert np.allclose(xs, [s * ratio for s in sizes])
    assert f"{ratio:.0%}" in marks.get_label()


def test_charts_that_drop_crowded_labels_stay_deterministic(tmp_path):
    run = load_run(RUNS["standard"])
    for name in ("build_times", "pull_times"):
        for i in (1, 2):
            charts.save(charts.CHARTS[name](run.samples, cells=run.cells, provenance=run.provenance),
                        tmp_path / str(i), name)
        for ext in ("png", "svg"):
            assert (tmp_path / "1" / f"{name}.{ext}").read_bytes() == (tmp_path / "2" / f"{name}.{ext}").read_bytes()


def with_wire_and_warmup(run) -> pd.DataFrame:
    """The fixture's samples plus a wire span of 40% of every pull and a warmup cold build
    half again as slow as the first measured one."""
    s = run.samples
    wire = s[s["metric"] == "pull_seconds"].assign(metric="pull_wire_seconds")
    wire["value"] *= 0.4
    warm = s[(s["scenario"] == "cold") & (s["metric"] == "build_wall_seconds") & (s["repetition"] == 0)]
    warm = warm.assign(warmup=True, value=warm["value"] * 1.5)
    return pd.concat([s, wire, warm], ignore_index=True)


def test_pull_split_and_repetition_order_on_recorded_wire_spans_and_warmups():
    run = load_run(RUNS["fixture"])
    s = with_wire_and_warmup(run)
    sp = tables.pull_split(stats.summarize(s))
    assert len(sp) and np.allclose(sp["wire_share"], 0.4) and np.allclose(sp["wire_s"] + sp["rest_s"], sp["pull_s"])
    ro = tables.repetition_order(s)
    cold = ro[(ro["what"] == "cold build") & (ro["app"] == "go") & (ro["variant"] == "bloated")]
    assert list(cold["order"]) == [0, 1, 2, 3] and list(cold["warmup"]) == [True, False, False, False]
    assert cold["relative"].iloc[0] > 1.2  # the warmup, against the measured median
    for name, fn in charts.NOTEBOOK_CHARTS.items():
        assert overlapping_texts(fn(s, cells=run.cells, provenance=run.provenance)) == [], name
    assert tables.pull_split(stats.summarize(run.samples)).empty  # not recorded: nothing made up
