"""The article's claims (claims.toml) against a run: measured value and a verdict for each.

Verdicts:
  holds               within the stated tolerance (claims.toml [rules])
  off                 outside it; the text says by how much ("off by +38%")
  inconclusive        with the reason: within noise of the tolerance (it would flip within
                      claims.toml's noise_points of it), or a claim about most apps judged on
                      fewer than min_cases apps
  not testable here   with the reason (no base of the kind reachable, Spring Boot not
                      built, nothing measured); a measured value may still be shown for reference
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd

from bench.report import fmt, stats, tables
from bench.report.claims_data import apps_for, load_claims_file
from bench.report.load import RunData
from bench.settings import BANDWIDTHS

HOLDS, OFF, INCONCLUSIVE, UNTESTABLE = "holds", "off", "inconclusive", "not testable here"

ON_DISK_NOTE = ("the article's sizes are on-disk (`docker images`), compared here with on-disk "
                "disk_bytes; a pull moves the compressed bytes")
STANDIN_NOTE = "built with local stand-in bases, not the upstream images"


@dataclass(frozen=True)
class Verdict:
    status: str  # holds | off | not testable here
    text: str
    deviation: float = float("nan")  # relative (sizes, times) or percentage points (reductions)


def relative(measured: float, article: float, tol: float, noise: float = 0.0) -> Verdict:
    """`noise` (a fraction, like `tol`): a deviation this close to the tolerance is inconclusive."""
    if fmt.missing(measured):
        return Verdict(UNTESTABLE, "not measured")
    if article == 0:
        return Verdict(HOLDS if measured == 0 else OFF, "holds" if measured == 0 else "off (article: 0)")
    dev = measured / article - 1
    if noise and abs(abs(dev) - tol) <= noise:
        return Verdict(INCONCLUSIVE, f"inconclusive: {dev * 100:+.1f}%, within {noise * 100:g} pp "
                                     f"of the ±{tol * 100:g}% tolerance, so noise decides", dev)
    if abs(dev) <= tol:
        return Verdict(HOLDS, f"holds ({dev * 100:+.0f}%)", dev)
    return Verdict(OFF, f"off by {dev * 100:+.0f}%", dev)


def points(measured_pct: float, article_pct: float, tol_pp: float, noise_pp: float = 0.0) -> Verdict:
    if fmt.missing(measured_pct):
        return Verdict(UNTESTABLE, "not measured")
    dev = measured_pct - article_pct
    if noise_pp and abs(abs(dev) - tol_pp) <= noise_pp:
        return Verdict(INCONCLUSIVE, f"inconclusive: {dev:+.2f} pp, within {noise_pp:g} pp of "
                                     f"the ±{tol_pp:g} pp tolerance, so noise decides", dev)
    if abs(dev) <= tol_pp:
        return Verdict(HOLDS, f"holds ({dev:+.1f} pp)", dev)
    return Verdict(OFF, f"off by {dev:+.1f} percentage points", dev)


def within_range(measured: float, low: float, high: float, tol: float, noise: float = 0.0) -> Verdict:
    if fmt.missing(measured):
        return Verdict(UNTESTABLE, "not measured")
    for name, edge in (("lower", low * (1 - tol)), ("upper", high * (1 + tol))):
        if noise and abs(measured / edge - 1) <= noise:
            return Verdict(INCONCLUSIVE, f"inconclusive: within {noise * 100:g}% of the widened range's {name} "
                                         f"end ({fmt.size(edge)}), so noise decides", measured / edge - 1)
    if low * (1 - tol) <= measured <= high * (1 + tol):
        return Verdict(HOLDS, "holds" + ("" if low <= measured <= high else " (within tolerance)"), 0.0)
    edge = low if measured < low else high
    dev = measured / edge - 1
    return Verdict(OFF, f"off by {dev * 100:+.0f}% from the range's {'lower' if edge == low else 'upper'} end", dev)


@dataclass(frozen=True)
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
    compared: str = ""  # what was measured: "node/bloated → node/multistage", a base's ref, ...


def _untestable(c: dict, why: str, article: str, measured: str = "–", value=float("nan"), unit="",
                compared: str = "") -> Result:
    return Result(c["id"], c["section"], c["quote"], c["kind"], article, measured, UNTESTABLE,
                  f"not testable here: {why}", "", value, c.get("article", float("nan")), unit, compared)


def step_name(app: str, parent: str, variant: str) -> str:
    """A comparison of two variants of one app: "node/bloated → node/multistage"."""
    return f"{app}/{parent} → {app}/{variant}"


def _by_app(pairs) -> str:
    """(app, variant) pairs as "go: bloated, scratch; node: bloated"."""
    apps: dict[str, list[str]] = {}
    for app, variant in pairs:
        apps.setdefault(app, []).append(variant)
    return "; ".join(f"{a}: {', '.join(vs)}" for a, vs in apps.items())


def _pct(x: float) -> str:
    return "–" if fmt.missing(x) else f"{x:.0f}%"


# Layers that only refresh the apt lists: their size is the size of the lists.
_APT_UPDATE_ONLY = re.compile(r"apt-get\s+(-\S+\s+)*update\b", re.I)


def apt_update_layers(summary: pd.DataFrame) -> list[tuple[str, str, str, float]]:
    """(app, variant, layer, median bytes) of each layer that only runs `apt-get update`."""
    hits = []
    for r in summary[(summary["metric"] == "layer_bytes")].itertuples(index=False):
        instr = r.detail.split(":", 1)[-1]
        if _APT_UPDATE_ONLY.search(instr) and not re.search(r"install|&&|;", instr):
            hits.append((r.app, r.variant, r.detail, r.median))
    return hits


def apt_lists_bytes(run: RunData, summary: pd.DataFrame) -> tuple[float, list[str]]:
    hits = apt_update_layers(summary)
    if not hits:
        return np.nan, []
    return float(np.median([h[3] for h in hits])), [f"{a}/{v} `{d}` {fmt.size(m)}" for a, v, d, m in hits]


def pulled(v: pd.DataFrame, summary: pd.DataFrame, profile: str) -> list[tuple]:
    """(app, variant, on-disk bytes, median pull seconds, compressed bytes) of each variant
    pulled at `profile` whose size is known."""
    pts = []
    for r in v.itertuples(index=False):
        s = stats.median_of(summary, r.app, r.variant, "pull", "pull_seconds", profile)
        if s is not None and not fmt.missing(r.disk_bytes):
            pts.append((r.app, r.variant, float(r.disk_bytes), float(s["median"]), float(r.compressed_bytes)))
    return pts


def pull_estimate(v: pd.DataFrame, summary: pd.DataFrame, profile: str, size: float):
    """Measured pull seconds at `profile` against on-disk size, fitted and read at `size`."""
    pts = [p[2:] for p in pulled(v, summary, profile)]
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
                     "adds": tables.added(r.techniques, p["techniques"].iloc[0]),
                     "base_change": base_change(p.iloc[0].get("runtime_base"), getattr(r, "runtime_base", "")),
                     "saved_bytes": pb - r.disk_bytes, "reduction": 1 - r.disk_bytes / pb if pb else np.nan})
    return pd.DataFrame(rows, columns=["app", "variant", "parent", "techniques", "adds", "base_change",
                                       "saved_bytes", "reduction"])


def base_change(parent_base, base) -> str:
    """"eclipse-temurin:17-jre → debian:bookworm-slim" when a step moves its built stage to
    another image (read from the FROM lines, not the tags); "" when it does not, or when the
    run did not record runtime bases (runs before they were kept)."""
    a, b = str(parent_base or ""), str(base or "")
    return f"{a} → {b}" if a and b and a != b else ""


@dataclass(frozen=True, eq=False)
class Context:
    """What every evaluator reads, computed once per evaluation (not once per claim)."""
    run: RunData
    summary: pd.DataFrame
    claims: dict
    tol: float  # relative tolerance (sizes, times)
    tol_pp: float  # percentage points (reductions)
    noise_pp: float  # a verdict this close to its tolerance (in percentage points) is inconclusive
    min_cases: int  # a claim about most apps needs this many apps
    variants: pd.DataFrame  # tables.variants
    before_after: pd.DataFrame  # tables.before_after
    bases: pd.DataFrame  # tables.bases, indexed by ref
    steps: pd.DataFrame  # steps(): each working variant against its working parent


def context(run: RunData, summary: pd.DataFrame, claims: dict) -> Context:
    rules = claims["rules"]
    v = tables.variants(run, summary)
    return Context(run, summary, claims, rules["relative_tolerance"], rules["points_tolerance"],
                   rules["noise_points"], rules["min_cases"], v,
                   tables.before_after(run, summary, claims),
                   tables.bases(run, summary, claims).set_index("ref"), steps(run, v))


def _judged(c: dict, art: str, shown: str, ver: Verdict, note: str, value: float, article_value: float,
            unit: str, compared: str) -> Result:
    return Result(c["id"], c["section"], c["quote"], c["kind"], art, shown, ver.status, ver.text, note,
                  value, article_value, unit, compared)


def _too_few(ctx: Context, apps: int) -> Verdict | None:
    if apps < ctx.min_cases:
        return Verdict(INCONCLUSIVE, f"inconclusive: judged on {apps} app{'s' if apps != 1 else ''} only; "
                                     f"a claim about most apps needs at least {ctx.min_cases}")
    return None


def _majority(c: dict, ctx: Context, art: str, shown: str, hits: pd.Series, text: tuple[str, str], note: str,
              compared: str) -> Result:
    """A claim about most apps: holds when more than half of `hits` (one per app) are true;
    inconclusive on too few apps or on a tie (within noise of half)."""
    holds = hits.sum() * 2 > len(hits)
    ver = _too_few(ctx, len(hits))
    if ver is None and abs(hits.mean() - 0.5) * 100 <= ctx.noise_pp:
        ver = Verdict(INCONCLUSIVE, f"inconclusive: a tie, {int(hits.sum())} of {len(hits)} apps")
    ver = ver or Verdict(HOLDS if holds else OFF, text[0] if holds else text[1])
    return _judged(c, art, shown, ver, note, float(hits.mean()), 1.0, "ratio", compared)


def eval_untestable(c: dict, ctx: Context) -> Result:
    return _untestable(c, c["why"], fmt.size(c.get("article")) if "article" in c else "–")


def _scenario_row(c: dict, ctx: Context):
    """The before/after row of the run's app for the claim's scenario, or None."""
    apps = apps_for(c["scenario"], ctx.run.apps, ctx.claims)
    if not apps:
        return None
    return apps[0], ctx.before_after[ctx.before_after["app"] == apps[0]].iloc[0]


RECIPE = "article"  # tables.ARTICLE_VARIANT: the article's own snippet, built as written


def _after_of(c: dict, app: str, row) -> tuple[str, str, str]:
    """Which "after" a claim is judged on: (column prefix, note, why untestable).

    A claim marked `on = "article"` (the article's own before/after examples) is judged on the
    app's `article` variant when the run has one; a broken `article` image judges nothing;
    without one it falls back to the ceiling (the smallest that passed smoke), and says so."""
    if c.get("on") != RECIPE:
        return "after", "", ""
    if not isinstance(row.get("recipe_variant"), str):
        return "after", (f"this run has no `{RECIPE}` variant of {app} (the article's recipe): judged on "
                         "the ceiling, the smallest variant that passed smoke, which is another recipe"), ""
    if fmt.missing(row.get("recipe_bytes")):
        return "recipe", "", f"{app}/{RECIPE} was not measured in this run"
    if not row.get("recipe_ok"):
        return "recipe", "", f"{app}/{RECIPE} did not pass its smoke check: a broken image is no \"after\""
    return "recipe", f"the article's own recipe: {app}/{RECIPE}", ""


def _scenario_claim(c: dict, ctx: Context, art: str, measure) -> Result:
    """app_size and reduction: `measure(app, row, after)` gives (value, shown, unit, verdict,
    notes, compared); `after` is the column prefix of the "after" (see _after_of)."""
    sc = ctx.claims["scenarios"][c["scenario"]]
    found = _scenario_row(c, ctx)
    if found is None:
        return _untestable(c, f"no app for the article's {sc['label']} was built in this run", art)
    app, row = found
    after, after_note, broken = _after_of(c, app, row)
    if broken and not (c["kind"] == "app_size" and c["which"] == "before"):
        return _untestable(c, broken, art)
    val, shown, unit, judge, notes, compared = measure(app, row, after)
    if sc.get("untestable"):
        return _untestable(c, sc["untestable"], art, shown, val, unit, compared)
    if fmt.missing(val):
        if fmt.missing(row["before_bytes"]) and not (c["kind"] == "app_size" and c["which"] == "after"):
            why = f"{app} has no measured bloated variant"
        elif row["after_pending"]:
            why = f"no variant of {app} smaller than bloated has been measured in this run yet"
        else:
            why = f"no variant of {app} other than bloated passed its smoke check"
        return _untestable(c, why, art)
    if after_note and not (c["kind"] == "app_size" and c["which"] == "before"):
        notes.append(after_note)
    if row["standin"]:
        notes.append(STANDIN_NOTE)
    if sc.get("note"):
        notes.append(sc["note"])
    if row["smaller_but_failed"] and after == "after":
        notes.append(f"smaller but failed smoke, so not counted: {row['smaller_but_failed']}")
    return _judged(c, art, shown, judge(val), "; ".join(notes), float(val), float(c["article"]), unit, compared)


def eval_app_size(c: dict, ctx: Context) -> Result:
    def measure(app, row, after):
        which = "before" if c["which"] == "before" else after
        val = row[f"{which}_bytes"]
        shown = fmt.size(val)
        if not fmt.missing(val):
            shown += f" ({app}/{row[f'{which}_variant']}; compressed {fmt.size(row[f'{which}_compressed_bytes'])})"
        variant = row[f"{which}_variant"]
        compared = f"{app}/{variant}" if isinstance(variant, str) else ""
        return val, shown, "B", lambda x: relative(x, c["article"], ctx.tol, ctx.noise_pp / 100), [ON_DISK_NOTE], compared

    return _scenario_claim(c, ctx, fmt.size(c["article"]), measure)


def eval_reduction(c: dict, ctx: Context) -> Result:
    def measure(app, row, after):
        red = row["reduction" if after == "after" else f"{after}_reduction"]
        val = red * 100 if not fmt.missing(red) else np.nan
        variant = row[f"{after}_variant"]
        shown = _pct(val)
        if not fmt.missing(val):
            shown += f" ({app}: {row['before_variant']} → {variant})"
        compared = (step_name(app, row["before_variant"], variant)
                    if isinstance(row["before_variant"], str) and isinstance(variant, str) else "")
        return val, shown, "%", lambda x: points(x, c["article"], ctx.tol_pp, ctx.noise_pp), [], compared

    return _scenario_claim(c, ctx, _pct(c["article"]), measure)


def eval_recipe_reduction(c: dict, ctx: Context) -> Result:
    """Multi-stage together with the smaller base the article's example also takes: each app's
    `article` variant against its bloated one, median over apps."""
    art, ba = _pct(c["article"]), ctx.before_after
    if "recipe_variant" not in ba:
        return _untestable(c, f"this run has no `{RECIPE}` variant (the article's recipe)", art)
    built = ba[ba["recipe_variant"].map(lambda v: isinstance(v, str)) & ba["before_bytes"].notna()]
    if built.empty:
        return _untestable(c, f"this run has no `{RECIPE}` variant (the article's recipe) beside a bloated one", art)
    ok = built[built["recipe_ok"].astype(bool) & built["recipe_reduction"].notna()]
    broken = [f"{r.app}/{RECIPE}" for r in built.itertuples() if not r.recipe_ok]
    if ok.empty:
        return _untestable(c, f"no `{RECIPE}` variant passed its smoke check ({', '.join(broken)})", art)
    val = float(ok["recipe_reduction"].median() * 100)
    shown = f"{val:.0f}% (median of {len(ok)}: " + ", ".join(
        f"{r.app} {r.recipe_reduction:.0%}" for r in ok.itertuples()) + ")"
    ver = _too_few(ctx, len(ok)) or points(val, c["article"], ctx.tol_pp, ctx.noise_pp)
    note = "each app's `article` variant (multi-stage plus the article's smaller base) against its bloated one"
    if broken:
        note += f"; broken images left out: {', '.join(broken)}"
    return _judged(c, art, shown, ver, note, val, float(c["article"]), "%",
                   ", ".join(step_name(r.app, r.before_variant, RECIPE) for r in ok.itertuples()))


def eval_base_size(c: dict, ctx: Context) -> Result:
    ref, art, bases = c["ref"], fmt.size(c["article"]), ctx.bases
    if ref not in bases.index or not bases.loc[ref, "measured"]:
        why = bases.loc[ref, "reason"] if ref in bases.index else "this run did not use or measure it"
        return _untestable(c, f"{ref}: {why}", art)
    b = bases.loc[ref]
    shown = f"{fmt.size(b['disk_bytes'])} (compressed {fmt.size(b['compressed_bytes'])})"
    ver = relative(b["disk_bytes"], c["article"], ctx.tol, ctx.noise_pp / 100)
    if b["standin"] and (getattr(ctx.run, "metadata", None) or {}).get("read_from_schema") == 1:
        return _untestable(
            c, f"this run's stand-in for {ref} was sized against the article's own base table (results schema 1): "
               "judging the article with it would be circular", art, shown + " stand-in", float(b["disk_bytes"]), "B",
            f"{ref} (stand-in)")
    if b["standin"]:
        # Judged like every app size built on the stand-ins, and labelled the same way: the
        # stand-in follows upstream's recipe layer by layer, but it is not the upstream image.
        inside = f", {b['runtime']} inside" if b["runtime"] else ""
        note = (f"measured on bench's stand-in for {ref} (built from upstream's recipe{inside}), not the "
                f"upstream image: the verdict is about a faithful rebuild; {ON_DISK_NOTE}")
        return _judged(c, art, shown + " stand-in", ver, note, float(b["disk_bytes"]), float(c["article"]), "B",
                       f"{ref} (stand-in)")
    return _judged(c, art, shown, ver, ON_DISK_NOTE, float(b["disk_bytes"]), float(c["article"]), "B", ref)


def _pull_notes(c: dict, ctx: Context, ratio: float, extrapolated: bool) -> list[str]:
    bw = bandwidth_bps(c["profile"], ctx.run.samples)
    notes = []
    if bw:
        notes.append(f"the article's arithmetic counts on-disk bytes: {fmt.size(c['size'])} × 8 / "
                     f"{bw / 1e6:g} Mbit/s = {c['size'] * 8 / bw:.0f} s")
        if not fmt.missing(ratio):
            notes.append(f"a pull moves compressed bytes (median {ratio:.0%} of on-disk here: "
                         f"{c['size'] * ratio * 8 / bw:.0f} s on the wire), then decompresses and extracts")
    if extrapolated:
        notes.append("extrapolated beyond the measured image sizes")
    return notes


def eval_pull_time(c: dict, ctx: Context) -> Result:
    art = fmt.seconds(c["article"])
    est, n, extrapolated, ratio = pull_estimate(ctx.variants, ctx.summary, c["profile"], c["size"])
    if n == 0:
        return _untestable(c, f"no pulls were measured at profile {c['profile']}", art)
    if fmt.missing(est):
        return _untestable(
            c, f"the {n} images pulled at {c['profile']} are too few or too alike in size to read a "
               f"pull time at {fmt.size(c['size'])} (a fit needs {FIT_MIN_IMAGES} sizes spread "
               f"{FIT_SPREAD:g}-fold, read at most {FIT_REACH:g}-fold beyond them)", art)
    how = f"linear fit of measured pulls at {c['profile']} over {n} images, by on-disk size"
    compared = _by_app((p[0], p[1]) for p in pulled(ctx.variants, ctx.summary, c["profile"]))
    return _judged(c, art, f"{fmt.seconds(est)} ({how})", relative(est, c["article"], ctx.tol, ctx.noise_pp / 100),
                   "; ".join(_pull_notes(c, ctx, ratio, extrapolated)), est, float(c["article"]), "s", compared)


def eval_range(c: dict, ctx: Context) -> Result:
    art = f"{fmt.size(c['low'])}–{fmt.size(c['high'])}"
    if c["measure"] != "apt_lists":
        return _untestable(c, f"bench has no measurement named {c['measure']!r}", art)
    val, where = apt_lists_bytes(ctx.run, ctx.summary)
    if fmt.missing(val):
        return _untestable(c, "no variant has a layer that only runs `apt-get update`, "
                              "so the lists' size was not isolated", art)
    return _judged(c, art, fmt.size(val), within_range(val, c["low"], c["high"], ctx.tol, ctx.noise_pp / 100),
                   "size of update-only layers: " + "; ".join(where), val, float(c["high"]), "B",
                   _by_app(dict.fromkeys(h[:2] for h in apt_update_layers(ctx.summary))))


def eval_technique_reduction(c: dict, ctx: Context) -> Result:
    art, st = _pct(c["article"]), ctx.steps
    t = st[st["adds"].str.split("+").map(lambda ts: c["technique"] in ts)]
    if t.empty:
        return _untestable(c, f"no working variant uses {c['technique']} against a measured parent", art)
    val = float(t["reduction"].median() * 100)
    shown = f"{val:.0f}% (median of {len(t)}: " + ", ".join(
        f"{r.app}/{r.variant} {r.reduction:.0%}" for r in t.itertuples()) + ")"
    ver = _too_few(ctx, t["app"].nunique()) or points(val, c["article"], ctx.tol_pp, ctx.noise_pp)
    return _judged(c, art, shown, ver,
                   f"each step that adds {c['technique']}, against its parent (so the technique on "
                   "its own), on-disk bytes; variants that failed smoke left out", val, float(c["article"]), "%",
                   ", ".join(step_name(r.app, r.parent, r.variant) for r in t.itertuples()))


def eval_largest_technique(c: dict, ctx: Context) -> Result:
    wanted = [c["technique"]] if isinstance(c["technique"], str) else list(c["technique"])
    art, st = " or ".join(wanted), ctx.steps
    if st.empty:
        return _untestable(c, "no working variant has a measured parent", art)
    best = st.loc[st.groupby("app")["saved_bytes"].idxmax()]
    by_base = bool(c.get("credit_base_change"))
    uses = best["adds"].str.split("+").map(lambda ts: any(t in ts for t in wanted))
    if by_base:  # a step that moves to another base is a base choice, whatever its tags say
        uses = uses | (best["base_change"] != "")
    shown = "; ".join(f"{r.app}: {r.parent} → {r.variant} (adds {_adds(r, by_base)}) "
                      f"saves {fmt.size(r.saved_bytes)}" for r in best.itertuples())
    n, k = len(best), int(uses.sum())
    how = ("the largest single step (variant against its parent) per app, credited with "
           "the techniques it adds; a step that adds two is credited to both")
    if by_base:
        how += "; a step whose built stage starts from another image (its FROM lines) counts as a base choice"
    return _majority(c, ctx, art, shown, uses,
                     (f"holds: the biggest step uses {art} in {k} of {n} apps",
                      f"does not hold: the biggest step uses {art} in {k} of {n} apps"),
                     how + "; which step is biggest depends on the order of the app's ladder",
                     ", ".join(step_name(r.app, r.parent, r.variant) for r in best.itertuples()))


def _adds(step, with_base: bool) -> str:
    """A step's added tags, and its base change when the claim is about base choice."""
    parts = [t for t in str(step.adds).split("+") if t]
    if with_base and step.base_change:
        parts.append(f"base {step.base_change}")
    return ", ".join(parts) or "nothing"


def eval_routine_under(c: dict, ctx: Context) -> Result:
    """Of the apps whose before reaches `over`, most get an after under `under`; both marks
    with the ±tolerance of every size claim (before ≥ over × (1 − tol), after < under × (1 + tol)).
    An app within noise of the widened `under` that would flip the majority: inconclusive."""
    over, under = c["over"] * (1 - ctx.tol), c["under"] * (1 + ctx.tol)
    art, ba = f"≥ {fmt.size(c['over'])} → < {fmt.size(c['under'])}", ctx.before_after
    big = ba[(ba["before_bytes"] >= over) & ba["after_bytes"].notna()]
    if big.empty:
        why = (f"no app's bloated image reached {fmt.size(c['over'])} (less {ctx.tol:.0%})"
               if not (ba["before_bytes"] >= over).any()
               else f"no app whose bloated image reached {fmt.size(c['over'])} has a measured after yet")
        return _untestable(c, why, art)
    hits = big["after_bytes"] < under
    near = (big["after_bytes"] / under - 1).abs() <= ctx.noise_pp / 100
    shown = f"{int(hits.sum())} of {len(big)} apps: " + ", ".join(
        f"{r.app} {fmt.size(r.before_bytes)} → {fmt.size(r.after_bytes)}" for r in big.itertuples())
    k, n = int(hits.sum()), len(big)
    compared = ", ".join(step_name(r.app, r.before_variant, r.after_variant) for r in big.itertuples())
    note = (f"\"routine\" read as: most apps whose before is over the mark; both marks widened by "
            f"±{ctx.tol:.0%} like every size claim ({fmt.size(over)}, {fmt.size(under)})")
    if near.any() and ((hits | near).sum() * 2 > n) != ((hits & ~near).sum() * 2 > n):
        ver = Verdict(INCONCLUSIVE, "inconclusive: " + ", ".join(big.loc[near, "app"]) +
                      f" within {ctx.noise_pp:g}% of the widened mark, so noise decides")
        return _judged(c, art, shown, ver, note, float(hits.mean()), 1.0, "ratio", compared)
    return _majority(c, ctx, art, shown, hits,
                     (f"holds: under {fmt.size(under)} (the mark + {ctx.tol:.0%}) in {k} of {n} apps",
                      f"does not hold: under {fmt.size(under)} (the mark + {ctx.tol:.0%}) in "
                      f"{'only ' if hits.any() else ''}{k} of {n} apps"),
                     note, compared)


def wire_shares(summary: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per pulled image at `profile`: median pull_wire_seconds / median pull_seconds."""
    sp = tables.pull_split(summary)
    sp = sp[sp["profile"] == profile]
    return sp.rename(columns={"wire_s": "wire", "pull_s": "pull", "wire_share": "share"})


def eval_pull_wire_share(c: dict, ctx: Context) -> Result:
    """The pull claim's mechanism: the article's arithmetic (size × 8 / bandwidth) counts the
    whole pull as wire time. Measured: the share of a throttled pull bytes spent flowing."""
    art = f"{c['article']:.0%} of the pull on the wire (size × 8 / bandwidth)"
    sh = wire_shares(ctx.summary, c["profile"])
    if sh.empty:
        return _untestable(c, f"pull_wire_seconds at {c['profile']}: not measured in this run", art)
    val = float(sh["share"].median())
    shown = (f"{val:.0%} on the wire (median of {len(sh)} images; e.g. " +
             ", ".join(f"{r.app}/{r.variant} {r.wire:.1f} of {r.pull:.1f} s" for r in sh.head(3).itertuples()) + ")")
    ver = relative(val, c["article"], ctx.tol, ctx.noise_pp / 100)
    if ver.status == HOLDS:
        ver = replace(ver, text=f"holds: {val:.0%} of a pull is wire time")
    elif ver.status == OFF:
        ver = replace(ver, text=f"off: only {val:.0%} of a pull is wire time; the rest is the registry's "
                                "round trips, decompression and extraction")
    return _judged(c, art, shown, ver, "median over images of median pull_wire_seconds / median pull_seconds "
                   "(wire = first to last byte through the throttle)", val, float(c["article"]), "ratio",
                   _by_app(zip(sh["app"], sh["variant"])))


Evaluator = Callable[[dict, Context], Result]

# One evaluator per claim kind (claims.toml's `kind`).
EVALUATORS: dict[str, Evaluator] = {
    "untestable": eval_untestable,
    "app_size": eval_app_size,
    "reduction": eval_reduction,
    "base_size": eval_base_size,
    "pull_time": eval_pull_time,
    "range": eval_range,
    "technique_reduction": eval_technique_reduction,
    "largest_technique": eval_largest_technique,
    "routine_under": eval_routine_under,
    "recipe_reduction": eval_recipe_reduction,
    "pull_wire_share": eval_pull_wire_share,
}


def _with_own_note(r: Result, c: dict) -> Result:
    """A claim may carry its own reading note (claims.toml `note`): how the article's figure
    was made, when that differs from what the measurement isolates."""
    if not c.get("note") or r.verdict == UNTESTABLE:
        return r
    return replace(r, note=f"{r.note}; {c['note']}" if r.note else c["note"])


def evaluate(run: RunData, summary: pd.DataFrame | None = None, claims: dict | None = None) -> pd.DataFrame:
    claims = claims or load_claims_file()
    summary = summary if summary is not None else stats.summarize(run.samples)
    ctx = context(run, summary, claims)
    results = [_with_own_note(EVALUATORS[c["kind"]](c, ctx), c) for c in claims["claims"]]
    return pd.DataFrame([asdict(r) for r in results])


def summary_counts(evaluated: pd.DataFrame) -> dict[str, int]:
    return {k: int((evaluated["verdict"] == k).sum()) for k in (HOLDS, OFF, INCONCLUSIVE, UNTESTABLE)}
