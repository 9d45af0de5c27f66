import pytest

from bench.apps import SmokeRequest, dockerfile_bases, dockerfile_runtime_base, dockerfile_user, load_apps, select
from bench.errors import UserError


def test_bases_skip_stage_names_and_scratch():
    text = """
FROM golang:1.22 AS builder
FROM builder AS test
FROM --platform=linux/amd64 gcr.io/distroless/static-debian12:nonroot
FROM scratch
"""
    assert dockerfile_bases(text) == ("golang:1.22", "gcr.io/distroless/static-debian12:nonroot")


def test_runtime_base_follows_stage_names_and_target():
    text = """
FROM golang:1.22 AS build
FROM build AS test
FROM test AS release
FROM scratch AS tiny
"""
    assert dockerfile_runtime_base(text) == "scratch"
    assert dockerfile_runtime_base(text, target="release") == "golang:1.22"
    assert dockerfile_runtime_base("FROM node:20-alpine AS b\nFROM b\n") == "node:20-alpine"
    assert dockerfile_runtime_base("# no FROM\n") == ""


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


def _with_toml(tmp_path, extra: str):
    root = _app(tmp_path)
    toml = root / "app.toml"
    head, _, edit = toml.read_text().partition("[edit]")
    toml.write_text(head + extra + "\n[edit]" + edit)
    return root


def test_smoke_contract_and_marks_parse(tmp_path):
    _with_toml(tmp_path, 'practical = "slim"\nceiling = "slim"\n'
               '[[smoke]]\npath = "/time?tz=Europe/Berlin"\ncontent_type = "application/json"\n'
               'body_contains = "Europe/Berlin"\n'
               '[[smoke]]\npath = "/x"\nmethod = "post"\nstatus = 405\njson_keys = ["error"]\n')
    (a,) = load_apps(tmp_path)
    assert a.practical == "slim" and a.ceiling == "slim"
    berlin, post = a.smoke
    assert berlin == SmokeRequest("/time?tz=Europe/Berlin", 200, "GET", "application/json", "Europe/Berlin", ())
    assert (post.method, post.status, post.json_keys) == ("POST", 405, ("error",))


def test_no_smoke_tables_is_the_default_contract(tmp_path):
    _app(tmp_path)
    (a,) = load_apps(tmp_path)
    assert a.smoke == () and a.practical is None and a.ceiling is None


@pytest.mark.parametrize("extra, message", [
    ('[[smoke]]\nstatus = 200\n', r"app.toml: \[\[smoke\]\] #1 has no `path`"),
    ('[[smoke]]\npath = "/"\nstatus = "200"\n', r"#1: `status` must be an integer, not '200'"),
    ('[[smoke]]\npath = "/"\n[[smoke]]\npath = "/"\njson_keys = "app"\n', r"#2: `json_keys` must be a list"),
    ('[[smoke]]\npath = "/"\njson_keys = [1]\n', r"`json_keys` must be a list of strings"),
    ('[[smoke]]\npath = "healthz"\n', r"`path` must start with /"),
    ('[[smoke]]\npath = "/"\nbody = "x"\n', r"unknown key 'body'"),
    ('smoke = "/healthz"\n', r"`smoke` must be an array of tables"),
    ('practical = "nope"\n', r"app.toml: `practical` must name one of its variants \(bloated, slim\)"),
    ('ceiling = 3\n', r"`ceiling` must name one of its variants"),
])
def test_bad_contract_or_mark_is_a_one_line_user_error(tmp_path, extra, message):
    _with_toml(tmp_path, extra)
    with pytest.raises(UserError, match=message) as e:
        load_apps(tmp_path)
    assert "\n" not in str(e.value)


def test_bundled_apps_have_contracts_and_marks():
    for a in load_apps():
        assert a.smoke, a.name
        assert a.practical and a.ceiling, a.name
    go = next(a for a in load_apps() if a.name == "go")
    assert "/time?tz=Europe/Berlin" in [r.path for r in go.smoke]
