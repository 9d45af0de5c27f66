"""Settings: chosen once from a profile and flags, stored with the run, read back on resume."""

import pytest

from bench.errors import UserError
from bench.settings import BANDWIDTHS, PROFILES, Asked, Settings, for_resume, from_profile


def test_a_new_run_defaults_to_the_standard_profile_with_every_bandwidth():
    s = from_profile(Asked())
    assert s == PROFILES["standard"]
    assert s.bandwidths == BANDWIDTHS and s.bases_mode == "auto"


def test_flags_override_the_profile():
    s = from_profile(Asked(profile="quick", repeat=4, scenarios=("cold",), pull_profiles=("loopback", "150mbit"),
                           push_pull=False, bases_mode="local"))
    assert (s.profile, s.repeat, s.scenarios, s.push_pull, s.bases_mode) == ("quick", 4, ("cold",), False, "local")
    assert s.bandwidths == {"loopback": None, "150mbit": 150e6}


@pytest.mark.parametrize("asked, match", [
    (Asked(profile="huge"), "--profile huge"), (Asked(repeat=0), "--repeat"), (Asked(warmup=-1), "--warmup"),
    (Asked(scenarios=("hot",)), "--scenarios hot"), (Asked(pull_profiles=("5g",)), "--pull-profiles 5g"),
    (Asked(bases_mode="cloud"), "--bases cloud"),
])
def test_bad_settings_are_one_user_error_naming_the_flag(asked, match):
    with pytest.raises(UserError, match=match):
        from_profile(asked)


def test_settings_survive_a_round_trip_through_json():
    s = from_profile(Asked(profile="full", pull_profiles=("1gbit",)))
    assert Settings.from_json(s.to_json()) == s


def test_resume_keeps_the_runs_settings_and_refuses_a_flag_that_disagrees():
    stored = from_profile(Asked(profile="quick", scenarios=("cold",)))
    assert for_resume(Asked(), stored, "R") is stored
    assert for_resume(Asked(profile="quick", scenarios=("cold",)), stored, "R") is stored
    with pytest.raises(UserError, match="profile quick; resume it without --profile"):
        for_resume(Asked(profile="standard"), stored, "R")
    with pytest.raises(UserError, match="repeat 1; resume it without --repeat"):
        for_resume(Asked(repeat=3), stored, "R")
    with pytest.raises(UserError, match="pull profiles loopback; resume it without --pull-profiles"):
        for_resume(Asked(pull_profiles=("150mbit",)), stored, "R")
