"""apps x variants x scenarios x repetitions -> an ordered list of cells to measure."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.apps import App, Variant
from bench.errors import UserError

SCENARIOS = ("cold", "warm", "edit")

# Bandwidth profiles for cold pulls, in bits per second; None is plain loopback.
PROFILES_BANDWIDTH: dict[str, float | None] = {
    "loopback": None,
    "1gbit": 1e9,
    "150mbit": 150e6,
}


@dataclass(frozen=True)
class Profile:
    name: str
    repeat: int
    warmup: int
    scenarios: tuple[str, ...]
    pull_profiles: tuple[str, ...]
    analyze: bool = True
    push_pull: bool = True


PROFILES = {
    # One of everything: a smoke test of the whole pipeline.
    "quick": Profile("quick", repeat=1, warmup=0, scenarios=SCENARIOS, pull_profiles=("loopback",)),
    "standard": Profile("standard", repeat=3, warmup=0, scenarios=SCENARIOS, pull_profiles=tuple(PROFILES_BANDWIDTH)),
    "full": Profile("full", repeat=5, warmup=1, scenarios=SCENARIOS, pull_profiles=tuple(PROFILES_BANDWIDTH)),
}


@dataclass(frozen=True)
class Cell:
    app: App
    variant: Variant
    repeat: int
    warmup: int
    scenarios: tuple[str, ...]
    pull_profiles: tuple[str, ...]
    analyze: bool
    push_pull: bool

    @property
    def key(self) -> str:
        return f"{self.app.name}/{self.variant.name}"


@dataclass(frozen=True)
class Plan:
    profile: Profile
    cells: tuple[Cell, ...] = field(default=())

    def describe(self) -> str:
        n = len(self.cells)
        builds = sum(c.repeat * len(c.scenarios) + c.warmup for c in self.cells)
        return f"{n} cells, {builds} builds, profile {self.profile.name}"


def make_plan(
    pairs: list[tuple[App, Variant]],
    *,
    profile: str = "quick",
    repeat: int | None = None,
    warmup: int | None = None,
    scenarios: tuple[str, ...] | None = None,
    pull_profiles: tuple[str, ...] | None = None,
    analyze: bool | None = None,
    push_pull: bool | None = None,
) -> Plan:
    if profile not in PROFILES:
        raise UserError(f"--profile {profile}: choose one of {', '.join(PROFILES)}")
    p = PROFILES[profile]
    if repeat is not None and repeat < 1:
        raise UserError("--repeat must be at least 1")
    if warmup is not None and warmup < 0:
        raise UserError("--warmup must be 0 or more")
    for s in scenarios or ():
        if s not in SCENARIOS:
            raise UserError(f"--scenarios {s}: choose from {', '.join(SCENARIOS)}")
    for pp in pull_profiles or ():
        if pp not in PROFILES_BANDWIDTH:
            raise UserError(f"--pull-profiles {pp}: choose from {', '.join(PROFILES_BANDWIDTH)}")
    cells = tuple(
        Cell(
            app=a,
            variant=v,
            repeat=repeat or p.repeat,
            warmup=p.warmup if warmup is None else warmup,
            scenarios=tuple(scenarios or p.scenarios),
            pull_profiles=tuple(pull_profiles if pull_profiles is not None else p.pull_profiles),
            analyze=p.analyze if analyze is None else analyze,
            push_pull=p.push_pull if push_pull is None else push_pull,
        )
        for a, v in pairs
    )
    return Plan(profile=p, cells=cells)
