"""Stand-ins built layer by layer, the way upstream builds them.

A root stand-in is one layer, like upstream's root filesystem tarball: mmdebstrap for
Debian (standins.build_standin), a real Alpine release cut down to its minirootfs for
Alpine (build_alpine_root). Every image on top is a generated Dockerfile `FROM` its
parent's stand-in with the steps of upstream's Dockerfile (catalogue `dockerfile`), built
with `docker buildx build`; runtimes reach the build as named build contexts (payloads.py).
So each stand-in has upstream's layers, one per upstream RUN/COPY.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.bases.catalogue import Entry
from bench.bases.host import CABundle
from bench.bases.standins import Progress, _write, cache_dir, import_changes, parse_version
from bench.engine.docker import as_docker
from bench.engine.executor import Executor


def render_dockerfile(entry: Entry, parent_image: str, versions: dict[str, str], labels: list[str],
                      env: list[str] = ()) -> str:
    """The generated Dockerfile: FROM the parent stand-in, upstream's steps, bench's labels.

    `labels` are import_changes() lines: only LABEL is kept (the config comes from upstream's
    own steps); `env` are extra ENV lines (the runtime's version) put before them."""
    body = entry.recipe.dockerfile
    for key, value in versions.items():
        body = body.replace("{" + key + "}", value)
    lines = [f"# bench stand-in for {entry.ref}: the steps of {entry.upstream_recipe}",
             f"FROM {parent_image}", body.strip("\n")]
    lines += list(env) + [c for c in labels if c.startswith("LABEL")]
    return "\n".join(lines) + "\n"


def _version_of(entry: Entry, versions: dict[str, str]) -> str | None:
    for key in ("node_version", "go_version", "alpine_release"):
        if key in versions:
            return versions[key]
    return None


def build_layered(entry: Entry, parent_image: str, *, rhash: str, tag: str, executor: Executor, ca: CABundle,
                  progress: Progress) -> str | None:
    """Build `entry` on its parent's stand-in; returns the runtime version inside."""
    workdir = cache_dir() / "build" / rhash[:12]
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        from bench.bases.payloads import fetch

        versions: dict[str, str] = {}
        contexts: list[str] = []
        for name, spec in entry.recipe.payloads:
            progress(entry.ref, f"payload {name} = {spec}")
            versions.update(fetch(executor, spec, workdir / "payloads" / name))
            contexts += ["--build-context", f"{name}={workdir / 'payloads' / name}"]
        version = _version_of(entry, versions)
        if version is None and entry.recipe.version_cmd:
            version = _probe(executor, parent_image, entry, workdir, contexts, versions, progress)
        if version and entry.recipe.runtime_label:
            version = entry.recipe.runtime_label.replace("{version}", version)
        if version and "fallback" in versions:
            version = f"{version} ({versions['fallback']})"
        labels = import_changes(entry, rhash=rhash, runtime_version=version, ca=ca)
        # the ENV upstream sets to its runtime's version: metadata only, no layer
        env = [f"ENV {entry.recipe.version_env}={json.dumps(version)}"] if version and entry.recipe.version_env else []
        dockerfile = render_dockerfile(entry, parent_image, versions, labels, env)
        if entry.ref.startswith("python:") and version:
            dockerfile = dockerfile.replace("\nCMD ", f"\nENV PYTHON_VERSION={version}\nCMD ", 1)
        _write(workdir / "Dockerfile", dockerfile)
        (workdir / "context").mkdir()
        progress(entry.ref, f"docker buildx build {tag}")
        as_docker(executor).build_file(workdir / "Dockerfile", workdir / "context", tag, build_contexts=contexts)
        return version
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _probe(executor: Executor, parent_image: str, entry: Entry, workdir: Path, contexts: list[str],
           versions: dict[str, str], progress: Progress) -> str | None:
    """Build without labels and run version_cmd in it (the runtime comes from apt, not a payload).

    The layers are BuildKit's cache for the labelled build that follows, so nothing is built twice.
    """
    probe_tag = f"bench-standin/probe:{workdir.name}"
    _write(workdir / "Dockerfile.probe", render_dockerfile(entry, parent_image, versions, []))
    (workdir / "probe-context").mkdir(exist_ok=True)
    progress(entry.ref, "building to read the runtime version")
    docker = as_docker(executor)
    docker.build_file(workdir / "Dockerfile.probe", workdir / "probe-context", probe_tag, build_contexts=contexts)
    try:
        done = docker.run_once(probe_tag, entrypoint="/bin/sh", args=["-c", entry.recipe.version_cmd])
        return parse_version(done.stdout + done.stderr)
    finally:
        docker.rmi(probe_tag)


def build_alpine_root(entry: Entry, *, rhash: str, tag: str, executor: Executor, ca: CABundle,
                      progress: Progress) -> str | None:
    """alpine:<tag>: the minirootfs package set of the reachable Alpine release, one layer."""
    from bench.bases.alpine import vm_tree, write_minirootfs

    workdir = cache_dir() / "build" / rhash[:12]
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        progress(entry.ref, "unpacking the Alpine VM disk")
        tree = vm_tree(executor)
        tar = workdir / "rootfs.tar"
        facts = write_minirootfs(tree, tar, [(n, d) for n, d in ca.files])
        if facts["not_restored"]:
            progress(entry.ref, f"not byte-identical to the package: {facts['not_restored']}")
        version = facts["alpine_release"]
        progress(entry.ref, f"docker import {tag}")
        as_docker(executor).import_(tar, tag, changes=import_changes(entry, rhash=rhash, runtime_version=version, ca=ca),
                                    message=f"bench stand-in for {entry.ref} (Alpine {version})", timeout=600)
        return version
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
