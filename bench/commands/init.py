"""`bench init DIR`: turn a checkout with a Dockerfile into an app folder bench can run.

    git clone https://github.com/<someone>/<app> && cd <app>
    bench init .                       # writes ./bench-app/<app>/, prints each guess
    bench run --apps ./bench-app --results ~/bench-results

What is written and how each value is guessed: bench/init.py.
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("dir", metavar="DIR", type=Path, help="the checkout (the build context)")
    p.add_argument("--dockerfile", type=Path, default=None, metavar="PATH",
                   help="its Dockerfile (default: DIR/Dockerfile; relative paths are inside DIR)")
    p.add_argument("--name", default=None, metavar="NAME", help="the app's name (default: DIR's folder name)")
    p.add_argument("--force", action="store_true", help="write DIR/bench-app/NAME again if it exists")


def run(args) -> int:
    from bench.init import plan_init, report_lines, write_app

    plan = plan_init(args.dir, args.dockerfile, args.name, force=args.force)
    write_app(plan)
    for line in report_lines(plan):
        print(line)
    return 0
