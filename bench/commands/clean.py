"""bench clean: remove what bench made, selected by its label and nothing else."""

from bench.engine.executor import default_executor
from bench.runner import check_engine, cleanup


def add_arguments(p):
    pass


def run(args) -> int:
    ex = default_executor()
    check_engine(ex)
    removed = cleanup(ex)
    print(f"removed {len(removed)} containers and images labelled org.bench.managed=true")
    return 0
