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


def test_reference_bases_are_the_articles_base_table_in_its_order():
    from bench.plan import reference_bases
    from bench.report.claims_data import load_claims_file

    refs = reference_bases()
    table = [c["ref"] for c in load_claims_file()["claims"] if c["kind"] == "base_size"]
    assert list(refs) == list(dict.fromkeys(table))
    assert {"ubuntu:24.04", "gcr.io/distroless/base", "node:20-alpine"} <= set(refs) and "scratch" not in refs


def test_only_a_run_of_the_whole_bundled_matrix_measures_the_reference_bases():
    from argparse import Namespace

    from bench.commands.run import _reference_bases
    from bench.plan import reference_bases

    args = lambda **kw: Namespace(**{"apps": None, "only": None, "shard": None, **kw})
    assert _reference_bases(args()) == reference_bases()
    assert _reference_bases(args(shard="1/3")) == reference_bases()
    assert _reference_bases(args(shard="2/3")) == ()
    assert _reference_bases(args(only=["go"])) == ()
    assert _reference_bases(args(apps="my_apps")) == ()
