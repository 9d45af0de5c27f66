"""A fake executor: answers commands from a script of (argv prefix -> result)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.engine.executor import Completed, DockerError


@dataclass
class FakeExecutor:
    """Returns canned results for argv prefixes and records every call.

    `responses` maps a tuple prefix (e.g. ("docker", "info")) to a Completed-like triple
    (returncode, stdout, stderr) or a callable taking the argv.
    """

    responses: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)

    def on(self, *prefix, rc=0, stdout="", stderr=""):
        self.responses[tuple(prefix)] = (rc, stdout, stderr)
        return self

    def run(self, argv, *, check=True, timeout=None, env=None, cwd=None, input=None):
        argv = tuple(argv)
        self.calls.append(argv)
        best = None
        for prefix, resp in self.responses.items():
            if argv[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[0])):
                best = (prefix, resp)
        if best is None:
            rc, out, err = 127, "", f"fake: no response for {argv}"
        else:
            resp = best[1]
            rc, out, err = resp(argv) if callable(resp) else resp
        done = Completed(argv, rc, out, err, 0.0)
        if check and rc != 0:
            raise DockerError(done)
        return done


def docker_py_client_failing_with(error: Exception):
    """A docker-py client whose image export raises `error` (the engine said the image exists)."""

    class Api:
        def inspect_image(self, ref):
            return {}

        def _url(self, path, ref):
            return path.format(ref)

        def _get(self, url, stream):
            raise error

    class Client:
        api = Api()

    return Client()
