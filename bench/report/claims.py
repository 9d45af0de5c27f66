"""The article's claims (claims.toml) against a run: measured value and a verdict for each.

Verdicts:
  holds               within the stated tolerance (claims.toml [rules])
  off                 outside it; the text says by how much ("off by +38%")
  not testable here   with the reason (a stand-in base, Alpine unavailable, Spring Boot not
                      built, nothing measured); a measured value may still be shown for reference
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from bench.report import fmt, stats, tables
from bench.report.claims_data import apps_for, load_claims_file
from bench.report.load import RunData
from bench.settings import BANDWIDTHS

HOLDS, OFF, UNTESTABLE = "holds", "off", "not testable here"

ON_DISK_NOTE = ("the article's sizes are on-disk (`docker images`), compared here with on-disk "
                "disk_bytes; a pull moves the compressed bytes")
STANDIN_NOTE = "built with local stand-in bases, not the upstream images"


@dataclass(frozen=True)
class Verdict:
    status: str  # holds | off | not testable here
    text: str
    deviation: float = float("nan")  # relative (sizes, times) or percentage points (reductions)


def relative(measured: float, article: float, tol: float) -> Verdict:
    if fmt.missing(measured):
        return Verdict(UNTESTABLE, "not measured")
    if article == 0:
        return Verdict(HOLDS if measured == 0 else OFF, "holds" if measured == 0 else "off (article: 0)")
    dev = measured / article - 1
    if abs(dev) <= tol:
        return Verdict(HOLDS, f"holds ({dev * 100:+.0f}%)", dev)
    return Verdict(OFF, f"off by {dev * 100:+.0f}%", dev)


def points(measured_pct: float, article_pct: float, tol_pp: float) -> Verdict:
    if fmt.missing(measured_pct):
        return Verdict(UNTESTABLE, "not measured")
    dev = measured_pct - article_pct
    if abs(dev) <= tol_pp:
        return Verdict(HOLDS, f"holds ({dev:+.1f} pp)", dev)
    return Verdict(OFF, f"off by {dev:+.1f} percentage points", dev)


def within_range(measured: float, low: float, high: float, tol: float) -> Verdict:
    if fmt.missing(measured):
        return Verdict(UNTESTABLE, "not measured")
    if low * (1 - tol) <= measured <= high * (1 + tol):
        return Verdict(HOLDS, "holds" + ("" if low <= measured <= high else " (within tolerance)"), 0.0)
    edge = low if measured < low else high
    dev = measured / edge - 1
    return Verdict(OFF, f"off by {dev * 100:+.0f}% from the range's {'lower' if edge == low else 'upper'} end", dev)


@dataclass
class Result:
    id: str
    section: str
    quote: str
    kind: str
    article: str
    measured: str
    verdict: str
    verdict_text: str
    note: str = ""
    measured_value: float = float("nan")
    article_value: float = float("nan")
    unit: str = ""


def _untestable(c: dict, why: str, article: str, measured: str = "–", value=float("nan"), unit="") -> Result:
    return Result(c["id"], c["section"], c["quote"], c["kind"], article, measured, UNTESTABLE,
                  f"not testable here: {why}", "", value, c.get("article", float("nan")), unit)


def _pct(x: float) -> str:
    return "–" if fmt.missing(x) else f"{x:.0f}%"


# Layers that only refresh the apt lists: their size is the size of the lists.
_APT_UPDATE_ONLY = re.compile(r"apt-get\s+(-\S+\s+)*update\b", re.I)


def apt_lists_bytes(run: RunData, summary: pd.DataFrame) -> tuple[float, list[str]]:
    rows = summary[(summary["metric"] == "layer_bytes")]
    hits = []
    for r in rows.itertuples(index=False):
        instr = r.detail.split(":", 1)[-1]
        if _APT_UPDATE_ONLY.search(instr) and not re.search(r"install|&&|;", instr):
            hits.append((r.app, r.variant, r.detail, r.median))
    if not hits:
        return np.nan, []
    return float(np.median([h[3] for h in hits])), [f"{a}/{v} `{d}` {fmt.size(m)}" for a, v, d, m in hits]


def pull_estimate(v: pd.DataFrame, summary: pd.DataFrame, profile: str, size: float):
    """Measured pull seconds at `profile` against on-disk size, fitted and read at `size`."""
    pts = []
    for r in v.itertuples(index=False):
        s = stats.median_of(summary, r.app, r.variant, "pull", "pull_seconds", profile)
        if s is not None and not fmt.missing(r.disk_bytes):
            pts.append((float(r.disk_bytes), float(s["median"]), float(r.compressed_bytes)))
    if not pts:
        return np.nan, 0, False, np.nan
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    comp = np.array([p[2] for p in pts])
    ratio = float(np.nanmedian(comp / x)) if np.isfinite(comp).any() else np.nan
    extrapolated = not (x.min() <= size <= x.max())
    # A line through two images of nearly one size says nothing about a third size: fit only
    # images whose sizes spread at least FIT_SPREAD-fold, and read it at most FIT_REACH-fold
    # beyond them.
    if len(set(x)) < FIT_MIN_IMAGES or x.max() / x.min() < FIT_SPREAD:
        return np.nan, len(pts), extrapolated, ratio
    if size > x.max() * FIT_REACH or size < x.min() / FIT_REACH:
        return np.nan, len(pts), extrapolated, ratio
    b, a = np.polyfit(x, y, 1)
    est = float(a + b * size)
    return max(est, 0.0), len(pts), extrapolated, ratio


FIT_MIN_IMAGES, FIT_SPREAD, FIT_REACH = 3, 4.0, 2.0


def bandwidth_bps(profile: str, samples: pd.DataFrame | None = None) -> float | None:
    """A pull profile's bandwidth as the run recorded it (load_run puts the run's settings'
    bandwidths in the samples' attrs); runs that did not record them used bench's table."""
    recorded = samples.attrs.get("bandwidths") if samples is not None else None
    return (recorded or BANDWIDTHS).get(profile)


def steps(run: RunData, v: pd.DataFrame) -> pd.DataFrame:
    """Each working variant against its working parent: bytes saved and the reduction."""
    rows = []
    for r in v.itertuples(index=False):
        if not r.parent or not r.smoke_ok or fmt.missing(r.disk_bytes):
            continue
        p = v[(v["app"] == r.app) & (v["variant"] == r.parent)]
        if p.empty or fmt.missing(p["disk_bytes"].iloc[0]):
            continue
        pb = float(p["disk_bytes"].iloc[0])
        rows.append({"app": r.app, "variant": r.variant, "parent": r.parent, "techniques": r.techniques,
                     "adds": tables.added(r.techniques, p["techniques"].iloc[0]), "saved_bytes": pb - r.disk_bytes,
                     "reduction": 1 - r.disk_bytes / pb if pb else np.nan})
    return pd.DataFrame(rows, columns=["app", "variant", "parent", "techniques", "adds", "saved_bytes", "reduction"])


def evaluate(run: RunData, summary: pd.DataFrame | None = None, claims: dict | None = None) -> pd.DataFrame:
    claims = claims or load_claims_file()
    summary = summary if summary is not None else stats.summarize(run.samples)
    rules = claims["rules"]
    tol, tol_pp = rules["relative_tolerance"], rules["points_tolerance"]
    v = tables.variants(run, summary)
    ba = tables.before_after(run, summary, claims)
    bases = tables.bases(run, summary, claims).set_index("ref")
    results: list[Result] = []

    for c in claims["claims"]:
        kind = c["kind"]
        if kind == "untestable":
            results.append(_untestable(c, c["why"], fmt.size(c.get("article")) if "article" in c else "–"))
            continue

        if kind in ("app_size", "reduction"):
            sc = claims["scenarios"][c["scenario"]]
            is_size = kind == "app_size"
            art = fmt.size(c["article"]) if is_size else _pct(c["article"])
            apps = apps_for(c["scenario"], run.apps, claims)
            if not apps:
                results.append(_untestable(c, f"no app for the article's {sc['label']} was built in this run", art))
                continue
            row = ba[ba["app"] == apps[0]].iloc[0]
            if is_size:
                which = c["which"]
                val = row[f"{which}_bytes"]
                shown = fmt.spread(val, row[f"{which}_q1"], row[f"{which}_q3"], "B")
                if not fmt.missing(val):
                    shown += f" ({apps[0]}/{row[f'{which}_variant']}; compressed {fmt.size(row[f'{which}_compressed_bytes'])})"
                unit = "B"
            else:
                val = row["reduction"] * 100 if not fmt.missing(row["reduction"]) else np.nan
                shown = _pct(val)
                if not fmt.missing(val):
                    shown += f" ({apps[0]}: {row['before_variant']} → {row['after_variant']})"
                unit = "%"
            if sc.get("untestable"):
                results.append(_untestable(c, sc["untestable"], art, shown, val, unit))
                continue
            if fmt.missing(val):
                if fmt.missing(row["before_bytes"]) and not (is_size and c["which"] == "after"):
                    why = f"{apps[0]} has no measured bloated variant"
                elif row["after_pending"]:
                    why = f"no variant of {apps[0]} smaller than bloated has been measured in this run yet"
                else:
                    why = f"no variant of {apps[0]} other than bloated passed its smoke check"
                results.append(_untestable(c, why, art))
                continue
            ver = relative(val, c["article"], tol) if is_size else points(val, c["article"], tol_pp)
            notes = [ON_DISK_NOTE] if is_size else []
            if row["standin"]:
                notes.append(STANDIN_NOTE)
            if row["smaller_but_failed"]:
                notes.append(f"smaller but failed smoke, so not counted: {row['smaller_but_failed']}")
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown, ver.status, ver.text,
                                  "; ".join(notes), float(val), float(c["article"]), unit))
            continue

        if kind == "base_size":
            ref, art = c["ref"], fmt.size(c["article"])
            if ref not in bases.index or not bases.loc[ref, "measured"]:
                why = bases.loc[ref, "reason"] if ref in bases.index else "this run did not use or measure it"
                results.append(_untestable(c, f"{ref}: {why}", art))
                continue
            b = bases.loc[ref]
            shown = f"{fmt.size(b['disk_bytes'])} (compressed {fmt.size(b['compressed_bytes'])})"
            if b["standin"]:
                ver = relative(b["disk_bytes"], c["article"], tol)
                results.append(_untestable(
                    c, f"only a local stand-in for {ref} was measured; the stand-in is "
                       f"{fmt.size(b['disk_bytes'])}, {ver.deviation * 100:+.0f}% against the article",
                    art, shown + " stand-in", float(b["disk_bytes"]), "B"))
                continue
            ver = relative(b["disk_bytes"], c["article"], tol)
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown, ver.status, ver.text,
                                  ON_DISK_NOTE, float(b["disk_bytes"]), float(c["article"]), "B"))
            continue

        if kind == "pull_time":
            art = fmt.seconds(c["article"])
            est, n, extrapolated, ratio = pull_estimate(v, summary, c["profile"], c["size"])
            if n == 0:
                results.append(_untestable(c, f"no pulls were measured at profile {c['profile']}", art))
                continue
            if fmt.missing(est):
                results.append(_untestable(
                    c, f"the {n} images pulled at {c['profile']} are too few or too alike in size to read a "
                       f"pull time at {fmt.size(c['size'])} (a fit needs {FIT_MIN_IMAGES} sizes spread "
                       f"{FIT_SPREAD:g}-fold, read at most {FIT_REACH:g}-fold beyond them)", art))
                continue
            bw = bandwidth_bps(c["profile"], run.samples)
            notes = []
            if bw:
                notes.append(f"the article's arithmetic counts on-disk bytes: {fmt.size(c['size'])} × 8 / "
                             f"{bw / 1e6:g} Mbit/s = {c['size'] * 8 / bw:.0f} s")
                if not fmt.missing(ratio):
                    notes.append(f"a pull moves compressed bytes (median {ratio:.0%} of on-disk here: "
                                 f"{c['size'] * ratio * 8 / bw:.0f} s on the wire), then decompresses and extracts")
            if extrapolated:
                notes.append("extrapolated beyond the measured image sizes")
            how = f"linear fit of measured pulls at {c['profile']} over {n} images, by on-disk size"
            shown = f"{fmt.seconds(est)} ({how})"
            ver = relative(est, c["article"], tol)
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown, ver.status, ver.text,
                                  "; ".join(notes), est, float(c["article"]), "s"))
            continue

        if kind == "range":
            art = f"{fmt.size(c['low'])}–{fmt.size(c['high'])}"
            if c["measure"] != "apt_lists":
                results.append(_untestable(c, f"bench has no measurement named {c['measure']!r}", art))
                continue
            val, where = apt_lists_bytes(run, summary)
            if fmt.missing(val):
                results.append(_untestable(c, "no variant has a layer that only runs `apt-get update`, "
                                              "so the lists' size was not isolated", art))
                continue
            ver = within_range(val, c["low"], c["high"], tol)
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, fmt.size(val), ver.status,
                                  ver.text, "size of update-only layers: " + "; ".join(where), val,
                                  float(c["high"]), "B"))
            continue

        st = steps(run, v)
        if kind == "technique_reduction":
            art = _pct(c["article"])
            t = st[st["adds"].str.split("+").map(lambda ts: c["technique"] in ts)]
            if t.empty:
                results.append(_untestable(c, f"no working variant uses {c['technique']} against a measured parent", art))
                continue
            val = float(t["reduction"].median() * 100)
            ver = points(val, c["article"], tol_pp)
            shown = f"{val:.0f}% (median of {len(t)}: " + ", ".join(
                f"{r.app}/{r.variant} {r.reduction:.0%}" for r in t.itertuples()) + ")"
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown, ver.status, ver.text,
                                  f"each step that adds {c['technique']}, against its parent (so the technique on "
                                  "its own), on-disk bytes; variants that failed smoke left out",
                                  val, float(c["article"]), "%"))
            continue

        if kind == "largest_technique":
            wanted = [c["technique"]] if isinstance(c["technique"], str) else list(c["technique"])
            art = " or ".join(wanted)
            if st.empty:
                results.append(_untestable(c, "no working variant has a measured parent", art))
                continue
            best = st.loc[st.groupby("app")["saved_bytes"].idxmax()]
            uses = best["adds"].str.split("+").map(lambda ts: any(t in ts for t in wanted))
            shown = "; ".join(f"{r.app}: {r.parent} → {r.variant} (adds {r.adds.replace('+', ', ') or 'nothing'}) "
                              f"saves {fmt.size(r.saved_bytes)}" for r in best.itertuples())
            holds = uses.sum() * 2 > len(best)
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown,
                                  HOLDS if holds else OFF,
                                  f"{'holds' if holds else 'does not hold'}: the biggest step uses "
                                  f"{art} in {int(uses.sum())} of {len(best)} apps",
                                  "the largest single step (variant against its parent) per app, credited with "
                                  "the techniques it adds; a step that adds two is credited to both",
                                  float(uses.mean()), 1.0, "ratio"))
            continue

        if kind == "routine_under":
            art = f"≥ {fmt.size(c['over'])} → < {fmt.size(c['under'])}"
            big = ba[(ba["before_bytes"] >= c["over"]) & ba["after_bytes"].notna()]
            if big.empty:
                why = (f"no app's bloated image reached {fmt.size(c['over'])}"
                       if not (ba["before_bytes"] >= c["over"]).any()
                       else f"no app whose bloated image reached {fmt.size(c['over'])} has a measured after yet")
                results.append(_untestable(c, why, art))
                continue
            under = big["after_bytes"] < c["under"]
            shown = f"{int(under.sum())} of {len(big)} apps: " + ", ".join(
                f"{r.app} {fmt.size(r.before_bytes)} → {fmt.size(r.after_bytes)}" for r in big.itertuples())
            holds = under.sum() * 2 > len(big)
            results.append(Result(c["id"], c["section"], c["quote"], kind, art, shown,
                                  HOLDS if holds else OFF,
                                  f"holds: under it in {int(under.sum())} of {len(big)} apps" if holds else
                                  f"does not hold: under it in {'only ' if under.any() else ''}{int(under.sum())} "
                                  f"of {len(big)} apps",
                                  "\"routine\" read as: most apps whose before is over the mark", float(under.mean()),
                                  1.0, "ratio"))
            continue

    # A claim may carry its own reading note (claims.toml `note`): how the article's figure
    # was made, when that differs from what the measurement isolates.
    own = {c["id"]: c["note"] for c in claims["claims"] if c.get("note")}
    for r in results:
        if r.id in own and r.verdict != UNTESTABLE:
            r.note = f"{r.note}; {own[r.id]}" if r.note else own[r.id]
    return pd.DataFrame([asdict(r) for r in results])


def summary_counts(evaluated: pd.DataFrame) -> dict[str, int]:
    return {k: int((evaluated["verdict"] == k).sum()) for k in (HOLDS, OFF, UNTESTABLE)}
