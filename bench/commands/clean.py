"""bench clean: remove what bench made, selected by its label and nothing else."""

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
    return 0
