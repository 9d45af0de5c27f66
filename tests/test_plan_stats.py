from bench.apps import load_apps, select
from bench.plan import make_plan, to_measure
from bench.settings import Asked, from_profile
from bench.stats import summarize


def test_a_plan_is_every_app_variant_under_one_settings():
    pairs = select(load_apps(), ["go"])[:2]
    plan = make_plan(pairs, from_profile(Asked(profile="quick")))
    assert plan.keys == [f"go/{v.name}" for _, v in pairs]
    assert plan.describe() == "2 cells, 6 builds, profile quick"


def test_selection_skips_finished_cells_and_takes_back_redone_and_retried_ones():
    pairs = select(load_apps(), ["go"])[:3]
    plan = make_plan(pairs, from_profile(Asked(profile="quick")))
    a, b, c = plan.keys
    statuses = {a: "ok", b: "failed"}
    sel = to_measure(plan, statuses)
    assert [x.key for x in sel.cells] == [c] and sel.already_done == 2 and sel.redo == ()
    assert [x.key for x in to_measure(plan, statuses, retry_failed=True).cells] == [b, c]
    sel = to_measure(plan, statuses, redo=frozenset({a}))
    assert [x.key for x in sel.cells] == [a, c] and sel.redo == (a,)
    assert to_measure(plan, {}, redo=frozenset({a})).redo == ()  # nothing measured yet to set aside


def test_summary_median_iqr_cv():
    s = summarize([10, 12, 11, 30])
    assert s.median == 11.5
    assert s.q1 == 10.75 and s.q3 == 16.5
    assert s.unstable
    assert not summarize([10, 10.1, 9.9]).unstable
    assert summarize([5]).cv == 0
