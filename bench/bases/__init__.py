"""Base images: the real ones where a registry answers, faithful local stand-ins where not.

    resolve(refs, mode="auto"|"hub"|"local", *, build=True, executor=None,
            catalogue=load_catalogue(extra=apps_dir)) -> {ref: Resolved}
    build_context_args(resolved_values) -> ["--build-context", "REF=docker-image://TAG", ...]
    registry_reachable(timeout=3) -> bool

Sample Dockerfiles keep their real FROM lines; a stand-in reaches BuildKit as a named
build context, so `FROM node:20` builds on bench's node:20 stand-in unchanged. Any tag of a
catalogued family resolves (bench/bases/families.py); `load_catalogue(extra=apps_dir)` adds
the bases and aliases of the apps' bases.toml.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from bench.bases.catalogue import Catalogue, Entry, chain_hash, load_catalogue, normalise_ref, standin_tag
from bench.bases.host import CABundle, find_ca_bundle, find_mirror
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import DockerError, Executor
from bench.errors import UserError

__all__ = ["Resolved", "resolve", "build_context_args", "registry_reachable", "load_catalogue", "MODES"]

MODES = ("auto", "hub", "local")
DECLARE_HINT = ('declare it in bases.toml beside your apps ([[alias]] ref = "{ref}" same_as = "<a ref '
                '`python -m bench bases` lists>", or an [[image]] entry)')
NOT_BUILT_REASON = "stand-in not built yet: run `python -m bench bases --build`"
# Environment variables the official images set to their runtime's version.
RUNTIME_ENV = ("NODE_VERSION", "PYTHON_VERSION", "GOLANG_VERSION", "JAVA_VERSION")


@dataclass(frozen=True)
class Resolved:
    ref: str  # as the Dockerfile writes it
    mode: str  # "hub" (the real image) or "local" (a stand-in); "builtin" for scratch
    image: str | None  # what to build on: a digest-pinned upstream ref or the stand-in tag
    standin: bool
    available: bool
    reason: str  # why it is unavailable ("" when available)
    runtime_version: str | None  # the runtime inside, as found in the image
    recipe_hash: str | None  # stand-ins only
    image_id: str | None


# ---------------------------------------------------------------- registry reachability

_reach_cache: dict[str, bool] = {}


def registry_host(ref: str, index_host: str | None = None) -> str | None:
    """The registry a ref lives on; None means the engine's default index (Docker Hub)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return first
    return index_host


def _index_host(docker: Docker) -> str | None:
    """The engine's default registry, asked from the engine (no host name in this code)."""
    addr = docker.index_server_address() or ""
    host = addr.split("://", 1)[-1].split("/", 1)[0]
    return host or None


def _probe(host: str, timeout: float) -> bool:
    """A registry answers /v2/ with 200 or 401 and the Distribution API header."""
    req = urllib.request.Request(f"https://{host}/v2/", method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ssl.create_default_context()) as r:
            return r.status == 200
    except urllib.error.HTTPError as e:
        return e.code == 401 and bool(e.headers.get("Docker-Distribution-Api-Version"))
    except Exception:  # DNS failure, refused, timeout, TLS: all mean "not reachable"
        return False


def registry_reachable(timeout: float = 3, *, host: str | None = None,
                       executor: Executor | Docker | None = None) -> bool:
    """Whether an image registry answers within `timeout` seconds (default: the engine's index)."""
    if host is None:
        host = _index_host(as_docker(executor))
        if host is None:
            return False
    if host not in _reach_cache:
        _reach_cache[host] = _probe(host, timeout)
    return _reach_cache[host]


# ---------------------------------------------------------------- resolution

def _labels(info: dict) -> dict:
    return (info.get("Config") or {}).get("Labels") or {}


def _label_version(info: dict) -> str | None:
    v = _labels(info).get("org.bench.runtime-version")
    return None if v in (None, "", "unknown") else v


def _runtime_from_env(info: dict) -> str | None:
    env = dict(e.split("=", 1) for e in (info.get("Config") or {}).get("Env") or [] if "=" in e)
    for k in RUNTIME_ENV:
        if env.get(k):
            return env[k]
    return None


def _resolve_hub(ref: str, entry: Entry | None, docker: Docker, progress) -> Resolved:
    progress(ref, "docker pull")
    try:
        docker.pull(ref)
    except DockerError as e:
        if entry is None:
            raise UserError(f"{ref} is not in bench's base catalogue and `docker pull {ref}` failed: "
                            f"check the ref, or {DECLARE_HINT.format(ref=ref)}") from e
        why = ((e.completed.stderr or e.completed.stdout).strip().splitlines() or ["no output"])[-1][-200:]
        raise UserError(f"`docker pull {ref}` failed ({why}): rerun with --bases local "
                        "to use bench's stand-in") from e
    info = docker.inspect_image(ref) or {}
    digests = info.get("RepoDigests") or []
    return Resolved(ref=ref, mode="hub", image=digests[0] if digests else ref, standin=False, available=True,
                    reason="", runtime_version=_runtime_from_env(info), recipe_hash=None,
                    image_id=info.get("Id"))


class _Local:
    """Resolves refs to stand-ins, building them (one at a time) when asked to."""

    def __init__(self, catalogue: Catalogue, docker: Docker, *, build: bool, rebuild: bool, progress):
        self.catalogue = catalogue
        self.docker = docker
        self.build = build
        self.rebuild = rebuild
        self.progress = progress
        self._ca: CABundle | None = None
        self._done: dict[str, Resolved] = {}

    @property
    def ca(self) -> CABundle:
        if self._ca is None:
            self._ca = find_ca_bundle()
        return self._ca

    def hash_of(self, entry: Entry) -> str:
        """The recipe hash; a derived or layered stand-in's covers its parent's too."""
        return chain_hash(self.catalogue, entry, self.ca.pem)

    def _mirror(self, entry: Entry):
        """The archive a root is bootstrapped from: the host's Debian mirror, or the one it names."""
        if entry.recipe.archive == "ubuntu":
            from bench.bases import standins, ubuntu

            return ubuntu.archive(self.docker.executor, standins.cache_dir())
        return find_mirror()

    def resolve(self, ref: str, entry: Entry) -> Resolved:
        if entry.ref in self._done:
            r = self._done[entry.ref]
            return r if r.ref == ref else Resolved(**{**r.__dict__, "ref": ref})
        r = self._resolve(ref, entry)
        self._done[entry.ref] = r
        return r

    def _resolve(self, ref: str, entry: Entry) -> Resolved:
        if entry.unavailable:
            return Resolved(ref=ref, mode="local", image=None, standin=True, available=False,
                            reason=entry.unavailable, runtime_version=None, recipe_hash=None, image_id=None)
        rhash = self.hash_of(entry)
        tag = standin_tag(entry.ref, rhash)
        info = self.docker.inspect_image(tag)
        if info is None or self.rebuild:
            if not self.build:
                return Resolved(ref=ref, mode="local", image=tag, standin=True, available=False,
                                reason=NOT_BUILT_REASON, runtime_version=None, recipe_hash=rhash, image_id=None)
            info = self._build(entry, rhash, tag, old=info)
        return Resolved(ref=ref, mode="local", image=tag, standin=True, available=True, reason="",
                        runtime_version=_label_version(info),
                        recipe_hash=rhash, image_id=info.get("Id"))

    def _build(self, entry: Entry, rhash: str, tag: str, old: dict | None) -> dict:
        from bench.bases import standins

        parent = None
        parent_ref = entry.same_as or entry.recipe.parent
        if parent_ref:
            parent_entry = self.catalogue.get(parent_ref)
            parent = self.resolve(parent_entry.ref, parent_entry)  # builds it first when needed
            if not parent.available:
                raise UserError(f"{entry.ref} builds on {parent_ref}, which has no stand-in ({parent.reason})")
        with standins.build_lock():
            # Another process may have built it while this one waited for the lock.
            info = self.docker.inspect_image(tag)
            if info is not None and not (old is not None and info.get("Id") == old.get("Id")):
                return info
            if parent is not None and entry.recipe.parent and not entry.same_as:
                from bench.bases.layered import build_layered

                build_layered(entry, parent.image, rhash=rhash, tag=tag, executor=self.docker.executor, ca=self.ca,
                              progress=self.progress)
            elif entry.recipe.alpine:
                from bench.bases.layered import build_alpine_root

                build_alpine_root(entry, rhash=rhash, tag=tag, executor=self.docker.executor, ca=self.ca,
                                  progress=self.progress)
            elif parent is not None:
                self.progress(entry.ref, f"deriving from {parent.image}")
                standins.derive_standin(entry, parent.image, rhash=rhash, tag=tag,
                                        runtime_version=parent.runtime_version,
                                        docker=self.docker, ca=self.ca)
            else:
                standins.build_standin(entry, rhash=rhash, tag=tag, docker=self.docker,
                                       mirror=self._mirror(entry), ca=self.ca, progress=self.progress)
        info = self.docker.inspect_image(tag)
        if info is None:
            raise UserError(f"the stand-in for {entry.ref} was built but {tag} is missing; rerun with --rebuild")
        if old is not None and old.get("Id") != info.get("Id"):
            # The replaced stand-in was bench's own (same tag); drop it unless something still uses it.
            self.docker.rmi(old["Id"])
        self.progress(entry.ref, "ready")
        return info


def resolve(refs: Iterable[str], mode: str = "auto", *, build: bool = True,
            executor: Executor | Docker | None = None,
            progress: Callable[[str, str], None] | None = None, rebuild: bool = False,
            catalogue: Catalogue | None = None) -> dict[str, Resolved]:
    """Resolve each FROM ref to the image to build on.

    hub: pull the real image. local: build (or reuse) the stand-in. auto: hub for refs whose
    registry answers within a few seconds, local otherwise. Refs whose stand-in cannot be
    made (catalogue `unavailable`) come back unavailable with that reason; a ref neither catalogued nor pullable raises UserError.
    """
    if mode not in MODES:
        raise UserError(f"--bases must be one of {', '.join(MODES)}, not {mode!r}")
    docker = as_docker(executor)
    catalogue = catalogue or load_catalogue()
    progress = progress or (lambda ref, msg: None)
    local = _Local(catalogue, docker, build=build, rebuild=rebuild, progress=progress)
    index_host: list[str | None] = []
    out: dict[str, Resolved] = {}
    for ref in refs:
        if ref in out:
            continue
        if ref == "scratch":
            out[ref] = Resolved(ref=ref, mode="builtin", image=None, standin=False, available=True, reason="",
                                runtime_version=None, recipe_hash=None, image_id=None)
            continue
        entry = catalogue.get(ref)
        use = mode
        if mode == "auto":
            if not index_host:
                index_host.append(_index_host(docker))
            host = registry_host(normalise_ref(ref), index_host[0])
            use = "hub" if host and registry_reachable(host=host) else "local"
        if use == "hub":
            try:
                out[ref] = _resolve_hub(ref, entry, docker, progress)
                continue
            except UserError:
                # auto: the registry answered but the pull failed (rate limit, auth, ...);
                # a catalogued ref still has its stand-in.
                if mode != "auto" or entry is None:
                    raise
                progress(ref, "pull failed; using the local stand-in")
            out[ref] = local.resolve(ref, entry)
        else:
            if entry is None:
                raise UserError(f"{ref} is in no base family bench knows and no registry answers here: "
                                f"{DECLARE_HINT.format(ref=ref)}")
            out[ref] = local.resolve(ref, entry)
    return out


def build_context_args(resolved_values: Iterable[Resolved] | Mapping[str, Resolved]) -> list[str]:
    """`--build-context REF=docker-image://TAG` for each available stand-in.

    Real images need no argument: BuildKit resolves their FROM lines itself.
    """
    if isinstance(resolved_values, Mapping):
        resolved_values = resolved_values.values()
    args: list[str] = []
    seen: set[str] = set()
    for r in resolved_values:
        if r.standin and r.available and r.image and r.ref not in seen:
            seen.add(r.ref)
            args += ["--build-context", f"{r.ref}=docker-image://{r.image}"]
    return args
