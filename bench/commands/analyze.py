"""`bench analyze IMAGE`: layers, wasted and reclaimable bytes, packages of any local image.

    python -m bench analyze myapp:latest                 # table
    python -m bench analyze myapp:latest --json          # everything as JSON
    python -m bench analyze myapp:latest --ci            # dive's CI rules; exit 1 on FAIL

--ci reads `.dive-ci` from the current directory (dive's format) or --ci-config FILE, with
dive's defaults otherwise (lowestEfficiency 0.9, highestUserWastedPercent 0.1,
highestWastedBytes disabled).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict

from bench.errors import UserError


def add_arguments(p) -> None:
    p.add_argument("image", help="a local image (name:tag or id)")
    p.add_argument("--archive", metavar="FILE", help="read the image from a `docker save` file instead of the engine")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--ci", action="store_true", help="apply dive's CI rules and exit 1 if one fails")
    p.add_argument("--ci-config", metavar="FILE", help="dive CI rules file (default: ./.dive-ci when present)")
    for rule, example in (("lowestEfficiency", "0.9"), ("highestWastedBytes", "20MB"),
                          ("highestUserWastedPercent", "0.1")):
        p.add_argument(f"--{rule}", metavar="VALUE", help=f"(with --ci) override this rule, e.g. {example} or disabled")
    p.add_argument("--dockerfile", metavar="FILE", help="also lint this Dockerfile with hadolint")
    p.add_argument("--no-sbom", action="store_true", help="skip the syft package count")


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _as_json(res, ci_results=None, ci_source=None) -> dict:
    out: dict = {"image": res.image, "reasons": res.reasons}
    if res.layers is not None:
        f = res.layers.figures
        out["efficiency"] = f.efficiency
        out["wasted_bytes"] = f.wasted_bytes
        out["reclaimable_bytes"] = f.reclaimable_bytes
        out["user_wasted_percent"] = _finite(f.user_wasted_percent)
        out["size_bytes"] = f.size_bytes
        out["user_size_bytes"] = f.user_size_bytes
        out["layers"] = [asdict(layer) for layer in res.layers.layers]
        out["inefficient_files"] = [asdict(p) for p in f.inefficiencies]
    if res.packages is not None:
        out["packages"] = res.packages
    if res.findings is not None:
        out["hadolint"] = [asdict(x) for x in res.findings]
    if ci_results is not None:
        out["ci"] = {"config": ci_source, "pass": all(r.status != "FAIL" for r in ci_results),
                     "rules": [asdict(r) for r in ci_results]}
    return out


def _print_table(res) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from bench.analyze.ci import human_bytes
    from bench.analyze.layers import short_instruction

    console = Console()
    if res.layers is not None:
        t = Table(title=f"Layers of {res.image}", show_lines=False)
        for col, just in (("#", "right"), ("bytes", "right"), ("added", "right"), ("modified", "right"),
                          ("deleted", "right"), ("files", "right"), ("instruction", "left")):
            t.add_column(col, justify=just, overflow="fold" if col == "instruction" else "ellipsis")
        for layer in res.layers.layers:
            t.add_row(str(layer.index), human_bytes(layer.size_bytes), human_bytes(layer.added_bytes),
                      human_bytes(layer.modified_bytes), human_bytes(layer.deleted_bytes), str(layer.files),
                      escape(short_instruction(layer.instruction, 100) or (f"({layer.comment})" if layer.comment else "")))
        console.print(t)
        f = res.layers.figures
        uwp = f"{f.user_wasted_percent * 100:.2f} %" if math.isfinite(f.user_wasted_percent) else "n/a (no bytes after the first layer)"
        console.print(f"efficiency:          {f.efficiency * 100:.4f} %")
        console.print(f"wasted bytes:        {f.wasted_bytes} ({human_bytes(f.wasted_bytes)}; dive's figure, every copy)")
        console.print(f"reclaimable bytes:   {f.reclaimable_bytes} ({human_bytes(f.reclaimable_bytes)}; all copies but one)")
        console.print(f"user wasted percent: {uwp}")
        if f.inefficiencies:
            t = Table(title="Paths in more than one layer")
            t.add_column("copies", justify="right")
            t.add_column("all copies", justify="right")
            t.add_column("reclaimable", justify="right")
            t.add_column("path")
            for p in f.inefficiencies[:20]:
                t.add_row(str(p.copies), human_bytes(p.cumulative), human_bytes(p.cumulative - p.smallest), escape(p.path))
            if len(f.inefficiencies) > 20:
                t.caption = f"{len(f.inefficiencies) - 20} more (use --json for all)"
            console.print(t)
    if res.packages is not None:
        console.print("packages:            " + ", ".join(f"{k} {v}" for k, v in res.packages.items()))
    if res.findings is not None:
        console.print(f"hadolint findings:   {len(res.findings)}")
        for x in res.findings:
            console.print(f"  line {x.line}: {x.rule} ({x.level}) {x.message}", markup=False, highlight=False)
    for metric, why in res.reasons.items():
        if metric == "hadolint_findings" and why == "no Dockerfile given":
            continue
        console.print(f"[yellow]{metric}: absent: {escape(why)}[/yellow]")


def run(args) -> int:
    from bench.analyze import analyze
    from bench.analyze import ci as dive_ci

    rules = source = None
    overrides = {k: getattr(args, k, None) for k in dive_ci.DEFAULTS}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.ci:  # read the rules first: a bad config is reported before any work
        rules, source = dive_ci.load_rules(args.ci_config)
        if overrides:
            rules = {**rules, **overrides}
            source += " + command line"
        dive_ci.validate(rules)
    elif args.ci_config or overrides:
        raise UserError("--ci-config and the rule options need --ci")

    res = analyze(args.image, dockerfile=args.dockerfile, archive=args.archive, sbom=not args.no_sbom)

    ci_results = dive_ci.evaluate(res.layers.figures, rules) if args.ci else None
    if args.json:
        json.dump(_as_json(res, ci_results, source), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    elif args.ci:
        print(f"  Using CI config: {source}")
        print(dive_ci.report(res.layers.figures, ci_results))
        if res.packages is not None:
            print("packages: " + ", ".join(f"{k} {v}" for k, v in res.packages.items()))
    else:
        _print_table(res)
    if ci_results is not None and not dive_ci.passed(ci_results):
        return 1
    return 0
