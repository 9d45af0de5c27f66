"""What the host offers stand-in builds: its Debian mirror and its CA bundle.

The mirror is read from the machine's own apt sources at run time (deb822 *.sources or the
one-line sources.list), so no mirror host name is ever written into the repository. The CA
bundle is a setting: BENCH_CA_BUNDLE names PEM files (a path, a glob, several separated by
':'), "none" switches it off; the default is every *.crt under /usr/local/share/ca-certificates,
which is where a TLS-intercepting proxy's CA is installed on a Debian host.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError

APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
DEFAULT_CA_GLOB = "/usr/local/share/ca-certificates/*.crt"


@dataclass(frozen=True)
class Mirror:
    uri: str  # the package archive (Debian's from the host's sources; Ubuntu's from a setting)
    security_uri: str | None  # the security archive, when there is one
    keyring: str | None = None  # the archive's signing keys, when the host does not trust them already

    def source_lines(self, suite: str, *, backports: bool = False) -> list[str]:
        """One-line apt sources for a stand-in of `suite`, in mmdebstrap's mirror syntax."""
        lines = [f"deb {self.uri} {suite} main", f"deb {self.uri} {suite}-updates main"]
        if self.security_uri:
            lines.append(f"deb {self.security_uri} {suite}-security main")
        if backports:
            lines.append(f"deb {self.uri} {suite}-backports main")
        return lines


def check_mirror(mirror: Mirror, suite: str, timeout: float = 15) -> None:
    """Raise a one-line UserError unless the mirror serves `suite` (its InRelease file)."""
    import urllib.error
    import urllib.request

    url = f"{mirror.uri}/dists/{suite}/InRelease"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
            if r.status < 400:
                return
            why = f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        why = f"HTTP {e.code}"
    except Exception as e:  # DNS, refused, timeout
        why = str(getattr(e, "reason", e)) or type(e).__name__
    fix = "the machine's apt sources" if mirror.keyring is None else "the mirror setting"
    raise UserError(f"the package mirror {mirror.uri} does not serve {suite} ({why}): fix the network "
                    f"or {fix}, then rerun")


def _entries_deb822(text: str) -> list[tuple[list[str], list[str]]]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
        if "deb" not in fields.get("types", "deb").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "uris" in fields:
            out.append((fields["uris"].split(), fields.get("suites", "").split()))
    return out


def _entries_oneline(text: str) -> list[tuple[list[str], list[str]]]:
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        parts = line.split()[1:]
        if parts and parts[0].startswith("["):  # options: deb [signed-by=...] uri suite ...
            while parts and not parts[0].endswith("]"):
                parts.pop(0)
            parts = parts[1:]
        if len(parts) >= 2:
            out.append(([parts[0]], [parts[1]]))
    return out


def find_mirror(sources_dir: Path = APT_SOURCES_DIR, sources_list: Path = APT_SOURCES_LIST) -> Mirror:
    """The host's Debian mirror. Raises UserError when the apt sources name none."""
    entries: list[tuple[list[str], list[str]]] = []
    if sources_dir.is_dir():
        for p in sorted(sources_dir.glob("*.sources")):
            entries += _entries_deb822(p.read_text(errors="replace"))
        for p in sorted(sources_dir.glob("*.list")):
            entries += _entries_oneline(p.read_text(errors="replace"))
    if sources_list.is_file():
        entries += _entries_oneline(sources_list.read_text(errors="replace"))
    main = security = None
    for uris, suites in entries:
        uri = next((u for u in uris if u.startswith(("http://", "https://", "file:"))), None)
        if uri is None:
            continue
        if any(s.endswith("-security") or s.endswith("/updates") for s in suites):
            security = security or uri.rstrip("/")
        elif suites:
            main = main or uri.rstrip("/")
    if main is None:
        raise UserError(
            "no Debian package mirror found in /etc/apt/sources.list*; add one (the machine's apt "
            "sources are where bench reads it from), then rerun"
        )
    return Mirror(uri=main, security_uri=security)


@dataclass(frozen=True)
class CABundle:
    files: tuple[tuple[str, bytes], ...]  # (file name, PEM bytes), sorted by name

    @property
    def pem(self) -> bytes:
        return b"".join(data if data.endswith(b"\n") else data + b"\n" for _, data in self.files)

    def __bool__(self) -> bool:
        return bool(self.files)


def find_ca_bundle(setting: str | None = None) -> CABundle:
    """The extra CA certificates stand-ins must trust (empty when none is configured)."""
    if setting is None:
        setting = os.environ.get("BENCH_CA_BUNDLE", DEFAULT_CA_GLOB)
    if setting.strip().lower() in ("", "none", "off"):
        return CABundle(())
    files: dict[str, bytes] = {}
    explicit = setting != DEFAULT_CA_GLOB
    for part in setting.split(":"):
        part = part.strip()
        if not part:
            continue
        matches = sorted(glob.glob(part))
        if not matches and explicit and not any(c in part for c in "*?["):
            raise UserError(f"BENCH_CA_BUNDLE names {part}, which does not exist; fix the path or set BENCH_CA_BUNDLE=none")
        for m in matches:
            data = Path(m).read_bytes()
            if b"-----BEGIN CERTIFICATE-----" not in data:
                raise UserError(f"{m} is not a PEM certificate; point BENCH_CA_BUNDLE at PEM files")
            name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(m).name)
            if not name.endswith(".crt"):
                name += ".crt"
            files[name] = data
    return CABundle(tuple(sorted(files.items())))
