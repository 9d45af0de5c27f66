"""The report's tables as DataFrames of numbers (formatting lives in markdown.py).

  variants(run)      one row per app/variant: status, smoke, sizes, parent
  before_after(run)  the article's comparison: bloated against the article's own recipe (variant
                     `article`), the app's practical "after" (app.toml `practical`) and the ceiling
                     (the smallest variant that passed smoke)
  bases(run)         scenario "base" rows: on-disk and compressed, stand-ins labelled
  ablation(run)      each variant against its parent, every measured dimension
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report import fmt, stats
from bench.report.claims_data import load_claims_file, scenario_for
from bench.report.load import BASES_APP, RunData

PROFILE_ORDER = ["loopback", "10gbit", "1gbit", "150mbit", "100mbit", "50mbit", "10mbit"]


def _summary(run: RunData, summary: pd.DataFrame | None) -> pd.DataFrame:
    return summary if summary is not None else stats.summarize(run.samples)


def _get(summary: pd.DataFrame, app, variant, scenario, metric, profile="", detail="", what="median"):
    r = stats.median_of(summary, app, variant, scenario, metric, profile, detail)
    return np.nan if r is None else float(r[what])


def _tri(v) -> bool | None:
    """True / False / None from a cells.json smoke_ok that may have become NaN or a string."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, str):
        s = v.strip().lower()
        return True if s in {"true", "1"} else False if s in {"false", "0"} else None
    return bool(v)


def smoke_passed(samples: pd.DataFrame, cells: pd.DataFrame | None, app: str, variant: str) -> bool:
    """True only with positive evidence: the cell says so, or every smoke_ok sample is 1,
    and nothing says otherwise. A variant that failed smoke never counts as an "after"."""
    s = samples
    oks = s[(s["app"] == app) & (s["variant"] == variant) & (s["metric"] == "smoke_ok")]["value"]
    cells = cells if cells is not None else pd.DataFrame(columns=["app", "variant", "smoke_ok"])
    cell = cells[(cells["app"] == app) & (cells["variant"] == variant)]
    flag = _tri(cell["smoke_ok"].iloc[0]) if len(cell) else None
    if flag is False or (len(oks) and (oks < 0.5).any()):
        return False
    return flag is True or (len(oks) > 0 and bool((oks >= 0.5).all()))


def profiles(run: RunData) -> list[str]:
    found = [p for p in run.samples.loc[run.samples["scenario"] == "pull", "profile"].unique() if p]
    return sorted(found, key=lambda p: (PROFILE_ORDER.index(p) if p in PROFILE_ORDER else 99, p))


def variants(run: RunData, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per app/variant in run order, with disk and compressed size and smoke result."""
    return variants_of(run.samples, run.cells, summary)


def variants_of(samples: pd.DataFrame, cells: pd.DataFrame | None,
                summary: pd.DataFrame | None = None) -> pd.DataFrame:
    summary = summary if summary is not None else stats.summarize(samples)
    rows = []
    if cells is None or cells.empty:  # a run without cells.json: rebuild the list from the samples
        pairs = samples.loc[samples["app"] != BASES_APP, ["app", "variant"]].drop_duplicates()
        standin = samples.groupby(["app", "variant"])["standin"].any()
        pairs["standin"] = [bool(standin.get((a, v), False)) for a, v in zip(pairs["app"], pairs["variant"])]
        cells = pairs.assign(status="ok", reason="", techniques="", parent="", summary="", bases="",
                             runtime_base="", bases_resolved="", smoke_ok=None)
    for c in cells.itertuples(index=False):
        rows.append({
            "app": c.app, "variant": c.variant, "status": c.status, "reason": c.reason,
            "techniques": c.techniques, "parent": c.parent, "summary": c.summary, "bases": c.bases,
            "runtime_base": getattr(c, "runtime_base", "") or "",
            "standin": bool(c.standin), "smoke_ok": smoke_passed(samples, cells, c.app, c.variant),
            "disk_bytes": _get(summary, c.app, c.variant, "image", "disk_bytes"),
            "disk_q1": _get(summary, c.app, c.variant, "image", "disk_bytes", what="q1"),
            "disk_q3": _get(summary, c.app, c.variant, "image", "disk_bytes", what="q3"),
            "compressed_bytes": _get(summary, c.app, c.variant, "image", "compressed_bytes"),
        })
    return pd.DataFrame(rows)


def before_variant(v: pd.DataFrame, baseline: str | None = None) -> pd.Series | None:
    """The "before": the app's declared baseline (app.toml `baseline`), else the variant named
    bloated, else the one tagged bloated, else the app's first measured variant."""
    measured = v[v["disk_bytes"].notna()]
    for named in (measured[measured["variant"] == baseline] if baseline else measured.iloc[0:0],
                  measured[measured["variant"] == "bloated"],
                  measured[measured["techniques"].str.split("+").map(lambda t: "bloated" in t)],
                  measured):
        if not named.empty:
            return named.iloc[0]
    return None


def after_variant(v: pd.DataFrame, baseline: str | None = None) -> pd.Series | None:
    """The "after": the smallest variant other than the before whose smoke check passed, and
    smaller than the before (in a run still measuring, the small ones may not be built yet)."""
    b = before_variant(v, baseline)
    before_name = "bloated" if b is None else b["variant"]
    ok = v[v["smoke_ok"].astype(bool) & v["disk_bytes"].notna() & (v["variant"] != before_name)]
    if ok.empty:
        return None
    a = ok.sort_values("disk_bytes").iloc[0]
    if b is not None and not pd.isna(b["disk_bytes"]) and a["disk_bytes"] >= b["disk_bytes"]:
        return None
    return a


def added(techniques: str, parent_techniques: str) -> str:
    """What a variant adds to its parent: its tags are cumulative (slim carries its parent's
    multistage), so a step is credited only with the tags its parent lacks."""
    theirs = set(str(parent_techniques or "").split("+"))
    return "+".join(t for t in str(techniques or "").split("+") if t and t not in theirs)


def unmeasured_variants(run: RunData, app: str) -> list[str]:
    """Variants of `app` the run planned but has not measured (yet)."""
    planned = [k.split("/", 1)[1] for k in (run.metadata.get("plan") or {}).get("cells") or []
               if k.split("/", 1)[0] == app]
    done = set(run.cells.loc[run.cells["app"] == app, "variant"]) if len(run.cells) else set()
    return [v for v in planned if v not in done]


ARTICLE_VARIANT = "article"  # the article's snippet as written (sample_apps/<app>/variants/article)


def app_marks(run: RunData) -> dict[str, dict]:
    """Per app, its app.toml marks (`practical`, `ceiling`, `baseline`), read from the run's apps folder
    (metadata apps_dir) or bench's sample_apps; {} for an app whose app.toml is not found."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    folder = str(run.metadata.get("apps_dir") or "sample_apps")
    out = {}
    for app in run.apps:
        for base in (Path(folder), root / folder, root / "sample_apps"):
            f = base / app / "app.toml"
            if f.is_file():
                try:
                    data = tomllib.loads(f.read_text())
                except (OSError, tomllib.TOMLDecodeError):
                    continue
                out[app] = {k: data[k] for k in ("practical", "ceiling", "baseline") if isinstance(data.get(k), str)}
                break
    return out


def _named(va: pd.DataFrame, before, prefix: str, variant: str | None) -> dict:
    """The columns of one named variant of an app in before_after (see its docstring)."""
    r = va[va["variant"] == variant] if variant else va.iloc[0:0]
    if r.empty or fmt.missing(r["disk_bytes"].iloc[0]):
        return {f"{prefix}_variant": variant if variant and not r.empty else None, f"{prefix}_bytes": np.nan,
                f"{prefix}_compressed_bytes": np.nan, f"{prefix}_ok": False, f"{prefix}_reduction": np.nan}
    r = r.iloc[0]
    b = np.nan if before is None else before["disk_bytes"]
    return {f"{prefix}_variant": variant, f"{prefix}_bytes": r["disk_bytes"],
            f"{prefix}_compressed_bytes": r["compressed_bytes"], f"{prefix}_ok": bool(r["smoke_ok"]),
            f"{prefix}_reduction": 1 - r["disk_bytes"] / b if b and not fmt.missing(b) else np.nan}


def before_after(run: RunData, summary: pd.DataFrame | None = None, claims: dict | None = None) -> pd.DataFrame:
    """Per app: measured before/after/reduction beside the article's numbers for its scenario.

    "after" is the ceiling: the smallest variant that passed smoke. Beside it, recipe_* (the
    variant `article`) and practical_* (app.toml's `practical`): variant, bytes,
    compressed_bytes, ok (passed smoke: a broken image is never an "after") and reduction
    against the before."""
    claims = claims or load_claims_file()
    v = variants(run, summary)
    marks = app_marks(run)
    rows = []
    for app in run.apps:
        va = v[v["app"] == app]
        baseline = marks.get(app, {}).get("baseline")
        b, a = before_variant(va, baseline), after_variant(va, baseline)
        sc = scenario_for(app, claims) or {}
        # Variants smaller than the "after" that did not pass smoke: named so nobody wonders.
        excluded = va[(~va["smoke_ok"].astype(bool)) & va["disk_bytes"].notna()]
        if a is not None:
            excluded = excluded[excluded["disk_bytes"] < a["disk_bytes"]]
        row = {
            "app": app,
            "scenario": sc.get("label", ""),
            "before_variant": None if b is None else b["variant"],
            "before_bytes": np.nan if b is None else b["disk_bytes"],
            "before_q1": np.nan if b is None else b["disk_q1"],
            "before_q3": np.nan if b is None else b["disk_q3"],
            "after_variant": None if a is None else a["variant"],
            "after_bytes": np.nan if a is None else a["disk_bytes"],
            "after_q1": np.nan if a is None else a["disk_q1"],
            "after_q3": np.nan if a is None else a["disk_q3"],
            "after_compressed_bytes": np.nan if a is None else a["compressed_bytes"],
            "before_compressed_bytes": np.nan if b is None else b["compressed_bytes"],
            "article_before": sc.get("before", np.nan),
            "article_after": sc.get("after", np.nan),
            "article_reduction": sc.get("reduction", np.nan) / 100 if sc.get("reduction") else np.nan,
            "standin": bool(va["standin"].any()),
            "comparable": not sc.get("untestable") and bool(sc),
            "note": "; ".join(x for x in (
                sc.get("untestable", sc.get("note", "") if sc else "the article has no scenario for this app"),
                _unmeasured_note(run, app, a)) if x),
            "smaller_but_failed": ", ".join(excluded["variant"]),
            # no after yet because the smaller variants are still to be measured, not because they failed
            "after_pending": a is None and bool(unmeasured_variants(run, app)),
        }
        row["reduction"] = (1 - row["after_bytes"] / row["before_bytes"]
                            if b is not None and a is not None and row["before_bytes"] else np.nan)
        has_recipe = (va["variant"] == ARTICLE_VARIANT).any()
        row.update(_named(va, b, "recipe", ARTICLE_VARIANT if has_recipe else None))
        row.update(_named(va, b, "practical", marks.get(app, {}).get("practical")))
        rows.append(row)
    return pd.DataFrame(rows)


def _unmeasured_note(run: RunData, app: str, after) -> str:
    missing = unmeasured_variants(run, app)
    if not missing:
        return ""
    head = "no variant measured so far is smaller than the bloated one; " if after is None else ""
    return f"{head}not measured in this run (yet): {', '.join(missing)}"


def bases(run: RunData, summary: pd.DataFrame | None = None, claims: dict | None = None) -> pd.DataFrame:
    """Base images: measured on-disk and compressed size, stand-in or upstream, article's size."""
    summary = _summary(run, summary)
    claims = claims or load_claims_file()
    article = {c["ref"]: c["article"] for c in claims["claims"] if c.get("kind") == "base_size"}
    meta = run.metadata.get("bases") or {}
    s = run.samples[(run.samples["scenario"] == "base")]
    refs = list(dict.fromkeys(list(s["variant"]) + list(meta)))
    rows = []
    for ref in refs:
        m = meta.get(ref) if isinstance(meta.get(ref), dict) else {}
        rs = s[s["variant"] == ref]
        standin = bool(rs["standin"].any()) or bool(m.get("standin"))
        measured = not rs.empty
        rows.append({
            "ref": ref,
            "standin": standin,
            "measured": measured,
            "disk_bytes": _get(summary, BASES_APP, ref, "base", "disk_bytes"),
            "compressed_bytes": _get(summary, BASES_APP, ref, "base", "compressed_bytes"),
            "article_bytes": article.get(ref, np.nan),
            "resolved": m.get("resolved") or m.get("image") or "",
            "runtime": str(m.get("runtime_version") or ""),
            "reason": "" if measured else (m.get("reason") or "not measured in this run"),
        })
    return pd.DataFrame(rows, columns=["ref", "standin", "measured", "disk_bytes", "compressed_bytes",
                                       "article_bytes", "resolved", "runtime", "reason"])


ABLATION_METRICS = [
    # column, scenario, metric, profile, detail, unit
    ("disk_bytes", "image", "disk_bytes", "", "", "B"),
    ("compressed_bytes", "image", "compressed_bytes", "", "", "B"),
    ("layers", "image", "layers", "", "", "count"),
    ("context_bytes", "image", "context_bytes", "", "", "B"),
    ("context_files", "image", "context_files", "", "", "count"),
    ("context_sent_cold", "cold", "context_transferred_bytes", "", "", "B"),
    ("packages", "analyze", "packages", "", "total", "count"),
    ("wasted_bytes", "analyze", "wasted_bytes", "", "", "B"),
    ("efficiency", "analyze", "efficiency", "", "", "ratio"),
    ("build_cold_s", "cold", "build_wall_seconds", "", "", "s"),
    ("build_warm_s", "warm", "build_wall_seconds", "", "", "s"),
    ("build_edit_s", "edit", "build_wall_seconds", "", "", "s"),
    ("push_s", "push", "push_seconds", "", "", "s"),
    ("start_s", "smoke", "start_to_healthy_seconds", "", "", "s"),
]


def ablation_metrics(run: RunData) -> list[tuple[str, str, str, str, str, str]]:
    out = list(ABLATION_METRICS)
    at = out.index(("start_s", "smoke", "start_to_healthy_seconds", "", "", "s"))
    for p in reversed(profiles(run)):
        out.insert(at, (f"pull_{p}_s", "pull", "pull_seconds", p, "", "s"))
    return out


def ablation(run: RunData, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each variant beside its parent: value and parent's value for every dimension.

    Columns: app, variant, parent, techniques, status, reason, smoke_ok, then for each metric
    column X: X (median), X_parent (the parent's median), X_cv, and the 95% intervals X_ci_lo,
    X_ci_hi, X_parent_ci_lo, X_parent_ci_hi (NaN for sizes and for n < 3).
    """
    summary = _summary(run, summary)
    v = variants(run, summary)
    rows = []
    tags = {(r.app, r.variant): r.techniques for r in v.itertuples(index=False)}
    for r in v.itertuples(index=False):
        row = {"app": r.app, "variant": r.variant, "parent": r.parent, "techniques": r.techniques,
               "adds": added(r.techniques, tags.get((r.app, r.parent), "")) if r.parent else r.techniques,
               "status": r.status, "reason": r.reason, "smoke_ok": r.smoke_ok, "standin": r.standin}
        for col, scenario, metric, profile, detail, _unit in ablation_metrics(run):
            row[col] = _get(summary, r.app, r.variant, scenario, metric, profile, detail)
            row[f"{col}_cv"] = _get(summary, r.app, r.variant, scenario, metric, profile, detail, what="cv")
            row[f"{col}_parent"] = (_get(summary, r.app, r.parent, scenario, metric, profile, detail)
                                    if r.parent else np.nan)
            for end in ("ci_lo", "ci_hi"):  # timings: the 95% intervals of both medians
                row[f"{col}_{end}"] = _get(summary, r.app, r.variant, scenario, metric, profile, detail, what=end)
                row[f"{col}_parent_{end}"] = (_get(summary, r.app, r.parent, scenario, metric, profile, detail,
                                                   what=end) if r.parent else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def chain(v: pd.DataFrame, app: str, leaf: str) -> list[str]:
    """Variant names from the root (bloated) down to leaf, following parents."""
    va = v[v["app"] == app].set_index("variant")
    out, seen = [], set()
    cur = leaf
    while cur and cur in va.index and cur not in seen:
        seen.add(cur)
        out.append(cur)
        cur = va.loc[cur, "parent"]
    return out[::-1]


def pull_split(summary: pd.DataFrame) -> pd.DataFrame:
    """Per pulled image and profile: the median pull, the median wire span (bytes flowing
    through the throttle, pull_wire_seconds), the rest (the registry's round trips,
    decompression, extraction) and the wire's share. Empty when the run did not record
    pull_wire_seconds."""
    key = ["app", "variant", "profile"]
    pick = summary[summary["scenario"] == "pull"]
    wire = pick[pick["metric"] == "pull_wire_seconds"].set_index(key)["median"]
    pull = pick[pick["metric"] == "pull_seconds"].set_index(key)["median"]
    cols = key + ["pull_s", "wire_s", "rest_s", "wire_share"]
    both = pd.DataFrame({"pull_s": pull, "wire_s": wire}).dropna()
    both = both[both["pull_s"] > 0]
    if both.empty:
        return pd.DataFrame(columns=cols)
    both["rest_s"] = (both["pull_s"] - both["wire_s"]).clip(lower=0)
    both["wire_share"] = both["wire_s"] / both["pull_s"]
    return both.reset_index()[cols]


# The timings whose repetitions the order view follows, and how each is labelled.
ORDERED_TIMINGS = {"build_wall_seconds": "{scenario} build", "push_seconds": "push",
                   "pull_seconds": "pull {profile}", "start_to_healthy_seconds": "start to healthy"}


def repetition_order(samples: pd.DataFrame) -> pd.DataFrame:
    """Each timing sample with its place in the order it was measured: warmups first (kept,
    flagged), then the measured repetitions; `relative` is the value over its cell's median of
    measured repetitions, so cells of any size share one axis. A first repetition that is
    always the slowest shows as a line that starts high."""
    s = samples[samples["metric"].isin(list(ORDERED_TIMINGS)) & (samples["detail"] == "")
                & samples["value"].notna()].copy()
    cols = ["what", "app", "variant", "repetition", "warmup", "order", "value", "relative"]
    if s.empty:
        return pd.DataFrame(columns=cols)
    if "warmup" not in s:
        s["warmup"] = False
    s["what"] = [ORDERED_TIMINGS[m].format(scenario=sc, profile=p)
                 for m, sc, p in zip(s["metric"], s["scenario"], s["profile"])]
    cell = ["what", "app", "variant"]
    n_warm = s[s["warmup"]].groupby(cell)["repetition"].nunique()
    s["order"] = [r if w else r + int(n_warm.get(k, 0))
                  for r, w, k in zip(s["repetition"], s["warmup"], map(tuple, s[cell].values))]
    med = s[~s["warmup"]].groupby(cell)["value"].median()
    s["relative"] = [v / med.get(k, np.nan) if med.get(k, 0) else np.nan
                     for v, k in zip(s["value"], map(tuple, s[cell].values))]
    return s[cols].sort_values(["what", "app", "variant", "order"]).reset_index(drop=True)
