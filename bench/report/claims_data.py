"""Read bench/report/claims.toml (the article's claims) and check that it is well formed."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from bench.errors import UserError

CLAIMS_FILE = Path(__file__).resolve().parent / "claims.toml"
KINDS = {"app_size", "reduction", "base_size", "pull_time", "range", "technique_reduction",
         "largest_technique", "routine_under", "untestable", "recipe_reduction", "pull_wire_share"}
REQUIRED = {
    "app_size": ("scenario", "which", "article"),
    "reduction": ("scenario", "article"),
    "base_size": ("ref", "article"),
    "pull_time": ("size", "profile", "article"),
    "range": ("measure", "low", "high"),
    "technique_reduction": ("technique", "article"),
    "largest_technique": ("technique",),
    "routine_under": ("over", "under"),
    "untestable": ("why",),
    "recipe_reduction": ("article",),
    "pull_wire_share": ("profile", "article"),
}


def load_claims_file(path: Path | str | None = None) -> dict:
    return _load(str(path or CLAIMS_FILE))


@lru_cache(maxsize=8)
def _load(path: str) -> dict:
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing; restore it from git (`git checkout {path}`)")
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path} is not valid TOML ({e}); fix the line it names")
    rules = data.get("rules", {})
    scenarios = {s["key"]: s for s in data.get("scenario", [])}
    claims = data.get("claim", [])
    seen = set()
    for c in claims:
        cid = c.get("id", "?")
        if cid in seen:
            raise UserError(f"{path}: claim id {cid!r} appears twice; ids must be unique")
        seen.add(cid)
        kind = c.get("kind")
        if kind not in KINDS:
            raise UserError(f"{path}: claim {cid!r} has kind {kind!r}; use one of {sorted(KINDS)}")
        for k in REQUIRED[kind] + ("quote", "section"):
            if k not in c:
                raise UserError(f"{path}: claim {cid!r} ({kind}) needs `{k}`")
        if "scenario" in c and c["scenario"] not in scenarios:
            raise UserError(f"{path}: claim {cid!r} names scenario {c['scenario']!r}; "
                            f"add a [[scenario]] with key = {c['scenario']!r}")
    return {
        "rules": {
            "relative_tolerance": float(rules.get("relative_tolerance", 0.25)),
            "points_tolerance": float(rules.get("points_tolerance", 5.0)),
            "noise_points": float(rules.get("noise_points", 0.0)),
            "min_cases": int(rules.get("min_cases", 1)),
            "text": rules.get("text", ""),
        },
        "scenarios": scenarios,
        "claims": claims,
    }


def _matches(app: str, alias: str) -> bool:
    app, alias = app.lower(), alias.lower()
    return app == alias or app.startswith(alias + "-") or app.startswith(alias + "_")


def scenario_for(app: str, claims: dict) -> dict | None:
    """The article's scenario an app stands for, e.g. app "node" -> Node.js web app."""
    for sc in claims["scenarios"].values():
        if any(_matches(app, a) for a in sc.get("apps", [sc["key"]])):
            return sc
    return None


def apps_for(scenario_key: str, apps: list[str], claims: dict) -> list[str]:
    sc = claims["scenarios"][scenario_key]
    return [a for a in apps if any(_matches(a, x) for x in sc.get("apps", [sc["key"]]))]
