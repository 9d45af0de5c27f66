"""bench clean: remove what bench made, selected by its label and nothing else."""

import os

from bench.engine.executor import default_executor
from bench.runner import check_engine, cleanup


def add_arguments(p):
    p.add_argument("--standins", action="store_true",
                   help="also remove the stand-in base images (rebuilding them takes minutes)")


def run(args) -> int:
    ex = default_executor()
    check_engine(ex)
    removed = cleanup(ex, standins=args.standins)
    print(f"removed {len(removed)} containers and images labelled org.bench.managed=true"
          + ("" if args.standins else " (stand-in bases kept; --standins removes them too)"))
    # What a cold-pull engine killed without warning (SIGKILL, power loss) left behind: its
    # bridge and containerd namespaces, named bcold<hex> / bench-cold-<hex> by bench alone.
    if os.geteuid() == 0:
        from bench.engine.coldpull import remove_stale_bridges, remove_stale_namespaces

        left = remove_stale_bridges() + remove_stale_namespaces()
        if left:
            print(f"removed {len(left)} leftovers of interrupted cold-pull engines: {', '.join(left)}")
    return 0
