import pytest

from bench.apps import dockerfile_bases, dockerfile_user, load_apps, select
from bench.errors import UserError


def test_bases_skip_stage_names_and_scratch():
    text = """
FROM golang:1.22 AS builder
FROM builder AS test
FROM --platform=linux/amd64 gcr.io/distroless/static-debian12:nonroot
FROM scratch
"""
    assert dockerfile_bases(text) == ("golang:1.22", "gcr.io/distroless/static-debian12:nonroot")


def test_user_of_final_stage_only():
    assert dockerfile_user("FROM a AS b\nUSER builder\nFROM c\nUSER 65532:65532\n") == "65532:65532"
    assert dockerfile_user("FROM a AS b\nUSER builder\nFROM c\n") is None


def _app(tmp_path, name="demo", variants=("bloated", "slim")):
    root = tmp_path / name
    (root / "src").mkdir(parents=True)
    (root / "app.toml").write_text(f'name = "{name}"\nport = 8080\n[edit]\nfile = "main.go"\nappend = "// x"\n')
    for i, v in enumerate(variants):
        d = root / "variants" / v
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text("FROM golang:1.22\n")
        parent = f'parent = "{variants[i - 1]}"\n' if i else ""
        (d / "variant.toml").write_text(f'techniques = ["{v}"]\n{parent}summary = "s"\n')
    return root


def test_load_apps_orders_parents_first(tmp_path):
    _app(tmp_path, variants=("bloated", "zeta", "alpha"))
    (a,) = load_apps(tmp_path)
    assert [v.name for v in a.variants] == ["bloated", "zeta", "alpha"]
    assert a.edit.file == "main.go"
    assert a.variants[0].bases == ("golang:1.22",)


def test_select_only_app_and_variant(tmp_path):
    _app(tmp_path, "one")
    _app(tmp_path, "two")
    apps = load_apps(tmp_path)
    assert [(a.name, v.name) for a, v in select(apps, ["two/slim"])] == [("two", "slim")]
    assert len(select(apps, ["one,two"])) == 4
    with pytest.raises(UserError, match="no app 'three'"):
        select(apps, ["three"])
    with pytest.raises(UserError, match="no variant 'nope'"):
        select(apps, ["one/nope"])


def test_missing_metadata_is_a_user_error(tmp_path):
    root = _app(tmp_path)
    (root / "variants" / "slim" / "variant.toml").unlink()
    with pytest.raises(UserError, match="variant.toml is missing"):
        load_apps(tmp_path)


def test_bundled_apps_load():
    apps = load_apps()
    assert any(a.name == "go" for a in apps)
    for a in apps:
        assert a.context.is_dir(), a.context
        assert any(v.name == "bloated" for v in a.variants), a.name
