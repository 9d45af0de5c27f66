"""The cpython payload and the pinning of python recipes to a pyenv build, on a fake pyenv tree."""

from __future__ import annotations

import pytest

from bench.bases import payloads, pyenv
from bench.bases.catalogue import chain_hash, load_catalogue
from bench.errors import UserError
from tests.fakes import FakeExecutor


def _build(root, version, *, glibc="2.31"):
    """A pyenv-like prefix: what `pyenv install` leaves, with the things upstream trims."""
    line = version.rsplit(".", 1)[0]
    p = root / "versions" / version
    files = {
        f"bin/python{line}": b"\x7fELF fake interpreter GLIBC_" + glibc.encode(),
        f"bin/pip{line}": f"#!{p}/bin/python{line}\nimport pip\n".encode(),
        "bin/python3.12-gdb.py": b"gdb helper\n",
        f"lib/libpython{line}.so.1.0": b"\x7fELF fake libpython GLIBC_2.17",
        f"lib/python{line}/os.py": b"# os\n",
        f"lib/python{line}/__pycache__/os.cpython-312.pyc": b"pyc",
        f"lib/python{line}/test/test_os.py": b"# test\n",
        f"lib/python{line}/idlelib/idle_test/test_x.py": b"# idle test\n",
        f"lib/python{line}/idlelib/run.py": b"# idle\n",
        f"lib/python{line}/_sysconfigdata__linux_x86_64-linux-gnu.py": f"build_time_vars = {{'prefix': '{p}'}}\n".encode(),
        f"lib/python{line}/config-{line}-x86_64-linux-gnu/libpython{line}.a": b"static",
        f"lib/python{line}/site-packages/README.txt": b"readme\n",
        f"lib/python{line}/site-packages/pip/__init__.py": b"# pip\n",
        f"lib/python{line}/site-packages/pip/_vendor/colorama/tests/t.py": b"# vendored test\n",
        f"lib/python{line}/site-packages/pip-23.2.1.dist-info/METADATA": b"Name: pip\n",
        f"lib/python{line}/site-packages/requests/__init__.py": b"# what the host's user installed\n",
        f"lib/python{line}/site-packages/_host_hook.pth": b"import os\n",
        "include/python3.12/Python.h": b"/* header */\n",
        "share/man/man1/python3.12.1": b".TH\n",
    }
    for rel, data in files.items():
        (p / rel).parent.mkdir(parents=True, exist_ok=True)
        (p / rel).write_bytes(data)
    for link, target in (("python3", f"python{line}"), ("python", f"python{line}"), ("pip", f"pip{line}")):
        (p / "bin" / link).symlink_to(target)
    return p


@pytest.fixture
def root(tmp_path, monkeypatch):
    r = tmp_path / "pyenv"
    for v in ("3.12.1", "3.12.10", "3.12.9", "3.11.7"):
        _build(r, v)
    (r / "versions" / "3.13-dev" / "bin").mkdir(parents=True)  # not a release: never chosen
    monkeypatch.setenv("BENCH_PYENV_ROOT", str(r))
    return r


def test_the_newest_patch_release_of_the_line_is_chosen_numerically(root):
    assert pyenv.newest_build("3.12").version == "3.12.10"  # not 3.12.9: 10 > 9
    assert pyenv.newest_build("3.12.1").version == "3.12.1"  # an exact version is taken as is
    assert pyenv.newest_build("3.13") is None and pyenv.newest_build("3.10") is None


def test_a_build_needing_a_newer_glibc_than_the_suite_has_is_not_chosen(root):
    _build(root, "3.12.11", glibc="2.38")  # built on Debian 13
    assert pyenv.newest_build("3.12").version == "3.12.11"
    assert pyenv.newest_build("3.12", suite="bookworm").version == "3.12.10"  # bookworm has glibc 2.36
    assert pyenv.newest_build("3.12", suite="trixie").version == "3.12.11"


def test_the_pyenv_root_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_PYENV_ROOT", raising=False)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "elsewhere"))
    assert pyenv.pyenv_root() == tmp_path / "elsewhere"
    monkeypatch.setenv("BENCH_PYENV_ROOT", str(tmp_path / "bench"))
    assert pyenv.pyenv_root() == tmp_path / "bench"


def test_the_payload_is_trimmed_as_upstream_trims_and_moved_to_usr_local(root, tmp_path):
    out = tmp_path / "out"
    versions = payloads.fetch(FakeExecutor(), "cpython:3.12", out)
    assert versions == {"python_version": "3.12.10"}
    files = {str(f.relative_to(out)) for f in out.rglob("*") if not f.is_dir()}
    lib = "lib/python3.12"
    assert {f"{lib}/os.py", f"{lib}/idlelib/run.py", "lib/libpython3.12.so.1.0", "include/python3.12/Python.h",
            "share/man/man1/python3.12.1", f"{lib}/site-packages/pip/__init__.py", "bin/python3"} <= files
    # upstream's find: test/tests/idle_test dirs, *.pyc/*.pyo, libpython*.a
    assert not [f for f in files if "/test/" in f or "/tests/" in f or "idle_test" in f or f.endswith((".pyc", ".a"))]
    # the unversioned links are upstream's next RUN; site-packages holds pip only
    assert not {"bin/python", "bin/pip", "bin/python3.12-gdb.py"} & files
    assert not [f for f in files if "requests" in f or f.endswith(".pth")]
    # the build's prefix became /usr/local in scripts and sysconfig data, not in binaries
    assert (out / "bin/pip3.12").read_text().startswith("#!/usr/local/bin/python3.12\n")
    assert "'prefix': '/usr/local'" in (out / lib / "_sysconfigdata__linux_x86_64-linux-gnu.py").read_text()
    assert (out / "bin/python3").is_symlink()


def test_the_stripped_payload_strips_its_elf_files_only(root, tmp_path, monkeypatch):
    monkeypatch.setattr(payloads.shutil, "which", lambda name: f"/usr/bin/{name}")
    ex = FakeExecutor().on("strip")
    payloads.fetch(ex, "cpython-stripped:3.12.1", tmp_path / "out")
    (argv,) = ex.calls
    assert argv[:2] == ("strip", "--strip-all")
    assert sorted(a.rsplit("/", 2)[-1] for a in argv[2:]) == ["libpython3.12.so.1.0", "python3.12"]


def test_a_missing_line_is_a_user_error_naming_the_fix(root, tmp_path):
    with pytest.raises(UserError, match="pyenv install 3.9"):
        payloads.fetch(FakeExecutor(), "cpython:3.9", tmp_path / "out")


def test_python_recipes_are_pinned_to_the_exact_build_and_its_version_keys_the_standin(root):
    cat = load_catalogue()
    full, slim = cat.get("python:3.12"), cat.get("python:3.12-slim")
    assert dict(full.recipe.payloads) == {"cpython": "cpython:3.12.10"}
    assert dict(slim.recipe.payloads) == {"cpython": "cpython-stripped:3.12.10"}
    assert full.runtime_mismatch is None and full.fallback is None
    before = chain_hash(cat, slim)
    _build(root, "3.12.12")  # another build: another stand-in
    assert chain_hash(cat, cat.get("python:3.12-slim")) != before


def test_a_family_tag_takes_its_own_line_and_falls_back_to_debians_311_without_one(root):
    cat = load_catalogue()
    assert dict(cat.get("python:3.11-slim").recipe.payloads) == {"cpython": "cpython-stripped:3.11.7"}
    assert cat.get("python:3.11-slim").upstream_recipe == "docker-library/python 3.11/slim-bookworm/Dockerfile"
    missing = cat.get("python:3.13-slim")  # no 3.13 build in this tree
    assert missing.ref == "python:3.13-slim" and not missing.recipe.payloads
    assert "python3" in missing.recipe.dockerfile and missing.recipe.version_cmd
    assert "CPython 3.11 (Debian bookworm) instead of 3.13" in missing.runtime_mismatch
    assert cat.get("python:3.12-slim-bookworm").same_as == "python:3.12-slim"  # a spelling: relabelled


def test_without_pyenv_the_catalogued_tags_run_debians_311_and_say_so(no_pyenv):
    cat = load_catalogue()
    for ref in ("python:3.12", "python:3.12-slim"):
        e = cat.get(ref)
        assert e.ref == ref and not e.recipe.payloads and "python3-venv" in e.recipe.dockerfile
        assert "CPython 3.11 (Debian bookworm) instead of 3.12" in e.runtime_mismatch
    assert cat.get("python:3.11").runtime_mismatch is None  # Debian's 3.11 is what was asked
