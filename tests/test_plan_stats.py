import pytest

from bench.apps import load_apps, select
from bench.errors import UserError
from bench.plan import make_plan
from bench.stats import summarize


def test_profiles_set_repetitions_and_pull_profiles():
    pairs = select(load_apps(), ["go"])[:2]
    q = make_plan(pairs, profile="quick")
    s = make_plan(pairs, profile="standard", repeat=2)
    assert q.cells[0].repeat == 1 and q.cells[0].pull_profiles == ("loopback",)
    assert s.cells[0].repeat == 2 and "150mbit" in s.cells[0].pull_profiles


@pytest.mark.parametrize("kw", [dict(profile="huge"), dict(repeat=0), dict(scenarios=("hot",)),
                                dict(pull_profiles=("10mbit",))])
def test_bad_plan_flags_are_user_errors(kw):
    with pytest.raises(UserError):
        make_plan([], **kw)


def test_summary_median_iqr_cv():
    s = summarize([10, 12, 11, 30])
    assert s.median == 11.5
    assert s.q1 == 10.75 and s.q3 == 16.5
    assert s.unstable
    assert not summarize([10, 10.1, 9.9]).unstable
    assert summarize([5]).cv == 0
