"""bench clean: remove what bench made, selected by its label and nothing else."""

import os

from bench.engine.docker import Docker, cleanup


def add_arguments(p):
    p.add_argument("--standins", action="store_true",
                   help="also remove the stand-in base images (rebuilding them takes minutes)")


def run(args) -> int:
    docker = Docker()
    docker.require()
    removed = cleanup(docker, standins=args.standins)
    print(f"removed {len(removed)} containers and images labelled org.bench.managed=true"
          + ("" if args.standins else " (stand-in bases kept; --standins removes them too)"))
    # What bench processes killed without warning (SIGKILL, power loss) left behind: cold
    # engines' bridges and containerd namespaces (named bcold<hex> / bench-cold-<hex> by bench
    # alone), and registry, cold-engine and app-copy folders whose owner is gone.
    if os.geteuid() == 0:
        from bench.engine.coldpull import remove_stale_bridges, remove_stale_namespaces

        from bench.engine.registry import work_root
        from bench.engine.workdirs import sweep

        left = remove_stale_bridges() + remove_stale_namespaces() + [str(p) for p in sweep(work_root())]
        if left:
            print(f"removed {len(left)} leftovers of interrupted cold-pull engines: {', '.join(left)}")
    return 0
