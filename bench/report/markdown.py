"""REPORT.md from a run: the article beside the measurement, every number with its spread."""

from __future__ import annotations

import pandas as pd

from bench.report import claims as claims_mod
from bench.report import fmt, stats, tables
from bench.report.claims_data import load_claims_file
from bench.report.floor import floor_section
from bench.report.load import RunData
from bench.stats import CI_METHOD
from bench.stats import MIN_REPETITIONS as MIN_N

VERDICT_MARK = {claims_mod.HOLDS: "✅", claims_mod.OFF: "❌", claims_mod.INCONCLUSIVE: "❔",
                claims_mod.UNTESTABLE: "➖"}

CHART_TEXT = {
    "sizes": "Image size per variant (dots on a log scale) against the article's before/after",
    "waterfall": "What each step buys, in percentage points of the before, from bloated to the after",
    "build_times": "Build time: cold, warm, edit",
    "pull_times": "Pull time against compressed size, with the bandwidth model and the article's claim at its compressed equivalent",
    "layers": "Layer composition",
    "efficiency": "Layer efficiency (dive)",
}


def _img(prefix: str, name: str) -> str:
    return f"![{CHART_TEXT.get(name, name)}]({prefix}{name}.png) ([SVG]({prefix}{name}.svg))\n"


def _delta(v, parent, unit: str, relative: bool = True) -> str:
    s = fmt.by_unit(v, unit)
    if fmt.missing(v) or fmt.missing(parent):
        return s
    if relative and parent:
        return f"{s} ({(v - parent) / parent:+.0%})".replace("(-", "(−")
    d = v - parent
    if unit == "B":
        ds = ("+" if d >= 0 else "−") + fmt.size(abs(d))
    elif unit == "s":
        ds = f"{d:+.1f} s"
    elif unit == "ratio":
        ds = f"{d * 100:+.1f} pp"
    else:
        ds = f"{d:+.0f}"
    return f"{s} ({ds})".replace("(-", "(−")


def _after_cell(r) -> str:
    if isinstance(r.after_variant, str):
        return f"{fmt.size(r.after_bytes)} ({r.after_variant}, {fmt.signed_percent(-r.reduction)})"
    return "none yet" if r.after_pending else "none smaller that passed smoke"


BROKEN = "broken image: smoke not passed, never an \"after\""


def named_cell(r, prefix: str, absent: str) -> str:
    """The article's recipe or the practical variant of one app: its size and change against
    the before, or the size of a broken image, or why there is none."""
    variant = getattr(r, f"{prefix}_variant")
    size = getattr(r, f"{prefix}_bytes")
    if not isinstance(variant, str):
        return absent
    if fmt.missing(size):
        return f"{variant}: not measured in this run"
    if not getattr(r, f"{prefix}_ok"):
        return f"{fmt.size(size)} ({variant}; {BROKEN})"
    change = getattr(r, f"{prefix}_reduction")
    return f"{fmt.size(size)} ({variant}, {fmt.signed_percent(-change)})" if not fmt.missing(change) else \
        f"{fmt.size(size)} ({variant})"


def before_after_table(ba: pd.DataFrame) -> str:
    rows = []
    for r in ba.itertuples(index=False):
        notes = []
        if r.standin:
            notes.append("stand-in bases")
        if r.smaller_but_failed:
            notes.append(f"smaller but failed smoke (not counted): {r.smaller_but_failed}")
        if r.note:
            notes.append(r.note)
        art = "–"
        if not fmt.missing(r.article_before):
            art = (f"{fmt.size(r.article_before)} → {fmt.size(r.article_after)} "
                   f"({fmt.percent(r.article_reduction)})")
        rows.append({
            "App": r.app,
            "Article's scenario": r.scenario or "–",
            "Before": f"{fmt.size(r.before_bytes)} ({r.before_variant})" if isinstance(r.before_variant, str)
                      else fmt.size(r.before_bytes),
            "Article's recipe": named_cell(r, "recipe", "no `article` variant in this run"),
            "Practical (app.toml)": named_cell(r, "practical", "not marked in app.toml"),
            "Ceiling: smallest that passed smoke": _after_cell(r),
            "Ceiling, compressed": fmt.size(r.after_compressed_bytes),
            "Article: before → after": art,
            "Notes": "; ".join(notes),
        })
    return fmt.markdown_table(pd.DataFrame(rows))


def claims_table(ev: pd.DataFrame) -> str:
    rows = []
    for i, r in enumerate(ev.itertuples(index=False), 1):
        rows.append({
            "#": i,
            "Claim (article section)": f"“{r.quote}” ({r.section})",
            "Article": r.article,
            "Measured": r.measured,
            "Compares": r.compared or "–",
            "Verdict": f"{VERDICT_MARK[r.verdict]} {r.verdict_text}",
            "Note": r.note,
        })
    return fmt.markdown_table(pd.DataFrame(rows))


def findings(ev: pd.DataFrame) -> str:
    """One line per claim this run could judge; the untestable ones are counted, not listed."""
    judged = ev[ev["verdict"] != claims_mod.UNTESTABLE]
    if judged.empty:
        return "_No claim could be judged from this run; the claims table below says why for each._\n"
    lines = []
    for verdict in (claims_mod.OFF, claims_mod.HOLDS, claims_mod.INCONCLUSIVE):
        for r in judged[judged["verdict"] == verdict].itertuples(index=False):
            lines.append(f"- {VERDICT_MARK[r.verdict]} “{r.quote}” — measured {r.measured}: **{r.verdict_text}**\n")
    n_untestable = int((ev["verdict"] == claims_mod.UNTESTABLE).sum())
    if n_untestable:
        lines.append(f"- ➖ {n_untestable} more claims are not testable here (reasons in section 2).\n")
    return "".join(lines)


def bases_table(b: pd.DataFrame) -> str:
    rows = []
    for r in b.itertuples(index=False):
        rows.append({
            "Base image": r.ref + (" (stand-in)" if r.standin else ""),
            "What was measured": ("local stand-in, not the upstream image" if r.standin and r.measured
                                  else "upstream image" if r.measured else "not measured"),
            "Runtime inside": getattr(r, "runtime", "") or "–",
            "On disk": fmt.size(r.disk_bytes),
            "Compressed": fmt.size(r.compressed_bytes),
            "Compressed / on disk": ("–" if fmt.missing(r.disk_bytes) or not r.disk_bytes
                                     or fmt.missing(r.compressed_bytes)
                                     else f"{r.compressed_bytes / r.disk_bytes:.0%}"),
            "Article": fmt.size(r.article_bytes),
            "Note": r.reason,
        })
    return fmt.markdown_table(pd.DataFrame(rows))


SIZE_COLS = [("disk_bytes", "On disk", "B", True), ("compressed_bytes", "Compressed", "B", True),
             ("layers", "Layers", "count", False), ("context_bytes", "Context COPY sees", "B", True),
             ("context_files", "Context files", "count", False),
             ("context_sent_cold", "Context sent (cold)", "B", True),
             ("packages", "Packages", "count", False), ("wasted_bytes", "Wasted (dive)", "B", False),
             ("efficiency", "Efficiency", "ratio", False)]


NOISE_LEGEND = ("Timings: median [95% interval]; in brackets after it, the change against the parent, "
                "printed only when the two intervals do not overlap; **~** = no real change shown (the "
                "intervals overlap, or n < 3 gives no interval). Sizes and counts are single "
                "deterministic measurements: their change is exact.")


def _interval(r: dict, col: str, side: str = "") -> tuple[float, float] | None:
    lo, hi = r.get(f"{col}{side}_ci_lo"), r.get(f"{col}{side}_ci_hi")
    return None if fmt.missing(lo) or fmt.missing(hi) else (float(lo), float(hi))


def timing_cell(r: dict, col: str) -> str:
    """'17.1 s [15.1–22.5 s] (+31%)' when the change is real, '(~)' when noise could explain it."""
    from bench.stats import NO_INTERVAL, intervals_differ

    v, parent = r.get(col), r.get(f"{col}_parent")
    if fmt.missing(v):
        return "–"
    mine = _interval(r, col)
    s = fmt.seconds(v) + (f" [{fmt.seconds(mine[0]).removesuffix(' s')}–{fmt.seconds(mine[1])}]" if mine
                          else f" ({NO_INTERVAL})")
    if fmt.missing(parent):
        return s
    if intervals_differ(_interval(r, col, "_parent"), mine) and parent:
        return s + f" ({(v - parent) / parent:+.0%})".replace("(-", "(−")
    return s + " (~)"


def ablation_tables(run: RunData, ab: pd.DataFrame) -> str:
    time_cols = [("build_cold_s", "Build cold"), ("build_warm_s", "Build warm"),
                 ("build_edit_s", "Build edit"), ("push_s", "Push")]
    time_cols += [(f"pull_{p}_s", f"Cold pull {p}") for p in tables.profiles(run)]
    time_cols += [("start_s", "Start → healthy")]
    out = []
    for app in run.apps:
        a = ab[ab["app"] == app]
        out.append(f"#### {app}\n")
        for title, cols in (("Size and content (single deterministic measurements)", SIZE_COLS),
                            ("Time (median [95% interval]; ⚠ = interval wider than ±10%)", time_cols)):
            rows = []
            for r in a.to_dict("records"):
                row = {"Variant ← parent": f"{r['variant']} ← {r['parent']}" if r["parent"] else r["variant"],
                       "Adds to parent": (r["adds"] or "–").replace("+", ", ")}
                if r["status"] != "ok" or not r["smoke_ok"]:
                    row["Adds to parent"] += f" **[{r['status']}{', smoke not passed' if r['status'] == 'ok' else ''}]**"
                for spec in cols:
                    if len(spec) == 2:
                        col, label = spec
                        s = timing_cell(r, col)
                        ci = _interval(r, col)
                        if ci and (ci[1] - ci[0]) / 2 > stats.CI_HALF_WIDTH_WARN * abs(r[col]):
                            s += " ⚠"
                    else:
                        col, label, unit, rel = spec
                        s = _delta(r.get(col), r.get(f"{col}_parent"), unit, rel)
                    row[label] = s
                rows.append(row)
            out.append(f"{title}; in brackets: change against the parent variant.\n\n")
            out.append(fmt.markdown_table(pd.DataFrame(rows)))
            out.append("\n")
    return NOISE_LEGEND + "\n\n" + "".join(out)


def cells_table(run: RunData) -> str:
    c = run.cells
    if c.empty:
        return "_(no cells.json in this run)_\n"
    rows = [{"App/variant": f"{r.app}/{r.variant}", "Status": r.status,
             "Smoke": {True: "passed", False: "failed"}.get(tables._tri(r.smoke_ok), "–"),
             "Bases (as written)": r.bases.replace(";", ", "), "Stand-in": "yes" if r.standin else "no",
             "Took": fmt.duration(r.seconds),
             "Reason": r.reason, "What it shows": r.summary}
            for r in c.itertuples(index=False)]
    return fmt.markdown_table(pd.DataFrame(rows))


PHASES = {"bases": "resolving bases", "context": "preparing build contexts", "builds": "builds (cold, warm, edit)", "image": "image inspection", "smoke": "smoke checks",
          "push_pull": "push and cold pulls", "analysis": "layer, package and lint analysis"}


def time_by_phase(run: RunData) -> str:
    """Where the run's measuring time went, summed over its cells (as the cells recorded it)."""
    c = run.cells
    if c.empty or "phase_seconds" not in c:
        return ""
    totals: dict[str, float] = {}
    timed = 0
    for ph in c["phase_seconds"]:
        if isinstance(ph, dict) and ph:
            timed += 1
            for k, v in ph.items():
                totals[k] = totals.get(k, 0.0) + float(v)
    if not timed:
        return ""
    whole = sum(totals.values())
    parts = ", ".join(f"{PHASES.get(k, k)} {fmt.duration(v)} ({v / whole:.0%})"
                      for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
    outside = _outside_cells(run, c) if timed == len(c) else ""
    return f"Where the time went, over the {timed} cells that recorded it: {parts}.{outside}\n\n"


def _outside_cells(run: RunData, cells) -> str:
    """The wall time no cell accounts for (this machine's limits probe, starting engines and the
    registry, the reference bases after the cells, a cell set aside and measured again), when
    every cell recorded its time; under a minute is not worth a sentence."""
    from bench.report.load import wall_time

    w = wall_time(run.metadata or {})
    if w is None or "seconds" not in cells or cells["seconds"].isna().any():
        return ""
    outside = w[0] - float(cells["seconds"].sum())
    if outside < 60:
        return ""
    return (f" Outside the cells, {fmt.duration(outside)} of the {fmt.duration(w[0])} wall time went to work no cell "
            "records: measuring this machine's limits, starting engines and the registry, the reference bases "
            "measured after the cells, and any cell set aside and measured again.")


STABILITY_KINDS = {"build_wall_seconds": "{scenario} builds", "push_seconds": "pushes",
                   "pull_seconds": "cold pulls at {profile}", "start_to_healthy_seconds": "starts to healthy",
                   "disk_bytes": "on-disk sizes", "compressed_bytes": "compressed sizes"}


def stability_counts(summary: pd.DataFrame) -> str:
    """'cold builds 14, warm builds 14 (median 0.2 s), ...': where the unstable numbers are."""
    u = stats.unstable(summary)
    parts = []
    for (metric, scenario, profile), g in u.groupby(["metric", "scenario", "profile"], sort=False):
        kind = STABILITY_KINDS.get(metric, metric).format(scenario=scenario, profile=profile)
        parts.append((len(g), f"{kind} {len(g)} (typically {fmt.by_unit(g['median'].median(), g['unit'].iloc[0])})"))
    return ", ".join(text for _, text in sorted(parts, key=lambda x: -x[0]))


def _command(argv: list) -> str:
    import shlex

    argv = [str(a) for a in argv]
    if not argv or argv[0] not in ("bench", "python", "python3") and not argv[0].endswith(("/bench", "python")):
        argv = ["python", "-m", "bench", *argv]
    return shlex.join(argv)


def _wall_line(m: dict) -> str:
    from bench.report.load import wall_time

    w = wall_time(m)
    if w is None:
        return "- **Wall time**: not recorded by this run"
    total, n = w
    how = "one uninterrupted invocation" if n == 1 else f"the sum of {n} invocations (interrupted and resumed)"
    return f"- **Wall time**: {fmt.duration(total)} measuring, {how}"


def provenance_block(run: RunData) -> str:
    m = run.metadata
    eng, mach, b = m.get("engine") or {}, m.get("machine") or {}, m.get("bench") or {}
    mem = mach.get("memory_bytes")
    lines = [
        f"- **Run**: `{run.run_id}`, {m.get('started_utc', '?')} → {m.get('ended_utc', '?')} "
        f"(profile `{m.get('profile', '?')}`, complete: {'yes' if m.get('complete') else '**no**'})",
        _wall_line(m),
        f"- **Engine**: Docker Engine {eng.get('server', '?')}, BuildKit {eng.get('buildkit', '?')}, "
        f"buildx {eng.get('buildx', '?')}, storage driver {eng.get('storage_driver', '?')}, "
        f"{eng.get('os', '?')}, kernel {eng.get('kernel', '?')}",
        f"- **Machine**: {mach.get('cpus', '?')} × {mach.get('cpu_model', '?')}, "
        f"{(float(mem) / 2**30):.0f} GiB RAM" if isinstance(mem, (int, float)) else
        f"- **Machine**: {mach.get('cpus', '?')} × {mach.get('cpu_model', '?')}",
        f"- **Bases**: mode `{m.get('bases_mode', '?')}`"
        + (" — **stand-in bases**: some bases are local rebuilds standing in for upstream images that "
           "cannot be pulled here; sizes that include them are not the upstream sizes" if run.provenance.standin else ""),
        f"- **bench**: {b.get('version', '?')}, commit `{str(b.get('git_commit', '?'))[:12]}`"
        + (" (**dirty** working tree)" if b.get("git_dirty") else ""),
        f"- **Command**: `{_command(m.get('argv') or [])}`",
    ]
    # What happened to the run along the way (a base that changed between invocations, a
    # cell measured again with --redo), as bench recorded it.
    lines += [f"- **Note**: {n}" for n in m.get("notes") or []]
    lines += [f"- **Mixed run**: {x}" for x in m.get("mixed") or []]
    return "\n".join(lines) + "\n" + segments_table(run)


def segments_table(run: RunData) -> str:
    """Each invocation of the run: when, by which commit and engine, and what it measured."""
    segs = run.metadata.get("segments") or []
    if not segs:
        return ""
    by_seg: dict[int, list[str]] = {}
    for r in run.cells.itertuples(index=False):
        if isinstance(r.segment, (int, float)) and not pd.isna(r.segment):
            by_seg.setdefault(int(r.segment), []).append(f"{r.app}/{r.variant}")
    rows = []
    for i, sg in enumerate(segs):
        b, e, mach = sg.get("bench") or {}, sg.get("engine") or {}, sg.get("machine") or {}
        commit = str(b.get("git_commit") or "not recorded")[:12] + (" (dirty)" if b.get("git_dirty") else "")
        cells = by_seg.get(i)
        rows.append({"#": i, "Started": sg.get("started_utc", "?"), "Ended": sg.get("ended_utc") or "?",
                     "bench commit": commit, "Engine": e.get("server") or "not recorded",
                     "Machine": (f"{mach.get('cpus', '?')} × {mach.get('cpu_model', '?')}, host {mach.get('hostname_hash', '?')}"
                                 if mach else "not recorded")
                     + (f", shard {sg['shard']} ({sg.get('shard_run_id', '?')})" if sg.get("shard") else ""),
                     "Cells": f"{sg.get('cells', 0)}: {', '.join(cells)}" if cells else
                     f"{sg.get('cells', 0)} (which ones was not recorded before schema 2)"})
    return "\n**Segments** (one per invocation of `bench run`)\n\n" + fmt.markdown_table(pd.DataFrame(rows)) + "\n"


NO_ARTICLE_APPS = ("None of this run's apps is one of the article's (its Node, Python, Go and Java "
                   "scenarios): its claims are not judged here. Run bench's own sample apps for that.")


def has_article_apps(run: RunData, claims: dict) -> bool:
    """Whether any app of the run stands for one of the article's scenarios."""
    from bench.report.claims_data import apps_for

    return any(apps_for(key, list(run.apps), claims) for key in claims["scenarios"])


def _header(run: RunData, counts: dict, warnings: list[str], summary: pd.DataFrame, article: bool = True) -> str:
    """Title, the synthetic / incomplete warnings, provenance and the verdict counts."""
    p = [f"# bench report: run `{run.run_id}`\n\n",
         f"<!-- Generated by `python -m bench report {run.run_id}` from the stored results alone. "
         "Do not edit by hand: change bench/report/ and regenerate. -->\n\n"]
    if run.superseded:
        sup = run.superseded
        p.append(f"> [!IMPORTANT]\n> **Superseded** by run `{sup['by']}` (`results/runs/{sup['by']}/`): {sup['why']} "
                 "Kept for reference; cite the newer run.\n\n")
    if run.provenance.synthetic:
        p.append("> [!CAUTION]\n> **SYNTHETIC FIXTURE — NOT MEASUREMENTS.** Every number below was made up "
                 "by a test fixture generator. Do not cite anything from this report.\n\n")
    if not run.provenance.complete:
        missing = run.metadata.get("missing_cells") or []
        listed = f" Not measured: {', '.join(f'`{k}`' for k in missing)}." if missing else ""
        p.append(f"> [!WARNING]\n> This run is **incomplete**: some cells were not measured.{listed}\n\n")
    if not article:
        p.append("What each variant of these apps measures, against each app's before.\n\n")
        p.append(provenance_block(run) + "\n")
        return "".join(p)
    p.append("This report reproduces the comparison of *How to Reduce Docker Image Size: Multi-Stage Builds and "
             "Best Practices (2026)* from measurements, and says where the article holds and where it does not.\n\n")
    p.append(provenance_block(run) + "\n")
    p.append(f"**Verdicts**: {counts[claims_mod.HOLDS]} claims hold, {counts[claims_mod.OFF]} are off, "
             f"{counts[claims_mod.INCONCLUSIVE]} are inconclusive (too few apps, or within noise of the "
             f"tolerance), {counts[claims_mod.UNTESTABLE]} are not testable here (reasons in the claims table). "
             f"Timing medians whose 95% interval is wider than ±{stats.CI_HALF_WIDTH_WARN:.0%}: "
             f"{len(stats.interval_warnings(summary))}; unstable numbers (CV > {stats.CV_LIMIT:.0%}): "
             f"{len(warnings)}.\n\n")
    return "".join(p)


def _charts(chart_prefix: str, charts: list[str], names: tuple[str, ...]) -> str:
    return "".join(_img(chart_prefix, n) + "\n" for n in names if n in charts)


def _before_after_section(ba: pd.DataFrame, article: bool = True) -> str:
    return (("## 1. The article's before/after, measured\n\n" if article else "## 1. Before and after\n\n") +
            "*Before* is the app's `baseline` (app.toml), else its `bloated` variant, else its first. Three *afters*: the **article's recipe** (variant `article`, "
            "the article's snippet as written), the app's **practical** choice (app.toml `practical`: what a "
            "team would routinely ship) and the **ceiling** (the smallest variant whose smoke check passed). "
            "An image that does not serve is never an \"after\": its size is shown as that of a broken image. "
            "In brackets: the change against the before. Sizes are on disk, as `docker images` and the "
            "article print them, in decimal units (1 MB = 10⁶ B); each is a single deterministic "
            "measurement (an image's size does not vary between repetitions), so it carries no interval.\n\n" + before_after_table(ba) + "\n")


def _intervals_part(summary: pd.DataFrame) -> str:
    """The timing medians whose 95% interval is wider than ±10% of the median, and what to do."""
    wide = stats.interval_warnings(summary)
    timed = summary[(summary["unit"] == stats.TIMING_UNIT) & summary["metric"].isin(stats.CHECKED_METRICS)]
    with_ci = int(timed["ci_lo"].notna().sum())
    if not with_ci:
        return (f"No timing here has the {MIN_N} repetitions a 95% interval needs "
                f"({stats.NO_INTERVAL}); a run with `--repeat 3` or more gives one.\n\n")
    if not wide:
        return (f"Every one of the {with_ci} timing medians with an interval has a 95% interval within "
                f"±{stats.CI_HALF_WIDTH_WARN:.0%} of the median.\n\n")
    p = [f"**{len(wide)} of {with_ci} timing medians have a 95% interval wider than "
         f"±{stats.CI_HALF_WIDTH_WARN:.0%} of the median**: {stats.CI_HINT} before citing them. "
         "Changes against the parent that rest on them print as ~ unless the intervals part.\n\n",
         f"<details><summary>All {len(wide)}</summary>\n\n"]
    p.extend(f"- ⚠ {w}\n" for w in wide)
    p.append("\n</details>\n\n")
    return "".join(p)


def _stability_section(summary: pd.DataFrame, warnings: list[str]) -> str:
    p = ["## 6. Stability\n\n", _intervals_part(summary)]
    if warnings:
        p.append(f"{len(warnings)} {'number varies' if len(warnings) == 1 else 'numbers vary'} by more than {stats.CV_LIMIT:.0%} between repetitions "
                 "(coefficient of variation = stdev / mean). Treat them with care. By kind: "
                 f"{stability_counts(summary)}.\n\n")
        p.append(f"<details><summary>All {len(warnings)}, with the build step that moved most where it is "
                 "a build</summary>\n\n")
        p.extend(f"- ⚠ {w}\n" for w in warnings)
        p.append("\n</details>\n")
    else:
        p.append(f"No number the report relies on varies by more than {stats.CV_LIMIT:.0%} between repetitions.\n")
    checked = summary[summary["metric"].isin(stats.CHECKED_METRICS)]
    single = checked[checked["n"] < 2]
    timed = single[single["unit"] == "s"]
    if len(timed):
        p.append(f"\n{len(timed)} of the timings above come from a single sample, so their stability is unknown; "
                 "a run with `--repeat 3` or more measures it.\n")
    return "".join(p)


METHOD = (
    "\n## Method\n\n"
    "- Every timing is the median of the stored samples of one app/variant/scenario/metric "
    "(warmup repetitions kept in the data, never summarised), with its " + CI_METHOD + "; "
    "`report/summary.csv` has it as ci_lo, ci_hi. A change against the parent is called real only "
    "when the two intervals do not overlap; otherwise it prints as ~. CV is the sample standard "
    "deviation over the mean (pyperf's check).\n"
    "- Sizes (on disk, compressed, layers, counts) are single deterministic measurements: an "
    "image's size does not vary between repetitions, so they carry no interval and no whiskers.\n"
    "- On-disk size (`disk_bytes`) is what `docker images` shows and what the article quotes; "
    "compressed size (`compressed_bytes`) is the sum of the manifest's layer blobs, which is what a "
    "pull moves. The pull model is compressed bytes × 8 / bandwidth.\n"
    "- The claims, their wording and the verdict rule live in `bench/report/claims.toml`; verdicts "
    "are computed, never written by hand. Raw samples: `samples.csv` in the run folder; the "
    "claims with measured values: `report/claims.csv`.\n")


def render(run: RunData, chart_prefix: str, *, summary: pd.DataFrame | None = None,
           claims: dict | None = None, evaluated: pd.DataFrame | None = None,
           charts: list[str] | None = None, warnings: list[str] | None = None) -> str:
    claims = claims or load_claims_file()
    summary = summary if summary is not None else stats.summarize(run.samples)
    ev = evaluated if evaluated is not None else claims_mod.evaluate(run, summary, claims)
    charts = charts if charts is not None else list(CHART_TEXT)
    warnings = warnings if warnings is not None else stats.cv_warnings(summary, run.samples)
    article = has_article_apps(run, claims)
    return "".join([
        _header(run, claims_mod.summary_counts(ev), warnings, summary, article),
        "## Where the article holds and where it does not\n\n" + findings(ev) + "\n" if article else "",
        _before_after_section(tables.before_after(run, summary, claims), article),
        _charts(chart_prefix, charts, ("sizes", "waterfall")),
        "## 2. The article's claims\n\n" + f"Rule: {claims['rules']['text']}\n\n" + claims_table(ev) + "\n"
        if article else "## 2. The article's claims\n\n" + NO_ARTICLE_APPS + "\n\n",
        "## 3. Base images\n\n",
        "Scenario `base` rows: each base image on its own. A **stand-in** is a local image bench built "
        "because the upstream one cannot be pulled on this machine; its size is not the upstream size.\n\n",
        bases_table(tables.bases(run, summary, claims)) + "\n",
        "## 4. Technique ablation: each variant against its parent\n\n",
        ablation_tables(run, tables.ablation(run, summary)) + "\n",
        _charts(chart_prefix, charts, ("build_times", "pull_times", "layers", "efficiency")),
        "## 5. Cells\n\n", cells_table(run) + "\n", time_by_phase(run), floor_section(run),
        _stability_section(summary, warnings),
        METHOD,
    ])
