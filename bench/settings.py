"""How a run measures: one frozen `Settings`, chosen once and stored with the run.

A new run takes its settings from a named profile and the flags that override it; a
resumed run reads them back from its own metadata, so every cell of one run is measured
the same way (a flag that disagrees with the stored settings is refused). Bandwidths of
the pull profiles are defined here, once, and stored with the run: a report reads them
from the run, never from a profile's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Mapping

from bench.errors import UserError

SCENARIOS = ("cold", "warm", "edit")
BASES_MODES = ("auto", "hub", "local")

# Cold-pull bandwidths in bits per second; None is plain loopback (no throttle).
BANDWIDTHS: dict[str, float | None] = {
    "loopback": None,
    "1gbit": 1e9,
    "150mbit": 150e6,
}


@dataclass(frozen=True)
class PullProfile:
    name: str
    bits_per_second: float | None  # None: loopback, unthrottled


@dataclass(frozen=True)
class Settings:
    profile: str
    repeat: int
    warmup: int
    scenarios: tuple[str, ...]
    pull_profiles: tuple[PullProfile, ...]
    analyze: bool = True
    push_pull: bool = True
    bases_mode: str = "auto"

    def __post_init__(self):
        if self.repeat < 1:
            raise UserError("--repeat must be at least 1")
        if self.warmup < 0:
            raise UserError("--warmup must be 0 or more")
        for s in self.scenarios:
            if s not in SCENARIOS:
                raise UserError(f"--scenarios {s}: choose from {', '.join(SCENARIOS)}")
        if self.bases_mode not in BASES_MODES:
            raise UserError(f"--bases {self.bases_mode}: choose one of {', '.join(BASES_MODES)}")
        for p in self.pull_profiles:
            if p.bits_per_second is not None and not p.bits_per_second > 0:
                raise UserError(f"pull profile {p.name}: bandwidth must be a positive bits/s, or none for loopback")

    @property
    def bandwidths(self) -> dict[str, float | None]:
        return {p.name: p.bits_per_second for p in self.pull_profiles}

    def to_json(self) -> dict:
        d = asdict(self)
        d["scenarios"] = list(self.scenarios)
        d["pull_profiles"] = [asdict(p) for p in self.pull_profiles]
        return d

    @classmethod
    def from_json(cls, d: Mapping) -> "Settings":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["scenarios"] = tuple(kw.get("scenarios", ()))
        kw["pull_profiles"] = tuple(PullProfile(p["name"], p["bits_per_second"]) for p in kw.get("pull_profiles", ()))
        return cls(**kw)


def pull_profiles(names) -> tuple[PullProfile, ...]:
    out = []
    for n in names:
        if n not in BANDWIDTHS:
            raise UserError(f"--pull-profiles {n}: choose from {', '.join(BANDWIDTHS)}")
        out.append(PullProfile(n, BANDWIDTHS[n]))
    return tuple(out)


PROFILES: dict[str, Settings] = {
    # One of everything: a smoke test of the whole pipeline.
    "quick": Settings("quick", repeat=1, warmup=0, scenarios=SCENARIOS, pull_profiles=pull_profiles(["loopback"])),
    "standard": Settings("standard", repeat=3, warmup=1, scenarios=SCENARIOS, pull_profiles=pull_profiles(BANDWIDTHS)),
    "full": Settings("full", repeat=5, warmup=1, scenarios=SCENARIOS, pull_profiles=pull_profiles(BANDWIDTHS)),
}

# What a flag overrides, and the flag that says so in an error.
FLAGS = {"profile": "--profile", "repeat": "--repeat", "warmup": "--warmup", "scenarios": "--scenarios",
         "pull_profiles": "--pull-profiles", "analyze": "--no-analyze", "push_pull": "--no-push",
         "bases_mode": "--bases"}


@dataclass(frozen=True)
class Asked:
    """What the command line asked for; None means "not said"."""

    profile: str | None = None
    repeat: int | None = None
    warmup: int | None = None
    scenarios: tuple[str, ...] | None = None
    pull_profiles: tuple[str, ...] | None = None
    analyze: bool | None = None
    push_pull: bool | None = None
    bases_mode: str | None = None


def from_profile(asked: Asked) -> Settings:
    """A new run's settings: the profile's, with every flag that was given applied."""
    name = asked.profile or "standard"
    if name not in PROFILES:
        raise UserError(f"--profile {name}: choose one of {', '.join(PROFILES)}")
    over = {k: v for k, v in asdict(asked).items() if v is not None and k != "profile"}
    if "pull_profiles" in over:
        over["pull_profiles"] = pull_profiles(over["pull_profiles"])
    if "scenarios" in over:
        over["scenarios"] = tuple(over["scenarios"])
    return replace(PROFILES[name], **over)


def for_resume(asked: Asked, stored: Settings, run_id: str) -> Settings:
    """A resumed run keeps its own settings; a flag that disagrees is an error."""
    for k, v in asdict(asked).items():
        if v is None:
            continue
        have = getattr(stored, k)
        if k == "pull_profiles":
            have = tuple(p.name for p in have)
        if tuple(v) != tuple(have) if isinstance(v, tuple) else v != have:
            shown = ",".join(have) if isinstance(have, tuple) else str(have)
            raise UserError(f"run {run_id} was measured with {k.replace('_', ' ')} {shown}; "
                            f"resume it without {FLAGS[k]} (or start a new run)")
    return stored
