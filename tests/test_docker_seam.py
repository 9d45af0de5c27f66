"""bench.engine.docker: the argv each method builds and what it makes of the answer."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bench.engine.docker import Docker, check_engine, cleanup, engine_answers, parse_buildx_inspect
from bench.engine.executor import DockerError
from bench.errors import EngineUnavailable, UserError
from tests.fakes import FakeExecutor

ROOT = Path(__file__).resolve().parent.parent


def docker_argv_literals(root: Path) -> dict[str, list[int]]:
    """Lines of list/tuple literals starting with "docker" in bench/, outside bench/engine/."""
    found: dict[str, list[int]] = {}
    for path in sorted((root / "bench").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("bench/engine/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and first.value == "docker":
                    found.setdefault(rel, []).append(node.lineno)
    return {f: sorted(lines) for f, lines in found.items()}


def test_no_docker_argv_outside_the_engine_package():
    found = docker_argv_literals(ROOT)
    assert not found, f"build docker argv in bench.engine.docker.Docker, not here: {found}"


def test_the_rule_catches_a_docker_argv(tmp_path):
    (tmp_path / "bench" / "measure").mkdir(parents=True)
    (tmp_path / "bench" / "engine").mkdir()
    (tmp_path / "bench" / "measure" / "x.py").write_text('ex.run(["docker", "rmi", ref])\nt = ("docker", "ps")\n')
    (tmp_path / "bench" / "engine" / "y.py").write_text('argv = ["docker", "info"]\n')
    assert docker_argv_literals(tmp_path) == {"bench/measure/x.py": [1, 2]}


# -- the engine -------------------------------------------------------------------------------
def test_server_version_and_answers():
    ex = FakeExecutor().on("docker", "info", stdout="26.1.5\n")
    d = Docker(ex)
    assert d.server_version() == "26.1.5" and d.answers() and engine_answers(ex)
    assert ex.calls[0] == ("docker", "info", "--format", "{{.ServerVersion}}")
    assert Docker(FakeExecutor().on("docker", "info", stdout="\n")).server_version() is None
    assert not Docker(FakeExecutor().on("docker", "info", rc=1)).answers()


def test_require_without_engine_says_how_to_start_one():
    ex = FakeExecutor().on("docker", "info", rc=1, stderr="Cannot connect to the Docker daemon at unix:///x.sock.")
    with pytest.raises(EngineUnavailable, match="no Docker engine answers .*Cannot connect.*bootstrap-engine"):
        Docker(ex).require()
    with pytest.raises(EngineUnavailable):  # exit 0 but no version: no daemon either
        check_engine(FakeExecutor().on("docker", "info", stdout=""))


def test_require_permission_denied_and_missing_buildx_are_user_errors():
    ex = FakeExecutor().on("docker", "info", rc=1, stderr="permission denied while trying to connect")
    with pytest.raises(UserError, match="docker group") as e:
        Docker(ex).require()
    assert not isinstance(e.value, EngineUnavailable)
    ex = FakeExecutor().on("docker", "info", stdout="26.1.5").on("docker", "buildx", "version", rc=1)
    with pytest.raises(UserError, match="docker-buildx plugin"):
        Docker(ex).require()
    ok = FakeExecutor().on("docker", "info", stdout="26.1.5").on("docker", "buildx", "version", stdout="v0.13")
    Docker(ok).require()
    assert ok.calls[-1] == ("docker", "buildx", "version")


def test_version_json_requires_a_server():
    good = {"Client": {"Version": "26.1.5"}, "Server": {"Version": "26.1.5"}}
    ex = FakeExecutor().on("docker", "version", stdout=json.dumps(good))
    assert Docker(ex).version_json() == good
    assert ex.calls == [("docker", "version", "--format", "{{json .}}")]
    client_only = json.dumps({"Client": {"Version": "26.1.5"}, "Server": None})
    with pytest.raises(EngineUnavailable, match="Cannot connect"):
        Docker(FakeExecutor().on("docker", "version", rc=1, stdout=client_only, stderr="Cannot connect")).version_json()
    with pytest.raises(EngineUnavailable, match="no server version"):
        Docker(FakeExecutor().on("docker", "version", stdout=client_only)).version_json()


def test_info_index_and_buildx():
    ex = (FakeExecutor().on("docker", "info", "--format", "{{json .}}", stdout='{"Driver": "overlay2"}')
          .on("docker", "info", "--format", "{{.IndexServerAddress}}", stdout="https://index.example.invalid/v1/\n")
          .on("docker", "buildx", "version", stdout="github.com/docker/buildx 0.13.1\n")
          .on("docker", "buildx", "inspect", stdout="Name: default\nDriver: docker\n\nNodes:\nName: default\n"
              "BuildKit version: v0.13.2\nPlatforms: linux/amd64\n")
          .on("docker", "buildx", "imagetools", rc=1))
    d = Docker(ex)
    assert d.info_json() == {"Driver": "overlay2"}
    assert d.index_server_address() == "https://index.example.invalid/v1/"
    assert d.buildx_version() == "github.com/docker/buildx 0.13.1"
    fields = d.buildx_inspect()
    assert fields["Name"] == "default" and fields["Driver"] == "docker" and fields["BuildKit version"] == "v0.13.2"
    assert not d.imagetools_inspect("busybox:latest")
    assert ("docker", "buildx", "imagetools", "inspect", "busybox:latest") in ex.calls
    assert Docker(FakeExecutor().on("docker", "info", rc=1)).index_server_address() is None
    assert Docker(FakeExecutor().on("docker", "buildx", rc=1)).buildx_inspect() == {}
    assert parse_buildx_inspect("a: 1\na: 2\nno colon\n") == {"a": "1"}


# -- images -----------------------------------------------------------------------------------
def test_inspect_image_size_tags_and_absence():
    info = {"Id": "sha256:ab", "Size": 1234, "RepoTags": ["bench/go:scratch"]}
    ex = FakeExecutor().on("docker", "image", "inspect", stdout=json.dumps(info) + "\n")
    d = Docker(ex)
    assert d.inspect_image("bench/go:scratch") == info
    assert ex.calls[0] == ("docker", "image", "inspect", "--format", "{{json .}}", "bench/go:scratch")
    assert d.image_size("x") == 1234 and d.repo_tags("x") == ["bench/go:scratch"]
    # the plain `docker image inspect` shape (a list) reads the same
    assert Docker(FakeExecutor().on("docker", "image", stdout=json.dumps([info]))).inspect_image("x") == info
    gone = Docker(FakeExecutor().on("docker", "image", "inspect", rc=1, stderr="No such image"))
    assert gone.inspect_image("x") is None and gone.image_size("x") is None and gone.repo_tags("x") is None
    with pytest.raises(DockerError, match="No such image"):
        gone.inspect_image("x", check=True)


def test_history_parses_json_lines():
    rows = [{"CreatedBy": "COPY app /app # buildkit", "Size": "1000"}, {"CreatedBy": "ENV A=1", "Size": "0"}]
    ex = FakeExecutor().on("docker", "history", stdout="\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert Docker(ex).history("img") == rows
    assert ex.calls == [("docker", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", "img")]


def test_image_verbs_build_the_expected_argv(tmp_path):
    ex = FakeExecutor().on("docker")
    d = Docker(ex)
    d.tag("a:1", "r/a:1")
    assert d.push("r/a:1") == 0.0 and d.pull("r/a:1") == 0.0  # FakeExecutor's clock says 0 s
    d.save("a:1", tmp_path / "a.tar")
    assert d.rmi("a:1", "sha256:b") and d.rmi()
    d.import_(tmp_path / "r.tar", "bench-standin/x:1", changes=["ENV A=1", "USER 1"], message="m")
    d.build_stdin("FROM x\nUSER 1\n", "t:1")
    assert d.images(label="org.bench.managed=true", reference="bench-standin/*") == []
    assert ex.calls == [
        ("docker", "tag", "a:1", "r/a:1"),
        ("docker", "push", "--quiet", "r/a:1"),
        ("docker", "pull", "r/a:1"),
        ("docker", "save", "-o", str(tmp_path / "a.tar"), "a:1"),
        ("docker", "rmi", "a:1", "sha256:b"),
        ("docker", "import", "--change", "ENV A=1", "--change", "USER 1", "--message", "m",
         str(tmp_path / "r.tar"), "bench-standin/x:1"),
        ("docker", "buildx", "build", "--progress=plain", "-t", "t:1", "-"),
        ("docker", "images", "--filter", "label=org.bench.managed=true", "--filter",
         "reference=bench-standin/*", "--format", "{{.Repository}}:{{.Tag}}"),
    ]
    assert not Docker(FakeExecutor().on("docker", "rmi", rc=1)).rmi("in-use:1")
    with pytest.raises(DockerError):
        Docker(FakeExecutor().on("docker", "push", rc=1, stderr="denied")).push("r/a:1")


def test_timed_methods_return_the_executors_seconds(tmp_path):
    from dataclasses import replace

    class Clocked(FakeExecutor):
        def run(self, argv, **kw):
            return replace(super().run(argv, **kw), seconds=3.25)

    d = Docker(Clocked().on("docker"))
    assert d.push("r") == d.pull("r") == d.save("r", tmp_path / "t") == 3.25
    assert d.build(["docker", "buildx", "build", "."]).seconds == 3.25
    with pytest.raises(ValueError):
        d.build(["docker", "run", "x"])


def test_build_does_not_raise_on_a_failed_build():
    done = Docker(FakeExecutor().on("docker", "buildx", "build", rc=1, stderr="ERROR")).build(
        ["docker", "buildx", "build", "."])
    assert done.returncode == 1


def test_save_stream_errors_are_one_line():
    import requests

    from tests.fakes import docker_py_client_failing_with

    client = docker_py_client_failing_with(requests.exceptions.ConnectionError("broken pipe\nmore"))

    with pytest.raises(UserError, match=r"^`docker save img:1` failed: broken pipe$"):
        Docker(FakeExecutor()).save_stream("img:1", client=client)


# -- containers -------------------------------------------------------------------------------
def test_run_container_and_its_state():
    ex = (FakeExecutor().on("docker", "run", stdout="c0ffee\n")
          .on("docker", "port", stdout="0.0.0.0:49153\n[::]:49153\n")
          .on("docker", "inspect", stdout="false\n")
          .on("docker", "logs", stdout="out\n", stderr="boom\n"))
    d = Docker(ex)
    cid = d.run_container("img:1", name="n", labels={"org.bench.managed": "true"}, read_only=True,
                          tmpfs=["/tmp"], security_opt=["no-new-privileges"], cap_drop=["ALL"], memory="512m",
                          publish=["127.0.0.1::8080"], user="1000")
    assert cid == "c0ffee"
    assert ex.calls[0] == ("docker", "run", "-d", "--name", "n", "--label", "org.bench.managed=true", "--read-only",
                           "--tmpfs", "/tmp", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
                           "--memory", "512m", "-p", "127.0.0.1::8080", "--user", "1000", "img:1")
    assert d.container_port("n", 8080) == 49153
    assert d.container_running("n") is False
    assert d.logs("n") == "out\nboom\n"
    assert ex.calls[1:] == [("docker", "port", "n", "8080/tcp"), ("docker", "inspect", "-f", "{{.State.Running}}", "n"),
                            ("docker", "logs", "--tail", "20", "n")]
    assert Docker(FakeExecutor().on("docker", "port", rc=1)).container_port("n", 8080) is None
    assert Docker(FakeExecutor().on("docker", "inspect", rc=1)).container_running("n") is None


def test_cleanup_selects_by_label_and_keeps_standins():
    ex = (FakeExecutor().on("docker", "ps", stdout="c1\n").on("docker", "rm").on("docker", "rmi")
          .on("docker", "images", stdout="bench/go:scratch\tsha256:a\t\n"
              "bench-standin/golang-1.22:abc\tsha256:b\tgolang:1.22\n<none>:<none>\tsha256:c\t\n"))
    assert cleanup(Docker(ex)) == ["c1", "bench/go:scratch", "sha256:c"]
    assert ex.calls[0] == ("docker", "ps", "-aq", "--filter", "label=org.bench.managed=true")
    assert ("docker", "rm", "-f", "-v", "c1") in ex.calls
    assert ex.calls[-1] == ("docker", "rmi", "bench/go:scratch", "sha256:c")
    assert "bench-standin/golang-1.22:abc" in cleanup(ex, standins=True)
