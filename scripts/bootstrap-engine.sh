#!/usr/bin/env bash
# Stand up what bench needs from the machine: Docker Engine >= 26 with buildx and
# containerd, the Distribution registry binary, mmdebstrap; then start dockerd.
#
# Idempotent. Where `docker info` already answers (a user's own machine) it changes
# nothing. On Debian 12/13 as root it installs and starts the engine. Elsewhere it says
# what to install and exits non-zero. Package mirrors come from the machine's own apt
# sources; this script never names a registry or mirror host.
set -euo pipefail

LOG_DIR=${BENCH_ENGINE_LOG_DIR:-/var/log/bench}
WAIT_SECONDS=${BENCH_ENGINE_WAIT:-60}
say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }
need_tools() {
  local missing=()
  command -v registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  command -v unpigz >/dev/null 2>&1 || missing+=(pigz)  # dockerd's faster layer decompression
  docker buildx version >/dev/null 2>&1 || missing+=(docker-buildx)
  printf '%s\n' "${missing[@]}"
}

if engine_answers && docker buildx version >/dev/null 2>&1; then
  say "engine already answers: $(docker version -f '{{.Server.Version}}' 2>/dev/null); leaving it alone"
  if [ -z "$(need_tools | grep -v docker-buildx || true)" ] || [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    exit 0
  fi
fi

[ -f /etc/debian_version ] || die "not Debian: install Docker Engine >= 26 with the buildx plugin, start it, then rerun (see README.md)"
[ "$(id -u)" = 0 ] || die "run as root (sudo $0), or install Docker Engine >= 26 with buildx yourself"

codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
case "$codename" in bookworm|trixie) ;; *) die "Debian $codename is not handled: install Docker Engine >= 26 with buildx, then rerun";; esac

export DEBIAN_FRONTEND=noninteractive
server_major() { dockerd --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p'; }

if [ "$(server_major || true)" = "" ] || [ "$(server_major)" -lt 26 ] || ! docker buildx version >/dev/null 2>&1; then
  src=/etc/apt/sources.list.d/debian.sources
  uri=""
  if [ -f "$src" ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' "$src")
  else
    uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$uri" ] || die "no Debian mirror found in the apt sources; add one and rerun"
  if [ "$codename" = bookworm ]; then
    # Engine 26 from trixie; everything else (libc, runc, tini, iptables) stays bookworm's.
    cat > /etc/apt/sources.list.d/bench-trixie.sources <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat > /etc/apt/preferences.d/bench-trixie <<PREF
Package: *
Pin: release n=trixie
Pin-Priority: 100
PREF
    say "apt-get update (with a trixie suite pinned low)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends runc tini iptables ca-certificates \
      docker-registry mmdebstrap uidmap pigz >/dev/null
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq -t trixie docker.io docker-cli containerd docker-buildx)
    say "installing $(cd "$tmp" && ls *.deb | tr '\n' ' ')"
    dpkg -i --force-confold "$tmp"/*.deb >/dev/null 2>"$tmp/dpkg.err" || {
      # docker.io's recommends/suggests are not needed; report real failures only.
      apt-get install -y -qq -f --no-install-recommends >/dev/null 2>&1 || { cat "$tmp/dpkg.err" >&2; die "dpkg failed installing the engine"; }
    }
    rm -rf "$tmp"
  else
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io docker-cli containerd docker-buildx \
      runc tini iptables docker-registry mmdebstrap uidmap pigz >/dev/null
  fi
else
  missing=$(need_tools | grep -v docker-buildx || true)
  if [ -n "$missing" ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# The client on PATH may be an older standalone one; prefer the packaged client.
if [ -x /usr/bin/docker ] && [ "$(command -v docker)" != /usr/bin/docker ]; then
  export PATH=/usr/bin:$PATH
fi
# The buildx plugin must be visible to whichever client is on PATH.
if [ -x /usr/libexec/docker/cli-plugins/docker-buildx ]; then
  mkdir -p /usr/local/lib/docker/cli-plugins
  ln -sf /usr/libexec/docker/cli-plugins/docker-buildx /usr/local/lib/docker/cli-plugins/docker-buildx
fi

if ! engine_answers; then
  mkdir -p "$LOG_DIR"
  say "starting dockerd (log: $LOG_DIR/dockerd.log)"
  # containerd runs as its own process so that a second dockerd can share it.
  if ! pgrep -x containerd >/dev/null; then
    nohup containerd >"$LOG_DIR/containerd.log" 2>&1 &
    for _ in $(seq 1 20); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.5; done
  fi
  nohup dockerd --containerd=/run/containerd/containerd.sock \
    --storage-driver=overlay2 >"$LOG_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 "$WAIT_SECONDS"); do engine_answers && break; sleep 1; done
  engine_answers || { tail -n 20 "$LOG_DIR/dockerd.log" >&2; die "dockerd did not answer within ${WAIT_SECONDS}s; see $LOG_DIR/dockerd.log"; }
fi
docker buildx version >/dev/null 2>&1 || die "docker buildx is missing: install the docker-buildx package"
say "engine $(docker version -f '{{.Server.Version}}') answers; buildx $(docker buildx version | awk '{print $2}')"
