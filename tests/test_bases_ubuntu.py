"""Cutting the official ubuntu:24.04 package set out of a dpkg tree (no engine, no network)."""

import hashlib
import tarfile

import pytest

from bench.bases import ubuntu
from bench.bases.catalogue import chain_hash, load_catalogue
from bench.errors import UserError

PACKAGED_CONF = b"# packaged\nvalue=1\n"


def _status(name, conf=""):
    extra = f"Conffiles:\n /{conf} {hashlib.md5(PACKAGED_CONF).hexdigest()}\n" if conf else ""
    return f"Package: {name}\nStatus: install ok installed\nVersion: 1.0\n{extra}"


@pytest.fixture
def tree(tmp_path):
    """A tiny VM tree: `keep` (official, with a conffile the VM edited), `extra` (not official)."""
    t = tmp_path / "tree"
    info = t / ubuntu.INFO
    info.mkdir(parents=True)
    (t / ubuntu.STATUS).write_text(_status("keep", "etc/keep.conf") + "\n" + _status("extra") + "\n"
                                   + "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n")
    files = {"keep": ["/usr", "/usr/bin", "/usr/bin/keep", "/etc/keep.conf", "/usr/share/man/man1/keep.1.gz",
                      "/usr/share/doc/keep/copyright", "/usr/share/doc/keep/README"],
             "extra": ["/usr/bin/extra"]}
    for name, paths in files.items():
        (info / f"{name}.list").write_text("/.\n" + "\n".join(paths) + "\n")
        (info / f"{name}.md5sums").write_text("")
        for p in paths:
            if "." in p.rsplit("/", 1)[-1] or p.endswith(("keep", "extra", "copyright", "README")):
                (t / p.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                (t / p.lstrip("/")).write_bytes(b"x")
    (t / "etc/keep.conf").write_bytes(PACKAGED_CONF + b"edited=by the VM\n")
    (t / "usr/share/base-passwd").mkdir(parents=True)
    (t / "usr/share/base-passwd/passwd.master").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (t / "usr/share/base-passwd/group.master").write_text("root:x:0:\n")
    (t / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nvmuser:x:1000:1000::/home/vm:/bin/bash\n")
    (t / "etc/group").write_text("root:x:0:\nvmuser:x:1000:\n")
    (t / "etc/shadow").write_text("root:*:1::::::\nvmuser:$6$hash:1::::::\n")
    (t / "usr/lib").mkdir(parents=True)
    (t / "usr/lib/os-release").write_text('NAME="Ubuntu"\nVERSION="24.04.9 LTS (Noble Numbat)"\n')
    return t


def _cut(tree, tmp_path, names=("keep", "absent")):
    out = tmp_path / "out" / "rootfs.tar"
    out.parent.mkdir()
    facts = ubuntu.write_rootfs(tree, out, [("proxy", b"PEM")], names=names)
    with tarfile.open(out) as tf:
        return facts, {m.name: (tf.extractfile(m).read() if m.isfile() else None) for m in tf.getmembers()}


def test_only_the_official_packages_files_are_taken(tree, tmp_path):
    facts, members = _cut(tree, tmp_path)
    assert "usr/bin/keep" in members and "usr/bin/extra" not in members
    assert facts["missing"] == "absent" and facts["packages"] == "1"
    assert facts["ubuntu_release"] == "24.04.9 LTS (Noble Numbat)"


def test_dpkg_database_lists_just_the_cut(tree, tmp_path):
    _, members = _cut(tree, tmp_path)
    status = members[ubuntu.STATUS].decode()
    assert "Package: keep" in status and "Package: extra" not in status and "Package: gone" not in status
    assert f"{ubuntu.INFO}/keep.list" in members and f"{ubuntu.INFO}/extra.list" not in members


def test_minimization_drops_docs_but_keeps_copyright_and_writes_the_excludes(tree, tmp_path):
    _, members = _cut(tree, tmp_path)
    assert "usr/share/man/man1/keep.1.gz" not in members
    assert "usr/share/doc/keep/README" not in members
    assert "usr/share/doc/keep/copyright" in members
    assert "path-exclude=/usr/share/man/*" in members[ubuntu.EXCLUDES_PATH].decode()


def test_an_edited_conffile_goes_back_to_the_packaged_version(tree, tmp_path):
    facts, members = _cut(tree, tmp_path)
    assert members["etc/keep.conf"] == PACKAGED_CONF and facts["not_restored"] == ""


def test_an_unrecoverable_conffile_is_reported(tree, tmp_path):
    (tree / "etc/keep.conf").write_bytes(b"rewritten whole\n")
    facts, _ = _cut(tree, tmp_path)
    assert facts["not_restored"] == "etc/keep.conf"


def test_accounts_are_base_passwds_and_the_vm_user_is_gone(tree, tmp_path):
    _, members = _cut(tree, tmp_path)
    assert b"vmuser" not in members["etc/passwd"] + members["etc/group"] + members["etc/shadow"]
    assert members["etc/shadow"].startswith(b"root:")
    assert members["usr/local/share/ca-certificates/bench-proxy.crt"] == b"PEM"


@pytest.mark.parametrize("rel, out", [("usr/share/man/man8/x.8.gz", True), ("usr/share/doc/a/copyright", False),
                                      ("usr/share/doc/a/NEWS.gz", True), ("usr/bin/man", False),
                                      ("usr/share/locale/de/LC_MESSAGES/a.mo", True)])
def test_excludes_follow_dpkgs_last_match_rule(rel, out):
    assert ubuntu.excluded(rel) is out


def test_catalogue_pins_the_wheel_version_into_the_cache_key():
    cat = load_catalogue()
    e = cat.get("ubuntu:24.04")
    assert e.recipe.ubuntu == ubuntu.VM_PACKAGE and "cut from the quicksand-ubuntu VM disk" in e.release
    from dataclasses import replace
    bumped = replace(e, recipe=replace(e.recipe, ubuntu="quicksand-ubuntu==0.10.2"))
    assert chain_hash(cat, bumped) != chain_hash(cat, e)


def test_noble_resolves_to_the_stand_in_and_other_releases_say_what_is_available():
    cat = load_catalogue()
    assert cat.get("ubuntu:noble").same_as == "ubuntu:24.04"
    assert "ubuntu:24.04" in cat.get("ubuntu:22.04").unavailable


def test_a_stub_wheel_is_one_line_on_what_to_do(tmp_path, monkeypatch):
    import zipfile
    stub = tmp_path / "quicksand_ubuntu-0.10.1-py3-none-any.whl"
    with zipfile.ZipFile(stub, "w") as zf:
        zf.writestr("quicksand_ubuntu/__init__.py", "")
    monkeypatch.setenv(ubuntu.WHEEL_SETTING, str(stub))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(UserError, match=ubuntu.WHEEL_SETTING):
        ubuntu.vm_tree(executor=None)
