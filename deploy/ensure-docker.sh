#!/usr/bin/env bash
# Makes sure a Docker engine answers on this host: installs Debian's docker.io, and debootstrap
# (which builds Ferry's runtime images without a container registry), when missing, and starts
# dockerd in the background when no engine answers. Idempotent; safe to run on every start.
set -euo pipefail

log() { printf '[ensure-docker] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /tmp/ferry-dockerd.log)"
  $SUDO sh -c 'nohup dockerd >/tmp/ferry-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi

if ! docker info >/dev/null 2>&1; then
  log "the Docker engine did not answer within 60 s; last lines of its log:"
  tail -n 20 /tmp/ferry-dockerd.log >&2 || true
  exit 1
fi
log "Docker engine answers: $(docker info --format '{{.ServerVersion}} ({{.Driver}})')"
