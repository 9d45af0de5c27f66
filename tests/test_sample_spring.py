"""The Spring sample app (sample_apps/spring: Spring MVC 4.3 + Tomcat 9, not Spring Boot):
metadata, the pom's versions, and every variant built and served on the real engine.

Every variant's build stage is maven:3.9-eclipse-temurin-17 (offline: its stand-in, whose
settings.xml names Debian's /usr/share/maven-repo as Central's mirror), so all variant
tests are slow. Pick a few with -k, e.g.
`pytest tests/test_sample_spring.py -m docker -k "optimized or bloated"`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from bench.apps import App, load_app
from bench.measure.smoke import check_contract
from tests.test_sample_go import (
    ROOT,
    Running,
    build_variant,
    check_metadata,
    disk_bytes,
    files_in_image,
    remove_image,
)

APP_DIR = ROOT / "sample_apps" / "spring"
SPRING_VARIANTS = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "jre",
                   "distroless", "jlink", "optimized", "article"]
NON_ROOT = {"jre", "distroless", "jlink", "optimized"}
LABEL_TEXT = "Spring MVC 4.3 + Tomcat 9, not Spring Boot"
POM = "{http://maven.apache.org/POM/4.0.0}"


@pytest.fixture(scope="module")
def spring_app() -> App:
    return load_app(APP_DIR)


def _pom() -> ET.Element:
    return ET.parse(APP_DIR / "src" / "pom.xml").getroot()


def test_spring_metadata_loads(spring_app):
    check_metadata(spring_app, SPRING_VARIANTS, non_root=NON_ROOT)
    assert spring_app.variant("optimized").parent == "jlink"
    assert spring_app.practical == "jre" and spring_app.ceiling == "optimized"
    assert {"/healthz", "/", "/greet", "/greet?name=bench"} <= {r.path for r in spring_app.smoke}


def test_spring_is_labelled_not_spring_boot_everywhere(spring_app):
    assert "Spring MVC 4.3 + Tomcat 9, not Spring Boot" in spring_app.description
    for text in [(APP_DIR / "README.md").read_text(), (ROOT / "sample_apps" / "README.md").read_text(),
                 *(v.dockerfile.read_text() for v in spring_app.variants)]:
        assert LABEL_TEXT in " ".join(text.replace("#", " ").split())


def test_spring_pom_pins_versions_debian_and_central_share():
    pom = _pom()
    props = {p.tag.removeprefix(POM): p.text for p in pom.find(f"{POM}properties")}
    assert props["spring.version"] == "4.3.30.RELEASE"
    assert props["tomcat.version"].startswith("9.")  # javax.servlet: Tomcat 10+ is Jakarta
    deps = {d.findtext(f"{POM}artifactId") for d in pom.iter(f"{POM}dependency")}
    assert {"spring-webmvc", "tomcat-catalina", "jackson-databind"} <= deps
    assert not any("boot" in (d or "") for d in deps), "not Spring Boot"
    # Every plugin has a pinned version: Maven's defaults differ between Maven releases,
    # and the offline repository holds specific versions only.
    for plugin in pom.iter(f"{POM}plugin"):
        assert re.fullmatch(r"\d+(\.\d+)+", plugin.findtext(f"{POM}version") or ""), plugin.findtext(f"{POM}artifactId")


def test_spring_sources_avoid_what_debian_spring_cannot_do_on_jdk17():
    """No @Configuration (its CGLIB proxy fails on JDK 17 with Debian's Spring 4.3.30), no
    @EnableWebMvc: beans are @Bean methods on a plain @Component."""
    java = "\n".join(p.read_text() for p in (APP_DIR / "src/src/main/java").rglob("*.java"))
    used = set(re.findall(r"^\s*(@\w+)", java, flags=re.M))  # annotations in use, not in comments
    assert not used & {"@Configuration", "@EnableWebMvc"}, used
    assert {"@Component", "@Bean", "@RestController"} <= used


def test_spring_dockerignore_leaves_out_clutter_but_not_sources(spring_app):
    from bench.engine.buildx import ignored, read_dockerignore

    rules = read_dockerignore(spring_app.variant("optimized").dockerignore)
    for rel in ("README.md", "CHANGELOG.md", "docs/design.md", ".vscode/settings.json",
                "target/greeter-spring.jar", "target/classes/org/bench/greeter/Main.class"):
        assert ignored(rel, rules), rel
    for rel in ("pom.xml", "src/main/java/org/bench/greeter/Main.java"):
        assert not ignored(rel, rules), rel


@pytest.mark.docker
@pytest.mark.parametrize("variant", SPRING_VARIANTS)
def test_spring_variant_builds_and_serves(spring_app, variant):
    v = spring_app.variant(variant)
    tag = build_variant(spring_app, v)
    try:
        with Running(tag, v) as c:
            assert c.wait_healthy(deadline_s=120) == (200, "ok")
            assert check_contract(c.base, spring_app.smoke) == ""
        if variant in ("bloated", "dockerignore"):
            # Dockerfile.dockerignore beside the Dockerfile is honoured with -f and src/ as context.
            shipped = files_in_image(tag, "/app")
            assert {"pom.xml", "src", "target"} <= shipped
            clutter = {"README.md", "docs", ".vscode"}
            assert clutter <= shipped if variant == "bloated" else not clutter & shipped, shipped
            # Maven's local repository ships with the image: every jar the build downloaded.
            assert "org" in files_in_image(tag, "/root/.m2/repository")
        size = disk_bytes(tag)
        print(f"spring/{variant}: {size} bytes on disk")
    finally:
        remove_image(tag)
