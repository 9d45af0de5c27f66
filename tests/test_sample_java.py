"""The Java sample app (sample_apps/java): metadata, its own tests on the host's JDK 17,
lint, and every variant built and served on the real engine.

Docker tests are parametrized per variant so CI can pick a few with -k, e.g.
`pytest tests/test_sample_java.py -k "optimized or bloated"`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.apps import App, load_app
from tests.test_sample_go import (
    ROOT,
    Running,
    build_variant,
    check_metadata,
    disk_bytes,
    files_in_image,
    hadolint_findings,
    remove_image,
)

APP_DIR = ROOT / "sample_apps" / "java"
JAVA_VARIANTS = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "jre",
                 "distroless", "jlink", "optimized", "article"]


@pytest.fixture(scope="module")
def java_app() -> App:
    return load_app(APP_DIR)


def _jdk17() -> tuple[str, str, str]:
    tools = tuple(shutil.which(t) for t in ("javac", "jar", "java"))
    if None in tools:
        pytest.skip("NO JDK ON PATH: install openjdk-17-jdk-headless to run the Java app's own tests")
    p = subprocess.run([tools[0], "-version"], capture_output=True, text=True)
    out = p.stdout + p.stderr  # "javac 17.0.15"
    major = int(out.split()[1].split(".")[0])
    if major < 17:
        pytest.skip(f"javac {major} is older than 17: the app needs JDK 17")
    return tools  # type: ignore[return-value]


def test_java_metadata_loads(java_app):
    check_metadata(java_app, JAVA_VARIANTS, non_root={"jre", "distroless", "jlink", "optimized"})
    assert java_app.variant("optimized").parent == "jlink"
    assert java_app.prepare, "app.toml describes how to recreate a developer's out/ folder"


def test_java_manifest_names_main_class_and_version(java_app):
    manifest = (java_app.context / "manifest.txt").read_text()
    assert "Main-Class: org.bench.greeter.Main" in manifest
    assert "Implementation-Version: 1.4.2" in manifest
    main = java_app.context / "src/main/java/org/bench/greeter/Main.java"
    assert main.is_file()


def test_java_dockerignore_leaves_out_clutter_but_not_sources(java_app):
    from bench.engine.buildx import ignored, read_dockerignore

    rules = read_dockerignore(java_app.variant("optimized").dockerignore)
    for rel in ("README.md", "CHANGELOG.md", "docs/design.md", ".vscode/settings.json", "build.sh",
                "out/greeter.jar", "out/classes/org/bench/greeter/Main.class",
                "src/test/java/org/bench/greeter/GreeterTest.java"):
        assert ignored(rel, rules), rel
    for rel in ("manifest.txt", "src/main/java/org/bench/greeter/Main.java",
                "src/main/java/org/bench/greeter/Json.java"):
        assert not ignored(rel, rules), rel


def test_java_app_tests_pass_on_host_jdk(java_app, tmp_path):
    """Compile main and test classes with the host's JDK and run the app's test class,
    then check that a failing check really fails the run."""
    javac, jar, java = _jdk17()
    src = java_app.context
    main_sources = sorted(str(p) for p in (src / "src/main/java").rglob("*.java"))
    test_sources = sorted(str(p) for p in (src / "src/test/java").rglob("*.java"))
    classes, tests = tmp_path / "classes", tmp_path / "test-classes"
    subprocess.run([javac, "--release", "17", "-d", str(classes), *main_sources], check=True)
    subprocess.run([javac, "--release", "17", "-d", str(tests), "-cp", str(classes), *test_sources], check=True)
    cp = f"{classes}:{tests}"
    p = subprocess.run([java, "-cp", cp, "org.bench.greeter.GreeterTest"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 failed" in p.stdout

    # The harness is not a test that cannot fail: break Json and it must exit non-zero.
    broken = tmp_path / "broken"
    shutil.copytree(src / "src/main/java", broken)
    json_java = broken / "org/bench/greeter/Json.java"
    json_java.write_text(json_java.read_text().replace('sb.append("null")', 'sb.append("nil")'))
    bclasses = tmp_path / "bclasses"
    subprocess.run([javac, "--release", "17", "-d", str(bclasses), *map(str, broken.rglob("*.java"))], check=True)
    p = subprocess.run([java, "-cp", f"{bclasses}:{tests}", "org.bench.greeter.GreeterTest"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "FAIL json writes nested values" in p.stdout


def test_java_jar_runs_and_reports_manifest_version(java_app, tmp_path):
    """What build.sh makes: a runnable jar whose version comes from its manifest."""
    javac, jar, java = _jdk17()
    src = java_app.context
    classes = tmp_path / "classes"
    subprocess.run([javac, "--release", "17", "-d", str(classes),
                    *map(str, sorted((src / "src/main/java").rglob("*.java")))], check=True)
    jarfile = tmp_path / "greeter.jar"
    subprocess.run([jar, "--create", "--file", str(jarfile), "--manifest", str(src / "manifest.txt"),
                    "-C", str(classes), "."], check=True)
    probe = tmp_path / "Probe.java"
    probe.write_text(
        "public class Probe { public static void main(String[] a) throws Exception {"
        " var m = Class.forName(\"org.bench.greeter.Main\").getDeclaredMethod(\"version\");"
        " m.setAccessible(true); System.out.print(m.invoke(null)); } }"
    )
    p = subprocess.run([java, "-cp", str(jarfile), str(probe)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "1.4.2"


def test_java_jdeps_modules_match_what_jlink_variants_claim(java_app, tmp_path):
    javac, jar, java = _jdk17()
    jdeps = shutil.which("jdeps")
    if jdeps is None:
        pytest.skip("NO jdeps ON PATH: install openjdk-17-jdk-headless")
    classes = tmp_path / "classes"
    subprocess.run([javac, "--release", "17", "-d", str(classes),
                    *map(str, sorted((java_app.context / "src/main/java").rglob("*.java")))], check=True)
    p = subprocess.run([jdeps, "--ignore-missing-deps", "--print-module-deps", str(classes)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    modules = p.stdout.strip()
    assert modules == "java.base,jdk.httpserver"
    header = java_app.variant("jlink").dockerfile.read_text()
    for m in modules.split(","):
        assert m in header


def test_java_hadolint_clean_on_optimized(java_app):
    assert hadolint_findings(java_app.variant("optimized").dockerfile) == []


def test_java_hadolint_flags_bloated(java_app):
    codes = {f["code"] for f in hadolint_findings(java_app.variant("bloated").dockerfile)}
    assert {"DL3009", "DL3059"} <= codes


@pytest.mark.docker
@pytest.mark.parametrize("variant", JAVA_VARIANTS)
def test_java_variant_builds_and_serves(java_app, variant, tmp_path):
    v = java_app.variant(variant)
    # Build from a developer's working copy: src/ plus what app.toml's prepare makes (out/).
    context = tmp_path / "src"
    shutil.copytree(java_app.context, context)
    _jdk17()
    for cmd in java_app.prepare:
        subprocess.run(cmd, shell=True, cwd=context, check=True, capture_output=True, timeout=600)
    assert (context / "out" / "greeter.jar").is_file()
    tag = build_variant(java_app, v, context)
    try:
        with Running(tag, v) as c:
            assert c.wait_healthy(deadline_s=90) == (200, "ok")
            status, body = c.get("/")
            assert status == 200 and json.loads(body) == {"app": "java", "version": "1.4.2"}
            status, body = c.get("/greet?name=Ada")
            assert status == 200 and json.loads(body) == {"greeting": "Hello, Ada!"}
        if variant in ("bloated", "dockerignore"):
            # Dockerfile.dockerignore beside the Dockerfile is honoured with -f and src/ as context.
            shipped = files_in_image(tag, "/app")
            assert {"manifest.txt", "src", "build"} <= shipped
            clutter = {"README.md", "docs", ".vscode", "out", "build.sh"}
            assert clutter <= shipped if variant == "bloated" else not clutter & shipped, shipped
            tests_shipped = "test" in files_in_image(tag, "/app/src")
            assert tests_shipped == (variant == "bloated")
        size = disk_bytes(tag)
        print(f"java/{variant}: {size} bytes on disk")
        if variant == "optimized":
            assert size <= 55_000_000
    finally:
        remove_image(tag)
