"""ubuntu:* stand-ins: mmdebstrap from the Ubuntu archive setting, minimized as the official image."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.bases as bases
from bench.bases import standins, ubuntu
from bench.bases.catalogue import chain_hash, load_catalogue
from bench.bases.host import CABundle, Mirror
from bench.bases.standins import mmdebstrap_argv
from bench.errors import UserError
from tests.fakes import FakeExecutor


@pytest.fixture
def cat():
    return load_catalogue()


def _argv(recipe, mirror, tmp_path):
    return mmdebstrap_argv(recipe, mirror, tmp_path / "root", early=tmp_path / "e", stage=tmp_path / "s",
                           script=tmp_path / "c.sh")


def test_the_noble_root_is_bootstrapped_from_the_ubuntu_archive_with_its_keyring(cat, tmp_path):
    m = Mirror("http://ubuntu.invalid/ubuntu", "http://ubuntu.invalid/ubuntu", keyring="/k/ubuntu.gpg")
    argv = _argv(cat.get("ubuntu:24.04").recipe, m, tmp_path)
    assert "--variant=minbase" in argv and "--keyring=/k/ubuntu.gpg" in argv
    assert "--include=apt,unminimize" in argv
    # Debian's merged-/usr hook dir would install Debian's usr-is-merged: only its setup part runs
    assert not any(a.startswith("--hook-dir") for a in argv)
    assert any("merged-usr/setup00.sh" in a for a in argv)
    assert argv[-5] == "noble"
    assert argv[-3:] == ["deb http://ubuntu.invalid/ubuntu noble main", "deb http://ubuntu.invalid/ubuntu noble-updates main",
                         "deb http://ubuntu.invalid/ubuntu noble-security main"]


def test_debian_roots_keep_the_merged_usr_hook_and_name_no_keyring(cat, tmp_path):
    argv = _argv(cat.get("debian:bookworm").recipe, Mirror("http://m.invalid/debian", None), tmp_path)
    assert "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr" in argv
    assert not any(a.startswith("--keyring") for a in argv)


def test_the_customize_script_minimizes_adds_the_ubuntu_user_and_names_the_mirror(cat):
    m = Mirror("http://ubuntu.invalid/ubuntu", "http://ubuntu.invalid/ubuntu", keyring="/k")
    script = standins.customize_script(cat.get("ubuntu:24.04").recipe, CABundle(()), m)
    assert "useradd --uid 1000 --user-group --create-home --shell /bin/bash ubuntu" in script
    assert "URIs: http://ubuntu.invalid/ubuntu/\nSuites: noble noble-updates noble-backports" in script
    assert "Suites: noble-security" in script and "main restricted universe multiverse" in script
    assert "LC_MESSAGES/*.mo' -delete" in script and "! -name copyright ! -name 'changelog.*' -delete" in script
    assert script.index("ubuntu.sources") < script.index("rm -rf /var/lib/apt/lists/*")


def test_the_excludes_file_goes_in_before_any_package(cat, tmp_path):
    early, _, _ = standins.prepare_stage(cat.get("ubuntu:24.04"), executor=FakeExecutor(), ca=CABundle(()),
                                         workdir=tmp_path, progress=lambda *a: None)
    text = (early / "etc/dpkg/dpkg.cfg.d/excludes").read_text()
    assert "path-exclude=/usr/share/man/*" in text and "path-include=/usr/share/doc/*/copyright" in text
    assert not (early / "etc/dpkg/dpkg.cfg.d/docker").exists()  # that is Debian slim's


def test_releases_before_the_ubuntu_user_and_the_unminimize_package_get_neither(cat, tmp_path):
    jammy = cat.get("ubuntu:22.04")
    assert jammy.recipe.suite == "jammy" and jammy.unavailable is None and jammy.same_as is None
    assert "Ubuntu 22.04" in jammy.release and "jammy" in jammy.upstream_recipe
    m = Mirror("http://u.invalid/ubuntu", "http://u.invalid/ubuntu", keyring="/k")
    assert "--include=apt" in _argv(jammy.recipe, m, tmp_path)
    assert "useradd" not in standins.customize_script(jammy.recipe, CABundle(()), m)


@pytest.mark.parametrize("ref", ["ubuntu:noble", "ubuntu:24.04", "ubuntu:latest", "ubuntu:noble-20240423",
                                 "ubuntu:24.04.1", "library/ubuntu:24.04"])
def test_noble_spellings_are_the_24_04_stand_in(cat, ref):
    e = cat.get(ref)
    assert e.unavailable is None and e.recipe.suite == "noble"
    assert e.same_as in (None, "ubuntu:24.04")


@pytest.mark.parametrize("ref", ["ubuntu:20.04", "ubuntu:focal", "ubuntu:rolling", "ubuntu:devel"])
def test_other_ubuntu_tags_say_which_releases_exist(cat, ref):
    assert "use one of ubuntu:22.04, ubuntu:24.04" in cat.get(ref).unavailable


def test_the_mirror_setting_is_part_of_the_cache_key_of_ubuntu_only(cat, monkeypatch):
    before = {r: chain_hash(cat, cat.get(r)) for r in ("ubuntu:24.04", "ubuntu:noble", "debian:bookworm")}
    monkeypatch.setenv(ubuntu.MIRROR_SETTING, "http://other.invalid/ubuntu")
    after = {r: chain_hash(cat, cat.get(r)) for r in before}
    assert after["ubuntu:24.04"] != before["ubuntu:24.04"] and after["ubuntu:noble"] != before["ubuntu:noble"]
    assert after["debian:bookworm"] == before["debian:bookworm"]
    assert ubuntu.mirror_setting() == "http://other.invalid/ubuntu"


def test_the_keyring_comes_from_debians_ubuntu_keyring_package_once(tmp_path):
    def download(argv):
        (tmp_path / "ubuntu-keyring" / "ubuntu-keyring_2023.11.28.1_all.deb").write_bytes(b"deb")
        return 0, "", ""

    def extract(argv):
        target = Path(argv[-1]) / ubuntu.KEYRING
        target.parent.mkdir(parents=True)
        target.write_bytes(b"keys")
        return 0, "", ""

    ex = FakeExecutor(responses={("apt-get", "download", "ubuntu-keyring"): download, ("dpkg-deb", "-x"): extract})
    path = ubuntu.keyring(ex, tmp_path)
    assert path == tmp_path / "ubuntu-keyring" / ubuntu.KEYRING and path.read_bytes() == b"keys"
    assert ubuntu.keyring(ex, tmp_path) == path
    assert [c[0] for c in ex.calls] == ["apt-get", "dpkg-deb"]


def test_a_failing_keyring_download_is_one_line_saying_what_to_fix(tmp_path):
    ex = FakeExecutor().on("apt-get", "download", rc=100, stderr="E: Unable to locate package ubuntu-keyring")
    with pytest.raises(UserError, match="fix the machine's apt sources"):
        ubuntu.keyring(ex, tmp_path)


def test_resolve_builds_ubuntu_from_the_ubuntu_archive_not_the_hosts_mirror(monkeypatch, tmp_path):
    built = []

    def fake_build(entry, *, rhash, tag, docker, mirror, ca, progress):
        built.append((entry.ref, mirror))

    monkeypatch.setattr(standins, "build_standin", fake_build)
    monkeypatch.setattr(bases, "find_mirror", lambda: pytest.fail("the host's Debian mirror was asked"))
    monkeypatch.setattr(ubuntu, "keyring", lambda executor, cache: Path("/k/ubuntu.gpg"))
    monkeypatch.setenv(ubuntu.MIRROR_SETTING, "http://u.invalid/ubuntu/")
    ex = FakeExecutor().on("docker", "image", "inspect", rc=1)
    with pytest.raises(UserError):  # the fake build makes no image: bench says so
        bases.resolve(["ubuntu:24.04"], "local", executor=ex)
    assert built == [("ubuntu:24.04", Mirror("http://u.invalid/ubuntu", "http://u.invalid/ubuntu", "/k/ubuntu.gpg"))]


def test_an_unknown_archive_in_a_recipe_is_refused(tmp_path):
    from bench.bases.catalogue import parse_catalogue

    with pytest.raises(UserError, match="archive must be"):
        parse_catalogue('[[image]]\nref = "x:1"\nkind = "full"\n[image.recipe]\narchive = "fedora"\n')
