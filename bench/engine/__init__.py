"""The one seam to Docker: every docker/buildx command goes through an Executor."""

from bench.engine.executor import Completed, DockerError, Executor, SubprocessExecutor, default_executor

__all__ = ["Completed", "DockerError", "Executor", "SubprocessExecutor", "default_executor"]
