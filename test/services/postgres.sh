#!/usr/bin/env bash
# PostgreSQL with logical decoding (wal_level=logical) for Eddy's CDC integration tests.
#
#   test/services/postgres.sh start|stop|status
#
# `start` prefers the machine's own server (127.0.0.1:5432 on the build machines): it switches it
# to wal_level=logical, restarting it only when that setting actually changes, and creates the
# test database. With no server there (a laptop without PostgreSQL running), it creates a private
# cluster with initdb on a spare port instead. Either way the last line on stdout is the URL.
#
# Settings (environment):
#   PG_PORT            machine server port, default 5432 (host is always 127.0.0.1)
#   PG_USER            superuser to connect as, default postgres
#   PG_DATABASE        test database, default eddy_test
#   PG_PRIVATE_PORT    port of the private fallback cluster, default 55432
#   PG_PRIVATE_DIR     its data directory, default /var/tmp/eddy-postgres-$PG_PRIVATE_PORT
#   PG_BIN             directory holding initdb/pg_ctl, default: newest /usr/lib/postgresql/*/bin
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
PG_DATABASE=${PG_DATABASE:-eddy_test}
PG_PRIVATE_PORT=${PG_PRIVATE_PORT:-55432}
# Not under $HOME: when root runs this, the cluster runs as user postgres, which cannot enter /root.
PG_PRIVATE_DIR=${PG_PRIVATE_DIR:-/var/tmp/eddy-postgres-${PG_PRIVATE_PORT}}
# Logical replication needs a slot and a WAL sender per running CDC stream; tests run in parallel.
MIN_SLOTS=10

log() { printf '[postgres] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

command -v psql >/dev/null || die "psql not found (Debian: apt-get install postgresql-client)"

# psql against the admin database of a server on the given port.
sql() {
  local port=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$port" -U "$PG_USER" -d postgres -tA "$@"
}

reachable() {
  sql "$1" -c 'SELECT 1' >/dev/null 2>&1
}

wait_reachable() {
  local port=$1 tries=0
  until reachable "$port"; do
    tries=$((tries + 1))
    ((tries < 60)) || return 1
    sleep 0.5
  done
}

setting() {
  sql "$1" -c "SELECT setting FROM pg_settings WHERE name = '$2'"
}

url_for() {
  printf 'postgres://%s@%s:%s/%s\n' "$PG_USER" "$PG_HOST" "$1" "$PG_DATABASE"
}

pg_bin() {
  if [[ -n ${PG_BIN:-} ]]; then
    echo "$PG_BIN"
  elif compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    # Debian keeps initdb/pg_ctl off PATH, one directory per major version.
    dirname "$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  elif command -v pg_config >/dev/null; then
    pg_config --bindir
  elif command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
  else
    die "no initdb found; install the PostgreSQL server or set PG_BIN"
  fi
}

# The machine's server is shared with everything else on the box: only ever raise the
# settings, and restart only when one that needs a restart really changed.
ensure_logical_on_machine_server() {
  local port=$1 wal_level slots senders superuser need_restart=0
  wal_level=$(setting "$port" wal_level)
  slots=$(setting "$port" max_replication_slots)
  senders=$(setting "$port" max_wal_senders)
  if [[ $wal_level == logical ]] && ((slots >= MIN_SLOTS && senders >= MIN_SLOTS)); then
    return 0
  fi
  superuser=$(sql "$port" -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
  if [[ $superuser != t ]]; then
    log "user ${PG_USER} is not a superuser on port ${port}; cannot set wal_level=logical there"
    return 1
  fi
  local cluster
  cluster=$(machine_cluster "$port") || {
    log "the server on port ${port} is not a pg_ctlcluster cluster of this machine; cannot restart it"
    return 1
  }
  if [[ $wal_level != logical ]]; then
    sql "$port" -c "ALTER SYSTEM SET wal_level = 'logical'"
    need_restart=1
  fi
  if ((slots < MIN_SLOTS)); then
    sql "$port" -c "ALTER SYSTEM SET max_replication_slots = ${MIN_SLOTS}"
    need_restart=1
  fi
  if ((senders < MIN_SLOTS)); then
    sql "$port" -c "ALTER SYSTEM SET max_wal_senders = ${MIN_SLOTS}"
    need_restart=1
  fi
  if ((need_restart)); then
    log "restarting cluster ${cluster} so that wal_level=logical takes effect (was ${wal_level})"
    # shellcheck disable=SC2086 # "<version> <name>"
    pg_ctlcluster --skip-systemctl-redirect $cluster restart ||
      die "pg_ctlcluster ${cluster} restart failed; see /var/log/postgresql/"
    wait_reachable "$port" || die "server on port ${port} did not come back after the restart"
  fi
  wal_level=$(setting "$port" wal_level)
  [[ $wal_level == logical ]] || die "wal_level is still ${wal_level} on port ${port} after restart"
}

# Prints "<version> <name>" of the online cluster listening on the port.
machine_cluster() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters --no-header 2>/dev/null |
    awk -v port="$1" '$3 == port && $4 ~ /^online/ { print $1, $2; found = 1; exit } END { exit !found }'
}

# Runs a PostgreSQL server binary as the owner of the private cluster: postgres refuses root.
as_cluster_owner() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_private_cluster() {
  local bin
  bin=$(pg_bin)
  if [[ ! -f ${PG_PRIVATE_DIR}/PG_VERSION ]]; then
    log "creating a private cluster in ${PG_PRIVATE_DIR} (${bin})"
    mkdir -p "$PG_PRIVATE_DIR"
    if ((EUID == 0)); then
      id postgres >/dev/null 2>&1 || die "user postgres is missing; root cannot run initdb itself"
      chown postgres: "$PG_PRIVATE_DIR"
    fi
    chmod 700 "$PG_PRIVATE_DIR"
    as_cluster_owner "${bin}/initdb" -D "$PG_PRIVATE_DIR" -U "$PG_USER" --auth=trust \
      --encoding=UTF8 --no-instructions >/dev/null
    # The socket lives in the data directory so that it never collides with a system server's.
    cat >>"${PG_PRIVATE_DIR}/postgresql.conf" <<EOF

# Added by Eddy's test/services/postgres.sh
port = ${PG_PRIVATE_PORT}
listen_addresses = '${PG_HOST}'
unix_socket_directories = '${PG_PRIVATE_DIR}'
wal_level = logical
max_replication_slots = ${MIN_SLOTS}
max_wal_senders = ${MIN_SLOTS}
fsync = off
synchronous_commit = off
EOF
  fi
  if ! reachable "$PG_PRIVATE_PORT"; then
    log "starting the private cluster on port ${PG_PRIVATE_PORT}"
    as_cluster_owner "${bin}/pg_ctl" -D "$PG_PRIVATE_DIR" -l "${PG_PRIVATE_DIR}/server.log" -w -t 60 start >/dev/null || {
      tail -n 20 "${PG_PRIVATE_DIR}/server.log" >&2 || true
      die "private cluster did not start; log: ${PG_PRIVATE_DIR}/server.log"
    }
  fi
}

ensure_database() {
  local port=$1
  if [[ $(sql "$port" -c "SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'") != 1 ]]; then
    # Two starts racing may both try; losing that race is fine.
    sql "$port" -c "CREATE DATABASE \"${PG_DATABASE}\"" 2>/dev/null ||
      [[ $(sql "$port" -c "SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'") == 1 ]] ||
      die "could not create database ${PG_DATABASE} on port ${port}"
    log "created database ${PG_DATABASE}"
  fi
}

start() {
  local port=
  if reachable "$PG_PORT"; then
    if ensure_logical_on_machine_server "$PG_PORT"; then
      port=$PG_PORT
    else
      log "falling back to a private cluster on port ${PG_PRIVATE_PORT}"
    fi
  else
    log "no server answers on ${PG_HOST}:${PG_PORT}; using a private cluster on port ${PG_PRIVATE_PORT}"
  fi
  if [[ -z $port ]]; then
    start_private_cluster
    port=$PG_PRIVATE_PORT
  fi
  ensure_database "$port"
  log "ready on ${PG_HOST}:${port} (wal_level=$(setting "$port" wal_level))"
  url_for "$port"
}

stop() {
  # The machine's server belongs to the machine; only the private cluster is ours to stop.
  if [[ -f ${PG_PRIVATE_DIR}/postmaster.pid ]]; then
    as_cluster_owner "$(pg_bin)/pg_ctl" -D "$PG_PRIVATE_DIR" -m fast -w stop >/dev/null
    log "stopped the private cluster on port ${PG_PRIVATE_PORT}"
  else
    log "no private cluster running; leaving any machine server on port ${PG_PORT} running"
  fi
}

status() {
  local port
  for port in "$PG_PORT" "$PG_PRIVATE_PORT"; do
    if reachable "$port"; then
      log "server on ${PG_HOST}:${port}: wal_level=$(setting "$port" wal_level)"
      if [[ $(sql "$port" -c "SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'") == 1 ]]; then
        url_for "$port"
        return 0
      fi
      log "database ${PG_DATABASE} does not exist there yet (run start)"
    fi
  done
  log "no usable server (tried ports ${PG_PORT} and ${PG_PRIVATE_PORT})"
  return 3
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
