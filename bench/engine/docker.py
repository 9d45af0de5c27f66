"""The one seam to the main Docker engine: every docker argv bench runs is built here.

Modelled on python-on-whales' cli_wrapper: a small object holding the Executor, with one
typed method per docker verb bench uses, each returning a parsed value. A failed command
raises the executor's DockerError (command, return code, stdout, stderr) unless the method
says what a failure means (None, False, an empty list). Methods that time something return
`Completed.seconds`, measured by the executor around the one command: build, push and pull
times all come from that one clock.

`buildx build` argv for measured builds is assembled by bench.engine.buildx (its flags
are the experiment); it still runs through `Docker.build`. The cold-pull engine
(bench.engine.coldpull) talks to its own daemon with `-H` and keeps its own argv.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from bench import LABEL
from bench.engine.executor import Completed, DockerError, Executor, default_executor
from bench.errors import EngineUnavailable, UserError

# A busy engine can take minutes before the first byte of `docker save` (docker-py's default
# read timeout is 60 s); BENCH_SAVE_TIMEOUT (seconds) changes this.
SAVE_TIMEOUT = 900
SAVE_CHUNK = 1 << 20

PROBE_TIMEOUT = 15
INSPECT_TIMEOUT = 60


def _last_line(text: str, default: str = "") -> str:
    return (text.strip().splitlines() or [default])[-1]


def parse_buildx_inspect(text: str) -> dict[str, str]:
    """`docker buildx inspect` as {field: value}, first occurrence of each field."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value.strip():
            fields.setdefault(key.strip(), value.strip())
    return fields


@dataclass(frozen=True)
class Docker:
    executor: Executor = field(default_factory=default_executor)

    def _run(self, *args: str, check: bool = True, timeout: float | None = None,
             input: str | None = None) -> Completed:
        return self.executor.run(["docker", *args], check=check, timeout=timeout, input=input)

    # -- the engine -------------------------------------------------------------------------
    def _server_probe(self) -> Completed:
        return self._run("info", "--format", "{{.ServerVersion}}", check=False, timeout=PROBE_TIMEOUT)

    def server_version(self) -> str | None:
        """The daemon's version, None when no daemon answers (some clients exit 0 then)."""
        done = self._server_probe()
        return done.stdout.strip() or None if done.returncode == 0 else None

    def answers(self) -> bool:
        try:
            return self.server_version() is not None
        except Exception:  # noqa: BLE001 - no client binary, a timeout: no engine either way
            return False

    def require(self) -> None:
        """Raise a UserError saying what to do unless an engine with buildx answers."""
        done = self._server_probe()
        if done.returncode != 0 or not done.stdout.strip():
            detail = _last_line(done.stderr)
            if "permission denied" in detail:
                raise UserError("docker refused access (permission denied): add yourself to the docker group or run as root")
            raise EngineUnavailable(detail[:120] if detail else "")
        if self.buildx_version() is None:
            raise UserError("docker buildx is missing: install the docker-buildx plugin (scripts/bootstrap-engine.sh does)")

    def version_json(self) -> dict:
        """`docker version` as a dict; EngineUnavailable when the server part is missing."""
        done = self._run("version", "--format", "{{json .}}", check=False, timeout=PROBE_TIMEOUT)
        if done.returncode != 0 or not done.stdout.strip().startswith("{"):
            raise EngineUnavailable(_last_line(done.stderr, "no answer")[:160])
        ver = json.loads(done.stdout)
        if not (ver.get("Server") or {}).get("Version"):
            raise EngineUnavailable(_last_line(done.stderr, "no server version")[:160])
        return ver

    def info_json(self) -> dict:
        return json.loads(self._run("info", "--format", "{{json .}}", timeout=60).stdout)

    def context_host(self, name: str) -> str | None:
        """The engine endpoint of docker context `name` (e.g. unix:///..., ssh://...), None if unknown."""
        done = self._run("context", "inspect", name, "--format", "{{.Endpoints.docker.Host}}",
                         check=False, timeout=PROBE_TIMEOUT)
        return done.stdout.strip() or None if done.returncode == 0 else None

    def index_server_address(self) -> str | None:
        """The engine's default registry address (e.g. an https URL), None if it does not say."""
        try:
            return self._run("info", "--format", "{{.IndexServerAddress}}", timeout=PROBE_TIMEOUT).stdout.strip() or None
        except DockerError:
            return None

    def buildx_version(self) -> str | None:
        done = self._run("buildx", "version", check=False, timeout=PROBE_TIMEOUT)
        return done.stdout.strip() or "unknown" if done.returncode == 0 else None

    def buildx_inspect(self) -> dict[str, str]:
        """The current builder's fields (Name, Driver, BuildKit version, ...); {} on failure."""
        done = self._run("buildx", "inspect", check=False, timeout=PROBE_TIMEOUT)
        return parse_buildx_inspect(done.stdout) if done.returncode == 0 else {}

    def imagetools_inspect(self, ref: str, *, timeout: float = 8) -> bool:
        """Whether a registry serves `ref`'s manifest (nothing is pulled)."""
        return self._run("buildx", "imagetools", "inspect", ref, check=False, timeout=timeout).returncode == 0

    # -- images -----------------------------------------------------------------------------
    def inspect_image(self, ref: str, *, check: bool = False) -> dict | None:
        """`docker image inspect` as a dict; None when the engine has no such image
        (with check=True a DockerError instead)."""
        done = self._run("image", "inspect", "--format", "{{json .}}", ref, check=check, timeout=INSPECT_TIMEOUT)
        if done.returncode != 0 or not done.stdout.strip():
            return None
        data = json.loads(done.stdout)
        if isinstance(data, list):
            return data[0] if data else None
        return data

    def image_size(self, ref: str) -> int | None:
        """Bytes on disk as the engine reports them (`.Size`), None if the image is absent."""
        info = self.inspect_image(ref)
        try:
            return int(info["Size"]) if info else None
        except (KeyError, TypeError, ValueError):
            return None

    def repo_tags(self, ref: str) -> list[str] | None:
        info = self.inspect_image(ref)
        return None if info is None else list(info.get("RepoTags") or [])

    def history(self, ref: str) -> list[dict]:
        """Newest first, like `docker history`: CreatedBy and Size in bytes."""
        out = self._run("history", "--no-trunc", "--human=false", "--format", "{{json .}}", ref).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def images(self, *, label: str | None = None, reference: str | None = None,
               fmt: str = "{{.Repository}}:{{.Tag}}") -> list[str]:
        """One formatted line per image matching the filters (label `k=v`, reference glob)."""
        args = ["images"]
        if label:
            args += ["--filter", f"label={label}"]
        if reference:
            args += ["--filter", f"reference={reference}"]
        out = self._run(*args, "--format", fmt, check=False).stdout
        return [line for line in out.splitlines() if line.strip()]

    def rmi(self, *refs: str, check: bool = False) -> bool:
        """Remove images (by tag or id); True when the engine removed them all."""
        if not refs:
            return True
        return self._run("rmi", *refs, check=check).returncode == 0

    def tag(self, src: str, dst: str) -> None:
        self._run("tag", src, dst)

    def push(self, ref: str) -> float:
        """Push; returns the seconds it took."""
        return self._run("push", "--quiet", ref).seconds

    def pull(self, ref: str, *, timeout: float = 1800) -> float:
        """Pull; returns the seconds it took."""
        return self._run("pull", ref, timeout=timeout).seconds

    def save(self, ref: str, path: str | os.PathLike, *, timeout: float = 1800) -> float:
        return self._run("save", "-o", str(path), ref, timeout=timeout).seconds

    def save_stream(self, ref: str, *, client=None) -> Iterator[bytes]:
        """`docker save REF` as a stream of chunks through docker-py (no temp file)."""
        return _save_stream(ref, client)

    def import_(self, tar: str | os.PathLike, tag: str, *, changes: Sequence[str] = (), message: str = "",
                timeout: float = 1800) -> None:
        args = ["import"]
        for c in changes:
            args += ["--change", c]
        if message:
            args += ["--message", message]
        self._run(*args, str(tar), tag, timeout=timeout)

    def build(self, argv: Sequence[str], *, timeout: float | None = 3600) -> Completed:
        """Run a `docker buildx build` argv from bench.engine.buildx; never raises on a failed
        build (the caller reads BuildKit's own account of it)."""
        if list(argv[:3]) != ["docker", "buildx", "build"]:
            raise ValueError(f"not a buildx build argv: {list(argv[:3])}")
        return self.executor.run(argv, check=False, timeout=timeout)

    def build_file(self, dockerfile: str | os.PathLike, context: str | os.PathLike, tag: str, *,
                   build_contexts: Sequence[str] = (), timeout: float = 3600) -> float:
        """Build a Dockerfile on disk (stand-ins; not a measured build); returns its seconds."""
        return self._run("buildx", "build", "--progress=plain", "-f", str(dockerfile), *build_contexts,
                         "-t", tag, str(context), timeout=timeout).seconds

    def run_once(self, image: str, *, entrypoint: str, args: Sequence[str] = (), timeout: float = 120) -> Completed:
        """`docker run --rm` a short command and return what it printed (never raises)."""
        return self._run("run", "--rm", "--entrypoint", entrypoint, image, *args, check=False, timeout=timeout)

    def build_stdin(self, dockerfile: str, tag: str, *, timeout: float = 600) -> float:
        """Build a Dockerfile given as text (no context); returns the seconds it took."""
        return self._run("buildx", "build", "--progress=plain", "-t", tag, "-", input=dockerfile,
                         timeout=timeout).seconds

    # -- containers -------------------------------------------------------------------------
    def run_container(self, image: str, *, name: str, labels: dict[str, str] | None = None,
                      read_only: bool = False, tmpfs: Sequence[str] = (), security_opt: Sequence[str] = (),
                      cap_drop: Sequence[str] = (), memory: str | None = None, publish: Sequence[str] = (),
                      user: str | None = None) -> str:
        """`docker run -d`; returns the container id."""
        args = ["run", "-d", "--name", name]
        for k, v in (labels or {}).items():
            args += ["--label", f"{k}={v}"]
        if read_only:
            args.append("--read-only")
        for opts, flag in ((tmpfs, "--tmpfs"), (security_opt, "--security-opt"), (cap_drop, "--cap-drop")):
            for o in opts:
                args += [flag, o]
        if memory:
            args += ["--memory", memory]
        for p in publish:
            args += ["-p", p]
        if user:
            args += ["--user", user]
        return self._run(*args, image).stdout.strip()

    def container_port(self, name: str, port: int) -> int | None:
        """The loopback host port `port/tcp` is published on, None while it is not yet."""
        done = self._run("port", name, f"{port}/tcp", check=False)
        for line in done.stdout.strip().splitlines():
            host, _, p = line.rpartition(":")
            if host in ("127.0.0.1", "0.0.0.0") and p.isdigit():
                return int(p)
        return None

    def container_running(self, name: str) -> bool | None:
        """True/False from the container's state, None when docker cannot say."""
        state = self._run("inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip()
        return {"true": True, "false": False}.get(state)

    def logs(self, name: str, *, tail: int = 20) -> str:
        done = self._run("logs", "--tail", str(tail), name, check=False)
        return done.stdout + done.stderr

    def ps_ids(self, *, label: str) -> list[str]:
        """Ids of all containers (running or not) with label `k=v`."""
        return self._run("ps", "-aq", "--filter", f"label={label}", check=False).stdout.split()

    def rm(self, *ids: str) -> None:
        """Remove containers by force, with their anonymous volumes."""
        if ids:
            self._run("rm", "-f", "-v", *ids, check=False)


def _save_stream(ref: str, client=None) -> Iterator[bytes]:
    """docker-py's image export, with its failures turned into one-line errors."""
    import docker
    import requests
    from docker import errors as derr

    timeout = int(os.environ.get("BENCH_SAVE_TIMEOUT") or SAVE_TIMEOUT)
    try:
        client = client or docker.from_env(timeout=timeout)
        client.api.inspect_image(ref)
    except derr.ImageNotFound:
        raise UserError(f"no local image {ref!r}: build it or `docker pull` it first") from None
    except derr.APIError as e:
        raise UserError(f"the engine refused image {ref!r}: {e.explanation or e}") from None
    except (derr.DockerException, requests.exceptions.ConnectionError) as e:
        raise EngineUnavailable(str(e).splitlines()[0][:160]) from None
    try:
        return _blocks(client.api, ref)
    except requests.exceptions.Timeout:
        raise UserError(
            f"the engine sent nothing of `docker save {ref}` within {timeout} s; "
            "retry when it is less busy, or raise BENCH_SAVE_TIMEOUT"
        ) from None
    except (derr.DockerException, requests.exceptions.RequestException) as e:
        raise UserError(f"`docker save {ref}` failed: {str(e).splitlines()[0][:200]}") from None


def _blocks(api, ref: str) -> Iterator[bytes]:
    """The export's bytes in SAVE_CHUNK blocks read straight off the HTTP response.

    docker-py's get_image yields each chunk of dockerd's chunked encoding (32 KiB): for a
    1 GB image that is 30,000 Python-level hand-offs, which made bench's layer reader slower
    than dive. Reading the raw response in 1 MiB blocks reads the same bytes in 1,000."""
    res = api._get(api._url("/images/{0}/get", ref), stream=True)
    api._raise_for_status(res)
    raw = res.raw
    raw.decode_content = True

    def blocks() -> Iterator[bytes]:
        try:
            while block := raw.read(SAVE_CHUNK):
                yield block
        finally:
            res.close()

    return blocks()


def as_docker(x: Docker | Executor | None = None) -> Docker:
    """Callers that still hold an Executor get the seam around it."""
    if isinstance(x, Docker):
        return x
    return Docker(x or default_executor())


def engine_answers(executor: Docker | Executor | None = None) -> bool:
    return as_docker(executor).answers()


def check_engine(executor: Docker | Executor | None = None) -> None:
    as_docker(executor).require()


def cleanup(docker: Docker | Executor | None = None, *, standins: bool = False) -> list[str]:
    """Remove containers and images bench made, selected by its label only.

    Stand-in bases (label org.bench.standin-of) take minutes to build and are reused
    across runs, so they stay unless `standins` is set."""
    docker = as_docker(docker)
    removed: list[str] = []
    ids = docker.ps_ids(label=f"{LABEL}=true")
    if ids:
        docker.rm(*ids)
        removed += ids
    lines = docker.images(label=f"{LABEL}=true",
                          fmt='{{.Repository}}:{{.Tag}}\t{{.ID}}\t{{index .Labels "org.bench.standin-of"}}')
    refs = []
    for line in lines:
        ref, _, rest = line.partition("\t")
        image_id, _, standin_of = rest.partition("\t")
        if standin_of and not standins:
            continue
        refs.append(image_id if ref.endswith(":<none>") else ref)
    if refs:
        docker.rmi(*refs)
        removed += refs
    return removed
