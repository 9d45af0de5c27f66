"""Charts. Each function takes the tidy samples DataFrame and returns a matplotlib Figure.

One style for all (STYLE, Okabe-Ito colours, which survive colour blindness and grey print),
and a provenance line under every chart: run, date, engine and BuildKit versions, machine,
bases mode and "stand-in bases" when any base was a stand-in. Pass `provenance=` (a string
or bench.report.load.Provenance); without it the frame's attrs["provenance"] is used, which
load_run sets. `cells=` (RunData.cells) adds skipped and failed variants to the charts.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    # Files only. In a notebook the kernel's inline backend stays: it displays the Figures.
    matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bench.report import fmt, stats, tables  # noqa: E402
from bench.report.claims import bandwidth_bps  # noqa: E402
from bench.report.claims_data import load_claims_file, scenario_for  # noqa: E402
from bench.report.load import BASES_APP  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
BLOATED = "#D55E00"
GREY = "#8c8c8c"
SCENARIO_COLOURS = {"cold": "#0072B2", "warm": "#009E73", "edit": "#E69F00"}
LAYER_COLOURS = {"base": "#BBBBBB", "RUN": "#0072B2", "COPY": "#E69F00", "ADD": "#CC79A7", "other": "#56B4E9"}

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "svg.hashsalt": "bench",  # stable ids: regenerating a chart gives the same SVG
    "svg.fonttype": "none",
}
PROVENANCE_INCHES = 0.3


ARTICLE_BEFORE, ARTICLE_AFTER = (0, (4, 2)), (0, (1, 1.5))


def _prov(df: pd.DataFrame, provenance) -> str:
    if provenance is None:
        provenance = df.attrs.get("provenance", "provenance unknown: pass provenance=")
    return str(provenance)


STANDIN_BANNER = "STAND-IN BASES: local images stand in for upstream ones (not upstream sizes)"
STANDIN_COLOUR = "#b00020"


def _is_standin(provenance: str) -> bool:
    return "stand-in bases" in provenance


def _title(fig: Figure, text: str) -> None:
    """The chart's title; on a run with stand-in bases the banner is part of it, in red."""
    standin = getattr(fig, "bench_standin", False)
    fig.suptitle(text + (f"\n{STANDIN_BANNER}" if standin else ""), x=0.01, ha="left", fontweight="bold",
                 color=STANDIN_COLOUR if standin else "black")


def _figure(width: float, height: float, provenance: str) -> Figure:
    # Long provenance lines wrap at " · " so they never run off the image.
    parts, lines, cur = provenance.split(" · "), [], ""
    limit = int(width * 19)
    for p in parts:
        if cur and len(cur) + len(p) + 3 > limit:
            lines.append(cur)
            cur = p
        else:
            cur = f"{cur} · {p}" if cur else p
    lines.append(cur)
    strip = 0.08 + 0.12 * len(lines)  # inches kept free for the provenance under the axes
    height += strip
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.get_layout_engine().set(rect=(0, strip / height, 1, 1 - strip / height))
    fig.bench_standin = _is_standin(provenance)
    colour = "#b00020" if provenance.startswith(("SYNTHETIC", "INCOMPLETE")) else "#555555"
    fig.text(0.005, 0.03 / height, "\n".join(lines), fontsize=6.5, color=colour, ha="left", va="bottom",
             linespacing=1.3)
    return fig


def _styled(fn):
    """Run a plot function inside the house style (rcParams apply at artist creation)."""
    import functools

    import matplotlib as mpl

    @functools.wraps(fn)
    def wrapper(*a, **k):
        with mpl.rc_context(STYLE):
            return fn(*a, **k)

    return wrapper


def _bytes_axis(ax, axis="x"):
    f = FuncFormatter(lambda v, _pos: fmt.size(v, 2) if v > 0 else "0")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(f)


def _apps(df: pd.DataFrame) -> list[str]:
    return [a for a in dict.fromkeys(df["app"]) if a != BASES_APP]


def _variants(df: pd.DataFrame, cells: pd.DataFrame | None, app: str) -> list[str]:
    names = list(dict.fromkeys(df.loc[df["app"] == app, "variant"]))
    if cells is not None and len(cells):
        order = list(cells.loc[cells["app"] == app, "variant"])
        names = order + [n for n in names if n not in order]
    return names


def _cell(cells: pd.DataFrame | None, app: str, variant: str) -> dict:
    if cells is None or cells.empty:
        return {}
    m = cells[(cells["app"] == app) & (cells["variant"] == variant)]
    return {} if m.empty else m.iloc[0].to_dict()


def _smoke_failed(df: pd.DataFrame, cells, app, variant) -> bool:
    from bench.report.tables import smoke_passed

    return not smoke_passed(df, cells, app, variant)


def _median(summary, app, variant, scenario, metric, profile="", detail="", what="median"):
    r = stats.median_of(summary, app, variant, scenario, metric, profile, detail)
    return np.nan if r is None else float(r[what])


def _empty(fig: Figure, text: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color=GREY)
    _title(fig, text)
    return fig


# Where a variant name sits in every panel: the ladder's order, then any other name in the
# order the run listed it. One order for all apps, so a reader's eye finds the same row.
LADDER = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "slim", "jre", "alpine",
          "distroless", "jlink", "scratch", "optimized", "article"]


def variant_order(df: pd.DataFrame, cells: pd.DataFrame | None) -> list[str]:
    names: list[str] = []
    for app in _apps(df) or (list(dict.fromkeys(cells["app"])) if cells is not None and len(cells) else []):
        names += [n for n in _variants(df, cells, app) if n not in names]
    return sorted(names, key=lambda n: (LADDER.index(n) if n in LADDER else len(LADDER), names.index(n)))


def _ordered(df: pd.DataFrame, cells, app: str, order: list[str]) -> list[str]:
    mine = set(_variants(df, cells, app))
    return [n for n in order if n in mine]


def drop_overlapping(fig: Figure, texts: list) -> int:
    """Lay the figure out for good, then remove each of `texts` (in priority order, most
    important first) whose box overlaps a kept one or a tick label: a crowded label goes, an
    unreadable pile never appears. Returns how many were removed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _freeze_layout(fig)
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    kept = [t.get_window_extent(renderer) for ax in fig.axes for t in visible_tick_labels(ax)]
    kept += [ax.get_legend().get_window_extent(renderer) for ax in fig.axes if ax.get_legend()]
    removed = 0
    for t in texts:
        box = t.get_window_extent(renderer)
        if any(_overlap(box, k) for k in kept) or not fig.bbox.contains(box.x1, box.y1):
            t.remove()
            removed += 1
        else:
            kept.append(box)
    return removed


def _overlap(a, b, tol: float = 1.0) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def visible_tick_labels(ax) -> list:
    """Tick labels drawn inside the axes' view (matplotlib keeps labels of ticks beyond it)."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    out = [t for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1]
    out += [t for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


# --------------------------------------------------------------------------------------------
@_styled
def sizes(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None,
          claims: dict | None = None) -> Figure:
    """Before/after per app: every variant's on-disk and compressed size as dots on one log
    axis (dots, not bars: a bar's length on a log axis means nothing), the article's marks."""
    claims = claims or load_claims_file()
    summary = stats.summarize(df[df["metric"].isin(["disk_bytes", "compressed_bytes", "smoke_ok"])])
    apps = _apps(df) or (list(dict.fromkeys(cells["app"])) if cells is not None and len(cells) else [])
    order = variant_order(df, cells)
    counts = [max(1, len(_ordered(df, cells, a, order))) for a in apps]
    fig = _figure(8, 1.3 + 0.3 * sum(counts) + 0.55 * len(apps), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no image sizes in this run")
    axes = fig.subplots(len(apps), 1, sharex=True, squeeze=False, height_ratios=counts)[:, 0]
    lo, hi = np.inf, 0.0
    for ax, app in zip(axes, apps):
        names = _ordered(df, cells, app, order)
        y = np.arange(len(names))[::-1]
        sc = scenario_for(app, claims) or {}
        for yi, name in zip(y, names):
            med = _median(summary, app, name, "image", "disk_bytes")
            if np.isnan(med):
                c = _cell(cells, app, name)
                ax.text(0.01, yi, f"{c.get('status', 'not measured')}: {c.get('reason', '')}"[:100],
                        transform=ax.get_yaxis_transform(), va="center", fontsize=7, color=GREY, style="italic")
                continue
            failed = _smoke_failed(df, cells, app, name)
            comp = _median(summary, app, name, "image", "compressed_bytes")
            lo, hi = min(lo, med, comp if not np.isnan(comp) else med), max(hi, med)
            colour = STANDIN_COLOUR if failed else BLOATED if name == "bloated" else OKABE_ITO[0]
            if not np.isnan(comp):
                ax.plot([comp, med], [yi, yi], color=GREY, lw=0.8)
                ax.plot([comp], [yi], marker="D", ms=4.5, mfc="white", mec=colour, ls="none")
            ax.plot([med], [yi], marker="X" if failed else "o", ms=7, color=colour, ls="none")
            label = fmt.size(med) + ("  broken image: smoke not passed, never an \"after\"" if failed else "")
            ax.annotate(label, (med, yi), textcoords="offset points", xytext=(7, 0), va="center", fontsize=7,
                        color=STANDIN_COLOUR if failed else "black")
        ax.set_yticks(y, names)
        said = " → ".join(fmt.size(sc[k]) for k in ("before", "after") if sc.get(k)) if sc else ""
        ax.set_title(f"{app}" + (f" (the article's {sc['label']}" + (f": {said}" if said else "") + ")" if sc else ""),
                     loc="left")
        for key, style in (("before", ARTICLE_BEFORE), ("after", ARTICLE_AFTER)):
            if sc.get(key):
                ax.axvline(sc[key], color="black", lw=1, ls=style)
                lo, hi = min(lo, sc[key]), max(hi, sc[key])
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.grid(axis="y", visible=False)
    ax = axes[-1]
    ax.set_xscale("log")
    if np.isfinite(lo):
        ax.set_xlim(lo / 2, hi * 6)
    _bytes_axis(ax)
    ax.set_xlabel("image size, log scale (equal steps = equal ratios)\n● on disk (as `docker images` shows), "
                  "◇ compressed (what a pull moves), ✕ = smoke not passed\nsingle deterministic measurements, "
                  "so no whiskers; dashed line = the article's before, dotted = its after")
    _title(fig, "Image size per variant, against the article's before/after")
    return fig


def _step_label(va: pd.DataFrame, path: list[str], i: int, had: set) -> str:
    """A waterfall tick: the variant, what it adds to the bar before it, and a parent that the
    run did not measure."""
    row = va[va["variant"] == path[i]].iloc[0]
    tech = [t for t in str(row["techniques"] or "").split("+") if t]
    label = path[i]
    # Only what this step adds: a variant's own list repeats every technique of its ancestors.
    new = [t for t in tech if t not in had and t != path[i]]
    if i and new:
        label += "\n+ " + textwrap.fill(", ".join(new), 13)
    had.update(tech)
    if i and row["parent"] and row["parent"] != path[i - 1]:
        label += f"\n(via {row['parent']},\nnot in this run)"
    return label


def _waterfall_path(v: pd.DataFrame, va: pd.DataFrame, app: str, after) -> list[str]:
    measured = set(va.loc[va["disk_bytes"].notna(), "variant"])
    path = [n for n in tables.chain(v, app, after["variant"]) if n in measured]
    before = tables.before_variant(va)
    if before is not None and (not path or path[0] != before["variant"]):
        # the parents in between were not measured in this run: one step from bloated
        path = [before["variant"]] + [n for n in path if n != before["variant"]]
    return path


@_styled
def waterfall(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Technique waterfall per app, in percent of the before: from bloated (100%), each step
    along the parent chain to the "after" (the smallest variant whose smoke check passed).
    One scale for every panel, so a step of -40 points looks the same size in each."""
    from bench.report import tables

    v = tables.variants_of(df, cells)
    apps = [a for a in _apps(df) if v.loc[v["app"] == a, "disk_bytes"].notna().any()]
    fig = _figure(8, 0.6 + 2.7 * max(1, len(apps)), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no image sizes in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False, sharey=True)[:, 0]
    for ax, app in zip(axes, apps):
        va = v[v["app"] == app]
        after = tables.after_variant(va)
        if after is None:
            ax.axis("off")
            passed = va[va["smoke_ok"].astype(bool) & va["disk_bytes"].notna() & (va["variant"] != "bloated")]
            ax.set_title(f"{app}: " + ("no variant smaller than bloated measured (yet)" if len(passed)
                                       else "no variant other than bloated passed its smoke check"), loc="left")
            continue
        path = _waterfall_path(v, va, app, after)
        sizes_ = [float(va.loc[va["variant"] == n, "disk_bytes"].iloc[0]) for n in path]
        base = sizes_[0]
        pct = [100 * x / base for x in sizes_]
        labels, had = [], set()
        for i, (p, size) in enumerate(zip(pct, sizes_)):
            if i == 0:
                ax.bar(i, p, color=BLOATED, width=0.6)
                ax.text(i, p, f"{fmt.size(size)}\n100%", ha="center", va="bottom", fontsize=7)
            else:
                d = p - pct[i - 1]
                ax.bar(i, abs(d), bottom=min(p, pct[i - 1]), width=0.6, color=OKABE_ITO[2] if d < 0 else BLOATED)
                ax.plot([i - 1.3, i + 0.3], [pct[i - 1]] * 2, color=GREY, lw=0.7, ls=":")
                ax.text(i, max(p, pct[i - 1]), f"{d:+.0f} pts".replace("-", "−"), ha="center", va="bottom",
                        fontsize=7)
            labels.append(_step_label(va, path, i, had))
        n = len(path)
        ax.bar(n, pct[-1], color=OKABE_ITO[0], width=0.6)
        ax.text(n, pct[-1], f"{fmt.size(sizes_[-1])}\n{pct[-1]:.1f}%", ha="center", va="bottom", fontsize=7,
                fontweight="bold")
        labels.append(f"after\n({path[-1]})")
        ax.set_xticks(range(n + 1), labels, fontsize=7)
        ax.set_xlim(-0.6, max(n, 5) + 0.6)
        ax.set_ylim(0, 125)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda val, _p: f"{val:.0f}%"))
        ax.set_ylabel("% of the before")
        ax.grid(axis="x", visible=False)
        ax.set_title(f"{app}: {fmt.size(sizes_[0])} → {fmt.size(sizes_[-1])} "
                     f"({1 - sizes_[-1] / sizes_[0]:.0%} smaller)", loc="left")
    _title(fig, "What each step buys, in percentage points of the before (bloated = 100%)")
    return fig


@_styled
def build_times(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Build wall time per variant for the cold, warm and edit scenarios: median with its 95%
    interval; one time scale and one variant order for every app."""
    d = df[(df["metric"] == "build_wall_seconds") & df["scenario"].isin(list(SCENARIO_COLOURS))]
    summary = stats.summarize(d)
    apps = _apps(d)
    fig = _figure(8, 0.8 + 2.4 * max(1, len(apps)), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no builds in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False, sharey=True)[:, 0]
    order, w, labels = variant_order(d, cells), 0.26, []
    for ax, app in zip(axes, apps):
        names = [n for n in _ordered(d, cells, app, order) if not d[(d["app"] == app) & (d["variant"] == n)].empty]
        x = np.arange(len(names))
        for k, (scen, colour) in enumerate(SCENARIO_COLOURS.items()):
            med, lo, hi = (np.array([_median(summary, app, n, scen, "build_wall_seconds", what=what) for n in names])
                           for what in ("median", "ci_lo", "ci_hi"))
            xs = x + (k - 1) * w
            ax.bar(xs, med, width=w, color=colour, label=scen)
            ok = ~np.isnan(med) & ~np.isnan(lo)
            ax.errorbar(xs[ok], med[ok], yerr=[med[ok] - lo[ok], hi[ok] - med[ok]], fmt="none",
                        ecolor="black", lw=0.8, capsize=2)
            for xi, m, top in zip(xs, med, hi):
                if not np.isnan(m):  # upright labels: three bars a variant leave no room for flat ones
                    labels.append(ax.text(xi, np.nanmax([m, top]), " " + fmt.seconds(m).replace(" s", ""),
                                          ha="center", va="bottom", fontsize=6, rotation=90))
        ax.set_xticks(x, names, fontsize=7.5)
        ax.set_ylabel("seconds")
        ax.set_title(app, loc="left")
        ax.grid(axis="x", visible=False)
    axes[0].set_ylim(0, axes[0].get_ylim()[1] * 1.2)
    axes[0].legend(ncols=3, loc="upper right")
    axes[-1].set_xlabel("median of the measured repetitions; whiskers = 95% bootstrap interval of the median "
                        "(none when n < 3)")
    _title(fig, "Build time: cold (no cache), warm (no change), edit (one source line changed)")
    drop_overlapping(fig, labels)
    return fig


def _declutter(pts: list[tuple], dx: float = 0.12, dy: float = 0.07) -> list[tuple]:
    """The points whose labels would not sit on another's (log-log distance), largest first:
    a crowd of 1 GB images gets one name, not ten overprinted ones."""
    kept: list[tuple] = []
    for q in sorted(pts, key=lambda q: -q[0]):
        if q[0] > 0 and q[1] > 0 and all(abs(np.log10(q[0] / k[0])) > dx or abs(np.log10(q[1] / k[1])) > dy
                                         for k in kept):
            kept.append(q)
    return kept


def compressed_ratio(summary: pd.DataFrame) -> float:
    """The run's median compressed / on-disk size over its images (NaN without both)."""
    img = summary[summary["scenario"] == "image"].set_index(["app", "variant"])
    disk = img[img["metric"] == "disk_bytes"]["median"]
    comp = img[img["metric"] == "compressed_bytes"]["median"]
    r = (comp / disk).replace([np.inf, -np.inf], np.nan).dropna()
    return float(r.median()) if len(r) else float("nan")


def _article_pulls(ax, claims: dict, ratio: float) -> list:
    """The article's pull claims where its own arithmetic puts them on a compressed axis: its
    on-disk size times the run's compressed/on-disk ratio."""
    art = [c for c in claims["claims"] if c.get("kind") == "pull_time"]
    if not art or np.isnan(ratio):
        return []
    xs = [c["size"] * ratio for c in art]
    ax.scatter(xs, [c["article"] for c in art], marker="x", color="black", s=45, zorder=5,
               label=f"article's claim, placed at its on-disk size × {ratio:.0%}\n(this run's median compressed / on-disk)")
    return [ax.annotate(f"article: {fmt.size(c['size'])} on disk ≈ {c['article']:g} s @ {c['profile']}",
                        (x, c["article"]), textcoords="offset points", xytext=(-8, 6), fontsize=7, ha="right",
                        fontweight="bold") for c, x in zip(art, xs)]


@_styled
def pull_times(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None,
               claims: dict | None = None) -> Figure:
    """Measured cold-pull time against compressed size, per bandwidth profile, with the
    bandwidth model (compressed bytes x 8 / bandwidth) drawn as lines; every point, line and
    the article's claim on one axis: compressed bytes."""
    claims = claims or load_claims_file()
    summary = stats.summarize(df[df["metric"].isin(["pull_seconds", "compressed_bytes", "disk_bytes"])])
    pulls = summary[summary["metric"] == "pull_seconds"]
    fig = _figure(8, 5.4, _prov(df, provenance))
    if pulls.empty:
        return _empty(fig, "no pulls in this run")
    ax = fig.add_subplot()
    profiles = sorted(dict.fromkeys(pulls["profile"]),
                      key=lambda p: tables.PROFILE_ORDER.index(p) if p in tables.PROFILE_ORDER else 99)
    xs_all, names = [], []
    for k, p in enumerate(profiles):
        pts = []
        for r in pulls[pulls["profile"] == p].itertuples(index=False):
            comp = _median(summary, r.app, r.variant, "image", "compressed_bytes")
            if not np.isnan(comp):
                pts.append((comp, r.median, r.ci_lo, r.ci_hi, f"{r.app}/{r.variant}"))
        if not pts:
            continue
        x, y = np.array([q[0] for q in pts]), np.array([q[1] for q in pts])
        lo, hi = np.array([q[2] for q in pts]), np.array([q[3] for q in pts])
        lo, hi = np.where(np.isnan(lo), y, lo), np.where(np.isnan(hi), y, hi)
        xs_all.extend(x)
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o", color=OKABE_ITO[k % len(OKABE_ITO)], ms=4.5, lw=0.8,
                    capsize=2, label=f"measured, {p}")
        if p == profiles[-1]:
            names = [ax.annotate(q[4], (q[0], q[1]), textcoords="offset points", xytext=(5, -3), fontsize=6.5,
                                 color=GREY) for q in _declutter(pts)]
    if not xs_all:
        return fig
    ratio = compressed_ratio(summary)
    article_labels = _article_pulls(ax, claims, ratio)
    grid = np.geomspace(min(min(xs_all) / 3, 50e6), max(max(xs_all) * 3, 1e9), 50)
    for k, p in enumerate(profiles):
        bw = bandwidth_bps(p, df)
        if bw:
            ax.plot(grid, grid * 8 / bw, color=OKABE_ITO[k % len(OKABE_ITO)], lw=1, ls="--",
                    label=f"model: compressed bytes × 8 / {p}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g} s"))
    ax.set_xlabel("compressed image size (the bytes a pull moves; log scale)")
    ax.set_ylabel("cold pull time (log scale; median, 95% interval)")
    ax.legend(loc="lower right", fontsize=7)
    _title(fig, "Pull time against compressed size, with the bandwidth model")
    drop_overlapping(fig, article_labels + names)
    return fig


def _base_layer_count(layer_sizes: list[float], base_sizes: list[float]) -> int:
    """How many leading layers are the base image's: the first k whose sizes add up to a base
    image's own on-disk size (within 2%). History cannot tell, so the sizes must."""
    cum = np.cumsum(layer_sizes)
    best = 0
    for b in base_sizes:
        if not b or np.isnan(b) or b <= 0:
            continue
        for k, c in enumerate(cum, 1):
            if abs(c - b) <= max(0.02 * b, 1e5):
                best = max(best, k)
                break
    return best


def _layer_kind(detail: str, position: int, n_base: int) -> str:
    instr = detail.split(":", 1)[-1].strip()
    word = re.split(r"\s+", instr, maxsplit=1)[0].upper() if instr else ""
    if word == "FROM" or position < n_base or not instr:  # no history: an imported rootfs
        return "base"
    if word in ("RUN", "COPY", "ADD"):
        return word
    if "/bin/sh -c" in instr:
        return "RUN"
    return "other"


@_styled
def layers(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Layer composition per variant: stacked layer sizes, coloured by instruction."""
    d = df[(df["scenario"] == "image") & (df["metric"] == "layer_bytes")]
    summary = stats.summarize(d)
    apps = _apps(d)
    order = variant_order(d, cells)
    rows = sum(len(_ordered(d, None, a, order)) for a in apps)
    fig = _figure(8, 1.2 + 0.5 * rows + 0.6 * len(apps), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no layer sizes in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False, sharex=True,
                        height_ratios=[len(_ordered(d, None, a, order)) for a in apps])[:, 0]
    base_rows = df[(df["scenario"] == "base") & (df["metric"] == "disk_bytes")]
    base_size = base_rows.groupby("variant")["value"].median().to_dict()
    seen = set()
    for ax, app in zip(axes, apps):
        names = _ordered(d, None, app, order)
        for yi, name in zip(np.arange(len(names))[::-1], names):
            s = summary[(summary["app"] == app) & (summary["variant"] == name)].copy()
            s["index"] = s["detail"].str.extract(r"^\s*(\d+)")[0].astype(float)
            s = s.sort_values("index")
            refs = d.loc[(d["app"] == app) & (d["variant"] == name), "bases"].iloc[0].split(";")
            n_base = _base_layer_count(list(s["median"]), [base_size.get(r, np.nan) for r in refs if r])
            left = 0.0
            for pos, r in enumerate(s.itertuples(index=False)):
                kind = _layer_kind(r.detail, pos, n_base)
                label = {"base": "base image layers", "other": "other instructions"}.get(kind, kind)
                ax.barh(yi, r.median, left=left, color=LAYER_COLOURS[kind], edgecolor="white", lw=0.5,
                        height=0.6, label=None if kind in seen else label)
                seen.add(kind)
                left += r.median
            n = _median(stats.summarize(df[(df["app"] == app) & (df["variant"] == name)
                                           & (df["metric"] == "layers")]), app, name, "image", "layers")
            n = len(s) if np.isnan(n) else int(n)
            ax.text(left, yi, f" {fmt.size(left)} in {n} layer{'' if n == 1 else 's'}", va="center", fontsize=7.5)
        ax.set_yticks(np.arange(len(names))[::-1], names)
        _bytes_axis(ax)
        ax.set_title(app, loc="left")
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlim(0, axes[-1].get_xlim()[1] * 1.3)  # one scale for every app (shared)
    axes[-1].set_xlabel("on-disk bytes per layer, stacked in layer order (one scale for every app)")
    fig.legend(loc="upper right", ncols=len(seen), bbox_to_anchor=(1, 1))
    _title(fig, "Layer composition")
    return fig


@_styled
def efficiency(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """dive's efficiency score and wasted bytes per variant."""
    d = df[(df["scenario"] == "analyze") & df["metric"].isin(["efficiency", "wasted_bytes"])]
    summary = stats.summarize(d)
    apps = _apps(d)
    order = variant_order(d, cells)
    names = [(a, v) for a in apps for v in _ordered(d, None, a, order)]
    fig = _figure(8, 1.4 + 0.32 * max(1, len(names)), _prov(df, provenance))
    if not names:
        return _empty(fig, "no dive analysis in this run")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(names))[::-1]
    eff = [_median(summary, a, v, "analyze", "efficiency") for a, v in names]
    waste = [_median(summary, a, v, "analyze", "wasted_bytes") for a, v in names]
    colours = [BLOATED if v == "bloated" else OKABE_ITO[0] for _a, v in names]
    ax1.barh(y, eff, color=colours, height=0.6)
    for yi, e in zip(y, eff):
        if not np.isnan(e):
            ax1.text(e, yi, f" {e:.1%}", va="center", fontsize=7.5)
    ax1.set_xlim(0, 1.15)
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax1.set_xlabel("dive efficiency (1 = no byte stored twice or deleted later)")
    ax1.set_yticks(y, [f"{a}/{v}" for a, v in names])
    ax2.barh(y, waste, color=colours, height=0.6)
    for yi, w in zip(y, waste):
        if not np.isnan(w):
            ax2.text(w, yi, f" {fmt.size(w)}", va="center", fontsize=7.5)
    _bytes_axis(ax2)
    ax2.set_xlim(0, max([w for w in waste if not np.isnan(w)] + [1]) * 1.3)
    ax2.set_xlabel("wasted bytes (dive)")
    for ax in (ax1, ax2):
        ax.grid(axis="y", visible=False)
    _title(fig, "Layer efficiency (dive)")
    return fig


@_styled
def pull_split(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None,
               profile: str | None = None) -> Figure:
    """Where a throttled pull's time goes, per image: the wire span (bytes flowing through the
    throttle) and the rest (round trips, decompression, extraction), on one time axis."""
    sp = tables.pull_split(stats.summarize(df[df["scenario"] == "pull"]))
    if profile is None and len(sp):
        profile = sorted(sp["profile"].unique(), key=lambda p: (tables.PROFILE_ORDER.index(p)
                                                                 if p in tables.PROFILE_ORDER else 99))[-1]
    sp = sp[sp["profile"] == profile] if len(sp) else sp
    fig = _figure(8, 1.4 + 0.28 * max(1, len(sp)), _prov(df, provenance))
    if sp.empty:
        return _empty(fig, "pull_wire_seconds: not measured in this run")
    order = variant_order(df, cells)
    sp = sp.assign(rank=[order.index(v) if v in order else len(order) for v in sp["variant"]])
    sp = sp.sort_values(["app", "rank"]).reset_index(drop=True)
    ax = fig.add_subplot()
    y = np.arange(len(sp))[::-1]
    ax.barh(y, sp["wire_s"], color=OKABE_ITO[0], height=0.6, label="on the wire (bytes through the throttle)")
    ax.barh(y, sp["rest_s"], left=sp["wire_s"], color=OKABE_ITO[1], height=0.6,
            label="the rest: round trips, decompression, extraction")
    for yi, r in zip(y, sp.itertuples(index=False)):
        ax.text(r.pull_s, yi, f" {r.wire_share:.0%} wire of {fmt.seconds(r.pull_s)}", va="center", fontsize=7)
    ax.set_yticks(y, [f"{a}/{v}" for a, v in zip(sp["app"], sp["variant"])], fontsize=7.5)
    ax.set_xlim(0, sp["pull_s"].max() * 1.35)
    ax.set_xlabel(f"seconds of a cold pull at {profile} (medians of the measured repetitions)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    _title(fig, f"Where a pull's time goes at {profile}: the wire against the rest")
    return fig


@_styled
def repetitions(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Each timing by the order it was measured in (warmups first, hollow), relative to its
    cell's median: one thin line per cell, the median over cells in bold."""
    ro = tables.repetition_order(df)
    whats = list(dict.fromkeys(ro["what"])) if len(ro) else []
    cols = 3
    rows = max(1, -(-len(whats) // cols))
    fig = _figure(8, 0.8 + 1.9 * rows, _prov(df, provenance))
    if not whats:
        return _empty(fig, "no repeated timings in this run")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True).ravel()
    top = float(np.nanquantile(ro["relative"], 0.98)) if ro["relative"].notna().any() else 2.0
    for ax, what in zip(axes, whats):
        w = ro[ro["what"] == what]
        for _k, g in w.groupby(["app", "variant"], sort=False):
            ax.plot(g["order"], g["relative"], color=GREY, lw=0.5, alpha=0.5)
        med = w.groupby("order").agg(relative=("relative", "median"), warmup=("warmup", "all"))
        ax.plot(med.index, med["relative"], color=OKABE_ITO[5], lw=2, marker="o", ms=4, zorder=3)
        warm = med[med["warmup"]]
        ax.plot(warm.index, warm["relative"], ls="none", marker="o", ms=7, mfc="white", mec=OKABE_ITO[5], zorder=4)
        ax.axhline(1, color="black", lw=0.6, zorder=1)
        ax.set_xticks(med.index, [f"w{i + 1}" if wu else str(i + 1 - int(med["warmup"].sum()))
                                  for i, wu in zip(med.index, med["warmup"])])
        ax.set_title(what, loc="left", fontsize=8.5)
        ax.set_ylim(0, max(top * 1.1, 1.5))
    for ax in axes[len(whats):]:
        ax.axis("off")
    for ax in axes[::cols]:
        ax.set_ylabel("value / cell's median")
    for ax in axes[len(whats) - cols:len(whats)]:
        ax.set_xlabel("repetition, in the order measured")
    _title(fig, "Repetition order: each timing by when it was measured (thin: a cell; bold: the median;\n"
                "w = warmup, hollow, never summarised)")
    return fig


# Charts the notebooks draw; the report draws CHARTS.
NOTEBOOK_CHARTS = {"pull_split": pull_split, "repetitions": repetitions}


CHARTS = {
    "sizes": sizes,
    "waterfall": waterfall,
    "build_times": build_times,
    "pull_times": pull_times,
    "layers": layers,
    "efficiency": efficiency,
}


def save(fig: Figure, folder: Path, name: str) -> list[Path]:
    """PNG for the README, SVG for print; both without timestamps so regeneration is stable."""
    folder.mkdir(parents=True, exist_ok=True)
    _freeze_layout(fig)
    out = []
    png = folder / f"{name}.png"
    fig.savefig(png, dpi=150, metadata={"Software": None})
    svg = folder / f"{name}.svg"
    with matplotlib.rc_context({"svg.hashsalt": "bench", "svg.fonttype": "none"}):
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    svg.write_text(_stable_clip_ids(svg.read_text()))
    out += [png, svg]
    return out


# Axes positions are rounded to this fraction of the figure (~0.01 pt on a 10-inch chart).
LAYOUT_DECIMALS = 5


def _freeze_layout(fig: Figure) -> None:
    """Solve the constrained layout once, round where it put each Axes, and keep that.

    The layout is solved by kiwisolver, whose answers vary in their last bits from one solve
    to the next (it orders some of its work by memory address): a gridline came out at
    y=192.000187 in one regeneration and 192.000188 in the next. Rounded positions make the
    PNG and the SVG the same every time, and the same layout in both."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return
    fig.draw_without_rendering()
    boxes = [(ax, ax.get_position().bounds) for ax in fig.axes]
    fig.set_layout_engine("none")
    for ax, bounds in boxes:
        ax.set_position([round(v, LAYOUT_DECIMALS) for v in bounds])


def _stable_clip_ids(text: str) -> str:
    """matplotlib names a clip *path* by hashing its Python id(), which differs run to run
    (svg.hashsalt fixes only the rest): number them in order of appearance instead."""
    import re

    ids: dict[str, str] = {}
    for m in re.finditer(r'id="(p[0-9a-f]{10})"', text):
        ids.setdefault(m.group(1), f"clip{len(ids):04d}")
    return re.sub(r"\b(p[0-9a-f]{10})\b", lambda m: ids.get(m.group(1), m.group(1)), text)
