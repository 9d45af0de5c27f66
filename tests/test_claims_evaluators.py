"""Each claim evaluator (claims.EVALUATORS) on small synthetic tables: a case that holds, one that
is off, and one that is inconclusive; every verdict names the variants it compares. No engine."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench.report import claims
from bench.report.claims_data import load_claims_file

CLAIMS = load_claims_file()
SUMMARY_COLS = ["app", "variant", "scenario", "metric", "profile", "detail", "median"]
STEP_COLS = ["app", "variant", "parent", "techniques", "adds", "base_change", "saved_bytes", "reduction"]


def make_ctx(apps=("node",), before_after=None, bases=None, variants=None, summary=None, steps=None):
    run = SimpleNamespace(apps=list(apps), samples=pd.DataFrame())
    return claims.Context(
        run=run, summary=summary if summary is not None else pd.DataFrame(columns=SUMMARY_COLS),
        claims=CLAIMS, tol=0.25, tol_pp=5.0, noise_pp=1.0, min_cases=3,
        variants=variants if variants is not None else pd.DataFrame(),
        before_after=before_after if before_after is not None else pd.DataFrame(),
        bases=bases if bases is not None else pd.DataFrame(columns=["ref"]).set_index("ref"),
        steps=steps if steps is not None else pd.DataFrame(columns=STEP_COLS))


def claim(kind: str, **kw) -> dict:
    return {"id": f"test-{kind}", "section": "Test", "quote": "a test claim", "kind": kind, **kw}


def judge(c: dict, ctx) -> claims.Result:
    return claims.EVALUATORS[c["kind"]](c, ctx)


def ba_row(app: str, before: float, after: float, before_variant="bloated", after_variant="multistage") -> dict:
    return {"app": app, "before_variant": before_variant, "before_bytes": before, "before_q1": before,
            "before_q3": before, "before_compressed_bytes": before / 3, "after_variant": after_variant,
            "after_bytes": after, "after_q1": after, "after_q3": after, "after_compressed_bytes": after / 3,
            "reduction": 1 - after / before, "standin": False, "smaller_but_failed": "", "after_pending": False}


def ba_ctx(*rows) -> claims.Context:
    return make_ctx(apps=[r["app"] for r in rows], before_after=pd.DataFrame(rows))


def step(app: str, parent: str, variant: str, adds: str, before: float, after: float, base_change: str = "") -> dict:
    return {"app": app, "variant": variant, "parent": parent, "techniques": adds, "adds": adds,
            "base_change": base_change, "saved_bytes": before - after, "reduction": 1 - after / before}


def steps_ctx(*rows) -> claims.Context:
    return make_ctx(apps=sorted({r["app"] for r in rows}), steps=pd.DataFrame(rows, columns=STEP_COLS))


def test_every_claim_kind_has_an_evaluator():
    assert {c["kind"] for c in CLAIMS["claims"]} <= set(claims.EVALUATORS)


# -- app_size --------------------------------------------------------------------------------
def test_app_size_holds_and_names_the_variant():
    r = judge(claim("app_size", scenario="node", which="after", article=182e6), ba_ctx(ba_row("node", 1.2e9, 190e6)))
    assert r.verdict == claims.HOLDS
    assert r.compared == "node/multistage"


def test_app_size_off():
    r = judge(claim("app_size", scenario="node", which="before", article=1.24e9), ba_ctx(ba_row("node", 2e9, 190e6)))
    assert r.verdict == claims.OFF and "+61%" in r.verdict_text
    assert r.compared == "node/bloated"


def test_app_size_within_noise_of_the_tolerance_is_inconclusive():
    # +24.5%: holds by 0.5 points, which noise could flip
    r = judge(claim("app_size", scenario="node", which="after", article=100e6), ba_ctx(ba_row("node", 1e9, 124.5e6)))
    assert r.verdict == claims.INCONCLUSIVE and "+24.5%" in r.verdict_text and "±25%" in r.verdict_text
    assert r.compared == "node/multistage"


# -- reduction -------------------------------------------------------------------------------
def test_reduction_holds_and_names_before_and_after():
    r = judge(claim("reduction", scenario="node", article=85), ba_ctx(ba_row("node", 1e9, 160e6)))
    assert r.verdict == claims.HOLDS and r.measured_value == pytest.approx(84.0)
    assert r.compared == "node/bloated → node/multistage"


def test_reduction_off():
    r = judge(claim("reduction", scenario="node", article=85), ba_ctx(ba_row("node", 1e9, 500e6, after_variant="slim")))
    assert r.verdict == claims.OFF and "-35.0 percentage points" in r.verdict_text
    assert r.compared == "node/bloated → node/slim"


def test_reduction_within_noise_is_inconclusive():
    # 79.93%: off by 0.07 points beyond the 5-point tolerance, the flip issue #15 names
    r = judge(claim("reduction", scenario="node", article=85), ba_ctx(ba_row("node", 1e9, 200.7e6)))
    assert r.verdict == claims.INCONCLUSIVE and "-5.07 pp" in r.verdict_text


# -- base_size -------------------------------------------------------------------------------
def bases_ctx(disk: float, standin: bool = False) -> claims.Context:
    b = pd.DataFrame([{"ref": "node:20", "standin": standin, "measured": True, "disk_bytes": disk,
                       "compressed_bytes": disk / 3, "runtime": "Node 20.20.2" if standin else "",
                       "reason": ""}]).set_index("ref")
    return make_ctx(bases=b)


def test_base_size_holds_and_names_the_base():
    r = judge(claim("base_size", ref="node:20", article=1.1e9), bases_ctx(1.0e9))
    assert r.verdict == claims.HOLDS and r.compared == "node:20"


def test_base_size_off():
    r = judge(claim("base_size", ref="node:20", article=1.1e9), bases_ctx(2.2e9))
    assert r.verdict == claims.OFF and "+100%" in r.verdict_text


def test_base_size_on_a_standin_is_judged_and_labelled_as_one():
    r = judge(claim("base_size", ref="node:20", article=1.1e9), bases_ctx(1.1e9, standin=True))
    assert r.verdict == claims.HOLDS and r.compared == "node:20 (stand-in)"
    assert "stand-in" in r.measured and "not the upstream image" in r.note
    off = judge(claim("base_size", ref="node:20", article=1.1e9), bases_ctx(2.2e9, standin=True))
    assert off.verdict == claims.OFF and off.compared == "node:20 (stand-in)"


def test_base_size_within_noise_is_inconclusive():
    r = judge(claim("base_size", ref="node:20", article=1e9), bases_ctx(0.745e9))
    assert r.verdict == claims.INCONCLUSIVE and "-25.5%" in r.verdict_text


# -- pull_time -------------------------------------------------------------------------------
def pulls_ctx(seconds_per_gb: float) -> claims.Context:
    sizes = {("go", "scratch"): 100e6, ("node", "slim"): 400e6, ("node", "bloated"): 1e9}
    v = pd.DataFrame([{"app": a, "variant": vr, "disk_bytes": s, "compressed_bytes": s / 2}
                      for (a, vr), s in sizes.items()])
    s = pd.DataFrame([{"app": a, "variant": vr, "scenario": "pull", "metric": "pull_seconds", "profile": "150mbit",
                       "detail": "", "median": size / 1e9 * seconds_per_gb} for (a, vr), size in sizes.items()],
                     columns=SUMMARY_COLS)
    return make_ctx(apps=["go", "node"], variants=v, summary=s)


def test_pull_time_holds_and_names_the_pulled_variants():
    r = judge(claim("pull_time", size=1.2e9, profile="150mbit", article=60), pulls_ctx(50))
    assert r.verdict == claims.HOLDS and r.measured_value == pytest.approx(60)
    assert r.compared == "go: scratch; node: slim, bloated"


def test_pull_time_off():
    r = judge(claim("pull_time", size=1.2e9, profile="150mbit", article=60), pulls_ctx(100))
    assert r.verdict == claims.OFF and "+100%" in r.verdict_text


def test_pull_time_within_noise_is_inconclusive():
    r = judge(claim("pull_time", size=1.2e9, profile="150mbit", article=60), pulls_ctx(50 * 1.255))
    assert r.verdict == claims.INCONCLUSIVE and "+25.5%" in r.verdict_text


# -- range -----------------------------------------------------------------------------------
def apt_ctx(*layers: tuple[str, float]) -> claims.Context:
    s = pd.DataFrame([{"app": app, "variant": "bloated", "scenario": "image", "metric": "layer_bytes",
                       "profile": "", "detail": "2:RUN apt-get update", "median": size} for app, size in layers],
                     columns=SUMMARY_COLS)
    return make_ctx(summary=s)


def test_range_holds_and_names_the_variants():
    r = judge(claim("range", measure="apt_lists", low=50e6, high=100e6), apt_ctx(("node", 70e6), ("go", 80e6)))
    assert r.verdict == claims.HOLDS and r.measured_value == pytest.approx(75e6)
    assert r.compared == "node: bloated; go: bloated"


def test_range_off():
    r = judge(claim("range", measure="apt_lists", low=50e6, high=100e6), apt_ctx(("node", 20e6)))
    assert r.verdict == claims.OFF and "lower" in r.verdict_text


def test_range_within_noise_of_a_widened_end_is_inconclusive():
    # the range widened by 25% ends at 125 MB; 125.5 MB is 0.4% beyond it
    r = judge(claim("range", measure="apt_lists", low=50e6, high=100e6), apt_ctx(("node", 125.5e6)))
    assert r.verdict == claims.INCONCLUSIVE and "upper" in r.verdict_text


# -- technique_reduction ---------------------------------------------------------------------
def multistage_steps(after: float, apps=("go", "node", "python")) -> claims.Context:
    return steps_ctx(*(step(a, "chained", "multistage", "multistage", 1e9, after) for a in apps))


def test_technique_reduction_holds_and_names_each_step():
    r = judge(claim("technique_reduction", technique="multistage", article=85), multistage_steps(150e6))
    assert r.verdict == claims.HOLDS
    assert r.compared == ("go/chained → go/multistage, node/chained → node/multistage, "
                          "python/chained → python/multistage")


def test_technique_reduction_off():
    r = judge(claim("technique_reduction", technique="multistage", article=85), multistage_steps(980e6))
    assert r.verdict == claims.OFF


def test_technique_reduction_on_too_few_apps_is_inconclusive():
    r = judge(claim("technique_reduction", technique="multistage", article=85),
              multistage_steps(150e6, apps=("go", "node")))
    assert r.verdict == claims.INCONCLUSIVE and "2 apps only" in r.verdict_text and "at least 3" in r.verdict_text
    assert r.measured_value == pytest.approx(85)  # still shown


def test_technique_reduction_within_noise_is_inconclusive():
    r = judge(claim("technique_reduction", technique="multistage", article=85), multistage_steps(204e6))
    assert r.verdict == claims.INCONCLUSIVE and "-5.40 pp" in r.verdict_text


# -- largest_technique -----------------------------------------------------------------------
def biggest_steps(*biggest: str) -> claims.Context:
    rows = []
    for app, adds in zip(("go", "java", "node", "python"), biggest):
        rows.append(step(app, "bloated", "chained", "chained", 1e9, 900e6))  # a small step
        rows.append(step(app, "chained", adds, adds, 900e6, 100e6))  # the biggest one
    return steps_ctx(*rows)


def test_largest_technique_holds_and_names_the_biggest_steps():
    r = judge(claim("largest_technique", technique="multistage"), biggest_steps("multistage", "multistage", "slim"))
    assert r.verdict == claims.HOLDS and "2 of 3 apps" in r.verdict_text
    assert r.compared == "go/chained → go/multistage, java/chained → java/multistage, node/chained → node/slim"


def test_largest_technique_off():
    r = judge(claim("largest_technique", technique="multistage"), biggest_steps("slim", "slim", "multistage"))
    assert r.verdict == claims.OFF and "1 of 3 apps" in r.verdict_text


def test_largest_technique_on_too_few_apps_is_inconclusive():
    r = judge(claim("largest_technique", technique="multistage"), biggest_steps("multistage", "multistage"))
    assert r.verdict == claims.INCONCLUSIVE and "2 apps only" in r.verdict_text


def test_base_choice_credits_a_step_that_moves_base_whatever_its_tags():
    # java: the biggest step adds jlink only, but moves from the JRE image to debian slim
    rows = [step("go", "multistage", "slim", "slim", 1e9, 100e6),
            step("java", "jre", "jlink", "jlink", 1e9, 100e6, base_change="eclipse-temurin:17-jre → debian:bookworm-slim"),
            step("node", "chained", "multistage", "multistage", 1e9, 100e6)]
    base = claim("largest_technique", technique=["slim", "alpine"], credit_base_change=True)
    r = judge(base, steps_ctx(*rows))
    assert r.verdict == claims.HOLDS and "2 of 3 apps" in r.verdict_text
    assert "base eclipse-temurin:17-jre → debian:bookworm-slim" in r.measured
    tags_only = judge(claim("largest_technique", technique=["slim", "alpine"]), steps_ctx(*rows))
    assert tags_only.verdict == claims.OFF and "1 of 3 apps" in tags_only.verdict_text


def test_largest_technique_tie_is_inconclusive():
    r = judge(claim("largest_technique", technique="multistage"),
              biggest_steps("multistage", "slim", "multistage", "slim"))
    assert r.verdict == claims.INCONCLUSIVE and "a tie, 2 of 4 apps" in r.verdict_text


# -- routine_under ---------------------------------------------------------------------------
def test_routine_under_holds_and_names_before_and_after():
    ctx = ba_ctx(ba_row("go", 1.1e9, 10e6, after_variant="scratch"), ba_row("node", 1.2e9, 90e6),
                 ba_row("python", 1.1e9, 300e6))
    r = judge(claim("routine_under", over=1e9, under=100e6), ctx)
    assert r.verdict == claims.HOLDS and "2 of 3 apps" in r.verdict_text
    assert r.compared == "go/bloated → go/scratch, node/bloated → node/multistage, python/bloated → python/multistage"


def test_routine_under_off():
    ctx = ba_ctx(ba_row("go", 1.1e9, 200e6), ba_row("node", 1.2e9, 90e6), ba_row("python", 1.1e9, 300e6))
    r = judge(claim("routine_under", over=1e9, under=100e6), ctx)
    assert r.verdict == claims.OFF and "only 1 of 3 apps" in r.verdict_text


def test_routine_under_on_too_few_apps_is_inconclusive():
    # two apps over 1 GB (less the 25% tolerance), one under 100 MB after; go is below 750 MB
    ctx = ba_ctx(ba_row("node", 1.2e9, 110e6), ba_row("python", 1.1e9, 60e6), ba_row("go", 700e6, 5e6))
    r = judge(claim("routine_under", over=1e9, under=100e6), ctx)
    assert r.verdict == claims.INCONCLUSIVE and "2 apps only" in r.verdict_text
    assert r.compared == "node/bloated → node/multistage, python/bloated → python/multistage"


def test_noise_band_and_minimum_come_from_the_claims_file():
    assert CLAIMS["rules"]["noise_points"] == 1.0 and CLAIMS["rules"]["min_cases"] == 3
    assert "inconclusive" in CLAIMS["rules"]["text"]


def test_verdict_helpers_without_noise_keep_the_hard_line():
    assert claims.points(79.93, 85, 5).status == claims.OFF
    assert claims.points(79.93, 85, 5, 1.0).status == claims.INCONCLUSIVE
    assert claims.points(78.0, 85, 5, 1.0).status == claims.OFF  # 2 points beyond: clear


def test_untestable_claim_compares_nothing():
    r = judge(claim("untestable", why="nothing to measure"), make_ctx())
    assert r.verdict == claims.UNTESTABLE and r.compared == "" and not np.isfinite(r.measured_value)


def test_routine_under_uses_the_size_tolerance_on_both_marks():
    # 900 MB counts as "1+ GB" and 120 MB as "under 100 MB" within ±25%, like every size claim
    ctx = ba_ctx(ba_row("go", 900e6, 5e6), ba_row("node", 1.2e9, 120e6), ba_row("python", 1.1e9, 300e6))
    r = judge(claim("routine_under", over=1e9, under=100e6), ctx)
    assert r.verdict == claims.HOLDS and "2 of 3 apps" in r.verdict_text and "±25%" in r.note


def test_routine_under_within_noise_of_the_widened_mark_is_inconclusive():
    # node's 125.5 MB is 0.4% over the widened 125 MB and decides the majority
    ctx = ba_ctx(ba_row("go", 1.1e9, 5e6), ba_row("node", 1.2e9, 125.5e6), ba_row("python", 1.1e9, 300e6))
    r = judge(claim("routine_under", over=1e9, under=100e6), ctx)
    assert r.verdict == claims.INCONCLUSIVE and "node" in r.verdict_text


# -- Technique-1 claims on the article's recipe ----------------------------------------------
def recipe_row(app: str, before: float, after: float, recipe: float | None, ok: bool = True) -> dict:
    row = ba_row(app, before, after, after_variant="optimized")
    if recipe is None:
        return {**row, "recipe_variant": None, "recipe_bytes": np.nan, "recipe_ok": False,
                "recipe_reduction": np.nan, "recipe_compressed_bytes": np.nan}
    return {**row, "recipe_variant": "article", "recipe_bytes": recipe, "recipe_ok": ok,
            "recipe_compressed_bytes": recipe / 3, "recipe_reduction": 1 - recipe / before}


NODE_AFTER = claim("app_size", scenario="node", which="after", article=182e6, on="article")
NODE_REDUCTION = claim("reduction", scenario="node", article=85, on="article")


def test_a_technique_1_claim_is_judged_on_the_article_variant():
    ctx = ba_ctx(recipe_row("node", 1.2e9, 100e6, 190e6))
    r = judge(NODE_AFTER, ctx)
    assert r.verdict == claims.HOLDS and r.compared == "node/article" and "node/article" in r.note
    red = judge(NODE_REDUCTION, ctx)
    assert red.compared == "node/bloated → node/article" and red.measured_value == pytest.approx(100 * (1 - 190 / 1200))


def test_a_technique_1_claim_off_on_the_article_variant():
    r = judge(NODE_AFTER, ba_ctx(recipe_row("node", 1.2e9, 180e6, 400e6)))
    assert r.verdict == claims.OFF and r.compared == "node/article"  # the ceiling (180 MB) would have held


def test_a_technique_1_claim_within_noise_on_the_article_variant_is_inconclusive():
    r = judge(NODE_AFTER, ba_ctx(recipe_row("node", 1.2e9, 100e6, 182e6 * 1.255)))
    assert r.verdict == claims.INCONCLUSIVE and r.compared == "node/article"


def test_a_broken_article_variant_is_never_the_after():
    r = judge(NODE_AFTER, ba_ctx(recipe_row("node", 1.2e9, 100e6, 182e6, ok=False)))
    assert r.verdict == claims.UNTESTABLE and "smoke" in r.verdict_text


def test_without_an_article_variant_the_ceiling_is_judged_and_the_note_says_so():
    r = judge(NODE_AFTER, ba_ctx(recipe_row("node", 1.2e9, 180e6, None)))
    assert r.verdict == claims.HOLDS and r.compared == "node/optimized" and "no `article` variant" in r.note
    plain = judge(NODE_AFTER, ba_ctx(ba_row("node", 1.2e9, 180e6)))  # before_after without recipe columns
    assert plain.verdict == claims.HOLDS and "no `article` variant" in plain.note


# -- recipe_reduction: multi-stage with the smaller base -------------------------------------
WITH_BASE = claim("recipe_reduction", article=85)


def test_recipe_reduction_holds_and_names_the_article_variants():
    ctx = ba_ctx(*(recipe_row(a, 1e9, 50e6, 150e6) for a in ("go", "node", "python")))
    r = judge(WITH_BASE, ctx)
    assert r.verdict == claims.HOLDS and r.measured_value == pytest.approx(85)
    assert r.compared == "go/bloated → go/article, node/bloated → node/article, python/bloated → python/article"


def test_recipe_reduction_off():
    ctx = ba_ctx(*(recipe_row(a, 1e9, 50e6, 600e6) for a in ("go", "node", "python")))
    assert judge(WITH_BASE, ctx).verdict == claims.OFF


def test_recipe_reduction_on_too_few_apps_is_inconclusive():
    ctx = ba_ctx(recipe_row("go", 1e9, 5e6, 150e6), recipe_row("node", 1e9, 50e6, 150e6),
                 recipe_row("python", 1e9, 50e6, 150e6, ok=False))
    r = judge(WITH_BASE, ctx)
    assert r.verdict == claims.INCONCLUSIVE and "2 apps only" in r.verdict_text and "python/article" in r.note


def test_recipe_reduction_without_article_variants_is_not_testable():
    r = judge(WITH_BASE, ba_ctx(ba_row("node", 1e9, 150e6)))
    assert r.verdict == claims.UNTESTABLE and "article" in r.verdict_text


# -- pull_wire_share: the pull claim's mechanism ---------------------------------------------
MECHANISM = claim("pull_wire_share", profile="150mbit", article=1.0)


def wire_ctx(share: float | None) -> claims.Context:
    rows = []
    for app, variant, pull in (("go", "bloated", 40.0), ("node", "bloated", 50.0), ("node", "slim", 20.0)):
        rows.append({"app": app, "variant": variant, "scenario": "pull", "metric": "pull_seconds",
                     "profile": "150mbit", "detail": "", "median": pull})
        if share is not None:
            rows.append({"app": app, "variant": variant, "scenario": "pull", "metric": "pull_wire_seconds",
                         "profile": "150mbit", "detail": "", "median": pull * share})
    return make_ctx(apps=["go", "node"], summary=pd.DataFrame(rows, columns=SUMMARY_COLS))


def test_pull_mechanism_holds_when_the_pull_is_mostly_wire():
    r = judge(MECHANISM, wire_ctx(0.9))
    assert r.verdict == claims.HOLDS and r.measured_value == pytest.approx(0.9) and "90%" in r.verdict_text
    assert r.compared == "go: bloated; node: bloated, slim"


def test_pull_mechanism_off_when_extraction_dominates():
    r = judge(MECHANISM, wire_ctx(0.42))
    assert r.verdict == claims.OFF and "only 42% of a pull is wire time" in r.verdict_text


def test_pull_mechanism_within_noise_is_inconclusive():
    assert judge(MECHANISM, wire_ctx(0.745)).verdict == claims.INCONCLUSIVE


def test_pull_mechanism_without_wire_times_is_not_measured():
    r = judge(MECHANISM, wire_ctx(None))
    assert r.verdict == claims.UNTESTABLE and "not measured in this run" in r.verdict_text


def test_base_size_on_a_schema_1_standin_stays_untestable_it_was_sized_from_the_article():
    ctx = bases_ctx(1.1e9, standin=True)
    ctx = replace(ctx, run=SimpleNamespace(**{**vars(ctx.run), "metadata": {"read_from_schema": 1}}))
    r = judge(claim("base_size", ref="node:20", article=1.1e9), ctx)
    assert r.verdict == claims.UNTESTABLE and "circular" in r.verdict_text
