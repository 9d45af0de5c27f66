"""bench list: the apps x variants matrix, and which variants can run here and why not."""

from __future__ import annotations

import json
from pathlib import Path

from bench.apps import load_apps, select


def add_arguments(p):
    p.add_argument("--apps", type=Path, help="a directory laid out like sample_apps/")
    p.add_argument("--only", action="append", metavar="APP[/VARIANT]")
    p.add_argument("--bases", choices=["auto", "hub", "local"], default="local",
                   help="how bases would resolve (default local: no network needed)")
    p.add_argument("--json", action="store_true")


def _availability(refs: set[str], mode: str, apps_dir: Path | None = None) -> dict[str, tuple[bool, str, bool]]:
    """ref -> (available, reason, standin) without building anything. Each ref is resolved
    on its own: one that cannot resolve (not catalogued, no registry) is reported with its
    reason and does not hide the others'."""
    try:
        from bench.bases import NOT_BUILT_REASON, load_catalogue, resolve
    except ImportError:
        return {r: (True, "", False) for r in refs}
    catalogue = load_catalogue(extra=apps_dir)  # with the apps' own bases.toml
    from bench.errors import EngineUnavailable, UserError

    out = {}
    for ref in sorted(refs):
        try:
            v = resolve([ref], mode, build=False, catalogue=catalogue)[ref]
        except EngineUnavailable as e:  # listing must not need a working engine
            out[ref] = (True, f"not checked: {e}", False)
        except UserError as e:
            out[ref] = (False, str(e), False)
        except Exception as e:  # noqa: BLE001 - no docker client, a timeout: say so, list the rest
            out[ref] = (True, f"not checked: {e}", False)
        else:
            if v.reason == NOT_BUILT_REASON:  # `bench run` builds a missing stand-in before it is used
                out[ref] = (True, "stand-in built by the first run that needs it", True)
            else:
                out[ref] = (v.available, v.reason, v.standin)
    return out


def run(args) -> int:
    pairs = select(load_apps(args.apps), args.only)
    refs = {b for _, v in pairs for b in v.bases}
    avail = _availability(refs, args.bases, args.apps)
    rows = []
    for a, v in pairs:
        blocked = [f"{b}: {avail[b][1]}" for b in v.bases if not avail.get(b, (True,))[0]]
        rows.append({
            "app": a.name, "variant": v.name, "techniques": list(v.techniques), "parent": v.parent,
            "bases": list(v.bases), "standin": any(avail.get(b, (1, "", False))[2] for b in v.bases),
            "runnable": not blocked, "why_not": "; ".join(blocked), "summary": v.summary,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"bench matrix ({len(rows)} variants, bases mode {args.bases})")
    for col in ("app", "variant", "techniques", "parent", "bases", "runs here"):
        t.add_column(col)
    for r in rows:
        bases = ", ".join(r["bases"]) or "(none)"
        if r["standin"]:
            bases += " [stand-in]"
        t.add_row(r["app"], r["variant"], ", ".join(r["techniques"]), r["parent"] or "", escape(bases),
                  "yes" if r["runnable"] else escape(f"no: {r['why_not']}"))  # [[alias]], [stand-in]: text, not markup
    Console().print(t)
    return 0
