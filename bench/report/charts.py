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

from bench.report import fmt, stats  # noqa: E402
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
    return fig


# --------------------------------------------------------------------------------------------
@_styled
def sizes(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None,
          claims: dict | None = None) -> Figure:
    """Before/after per app: on-disk size of every variant (log scale), the article's marks."""
    claims = claims or load_claims_file()
    summary = stats.summarize(df[df["metric"].isin(["disk_bytes", "compressed_bytes", "smoke_ok"])])
    apps = _apps(df) or (list(dict.fromkeys(cells["app"])) if cells is not None and len(cells) else [])
    rows = sum(max(1, len(_variants(df, cells, a))) for a in apps)
    fig = _figure(8, 1.0 + 0.45 * rows + 0.55 * len(apps), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no image sizes in this run")
    axes = fig.subplots(len(apps), 1, sharex=True, squeeze=False,
                        height_ratios=[max(1, len(_variants(df, cells, a))) for a in apps])[:, 0]
    lo, hi = np.inf, 0.0
    for ax, app in zip(axes, apps):
        names = _variants(df, cells, app)
        y = np.arange(len(names))[::-1]
        sc = scenario_for(app, claims) or {}
        for yi, name in zip(y, names):
            med = _median(summary, app, name, "image", "disk_bytes")
            q1 = _median(summary, app, name, "image", "disk_bytes", what="q1")
            q3 = _median(summary, app, name, "image", "disk_bytes", what="q3")
            c = _cell(cells, app, name)
            failed = _smoke_failed(df, cells, app, name)
            if np.isnan(med):
                why = c.get("status", "not measured")
                reason = c.get("reason", "")
                ax.text(0.01, yi, f"{why}: {reason}"[:110], transform=ax.get_yaxis_transform(),
                        va="center", fontsize=7.5, color=GREY, style="italic")
                continue
            lo, hi = min(lo, med), max(hi, med)
            colour = BLOATED if name == "bloated" else OKABE_ITO[0]
            ax.barh(yi, med, color="white" if failed else colour, edgecolor=colour,
                    hatch="////" if failed else None, height=0.6)
            if q3 > q1:
                ax.errorbar(med, yi, xerr=[[med - q1], [q3 - med]], fmt="none", ecolor="black", lw=0.8)
            comp = _median(summary, app, name, "image", "compressed_bytes")
            if not np.isnan(comp):
                lo = min(lo, comp)
                ax.plot([comp], [yi], marker="|", ms=11, mew=2, color="black", ls="none")
            label = fmt.size(med) + ("  smoke check not passed: never an \"after\"" if failed else "")
            ax.text(med * 1.06, yi, label, va="center", fontsize=7.5,
                    color="#b00020" if failed else "black",
                    bbox=dict(boxstyle="square,pad=0.15", fc="white", ec="none", alpha=0.85))
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
        ax.set_xlim(lo / 2, hi * 4)
    _bytes_axis(ax)
    ax.set_xlabel("image size, log scale: bars on disk (as `docker images` shows), | compressed (what a pull "
                  "moves);\nmedian, whiskers = IQR; dashed line = the article's before, dotted = the article's after")
    fig.suptitle("Image size per variant, against the article's before/after", x=0.01, ha="left",
                 fontweight="bold")
    return fig


@_styled
def waterfall(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Technique waterfall per app: from bloated, each step along the parent chain to the
    "after" (the smallest variant whose smoke check passed)."""
    from bench.report import tables

    v = tables.variants_of(df, cells)
    apps = [a for a in _apps(df) if v.loc[v["app"] == a, "disk_bytes"].notna().any()]
    fig = _figure(8, 0.6 + 2.6 * max(1, len(apps)), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no image sizes in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False)[:, 0]
    for ax, app in zip(axes, apps):
        va = v[v["app"] == app]
        after = tables.after_variant(va)
        if after is None:
            ax.axis("off")
            passed = va[va["smoke_ok"].astype(bool) & va["disk_bytes"].notna() & (va["variant"] != "bloated")]
            ax.set_title(f"{app}: " + ("no variant smaller than bloated measured (yet)" if len(passed)
                                       else "no variant other than bloated passed its smoke check"), loc="left")
            continue
        measured = set(va.loc[va["disk_bytes"].notna(), "variant"])
        path = [n for n in tables.chain(v, app, after["variant"]) if n in measured]
        before = tables.before_variant(va)
        if before is not None and (not path or path[0] != before["variant"]):
            # the parents in between were not measured in this run: one step from bloated
            path = [before["variant"]] + [n for n in path if n != before["variant"]]
        sizes_ = [float(va.loc[va["variant"] == n, "disk_bytes"].iloc[0]) for n in path]
        labels, prev, had = [], None, set()
        for i, (name, size) in enumerate(zip(path, sizes_)):
            tech = [t for t in str(va.loc[va["variant"] == name, "techniques"].iloc[0] or "").split("+") if t]
            parent = va.loc[va["variant"] == name, "parent"].iloc[0]
            label = name
            # Only what this step adds to the bar before it: a variant's own list repeats
            # every technique of its ancestors.
            new = [t for t in tech if t not in had and t != name]
            if i and new:
                label += "\n+ " + textwrap.fill(", ".join(new), 18)
            had.update(tech)
            if i and parent and parent != path[i - 1]:
                label += f"\n(via {parent},\nnot in this run)"
            if prev is None or np.isnan(prev) or np.isnan(size):
                ax.bar(i, size, color=BLOATED if i == 0 else OKABE_ITO[0], width=0.6)
                ax.text(i, size, fmt.size(size), ha="center", va="bottom", fontsize=7.5)
            else:
                delta = size - prev
                ax.bar(i, abs(delta), bottom=min(prev, size), width=0.6,
                       color=OKABE_ITO[2] if delta < 0 else BLOATED)
                ax.plot([i - 1.3, i + 0.3], [prev, prev], color=GREY, lw=0.7, ls=":")
                ax.text(i, max(prev, size), f"{fmt.size(delta) if delta >= 0 else '−' + fmt.size(-delta)}\n"
                        f"({delta / prev:+.0%})", ha="center", va="bottom", fontsize=7.5)
            labels.append(label)
            prev = size
        n = len(path)
        ax.bar(n, sizes_[-1], color=OKABE_ITO[0], width=0.6)
        ax.text(n, sizes_[-1], fmt.size(sizes_[-1]), ha="center", va="bottom", fontsize=7.5, fontweight="bold")
        labels.append(f"after\n({path[-1]})")
        ax.set_xticks(range(n + 1), labels, fontsize=7.5)
        ax.set_ylim(0, max(sizes_) * 1.22)
        _bytes_axis(ax, "y")
        ax.set_ylabel("on-disk size")
        ax.grid(axis="x", visible=False)
        ax.set_title(f"{app}: {fmt.size(sizes_[0])} → {fmt.size(sizes_[-1])} "
                     f"({1 - sizes_[-1] / sizes_[0]:.0%} smaller)", loc="left")
    fig.suptitle("What each step buys: size change against the parent variant", x=0.01, ha="left",
                 fontweight="bold")
    return fig


@_styled
def build_times(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """Build wall time per variant for the cold, warm and edit scenarios (median, IQR)."""
    d = df[(df["metric"] == "build_wall_seconds") & df["scenario"].isin(list(SCENARIO_COLOURS))]
    summary = stats.summarize(d)
    apps = _apps(d)
    fig = _figure(8, 0.8 + 2.4 * max(1, len(apps)), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no builds in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False)[:, 0]
    w = 0.26
    for ax, app in zip(axes, apps):
        names = [n for n in _variants(d, cells, app) if not d[(d["app"] == app) & (d["variant"] == n)].empty]
        x = np.arange(len(names))
        for k, (scen, colour) in enumerate(SCENARIO_COLOURS.items()):
            med = np.array([_median(summary, app, n, scen, "build_wall_seconds") for n in names])
            q1 = np.array([_median(summary, app, n, scen, "build_wall_seconds", what="q1") for n in names])
            q3 = np.array([_median(summary, app, n, scen, "build_wall_seconds", what="q3") for n in names])
            xs = x + (k - 1) * w
            ax.bar(xs, med, width=w, color=colour, label=scen)
            ok = ~np.isnan(med)
            ax.errorbar(xs[ok], med[ok], yerr=[med[ok] - q1[ok], q3[ok] - med[ok]], fmt="none",
                        ecolor="black", lw=0.8, capsize=2)
            for xi, m, top in zip(xs, med, q3):
                if not np.isnan(m):
                    ax.text(xi, max(m, top), fmt.seconds(m).replace(" s", ""), ha="center", va="bottom",
                            fontsize=6.5)
        ax.set_xticks(x, names)
        ax.set_ylabel("seconds")
        ax.set_title(app, loc="left")
        ax.grid(axis="x", visible=False)
    axes[0].legend(ncols=3, loc="upper right")
    fig.suptitle("Build time: cold (no cache), warm (no change), edit (one source line changed)",
                 x=0.01, ha="left", fontweight="bold")
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


@_styled
def pull_times(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None,
               claims: dict | None = None) -> Figure:
    """Measured cold-pull time against compressed size, per bandwidth profile, with the
    bandwidth model (compressed bytes x 8 / bandwidth) drawn as lines."""
    claims = claims or load_claims_file()
    summary = stats.summarize(df[df["metric"].isin(["pull_seconds", "compressed_bytes", "disk_bytes"])])
    pulls = summary[summary["metric"] == "pull_seconds"]
    fig = _figure(8, 5.2, _prov(df, provenance))
    if pulls.empty:
        return _empty(fig, "no pulls in this run")
    ax = fig.add_subplot()
    profiles = list(dict.fromkeys(pulls["profile"]))
    from bench.report.tables import PROFILE_ORDER
    profiles.sort(key=lambda p: PROFILE_ORDER.index(p) if p in PROFILE_ORDER else 99)
    xs_all = []
    for k, p in enumerate(profiles):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        pts = []
        for r in pulls[pulls["profile"] == p].itertuples(index=False):
            comp = _median(summary, r.app, r.variant, "image", "compressed_bytes")
            if not np.isnan(comp):
                pts.append((comp, r.median, r.q1, r.q3, f"{r.app}/{r.variant}"))
        if not pts:
            continue
        x = np.array([q[0] for q in pts])
        y = np.array([q[1] for q in pts])
        xs_all.extend(x)
        ax.errorbar(x, y, yerr=[y - np.array([q[2] for q in pts]), np.array([q[3] for q in pts]) - y],
                    fmt="o", color=colour, ms=5, lw=0.8, capsize=2, label=f"measured, {p}")
        if p == profiles[-1]:
            for q in _declutter(pts):
                ax.annotate(q[4], (q[0], q[1]), textcoords="offset points", xytext=(5, -3), fontsize=6.5,
                            color=GREY)
    if not xs_all:
        return fig
    grid = np.geomspace(min(min(xs_all) / 3, 50e6), max(max(xs_all) * 3, 2e9), 50)
    for k, p in enumerate(profiles):
        bw = bandwidth_bps(p, df)
        if bw:
            ax.plot(grid, grid * 8 / bw, color=OKABE_ITO[k % len(OKABE_ITO)], lw=1, ls="--",
                    label=f"model: compressed bytes × 8 / {p}")
    art = [c for c in claims["claims"] if c.get("kind") == "pull_time"]
    if art:
        ax.scatter([c["size"] for c in art], [c["article"] for c in art], marker="x", color="black", s=40,
                   zorder=5, label="article's claim (plotted at its on-disk size)")
        for c in art:
            ax.annotate(f"article: {fmt.size(c['size'])} ≈ {c['article']:g} s @ {c['profile']}",
                        (c["size"], c["article"]), textcoords="offset points", xytext=(7, -10), fontsize=7,
                        ha="left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g} s"))
    ax.set_xlabel("compressed image size (the bytes a pull moves; log scale)")
    ax.set_ylabel("cold pull time (log scale; median, IQR)")
    ax.legend(loc="upper left")
    fig.suptitle("Pull time against compressed size, with the bandwidth model", x=0.01, ha="left",
                 fontweight="bold")
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
    rows = sum(len(_variants(d, None, a)) for a in apps)
    fig = _figure(8, 1.2 + 0.5 * rows + 0.6 * len(apps), _prov(df, provenance))
    if not apps:
        return _empty(fig, "no layer sizes in this run")
    axes = fig.subplots(len(apps), 1, squeeze=False,
                        height_ratios=[len(_variants(d, None, a)) for a in apps])[:, 0]
    base_rows = df[(df["scenario"] == "base") & (df["metric"] == "disk_bytes")]
    base_size = base_rows.groupby("variant")["value"].median().to_dict()
    seen = set()
    for ax, app in zip(axes, apps):
        names = _variants(d, None, app)
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
        ax.set_xlim(0, ax.get_xlim()[1] * 1.25)
        _bytes_axis(ax)
        ax.set_title(app, loc="left")
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlabel("on-disk bytes per layer, stacked in layer order")
    fig.legend(loc="upper right", ncols=len(seen), bbox_to_anchor=(1, 1))
    fig.suptitle("Layer composition", x=0.01, ha="left", fontweight="bold")
    return fig


@_styled
def efficiency(df: pd.DataFrame, *, cells: pd.DataFrame | None = None, provenance=None) -> Figure:
    """dive's efficiency score and wasted bytes per variant."""
    d = df[(df["scenario"] == "analyze") & df["metric"].isin(["efficiency", "wasted_bytes"])]
    summary = stats.summarize(d)
    apps = _apps(d)
    names = [(a, v) for a in apps for v in _variants(d, None, a)]
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
    fig.suptitle("Layer efficiency (dive)", x=0.01, ha="left", fontweight="bold")
    return fig


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
