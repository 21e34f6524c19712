#!/usr/bin/env bash
# Builds Ferry's runtime images on a host with no container registry:
#   base     ferry-base-<rt>:<hash>  Debian bookworm minbase from Debian packages (debootstrap),
#                                    `docker import`ed; the slow step, rebuilt only when its inputs change
#   runtime  pythonruntime / noderuntime  a thin `docker build` FROM the local base adding the agent
# Each image carries its inputs' hash as label `ferry.inputs`; a current image is not rebuilt.
# Usage: runtimes/build.sh [python|node|all]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
which_rt=${1:-all}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)

say() { printf '[runtimes %3ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker is not installed (deploy/ensure-docker.sh installs it)"

current() { # image, hash → 0 when the image exists with that inputs hash
  [ "$(docker image inspect -f '{{ index .Config.Labels "ferry.inputs" }}' "$1" 2>/dev/null || true)" = "$2" ]
}

hash_of() { sha256sum | cut -c1-16; }

base_hash() { # packages (comma list), extra-step function name
  { echo "$1"; declare -f "$2"; echo "$mirror"; } | hash_of
}
runtime_hash() { # rt dir name, base tag
  { echo "$2"; cat "$here/$1/Dockerfile.local"; (cd "$here/$1/agent" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | hash_of
}

build_base() { # name, packages (comma list), extra-step function name → prints the base tag
  local name=$1 packages=$2 extra=$3
  local hash
  hash=$(base_hash "$packages" "$extra")
  local tag="ferry-base-$name:$hash"
  if current "$tag" "$hash"; then
    say "base $tag is current"
  else
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    local root
    root=$(mktemp -d /tmp/ferry-rootfs-XXXXXX)
    trap 'rm -rf "$root"' RETURN
    say "debootstrap bookworm minbase for $name (+ $packages) — about a minute"
    debootstrap --variant=minbase ${packages:+--include="$packages"} bookworm "$root" "$mirror" >"$root.log" 2>&1 \
      || { tail -n 20 "$root.log" >&2; die "debootstrap failed for $name"; }
    rm -f "$root.log"
    "$extra" "$root"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    mkdir -p "$root/ws"
    say "importing $tag"
    tar -C "$root" -c . | docker import \
      -c "LABEL ferry.inputs=$hash" \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
      -c 'WORKDIR /ws' - "$tag" >/dev/null
  fi
  echo "$tag"
}

build_runtime() { # rt dir name, image tag, base tag
  local rt=$1 tag=$2 base=$3
  local hash
  hash=$(runtime_hash "$rt" "$base")
  if current "$tag" "$hash"; then
    say "$tag is current"
    return
  fi
  say "building $tag from $base"
  local out
  out=$(docker build -q -f "$here/$rt/Dockerfile.local" --build-arg "BASE=$base" --label "ferry.inputs=$hash" -t "$tag" "$here/$rt" 2>&1) \
    || { printf "%s\n" "$out" >&2; die "docker build of $tag failed"; }
  say "$tag built"
}

python_extra() { # a runtime image is the function's own: let pip install into it (PEP 668)
  rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED
}
node_extra() { # the host's Node.js binary: same major as the one running Ferry
  install -m 0755 "$(command -v node)" "$1/usr/local/bin/node"
}

python_packages="python3,python3-pip,ca-certificates"
node_packages="ca-certificates"
node_version=$(node --version)
node_base_name="node-${node_version//./-}"

# The common case, every image current: one look at Docker, no lock. A runtime image carries the
# hash of its base's tag, which carries the base's inputs, so a current runtime image is enough.
wanted=() labels=()
case "$which_rt" in python|all)
  wanted+=(pythonruntime) labels+=("$(runtime_hash python "ferry-base-python:$(base_hash "$python_packages" python_extra)")") ;;
esac
case "$which_rt" in node|all)
  wanted+=(noderuntime) labels+=("$(runtime_hash node "ferry-base-$node_base_name:$(base_hash "$node_packages" node_extra)")") ;;
esac
if [ ${#wanted[@]} -gt 0 ] && [ "$(docker image inspect -f '{{ index .Config.Labels "ferry.inputs" }}' "${wanted[@]}" 2>/dev/null || true)" = "$(printf '%s\n' "${labels[@]}")" ]; then
  say "${wanted[*]} current"
  exit 0
fi

docker info >/dev/null 2>&1 || die "the Docker engine does not answer (deploy/ensure-docker.sh starts it)"
# One build at a time per host: two starts racing would debootstrap twice.
exec 9>/tmp/ferry-runtime-build.lock
flock 9

case "$which_rt" in
  python|all)
    base=$(build_base python "$python_packages" python_extra)
    build_runtime python pythonruntime "$base"
    ;;&
  node|all)
    # The node version is an input: a new host Node rebuilds the base.
    base=$(FERRY_NODE_VERSION=$node_version build_base "$node_base_name" "$node_packages" node_extra)
    build_runtime node noderuntime "$base"
    ;;
  python|node|all) ;;
  *) die "usage: runtimes/build.sh [python|node|all]" ;;
esac
say "done"
