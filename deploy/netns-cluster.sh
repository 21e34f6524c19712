#!/usr/bin/env bash
# A Ferry cluster of several hosts on one Linux machine: each host is a network namespace with
# its own address and data folder, linked by a veth pair to a bridge that lives in a namespace
# of its own, so nothing is added to the machine's own network and the cluster's traffic stays
# inside the namespaces made here. The hosts are set up as README "Running Ferry on several
# hosts" sets up real ones: the role env files of deploy/env/ with this network's addresses, the
# daemons' public keys handed over with `ferry node key` and `ferry node allow`, each daemon
# started with its host's env file (as its systemd unit would). Needs root and iproute2.
#
#   deploy/netns-cluster.sh up [--workers N] [--postgres] [--set NAME=VALUE]...
#                                                                    build the hosts and start Ferry
#   deploy/netns-cluster.sh down                                     stop everything and remove what `up` made
#   deploy/netns-cluster.sh start|stop <host>                        the daemons of one host
#   deploy/netns-cluster.sh cut|restore <host>                       the host's link down / up
#   deploy/netns-cluster.sh exec <host> <command…>                   a command on a host (curl, ferry …)
#   deploy/netns-cluster.sh forward <unix socket>                    the api's HTTP as a socket file, relayed
#                                                                    from the client host (tools outside)
#   deploy/netns-cluster.sh status
#
# Hosts: api (ferry-db + ferry-api; with --postgres the db keeps the state in a PostgreSQL server
# of the api host's own, deploy/postgres-local.sh on its loopback), registry, w1 … wN (one
# ferry-worker each, node id <FERRY_NETNS_NODE_PREFIX><host>), and client (no daemon: where
# `exec client ferry …` runs).
# Settings (environment): FERRY_NETNS_RUN names the run (default "demo"; every namespace is
# ferry-<run>-<host>, so runs side by side never meet), FERRY_NETNS_DIR its folder (default
# /tmp/ferry-netns-<run>: each host's data folder, env files, logs), FERRY_NETNS_NODE_PREFIX.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${FERRY_NETNS_RUN:-demo}
[[ $RUN =~ ^[a-z0-9]{1,12}$ ]] || { echo "FERRY_NETNS_RUN must be 1 to 12 lower-case letters or digits" >&2; exit 2; }
DIR=${FERRY_NETNS_DIR:-/tmp/ferry-netns-$RUN}
NODE_PREFIX=${FERRY_NETNS_NODE_PREFIX:-}
SUBNET=10.77.0
NET_NS="ferry-$RUN-net"
FERRY=("$(command -v node)" "$ROOT/services/cli/bin/ferry.js")
WAIT_S=${FERRY_NETNS_WAIT_S:-60}

log() { printf '[netns %s] %s\n' "$RUN" "$*" >&2; }
die() { log "$*"; exit 1; }

ns_of() { echo "ferry-$RUN-$1"; }
ip_of() {
  case $1 in
    client) echo "$SUBNET.2" ;;
    api) echo "$SUBNET.10" ;;
    registry) echo "$SUBNET.11" ;;
    w[1-9]) echo "$SUBNET.2${1#w}" ;;
    *) die "unknown host $1 (api, registry, w1…w9, client)" ;;
  esac
}
daemons_of() {
  case $1 in
    api) echo "db api" ;;
    registry) echo registry ;;
    w[1-9]) echo worker ;;
    client) echo "" ;;
  esac
}
role_of() {
  case $1 in
    api | registry) echo "$1" ;;
    w[1-9]) echo worker ;;
  esac
}
worker_hosts() { local n i; n=$(cat "$DIR/workers" 2>/dev/null || echo 0); for ((i = 1; i <= n; i++)); do echo "w$i"; done; }
node_id_of() { echo "$NODE_PREFIX$1"; }
env_file() { echo "$DIR/$1/$(role_of "$1").env"; }
in_host() { local host=$1; shift; ip netns exec "$(ns_of "$host")" "$@"; }
# `ferry …` as on the host, on its data folder.
ferry_on() { local host=$1; shift; in_host "$host" env FERRY_DATA_DIR="$DIR/$host/data" "${FERRY[@]}" "$@"; }

# Sets NAME=VALUE in an env file, as a person edits theirs: the line replaced, or added at the end.
set_var() {
  local file=$1 name=$2 value=$3 quoted
  quoted="'${value//\'/\'\\\'\'}'"
  if grep -q "^#\?$name=" "$file"; then
    local tmp; tmp=$(mktemp "$file.XXXX")
    awk -v n="$name" -v line="$name=$quoted" '$0 ~ "^#?" n "=" && !done { print line; done = 1; next } { print }' "$file" >"$tmp"
    mv "$tmp" "$file"
  else
    printf '%s=%s\n' "$name" "$quoted" >>"$file"
  fi
}

# The daemon's `listening` line after line `from` of its log: it is up.
wait_listening() {
  local host=$1 daemon=$2 from=$3 file="$DIR/$1/$2.log" i
  for ((i = 0; i < WAIT_S * 10; i++)); do
    [[ $(tail -n "+$((from + 1))" "$file" 2>/dev/null | grep -c '"msg":"listening"') -gt 0 ]] && return 0
    alive "$host" "$daemon" || { tail -n 20 "$file" >&2 || true; die "$daemon on $host exited before listening"; }
    sleep 0.1
  done
  tail -n 20 "$file" >&2 || true
  die "$daemon on $host did not log listening within ${WAIT_S}s"
}

pid_of() { cat "$DIR/$1/$2.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1" "$2"); [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }

# One daemon on its host, with nothing but its host's env file (as its systemd unit has it).
start_daemon() {
  local host=$1 daemon=$2 i
  alive "$host" "$daemon" && { log "$daemon on $host already runs"; return 0; }
  local from=0
  [[ -f $DIR/$host/$daemon.log ]] && from=$(wc -l <"$DIR/$host/$daemon.log")
  rm -f "$DIR/$host/$daemon.pid"
  in_host "$host" env -i PATH="$PATH" bash -c 'set -a; . "$1"; set +a; echo $$ >"$2"; exec node "$3"' \
    _ "$(env_file "$host")" "$DIR/$host/$daemon.pid" "$ROOT/dist/services/$daemon/main.js" \
    >>"$DIR/$host/$daemon.log" 2>&1 </dev/null &
  for ((i = 0; i < 100; i++)); do [[ -s "$DIR/$host/$daemon.pid" ]] && break; sleep 0.05; done
  wait_listening "$host" "$daemon" "$from"
  log "$daemon on $host ($(ip_of "$host")) listening"
}

# SIGTERM, as systemd stops a unit; SIGKILL past its TimeoutStopSec.
stop_daemon() {
  local host=$1 daemon=$2 pid i
  pid=$(pid_of "$host" "$daemon")
  [[ -n $pid ]] || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null && log "$daemon on $host killed after 15 s" || true
  fi
  rm -f "$DIR/$host/$daemon.pid"
}

start_host() { local d; for d in $(daemons_of "$1"); do start_daemon "$1" "$d"; done; }
stop_host() { local d; for d in $(daemons_of "$1" | tr ' ' '\n' | tac); do stop_daemon "$1" "$d"; done; }

# The public key `ferry node key` prints for one daemon of a host's data folder.
public_key() {
  ferry_on "$1" node key --json | node -e '
    const { keys } = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const k = keys.find((k) => k.name === process.argv[1]);
    if (!k) { console.error(`no key of ${process.argv[1]}`); process.exit(1); }
    console.log(k.publicKey);' "$2"
}

make_host() {
  local host=$1 ns
  ns=$(ns_of "$host")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # The pair is made in the bridge's namespace and its host end moved into the host's: the
  # machine's own namespace never holds either end.
  ip -n "$NET_NS" link add "$host" type veth peer name eth0 netns "$ns"
  ip -n "$NET_NS" link set "$host" master br0 up
  ip -n "$ns" addr add "$(ip_of "$host")/24" dev eth0
  ip -n "$ns" link set eth0 up
  mkdir -p "$DIR/$host/data"
}

# A role's env file for a host: deploy/env/<role>.env with this network's values, then --set's.
write_env() {
  local host=$1 file; file=$(env_file "$1")
  cp "$ROOT/deploy/env/$(role_of "$host").env" "$file"
  set_var "$file" FERRY_DATA_DIR "$DIR/$host/data"
  local name
  for name in "${!SETTINGS[@]}"; do set_var "$file" "$name" "${SETTINGS[$name]}"; done
}

cmd_up() {
  local workers=3 postgres=0
  declare -gA SETTINGS=()
  while (($#)); do
    case $1 in
      --workers) workers=$2; shift 2 ;;
      --postgres) postgres=1; shift ;;
      --set) [[ $2 == FERRY_*=* ]] || die "--set takes FERRY_NAME=value"; SETTINGS[${2%%=*}]=${2#*=}; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  [[ $workers =~ ^[1-9]$ ]] || die "--workers takes 1 to 9"
  [[ $(id -u) == 0 ]] || die "needs root (ip netns)"
  [[ -f $ROOT/dist/services/api/main.js ]] || die "Ferry is not built: npm run build"
  grep -q "^ferry-$RUN-" <<<"$(ip netns list)" && die "run $RUN is up already (deploy/netns-cluster.sh down first, or another FERRY_NETNS_RUN)"
  # A half-made cluster is taken down again, whatever step failed.
  trap 'log "up failed; taking down what it made"; cmd_down' EXIT
  mkdir -p "$DIR"
  echo "$workers" >"$DIR/workers"

  log "network: bridge in $NET_NS, hosts on $SUBNET.0/24"
  ip netns add "$NET_NS"
  ip -n "$NET_NS" link set lo up
  ip -n "$NET_NS" link add br0 type bridge
  ip -n "$NET_NS" link set br0 up
  local host
  for host in client api registry $(worker_hosts); do make_host "$host"; done

  # 1. The registry host: its env file, then the registry; its key goes to every other host.
  write_env registry
  set_var "$(env_file registry)" FERRY_REGISTRY_BIND "tcp://$(ip_of registry):5556"
  start_daemon registry registry
  local registry_key; registry_key=$(public_key registry registry)

  # 2. The api host: db and api share its data folder (no key between them), the registry's key.
  write_env api
  set_var "$(env_file api)" FERRY_HTTP_HOST "$(ip_of api)"
  set_var "$(env_file api)" FERRY_WORKERS_BIND "tcp://$(ip_of api):5557"
  set_var "$(env_file api)" FERRY_REGISTRY_ADDR "tcp://$(ip_of registry):5556"
  set_var "$(env_file api)" FERRY_REGISTRY_PUBLIC_KEY "$registry_key"
  if ((postgres)); then
    set_var "$(env_file api)" FERRY_STORE "$(in_host api bash "$ROOT/deploy/postgres-local.sh" start "$DIR/api/postgres" 5432)"
    log "PostgreSQL on api (127.0.0.1:5432 there)"
  fi
  start_daemon api db
  start_daemon api api
  local api_key; api_key=$(public_key api api)
  # 3. The registry lets the api in.
  ferry_on registry node allow --name api -- "$api_key" >&2

  # 4. Each worker host: the api's and the registry's keys, its node id; started together.
  for host in $(worker_hosts); do
    write_env "$host"
    set_var "$(env_file "$host")" FERRY_NODE_ID "$(node_id_of "$host")"
    set_var "$(env_file "$host")" FERRY_WORKERS_ADDR "tcp://$(ip_of api):5557"
    set_var "$(env_file "$host")" FERRY_API_PUBLIC_KEY "$api_key"
    set_var "$(env_file "$host")" FERRY_REGISTRY_ADDR "tcp://$(ip_of registry):5556"
    set_var "$(env_file "$host")" FERRY_REGISTRY_PUBLIC_KEY "$registry_key"
  done
  local starts=()
  for host in $(worker_hosts); do
    start_daemon "$host" worker &
    starts+=($!)
  done
  wait_each "${starts[@]}"
  # 5. The api and registry hosts let each worker in by its key; it joins within seconds.
  local key
  for host in $(worker_hosts); do
    key=$(public_key "$host" "worker-$(node_id_of "$host")")
    ferry_on api node allow --name "$(node_id_of "$host")" -- "$key" >&2
    ferry_on registry node allow --name "$(node_id_of "$host")" -- "$key" >&2
  done
  for host in $(worker_hosts); do wait_joined "$(node_id_of "$host")"; done
  trap - EXIT
  log "up: http://$(ip_of api):3000 on the api host; admin key in $DIR/api/data/admin.key"
  log "try: deploy/netns-cluster.sh exec client env FERRY_URL=http://$(ip_of api):3000 FERRY_TOKEN=\$(cat $DIR/api/data/admin.key) node services/cli/bin/ferry.js nodes"
}

# Waits for each of these background jobs, failing when one failed.
wait_each() { local pid failed=0; for pid in "$@"; do wait "$pid" || failed=1; done; return "$failed"; }

# The api's `node joined` line for a node.
wait_joined() {
  local i
  for ((i = 0; i < WAIT_S * 10; i++)); do
    grep -q "\"nodeId\":\"$1\".*\"msg\":\"node joined\"" "$DIR/api/api.log" 2>/dev/null && { log "node $1 joined"; return 0; }
    sleep 0.1
  done
  die "node $1 did not join within ${WAIT_S}s"
}

cmd_down() {
  trap - EXIT
  set +e
  local host stops=()
  # Workers first (each removes its containers), then the api host, then the registry.
  if [[ -d $DIR ]]; then
    for host in $(worker_hosts); do
      stop_host "$host" &
      stops+=($!)
    done
    wait_each "${stops[@]}"
    stop_host api
    stop_host registry
    [[ -f $DIR/api/postgres/postmaster.pid ]] && in_host api bash "$ROOT/deploy/postgres-local.sh" stop "$DIR/api/postgres"
  fi
  local ns pid
  for ns in $(ip netns list | awk '{print $1}' | grep "^ferry-$RUN-"); do
    for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null; done
  done
  # A worker killed before it could stop leaves containers behind: they carry its node id.
  if command -v docker >/dev/null && [[ -d $DIR ]]; then
    for host in $(worker_hosts); do
      docker ps -aq --filter "label=ferry.node=$(node_id_of "$host")" | xargs -r docker rm -f >/dev/null
    done
  fi
  for ns in $(ip netns list | awk '{print $1}' | grep "^ferry-$RUN-"); do ip netns del "$ns"; done
  [[ ${FERRY_NETNS_KEEP:-} == 1 ]] || rm -rf "$DIR"
  log "down"
  return 0
}

# The api's HTTP as a unix socket file, relayed from the client host over the bridge: for a tool
# in the machine's own namespace (a test, a browser through a local forward) with no route in.
cmd_forward() {
  local sock=${1:?forward <unix socket path>} i
  rm -f "$sock"
  in_host client node -e '
    const net = require("net");
    const [sock, host, port] = process.argv.slice(1);
    net.createServer((c) => {
      const u = net.connect(Number(port), host);
      c.pipe(u).pipe(c);
      c.on("error", () => u.destroy());
      u.on("error", () => c.destroy());
    }).listen(sock);' "$sock" "$(ip_of api)" 3000 </dev/null >>"$DIR/client/forward.log" 2>&1 &
  for ((i = 0; i < WAIT_S * 10; i++)); do [[ -S $sock ]] && return 0; sleep 0.1; done
  die "the relay did not listen on $sock"
}

cmd_status() {
  local host d link
  for host in client api registry $(worker_hosts); do
    link=$(ip -n "$NET_NS" -br link show "$host" 2>/dev/null | awk '{print $2}')
    printf '%-9s %-12s link %-6s' "$host" "$(ip_of "$host")" "${link:-none}"
    for d in $(daemons_of "$host"); do alive "$host" "$d" && printf ' %s:%s' "$d" "$(pid_of "$host" "$d")" || printf ' %s:stopped' "$d"; done
    echo
  done
}

known_host() { [[ -d $DIR/$1 ]] || die "no host $1 in run $RUN"; }

# All of it read before anything runs (the exit on the same line), so a script edited meanwhile
# cannot change a command that is running.
main() {
  case ${1:-} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down ;;
    start) known_host "${2:?start <host>}"; start_host "$2" ;;
    stop) known_host "${2:?stop <host>}"; stop_host "$2" ;;
    cut) known_host "${2:?cut <host>}"; ip -n "$NET_NS" link set "$2" down; log "$2 cut off" ;;
    restore) known_host "${2:?restore <host>}"; ip -n "$NET_NS" link set "$2" up; log "$2 back on the network" ;;
    exec) known_host "${2:?exec <host> <command…>}"; host=$2; shift 2; in_host "$host" "$@" ;;
    forward) shift; cmd_forward "$@" ;;
    status) cmd_status ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}
main "$@"; exit
