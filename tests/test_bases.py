"""Unit tests for base-image resolution, recipes and stand-in assembly (no engine needed)."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest

import bench.bases as bases
from bench.bases import NOT_BUILT_REASON, Resolved, build_context_args, resolve
from bench.bases import standins
from bench.bases.catalogue import (
    chain_hash, load_catalogue, normalise_ref, parse_catalogue, recipe_hash, sanitise_ref, standin_tag,
)
import bench.bases.catalogue as catalogue_mod
from bench.bases.faithfulness import render
from bench.bases.host import CABundle, Mirror, find_ca_bundle, find_mirror
from bench.errors import UserError
from tests.fakes import FakeExecutor

REQUIRED = [
    "node:20", "node:20-slim", "node:20-alpine", "python:3.12", "python:3.12-slim", "python:3.12-alpine",
    "golang:1.22", "golang:1.22-alpine", "eclipse-temurin:17-jdk", "eclipse-temurin:17-jre",
    "debian:bookworm-slim", "gcr.io/distroless/static-debian12", "gcr.io/distroless/base-debian12",
    "gcr.io/distroless/cc-debian12", "gcr.io/distroless/python3-debian12",
    "gcr.io/distroless/nodejs20-debian12", "gcr.io/distroless/java17-debian12",
    "alpine:3.20", "debian:bookworm", "ubuntu:24.04", "buildpack-deps:bookworm",
]
# Docker's reference grammar for a repository path plus tag.
REF_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[\w][\w.-]{0,127}$")

CA = CABundle((("proxy.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),))


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test reads the machine's CA, cache or registry."""
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_CA_BUNDLE", "none")
    bases._reach_cache.clear()
    monkeypatch.setattr(bases, "_probe", lambda host, timeout: pytest.fail("a unit test probed a registry"))


def inspect_json(tag: str, *, labels: dict | None = None, env: list | None = None, digests: list | None = None,
                 image_id: str = "sha256:" + "ab" * 32) -> str:
    return json.dumps({"Id": image_id, "RepoTags": [tag], "RepoDigests": digests or [], "Size": 123,
                       "Config": {"Labels": labels or {}, "Env": env or []}})


def standin_of(ref: str) -> str:
    cat = load_catalogue()
    return standin_tag(cat.get(ref).ref, chain_hash(cat, cat.get(ref)))


# ---------------------------------------------------------------- catalogue

def test_catalogue_lists_every_required_ref_and_their_nonroot_tags():
    cat = load_catalogue()
    for ref in REQUIRED:
        assert ref in cat, ref
    for ref in REQUIRED:
        if ref.startswith("gcr.io/distroless/"):
            nonroot = cat.get(ref + ":nonroot")
            assert nonroot is not None, ref
            assert nonroot.config.user == "65532"
            assert nonroot.recipe == cat.get(ref).recipe


def test_catalogue_entries_say_where_published_sizes_come_from():
    for e in load_catalogue().entries.values():
        assert e.kind in ("full", "slim", "alpine", "distroless", "static")
        assert e.published_source and e.published_source != "unknown", e.ref
        if e.published_disk_bytes is None:
            assert e.published_source.startswith("unknown"), e.ref
        assert e.upstream_runtime, e.ref


def test_alpine_entries_and_only_those_are_marked_alpine():
    cat = load_catalogue()
    alpine = {r for r in REQUIRED if r.endswith("-alpine")} | {"alpine:3.20"}  # go/alpine's runtime
    assert {r for r, e in cat.entries.items() if e.alpine} == alpine


# where official images' Dockerfiles live (eclipse-temurin is built from adoptium's repository)
UPSTREAM_SOURCES = ("docker-library/", "adoptium/containers ")


def _chain(cat, ref):
    out = [ref]
    while cat.get(out[-1]).recipe.parent:
        out.append(cat.get(out[-1]).recipe.parent)
    return out


def test_language_images_are_layered_on_upstreams_parent_chain():
    cat = load_catalogue()
    assert _chain(cat, "node:20") == ["node:20", "buildpack-deps:bookworm", "buildpack-deps:bookworm-scm",
                                      "buildpack-deps:bookworm-curl", "debian:bookworm"]
    assert _chain(cat, "golang:1.22")[1] == "buildpack-deps:bookworm-scm"
    assert _chain(cat, "python:3.12-slim") == ["python:3.12-slim", "debian:bookworm-slim"]
    assert _chain(cat, "node:20-alpine") == ["node:20-alpine", "alpine:3.20"]
    assert dict(cat.get("golang:1.22").recipe.payloads)["go"] == "go:1.22"
    assert "libssl-dev" in cat.get("buildpack-deps:bookworm").recipe.dockerfile
    # every layered stand-in names the upstream Dockerfile it follows and its layer count
    for e in cat.entries.values():
        if e.recipe.parent:
            assert e.upstream_recipe.startswith(UPSTREAM_SOURCES) and e.upstream_layers, e.ref


def test_temurin_stands_on_ubuntu_jammy_and_maven_keeps_its_own_debian_jdk():
    """eclipse-temurin:17-* are FROM ubuntu:22.04 as upstream, with Ubuntu's OpenJDK in the
    tarball's step; maven's stand-in needs Debian's Maven repository, so it stands on Debian."""
    cat = load_catalogue()
    for kind in ("jdk", "jre"):
        e = cat.get(f"eclipse-temurin:17-{kind}")
        assert _chain(cat, e.ref) == [e.ref, "ubuntu:22.04"] and cat.get("ubuntu:22.04").recipe.suite == "jammy"
        assert f"openjdk-17-{kind}-headless" in e.recipe.dockerfile and "Ubuntu 22.04" in e.runtime_mismatch
        assert e.recipe.runtime_label == "OpenJDK {version} (Ubuntu)" and "Debian" not in e.runtime_mismatch
    assert "binutils" in cat.get("eclipse-temurin:17-jdk").recipe.dockerfile
    assert "binutils" not in cat.get("eclipse-temurin:17-jre").recipe.dockerfile
    maven = cat.get("maven:3.9-eclipse-temurin-17")
    assert _chain(cat, maven.ref) == [maven.ref, "debian:bookworm"]
    assert "openjdk-17-jdk-headless" in maven.recipe.dockerfile and "libtomcat9-java" in maven.recipe.dockerfile
    assert "not on the eclipse-temurin:17-jdk stand-in" in maven.release


def test_a_parent_recipe_change_changes_every_descendants_hash():
    cat = load_catalogue()
    before = chain_hash(cat, cat.get("node:20"), b"ca")
    text = Path(catalogue_mod.CATALOGUE_PATH).read_text().replace("ca-certificates curl gnupg netbase sq wget",
                                                                  "ca-certificates curl gnupg netbase wget")
    changed = parse_catalogue(text)
    assert chain_hash(changed, changed.get("node:20"), b"ca") != before
    assert chain_hash(cat, cat.get("node:20"), b"other ca") != before


def test_no_number_or_citation_from_the_article_in_the_catalogue():
    text = Path(catalogue_mod.CATALOGUE_PATH).read_text()
    assert "ARTICLE" not in text and "article's" not in text


def test_distroless_static_keeps_no_libc():
    r = load_catalogue().get("gcr.io/distroless/static-debian12").recipe
    assert r.distroless and "libc6" not in r.distroless_keep


def test_catalogue_rejects_unknown_package_sets_and_duplicates():
    with pytest.raises(UserError, match="unknown package set"):
        parse_catalogue('[[image]]\nref="a:1"\nkind="full"\n[image.recipe]\nsets=["nope"]\n')
    with pytest.raises(UserError, match="listed twice"):
        parse_catalogue('[[image]]\nref="a:1"\nkind="full"\n[[image]]\nref="a:1"\nkind="full"\n')
    with pytest.raises(UserError, match="kind"):
        parse_catalogue('[[image]]\nref="a:1"\nkind="huge"\n')


def test_normalise_ref_drops_the_library_prefix_only():
    assert normalise_ref(" library/python:3.12-slim ") == "python:3.12-slim"
    assert normalise_ref("gcr.io/distroless/static-debian12") == "gcr.io/distroless/static-debian12"
    assert "library/node:20" in load_catalogue()


# ---------------------------------------------------------------- hashing and tags

def test_recipe_hash_is_stable_and_keyed_by_recipe_and_ca():
    cat = load_catalogue()
    e = cat.get("node:20")
    h = recipe_hash(e)
    assert h == recipe_hash(e) and len(h) == 64
    assert recipe_hash(e, b"ca one") != recipe_hash(e, b"ca two") != h
    other = parse_catalogue(
        '[[image]]\nref="node:20"\nkind="full"\n[image.recipe]\npackages=["curl"]\n').get("node:20")
    other2 = parse_catalogue(
        '[[image]]\nref="node:20"\nkind="full"\n[image.recipe]\npackages=["curl","git"]\n').get("node:20")
    assert recipe_hash(other) != recipe_hash(other2)


def test_nonroot_hash_follows_its_parent():
    cat = load_catalogue()
    e = cat.get("gcr.io/distroless/static-debian12:nonroot")
    assert recipe_hash(e, parent_hash="a") != recipe_hash(e, parent_hash="b")


@pytest.mark.parametrize("ref", REQUIRED + ["gcr.io/distroless/static-debian12:nonroot", "localhost:5000/a/b:c"])
def test_standin_tags_are_valid_docker_references(ref):
    tag = standin_tag(ref, "0123456789abcdef" * 4)
    assert REF_RE.match(tag), tag
    assert tag.startswith("bench-standin/") and tag.endswith(":0123456789ab")


def test_sanitise_keeps_refs_apart():
    assert sanitise_ref("gcr.io/distroless/static-debian12") != sanitise_ref("gcr.io/distroless/static-debian12:nonroot")
    assert sanitise_ref("node:20") == "node-20"


# ---------------------------------------------------------------- resolve (local)

def test_local_reuses_an_existing_standin_without_building():
    tag = standin_of("node:20")
    ex = FakeExecutor().on("docker", "image", "inspect", rc=0,
                           stdout=inspect_json(tag, labels={"org.bench.runtime-version": "20.20.2"}))
    r = resolve(["node:20"], "local", executor=ex)["node:20"]
    assert r == Resolved(ref="node:20", mode="local", image=tag, standin=True, available=True, reason="",
                         runtime_version="20.20.2", recipe_hash=chain_hash(load_catalogue(), load_catalogue().get("node:20")),
                         image_id="sha256:" + "ab" * 32)
    assert not any(c[0] == "mmdebstrap" for c in ex.calls)


def test_local_unavailable_refs_come_back_with_the_catalogue_reason_not_an_error():
    ex = FakeExecutor()
    cat = load_catalogue()
    res = resolve(["python:3.12-alpine", "ubuntu:20.04"], "local", executor=ex, build=False)
    for ref, r in res.items():
        assert (r.available, r.reason, r.standin) == (False, cat.get(ref).unavailable, True)
        assert r.reason
    assert ex.calls == []


def test_alpine_stand_ins_are_buildable_and_say_which_release_they_carry():
    cat = load_catalogue()
    for ref in ("alpine:3.20", "node:20-alpine", "golang:1.22-alpine"):
        e = cat.get(ref)
        assert e.unavailable is None, ref
        assert "Alpine 3.23" in e.release, ref
    assert cat.get("alpine:3.20").recipe.alpine
    assert cat.get("node:20-alpine").recipe.parent == "alpine:3.20"


def test_local_unknown_ref_names_the_ref():
    with pytest.raises(UserError, match=r"ruby:3\.3"):
        resolve(["ruby:3.3"], "local", executor=FakeExecutor())


def test_bad_mode_is_a_user_error():
    with pytest.raises(UserError, match="--bases"):
        resolve(["node:20"], "cloud", executor=FakeExecutor())


def test_missing_standin_without_build_is_unavailable():
    ex = FakeExecutor().on("docker", "image", "inspect", rc=1, stderr="No such image")
    r = resolve(["golang:1.22"], "local", build=False, executor=ex)["golang:1.22"]
    assert not r.available and r.reason == NOT_BUILT_REASON and r.image == standin_of("golang:1.22")


def test_missing_standin_is_built_once_then_reused(monkeypatch):
    built = []
    state = {"exists": False}
    tag = standin_of("debian:bookworm-slim")

    def inspect(argv):
        if state["exists"]:
            return 0, inspect_json(tag, labels={"org.bench.runtime-version": "12.15"}), ""
        return 1, "", "No such image"

    def fake_build(entry, *, rhash, tag, docker, mirror, ca, progress):
        built.append((entry.ref, tag, mirror.uri))
        state["exists"] = True
        return "12.15"

    monkeypatch.setattr(standins, "build_standin", fake_build)
    monkeypatch.setattr(bases, "find_mirror", lambda: Mirror("http://mirror.invalid/debian", None))
    ex = FakeExecutor(responses={("docker", "image", "inspect"): inspect})
    r1 = resolve(["debian:bookworm-slim"], "local", executor=ex)["debian:bookworm-slim"]
    r2 = resolve(["debian:bookworm-slim"], "local", executor=ex)["debian:bookworm-slim"]
    assert built == [("debian:bookworm-slim", tag, "http://mirror.invalid/debian")]
    assert r1 == r2 and r1.available and r1.runtime_version == "12.15"


def test_nonroot_builds_its_parent_first_and_derives_from_it(monkeypatch):
    images: dict[str, str] = {}
    order = []

    def inspect(argv):
        tag = argv[-1]
        return (0, inspect_json(tag, image_id=images[tag]), "") if tag in images else (1, "", "No such image")

    def fake_build(entry, *, rhash, tag, docker, mirror, ca, progress):
        order.append(("build", entry.ref))
        images[tag] = "sha256:" + "01" * 32

    def fake_derive(entry, parent_tag, *, rhash, tag, runtime_version, docker, ca):
        order.append(("derive", entry.ref, parent_tag))
        images[tag] = "sha256:" + "02" * 32

    monkeypatch.setattr(standins, "build_standin", fake_build)
    monkeypatch.setattr(standins, "derive_standin", fake_derive)
    monkeypatch.setattr(bases, "find_mirror", lambda: Mirror("http://mirror.invalid/debian", None))
    ex = FakeExecutor(responses={("docker", "image", "inspect"): inspect})
    ref = "gcr.io/distroless/static-debian12:nonroot"
    r = resolve([ref], "local", executor=ex)[ref]
    parent_tag = standin_of("gcr.io/distroless/static-debian12")
    assert order == [("build", "gcr.io/distroless/static-debian12"), ("derive", ref, parent_tag)]
    assert r.available and r.image != parent_tag and r.image_id == "sha256:" + "02" * 32


def test_ca_bundle_changes_the_standin_tag(monkeypatch, tmp_path):
    ex = FakeExecutor().on("docker", "image", "inspect", rc=1)
    plain = resolve(["node:20"], "local", build=False, executor=ex)["node:20"].image
    pem = tmp_path / "proxy.crt"
    pem.write_text("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("BENCH_CA_BUNDLE", str(pem))
    with_ca = resolve(["node:20"], "local", build=False, executor=ex)["node:20"].image
    pem.write_text("-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n")
    new_ca = resolve(["node:20"], "local", build=False, executor=ex)["node:20"].image
    assert len({plain, with_ca, new_ca}) == 3


# ---------------------------------------------------------------- resolve (hub / auto)

def test_hub_pulls_and_pins_the_digest():
    digest = "node@sha256:" + "cd" * 32
    ex = (FakeExecutor().on("docker", "pull", rc=0)
          .on("docker", "image", "inspect", rc=0,
              stdout=inspect_json("node:20", digests=[digest], env=["PATH=/x", "NODE_VERSION=20.11.1"])))
    r = resolve(["node:20"], "hub", executor=ex)["node:20"]
    assert (r.mode, r.image, r.standin, r.runtime_version, r.recipe_hash) == ("hub", digest, False, "20.11.1", None)
    assert ("docker", "pull", "node:20") in ex.calls


def test_hub_unknown_and_unpullable_ref_is_a_user_error_naming_it():
    ex = FakeExecutor().on("docker", "pull", rc=1, stderr="manifest unknown")
    with pytest.raises(UserError, match=r"ruby:3\.3.*not in bench's base catalogue"):
        resolve(["ruby:3.3"], "hub", executor=ex)


def test_hub_pull_failure_of_a_catalogued_ref_points_at_local_mode():
    ex = FakeExecutor().on("docker", "pull", rc=1, stderr="no such host")
    with pytest.raises(UserError, match="--bases local"):
        resolve(["node:20"], "hub", executor=ex)


@pytest.mark.parametrize("reachable,mode", [(False, "local"), (True, "hub")])
def test_auto_picks_hub_only_when_the_refs_registry_answers(monkeypatch, reachable, mode):
    probed = []
    monkeypatch.setattr(bases, "_probe", lambda host, timeout: probed.append(host) or reachable)
    ex = (FakeExecutor().on("docker", "info", rc=0, stdout="https://index.example.invalid/v1/\n")
          .on("docker", "pull", rc=0)
          .on("docker", "image", "inspect", rc=0, stdout=inspect_json("x")))
    res = resolve(["node:20", "gcr.io/distroless/static-debian12"], "auto", executor=ex)
    assert {r.mode for r in res.values()} == {mode}
    assert probed == ["index.example.invalid", "gcr.io"]


def test_auto_with_an_unknown_ref_and_no_registry_names_the_ref(monkeypatch):
    monkeypatch.setattr(bases, "_probe", lambda host, timeout: False)
    ex = FakeExecutor().on("docker", "info", rc=0, stdout="https://index.example.invalid/v1/\n")
    with pytest.raises(UserError, match="ruby:3.3"):
        resolve(["ruby:3.3"], "auto", executor=ex)


def test_registry_reachable_is_false_when_the_engine_names_no_index():
    ex = FakeExecutor().on("docker", "info", rc=1, stderr="Cannot connect")
    assert bases.registry_reachable(executor=ex) is False


def test_scratch_needs_nothing():
    r = resolve(["scratch"], "local", executor=FakeExecutor())["scratch"]
    assert r.available and not r.standin and build_context_args([r]) == []


# ---------------------------------------------------------------- build_context_args

def test_build_context_args_name_every_ref_shape():
    res = [
        Resolved("node:20", "local", "bench-standin/node-20:aaa", True, True, "", "20", "h", "i"),
        Resolved("python:3.12-slim", "local", "bench-standin/python-3.12-slim:bbb", True, True, "", None, "h", "i"),
        Resolved("gcr.io/distroless/static-debian12:nonroot", "local", "bench-standin/x:ccc", True, True, "",
                 None, "h", "i"),
        Resolved("python:3.12-alpine", "local", None, True, False, "no source", None, None, None),
        Resolved("golang:1.22", "hub", "golang@sha256:" + "e" * 64, False, True, "", None, None, "i"),
    ]
    assert build_context_args(res) == [
        "--build-context", "node:20=docker-image://bench-standin/node-20:aaa",
        "--build-context", "python:3.12-slim=docker-image://bench-standin/python-3.12-slim:bbb",
        "--build-context", "gcr.io/distroless/static-debian12:nonroot=docker-image://bench-standin/x:ccc",
    ]
    assert build_context_args({r.ref: r for r in res}) == build_context_args(res)


# ---------------------------------------------------------------- host: mirror and CA

def test_find_mirror_reads_deb822_sources(tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.invalid/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n")
    m = find_mirror(d, tmp_path / "none.list")
    assert m == Mirror("http://mirror.invalid/debian", "http://mirror.invalid/debian-security")
    assert m.source_lines("bookworm", backports=True) == [
        "deb http://mirror.invalid/debian bookworm main",
        "deb http://mirror.invalid/debian bookworm-updates main",
        "deb http://mirror.invalid/debian-security bookworm-security main",
        "deb http://mirror.invalid/debian bookworm-backports main",
    ]


def test_find_mirror_reads_one_line_sources(tmp_path):
    lst = tmp_path / "sources.list"
    lst.write_text("# comment\ndeb [signed-by=/k.gpg] http://m.invalid/debian bookworm main\n")
    assert find_mirror(tmp_path / "nodir", lst) == Mirror("http://m.invalid/debian", None)


def test_no_mirror_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError) as e:
        find_mirror(tmp_path / "nodir", tmp_path / "none.list")
    assert "\n" not in str(e.value) and "apt sources" in str(e.value)


def test_ca_bundle_setting(tmp_path):
    a = tmp_path / "a.crt"
    a.write_text("-----BEGIN CERTIFICATE-----\nQQ==\n-----END CERTIFICATE-----\n")
    b = tmp_path / "b.pem"
    b.write_text("-----BEGIN CERTIFICATE-----\nQg==\n-----END CERTIFICATE-----")
    assert not find_ca_bundle("none")
    bundle = find_ca_bundle(f"{tmp_path}/*.crt:{b}")
    assert [n for n, _ in bundle.files] == ["a.crt", "b.pem.crt"]
    assert bundle.pem.count(b"BEGIN CERTIFICATE") == 2 and bundle.pem.endswith(b"\n")
    with pytest.raises(UserError, match="does not exist"):
        find_ca_bundle(str(tmp_path / "missing.crt"))
    bad = tmp_path / "bad.crt"
    bad.write_text("not a cert")
    with pytest.raises(UserError, match="not a PEM"):
        find_ca_bundle(str(bad))


# ---------------------------------------------------------------- stand-in assembly

def test_import_changes_set_ca_env_only_when_a_ca_is_configured():
    e = load_catalogue().get("gcr.io/distroless/java17-debian12")
    with_ca = standins.import_changes(e, rhash="h" * 64, runtime_version="17.0.9", ca=CA)
    without = standins.import_changes(e, rhash="h" * 64, runtime_version="17.0.9", ca=CABundle(()))
    for var in ("NODE_EXTRA_CA_CERTS", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        assert f'ENV {var}="/etc/ssl/certs/ca-certificates.crt"' in with_ca
        assert not any(c.startswith(f"ENV {var}=") for c in without)
    assert 'ENV JAVA_VERSION="17.0.9"' in with_ca
    assert any(c.startswith("ENV PATH=") for c in without)
    label = next(c for c in with_ca if c.startswith("LABEL "))
    for part in ('org.bench.managed="true"', 'org.bench.standin-of="gcr.io/distroless/java17-debian12"',
                 f'org.bench.recipe-hash="{"h" * 64}"', 'org.bench.runtime-version="17.0.9"'):
        assert part in label
    assert 'ENTRYPOINT ["/usr/bin/java", "-jar"]' in with_ca


def test_customize_script_trusts_the_ca_and_strips_slim_images():
    cat = load_catalogue()
    slim = standins.customize_script(cat.get("debian:bookworm-slim").recipe, CA)
    assert "update-ca-certificates" in slim
    assert "rm -rf /usr/share/man/*" in slim and "mkdir -p /usr/share/man/man$s" in slim
    full = standins.customize_script(cat.get("debian:bookworm").recipe, CABundle(()))
    assert "update-ca-certificates" not in full and "/usr/share/man/*" not in full


def test_mmdebstrap_argv_takes_the_mirror_from_the_host(tmp_path):
    cat = load_catalogue()
    m = Mirror("http://m.invalid/debian", None)
    argv = standins.mmdebstrap_argv(cat.get("gcr.io/distroless/java17-debian12").recipe, m, tmp_path / "root",
                                    early=tmp_path / "e", stage=tmp_path / "s", script=tmp_path / "c.sh")
    assert argv[0] == "mmdebstrap" and "--variant=minbase" in argv
    assert "deb http://m.invalid/debian bookworm main" in argv
    assert any(a.startswith("--include=") and "openjdk-17-jre-headless" in a for a in argv)
    slim = standins.mmdebstrap_argv(cat.get("debian:bookworm-slim").recipe, m, tmp_path / "root",
                                    early=tmp_path / "e", stage=tmp_path / "s", script=tmp_path / "c.sh")
    assert not any("backports" in a for a in slim) and not any(a.startswith("--include") for a in slim)


def test_no_url_is_written_into_bench_bases():
    """Mirrors come from the host's apt sources, registries from the engine: no URL literals.

    The one exception is the default of the BENCH_UBUNTU_MIRROR setting, the public Ubuntu
    archive (the host's apt sources name only Debian's), written once, in ubuntu.py."""
    from bench.bases.ubuntu import DEFAULT_MIRROR

    root = Path(bases.__file__).parent
    for p in list(root.glob("*.py")) + list(root.glob("*.toml")):
        for url in re.findall(r"(?:https?|ftp)://[^\s\"')]+", p.read_text()):
            assert "{" in url or (p.name == "ubuntu.py" and url == DEFAULT_MIRROR), (p.name, url)


def test_package_closure_follows_depends_and_skips_tools():
    status = {
        "python3.11-minimal": {"Depends": "libpython3.11-minimal (= 3.11), libc6 (>= 2.34), zlib1g"},
        "libpython3.11-minimal": {"Depends": "libc6, dpkg"},
        "libc6": {"Depends": "libgcc-s1"},
        "libgcc-s1": {"Pre-Depends": "", "Depends": "gcc-12-base (= 12)"},
        "gcc-12-base": {},
        "zlib1g": {},
        "dpkg": {"Depends": "tar"},
        "tar": {},
        "mawk": {"Provides": "awk"},
        "tool": {"Depends": "awk | gawk"},
    }
    out = standins.package_closure(status, ("python3.11-minimal",), standins.DISTROLESS_NEVER)
    assert set(out) == {"python3.11-minimal", "libpython3.11-minimal", "libc6", "libgcc-s1", "gcc-12-base", "zlib1g"}
    assert standins.package_closure(status, ("tool",), frozenset()) == ["tool", "mawk"]


def _fake_rootfs(root: Path) -> None:
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/lib64").mkdir(parents=True)
    for top, target in (("lib", "usr/lib"), ("bin", "usr/bin"), ("lib64", "usr/lib64")):
        os.symlink(target, root / top)
    (root / "usr/lib/x86_64-linux-gnu/libc.so.6").write_bytes(b"\x7fELF libc")
    (root / "usr/lib64/ld-linux-x86-64.so.2").write_bytes(b"\x7fELF ld")
    (root / "usr/bin/sh").write_bytes(b"#!shell")
    (root / "usr/bin/dpkg").write_bytes(b"dpkg")
    (root / "etc/ssl/certs").mkdir(parents=True)
    (root / "etc/ssl/certs/ca-certificates.crt").write_text("BUNDLE")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: libc6\nStatus: install ok installed\nDepends: dash\n\n"
        "Package: dash\nStatus: install ok installed\n\n"
        "Package: dpkg\nStatus: install ok installed\n")
    (info / "libc6:amd64.list").write_text("/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n"
                                           "/lib64/ld-linux-x86-64.so.2\n")
    (info / "dash.list").write_text("/bin/sh\n")
    (info / "dpkg.list").write_text("/usr/bin/dpkg\n")


def _distroless_recipe(recipe_toml: str):
    return parse_catalogue('[[image]]\nref="x"\nkind="distroless"\n[image.recipe]\n' + recipe_toml).get("x").recipe


def test_export_distroless_has_no_shell_no_dpkg_and_distroless_users(tmp_path):
    root = tmp_path / "rootfs"
    _fake_rootfs(root)
    recipe = _distroless_recipe('distroless.keep=["libc6"]\ndistroless.closure=true\n')
    out = tmp_path / "out.tar"
    assert standins.export_distroless(recipe, root, out) == ["libc6"]  # dash is a tool: left out
    with tarfile.open(out) as tf:
        names = {m.name: m for m in tf.getmembers()}
        passwd = tf.extractfile("etc/passwd").read().decode()
    assert "usr/lib/x86_64-linux-gnu/libc.so.6" in names
    assert "usr/lib64/ld-linux-x86-64.so.2" in names and names["lib64"].issym()
    assert "lib/x86_64-linux-gnu/libc.so.6" not in names  # merged /usr: stored once, under usr/
    assert not {"usr/bin/sh", "bin/sh", "usr/bin/dpkg"} & set(names)
    assert "etc/ssl/certs/ca-certificates.crt" in names
    assert names["tmp"].mode == 0o1777 and names["home/nonroot"].uid == 65532
    assert [line.split(":")[2] for line in passwd.splitlines()] == ["0", "65534", "65532"]


def test_distroless_layers_one_per_package_then_distroless_file_sets(tmp_path):
    from bench.bases import distroless

    root = tmp_path / "rootfs"
    _fake_rootfs(root)
    recipe = _distroless_recipe('distroless.keep=["libc6"]\ndistroless.closure=true\ndistroless.layered=true\n')
    tars = distroless.write_layers(recipe, root, tmp_path / "layers")
    assert [t.name.split("-", 1)[1] for t in tars] == [
        "rootfs.tar", "libc6.tar", "passwd.tar", "home.tar", "group.tar", "tmp.tar", "nsswitch.tar",
        "os_release.tar", "cacerts.tar"]
    with tarfile.open(tars[1]) as tf:
        assert "usr/lib/x86_64-linux-gnu/libc.so.6" in tf.getnames() and "etc/passwd" not in tf.getnames()
    text = distroless.dockerfile(tars, ["USER 65532", "LABEL a=b"])
    assert text.splitlines()[1:3] == ["FROM scratch", f"ADD {tars[0].name} /"]
    assert text.count("\nADD ") == len(tars) and text.rstrip().endswith("LABEL a=b")
    # the layered flag is part of the recipe (so the hash), absent flags leave old hashes alone
    assert recipe.as_dict()["distroless_layered"] is True
    assert "distroless_layered" not in parse_catalogue('[[image]]\nref="y"\nkind="full"\n').get("y").recipe.as_dict()


def test_export_distroless_refuses_a_shell(tmp_path):
    root = tmp_path / "rootfs"
    _fake_rootfs(root)
    recipe = parse_catalogue('[[image]]\nref="x"\nkind="distroless"\n[image.recipe]\n'
                             'distroless.keep=["libc6", "dash"]\n').get("x").recipe
    with pytest.raises(UserError, match="usr/bin/sh"):
        standins.export_distroless(recipe, root, tmp_path / "out.tar")


def test_parse_version():
    assert standins.parse_version("go version go1.22.12 linux/amd64") == "1.22.12"
    assert standins.parse_version("v20.20.2\n") == "20.20.2"
    assert standins.parse_version('openjdk version "17.0.15" 2025-04-15') == "17.0.15"
    assert standins.parse_version("Python 3.11.2") == "3.11.2"
    assert standins.parse_version("2.36-9+deb12u10") == "2.36-9+deb12u10"
    assert standins.parse_version("no digits") is None


# ---------------------------------------------------------------- sizes and faithfulness

def test_base_compressed_size_is_what_a_push_moves(monkeypatch, tmp_path):
    """One definition of compressed bytes: the pushed manifest's blobs, as for every image."""
    from bench.bases import sizes
    from bench.engine.docker import Docker
    from tests.test_pushpull import FakeRegistry

    monkeypatch.setattr(sizes, "cache_dir", lambda: tmp_path)
    image, image_id = "node:20", "sha256:" + "cd" * 32
    ex = (FakeExecutor().on("docker", "image", "inspect", stdout=inspect_json(image, image_id=image_id))
          .on("docker", "tag").on("docker", "push").on("docker", "rmi"))
    reg = FakeRegistry(sizes=(41_000_000,))
    assert sizes.compressed_bytes(image, image_id, docker=Docker(ex), registry=reg) == 41_000_000
    ref = f"{reg.address}/bench/base-size:b0"
    assert ("docker", "tag", image, ref) in ex.calls and ("docker", "push", "--quiet", ref) in ex.calls
    assert ex.calls[-1] == ("docker", "rmi", ref)  # the registry tag only; node:20 keeps its own tag
    assert reg.log == [("clear",), ("manifest", "bench/base-size", "b0")]
    # cached per image id: a second ask pushes nothing
    n = len(ex.calls)
    assert sizes.compressed_bytes(image, image_id, docker=Docker(ex), registry=reg) == 41_000_000
    assert len(ex.calls) == n


def test_faithfulness_sets_measured_layers_beside_upstreams_structure(no_pyenv):
    cat = load_catalogue()
    rows = [
        {"ref": "node:20", "disk_bytes": 1_000_000_000, "layers": 8, "runtime_version": "20.20.2"},
        {"ref": "python:3.12-slim", "disk_bytes": 150_000_000, "layers": 1, "runtime_version": "3.11.2"},
        {"ref": "golang:1.22", "disk_bytes": None, "reason": "stand-in not built yet"},
        {"ref": "python:3.12-alpine", "disk_bytes": None},
    ]
    md = render(rows, cat, when="T")
    line = {r: next(l for l in md.splitlines() if l.startswith(f"| `{r}`")) for r in
            ("node:20", "python:3.12-slim", "golang:1.22")}
    assert "| 8 | 8 | 1000.0 MB |" in line["node:20"] and "layers match" in line["node:20"]
    assert "layer count differs" in line["python:3.12-slim"] and "3.11.2 (**CPython 3.11" in line["python:3.12-slim"]
    assert "not measured" in line["golang:1.22"]
    assert "| `python:3.12-alpine`" not in md and cat.get("python:3.12-alpine").unavailable in md
    assert "docker-library/node 20/bookworm/Dockerfile" in md and "ARTICLE" not in md


# ---------------------------------------------------------------- the `bases` verb

def test_bases_verb_lists_without_building_and_writes_faithfulness(monkeypatch, tmp_path, capsys):
    import argparse

    from bench.commands import bases as verb

    slim_tag = standin_of("debian:bookworm-slim")

    def inspect(argv):
        if argv[-1] == slim_tag:
            info = json.loads(inspect_json(slim_tag, labels={"org.bench.runtime-version": "12.15"}))
            return 0, json.dumps({**info, "Size": 74_500_000}), ""
        return 1, "", "No such image"

    ex = FakeExecutor(responses={("docker", "image", "inspect"): inspect})
    monkeypatch.setattr(verb, "default_executor", lambda: ex)
    p = argparse.ArgumentParser()
    verb.add_arguments(p)
    out_md = tmp_path / "faithfulness.md"
    args = p.parse_args(["--bases", "local", "--only", "debian:bookworm-slim,golang:1.22",
                         "--only", "python:3.12-alpine", "--json", "--faithfulness", str(out_md)])
    assert verb.run(args) == 0
    rows = {r["ref"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == ["debian:bookworm-slim", "golang:1.22", "python:3.12-alpine"]
    assert rows["debian:bookworm-slim"]["disk_bytes"] == 74_500_000 and rows["debian:bookworm-slim"]["available"]
    assert rows["golang:1.22"]["reason"] == NOT_BUILT_REASON and rows["golang:1.22"]["disk_bytes"] is None
    assert rows["python:3.12-alpine"]["reason"] == load_catalogue().get("python:3.12-alpine").unavailable
    assert not any(c[0] == "mmdebstrap" for c in ex.calls)
    md = out_md.read_text()
    assert "| `debian:bookworm-slim` | slim |" in md and "74.5 MB" in md


def test_bases_verb_rejects_unknown_refs_in_local_mode(monkeypatch):
    import argparse

    from bench.commands import bases as verb

    monkeypatch.setattr(verb, "default_executor", lambda: FakeExecutor())
    p = argparse.ArgumentParser()
    verb.add_arguments(p)
    with pytest.raises(UserError, match="ruby:3.3"):
        verb.run(p.parse_args(["--bases", "local", "--only", "ruby:3.3"]))


def test_an_unreachable_mirror_is_a_one_line_user_error(monkeypatch):
    from bench.bases.host import check_mirror

    with pytest.raises(UserError) as e:
        check_mirror(Mirror("http://127.0.0.1:9/debian", None), "bookworm", timeout=3)
    assert "\n" not in str(e.value) and "127.0.0.1:9" in str(e.value) and "apt sources" in str(e.value)


def test_auto_falls_back_to_the_standin_when_a_pull_fails(monkeypatch):
    monkeypatch.setattr(bases, "_probe", lambda host, timeout: True)
    tag = standin_of("node:20")

    def inspect(argv):
        return (0, inspect_json(tag), "") if argv[-1] == tag else (1, "", "No such image")

    ex = FakeExecutor(responses={("docker", "image", "inspect"): inspect,
                                 ("docker", "info"): (0, "https://index.example.invalid/v1/", ""),
                                 ("docker", "pull"): (1, "", "toomanyrequests")})
    r = resolve(["node:20"], "auto", executor=ex)["node:20"]
    assert (r.mode, r.image, r.standin) == ("local", tag, True)
    with pytest.raises(UserError):
        resolve(["node:20"], "hub", executor=ex)
