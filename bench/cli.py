"""The command line: a thin table of verbs, each a module in bench/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bench import __version__
from bench.errors import UserError

# verb -> (module, one-line help)
VERBS = {
    "doctor": ("bench.commands.doctor", "check the engine, BuildKit, registry and tools bench needs"),
    "bases": ("bench.commands.bases", "list base images and build their local stand-ins"),
    "list": ("bench.commands.list", "print the apps x variants matrix and what can run here"),
    "run": ("bench.commands.run", "build, measure and store every variant (the main job)"),
    "merge": ("bench.commands.merge", "join the shard runs of one matrix into one run"),
    "analyze": ("bench.commands.analyze", "layers, wasted bytes and packages of any local image"),
    "report": ("bench.commands.report", "tables, charts and REPORT.md from stored results"),
    "compare": ("bench.commands.compare", "what changed between two runs: byte deltas, timing verdicts, CI thresholds"),
    "export": ("bench.commands.export", "a run's timings as pytest-benchmark JSON"),
    "diff": ("bench.commands.diff", "what makes one image bigger than another, file by file and layer by layer"),
    "init": ("bench.commands.init", "turn a checkout with a Dockerfile into an app folder bench can run"),
    "clean": ("bench.commands.clean", "remove the containers and images bench made (by label)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Measure what each Docker image-size technique really buys.")
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every docker command")
    parser.add_argument("--context", metavar="NAME",
                        help="the docker context (engine) every docker and buildx call uses (default: DOCKER_HOST, "
                             "else the local engine)")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, (modname, help_) in VERBS.items():
        p = sub.add_parser(verb, help=help_, description=help_)
        try:
            mod = importlib.import_module(modname)
        except ImportError as e:
            p.set_defaults(_missing=f"`bench {verb}` is not available in this build ({e.name} is missing)")
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    if not args.verb:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print(f"bench: error: {args._missing}", file=sys.stderr)
        return 2
    try:
        if args.context:
            from bench.engine.docker import Docker
            from bench.engine.endpoint import use_context

            use_context(args.context, Docker())
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; measured cells are saved (rerun with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
