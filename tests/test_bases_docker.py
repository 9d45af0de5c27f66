"""Stand-ins on the real engine: build them, then build a Dockerfile whose FROM names the
upstream ref unchanged, through build_context_args."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid

import pytest

from bench import LABEL
from bench.bases import build_context_args, resolve

pytestmark = pytest.mark.docker


def _docker(*argv, input=None, check=True):
    p = subprocess.run(["docker", *argv], capture_output=True, text=True, input=input, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(argv)} failed: {p.stderr[-2000:]}")
    return p


def _files_of(image: str) -> set[str]:
    cid = _docker("create", "--label", f"{LABEL}=true", image, "/none").stdout.strip()
    try:
        raw = subprocess.run(["docker", "export", cid], capture_output=True, timeout=300, check=True).stdout
    finally:
        _docker("rm", "-f", cid, check=False)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        return {m.name.rstrip("/") for m in tf.getmembers()}


@pytest.fixture
def test_tag():
    tag = f"bench-test-bases:{uuid.uuid4().hex[:10]}"
    yield tag
    _docker("image", "rm", "-f", tag, check=False)


def _build(dockerfile: str, args: list[str], tag: str, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "hello.txt").write_text("hello\n")
    # --network none: these builds need no network, and the engine's bridge is not ours to rely on
    _docker("buildx", "build", "--progress=plain", "--network", "none", "--label", f"{LABEL}=true",
            *args, "-t", tag, str(tmp_path))


def test_debian_slim_standin_builds_and_serves_an_unmodified_from(tmp_path, test_tag):
    res = resolve(["debian:bookworm-slim"], "local")
    r = res["debian:bookworm-slim"]
    assert r.available and r.standin and r.image.startswith("bench-standin/debian-bookworm-slim:")
    labels = json.loads(_docker("image", "inspect", "--format", "{{json .Config.Labels}}", r.image).stdout)
    assert labels[LABEL] == "true" and labels["org.bench.standin-of"] == "debian:bookworm-slim"
    assert labels["org.bench.recipe-hash"] == r.recipe_hash
    assert r.runtime_version and r.runtime_version.startswith("12.")

    _build("FROM debian:bookworm-slim\nRUN cat /etc/debian_version > /version && test -d /usr/share/man/man1 "
           "&& test ! -e /usr/share/man/man1/ls.1.gz && test -f /etc/dpkg/dpkg.cfg.d/docker\n",
           build_context_args(res.values()), test_tag, tmp_path)
    out = _docker("run", "--rm", "--network", "none", test_tag, "cat", "/version").stdout.strip()
    assert out == r.runtime_version
    # the stand-in is reused, not rebuilt
    assert resolve(["debian:bookworm-slim"], "local")["debian:bookworm-slim"].image_id == r.image_id


def test_distroless_static_standin_has_no_shell_and_serves_nonroot(tmp_path, test_tag):
    refs = ["gcr.io/distroless/static-debian12", "gcr.io/distroless/static-debian12:nonroot"]
    res = resolve(refs, "local")
    assert all(r.available for r in res.values())
    files = _files_of(res[refs[0]].image)
    for forbidden in ("bin/sh", "usr/bin/sh", "usr/bin/bash", "usr/bin/dpkg", "usr/bin/apt"):
        assert forbidden not in files
    assert not any("libc.so" in f for f in files)  # static: no libc
    assert {"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "tmp", "home/nonroot"} <= files

    _build("FROM gcr.io/distroless/static-debian12:nonroot\nCOPY hello.txt /hello.txt\n"
           "FROM gcr.io/distroless/static-debian12\nCOPY --from=0 /hello.txt /copied.txt\n",
           build_context_args(res.values()), test_tag, tmp_path)
    assert "copied.txt" in _files_of(test_tag)
    nonroot = json.loads(_docker("image", "inspect", "--format", "{{json .Config}}", res[refs[1]].image).stdout)
    assert nonroot["User"] == "65532" and nonroot["WorkingDir"] == "/home/nonroot"


@pytest.mark.slow
def test_every_ref_shape_works_as_a_named_context(tmp_path, test_tag):
    """name:tag, name:tag-variant, host/path/name and host/path/name:tag, FROM lines unchanged."""
    refs = ["node:20", "python:3.12-slim", "gcr.io/distroless/static-debian12",
            "gcr.io/distroless/static-debian12:nonroot"]
    res = resolve(refs, "local")
    _build("FROM node:20 AS n\nRUN node --version > /n.txt && npm --version && id -u node\n"
           "FROM python:3.12-slim AS p\nRUN python --version > /p.txt && pip --version && python -m venv /v\n"
           "FROM gcr.io/distroless/static-debian12 AS s\nCOPY hello.txt /s.txt\n"
           "FROM gcr.io/distroless/static-debian12:nonroot\n"
           "COPY --from=n /n.txt /n.txt\nCOPY --from=p /p.txt /p.txt\nCOPY --from=s /s.txt /s.txt\n",
           build_context_args(res.values()), test_tag, tmp_path)
    assert {"n.txt", "p.txt", "s.txt"} <= _files_of(test_tag)
    assert _docker("image", "inspect", "--format", "{{.Config.User}}", test_tag).stdout.strip() == "65532"


SPRING_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.bench</groupId><artifactId>tiny</artifactId><version>1</version>
  <properties><maven.compiler.release>17</maven.compiler.release></properties>
  <dependencies>
    <dependency><groupId>org.springframework</groupId><artifactId>spring-webmvc</artifactId>
      <version>4.3.30.RELEASE</version></dependency>
    <dependency><groupId>org.apache.tomcat</groupId><artifactId>tomcat-catalina</artifactId>
      <version>9.0.70</version></dependency>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId>
      <version>2.14.0</version></dependency>
  </dependencies>
  <build><finalName>tiny</finalName><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-shade-plugin</artifactId><version>3.4.1</version>
    <executions><execution><phase>package</phase><goals><goal>shade</goal></goals></execution></executions>
  </plugin></plugins></build>
</project>
"""


@pytest.mark.slow
def test_maven_standin_builds_spring_offline_into_m2_as_from_central(tmp_path, test_tag):
    """`mvn package` with no network: Maven's settings name Debian's repository as Central's mirror."""
    ref = "maven:3.9-eclipse-temurin-17"
    r = resolve([ref], "local")[ref]
    assert r.available and r.runtime_version == "Maven 3.8.7 (Debian)"
    (tmp_path / "pom.xml").write_text(SPRING_POM)
    src = tmp_path / "src/main/java/t"
    src.mkdir(parents=True)
    (src / "Main.java").write_text("package t; public class Main { public static void main(String[] a) {"
                                   " System.out.println(org.springframework.web.servlet.DispatcherServlet.class); } }\n")
    _build(f"FROM {ref}\nWORKDIR /w\nCOPY pom.xml .\nCOPY src src\nRUN mvn -B -q package\n"
           "RUN java -cp target/tiny.jar t.Main > /w/out.txt\n",
           build_context_args([r]), test_tag, tmp_path)
    files = _files_of(test_tag)
    assert "w/target/tiny.jar" in files
    # resolved into ~/.m2 as a download from Central would be, the plugins too
    assert "root/.m2/repository/org/springframework/spring-webmvc/4.3.30.RELEASE/spring-webmvc-4.3.30.RELEASE.jar" in files
    assert any(f.startswith("root/.m2/repository/org/apache/maven/plugins/maven-shade-plugin/3.4.1/") for f in files)
    out = _docker("run", "--rm", "--network", "none", "--entrypoint", "cat", test_tag, "/w/out.txt").stdout
    assert "DispatcherServlet" in out


def test_a_family_tag_is_its_nearest_standin_relabelled(tmp_path, test_tag):
    """python:3.11-slim: the python slim stand-in, labelled with the asked ref; CPython 3.11 matches."""
    res = resolve(["python:3.11-slim"], "local")
    r = res["python:3.11-slim"]
    labels = json.loads(_docker("image", "inspect", "--format", "{{json .Config.Labels}}", r.image).stdout)
    assert labels["org.bench.standin-of"] == "python:3.11-slim" and r.runtime_version.startswith("3.11")
    _build("FROM python:3.11-slim\nRUN python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)'\n",
           build_context_args(res.values()), test_tag, tmp_path)


def _tiny_wheel(where) -> str:
    """A pure-Python wheel with a module and a console script, made by hand (the build has no network)."""
    import zipfile

    name = "tinyapp-1.0-py3-none-any.whl"
    files = {"tinyapp/__init__.py": "def main():\n    print('tinyapp ok')\n",
             "tinyapp-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinyapp\nVersion: 1.0\n",
             "tinyapp-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             "tinyapp-1.0.dist-info/entry_points.txt": "[console_scripts]\ntinyapp = tinyapp:main\n"}
    files["tinyapp-1.0.dist-info/RECORD"] = "".join(f"{f},,\n" for f in files) + "tinyapp-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(where / name, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name


def test_python_slim_standin_takes_a_prefix_install_copied_into_usr_local(tmp_path, test_tag):
    """The common multi-stage pattern: `pip install --prefix=/install` in a build stage, then
    `COPY --from=build /install /usr/local` into python:3.12-slim; the module imports and its
    console script runs, as on upstream's image (CPython in /usr/local)."""
    res = resolve(["python:3.12", "python:3.12-slim"], "local")
    wheel = _tiny_wheel(tmp_path)
    _build("FROM python:3.12 AS build\n"
           f"COPY {wheel} /tmp/\n"
           f"RUN pip install --no-index --no-cache-dir --prefix=/install /tmp/{wheel}\n"
           "FROM python:3.12-slim\n"
           "COPY --from=build /install /usr/local\n"
           "RUN python -c 'import tinyapp, sys; print(tinyapp.__file__, sys.version)' > /out.txt && tinyapp >> /out.txt\n",
           build_context_args(res.values()), test_tag, tmp_path)
    out = _docker("run", "--rm", "--network", "none", test_tag, "cat", "/out.txt").stdout
    py = res["python:3.12-slim"].runtime_version
    line = "3.11" if py.startswith(("3.11", "Python 3.11")) else "3.12"  # the Debian fallback's venv prefix
    assert f"/usr/local/lib/python{line}/site-packages/tinyapp/__init__.py" in out and "tinyapp ok" in out


def test_python_standins_run_the_interpreter_they_are_labelled_with(tmp_path, test_tag):
    """A pyenv CPython 3.12 stand-in has every stdlib module that needs a shared library."""
    r = resolve(["python:3.12-slim"], "local")["python:3.12-slim"]
    if not r.runtime_version.startswith("3.12"):
        pytest.skip(f"no pyenv CPython 3.12 here: the stand-in runs {r.runtime_version}")
    code = ("import ssl, sqlite3, ctypes, zlib, bz2, lzma, readline, uuid, decimal, hashlib, curses, sys; "
            "print('.'.join(map(str, sys.version_info[:3])))")
    out = _docker("run", "--rm", "--network", "none", r.image, "python3", "-c", code).stdout.strip()
    assert out == r.runtime_version
