#!/usr/bin/env bash
# Starts the services the integration tests need (`npm run services:up`) and says where they are.
#
# A service whose address is already in the environment (KAFKA_BROKERS, PG_URL) is not started,
# only checked, so the same tests run against a developer's own broker or database.
# The last line on stdout is exactly
#   KAFKA_BROKERS=host:port[,host:port] PG_URL=postgres://...
# and the same pairs go to test/services/.env, where test/support/services.ts finds them.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENV_FILE=${SCRIPT_DIR}/.env

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# Resolved from this checkout, whatever the caller's working directory.
have_node_module() {
  node -e "require.resolve(process.argv[1], { paths: [process.argv[2]] })" "$1" "$SCRIPT_DIR" 2>/dev/null
}

# Same check the tests make; before `npm ci` only an open port can be checked.
check_kafka() {
  local brokers=$1 broker
  if have_node_module kafkajs; then
    node "${SCRIPT_DIR}/probe.mjs" kafka "$brokers" || return 1
  else
    IFS=, read -ra broker_list <<<"$brokers"
    for broker in "${broker_list[@]}"; do
      (exec 3<>"/dev/tcp/${broker%:*}/${broker##*:}") 2>/dev/null && return 0
    done
    return 1
  fi
}

check_postgres() {
  local url=$1 wal_level
  if have_node_module pg; then
    wal_level=$(node "${SCRIPT_DIR}/probe.mjs" pg "$url") || return 1
  else
    wal_level=$(psql -X -tA "$url" -c 'SHOW wal_level') || return 1
  fi
  if [[ $wal_level != logical ]]; then
    log "${url} answers but has wal_level=${wal_level}; CDC tests need wal_level=logical"
    return 1
  fi
}

started=$SECONDS
if [[ -n ${KAFKA_BROKERS:-} ]]; then
  log "KAFKA_BROKERS=${KAFKA_BROKERS} given; checking it instead of starting a broker"
  check_kafka "$KAFKA_BROKERS" || die "no working Kafka broker at KAFKA_BROKERS=${KAFKA_BROKERS}"
  # The secured listeners (KAFKA_SASL_BROKERS, KAFKA_TLS_BROKERS...) only exist on our own broker;
  # give them in the environment too to test yours.
  security=''
else
  KAFKA_BROKERS=$(bash "${SCRIPT_DIR}/kafka.sh" start | tail -n 1)
  security=$(bash "${SCRIPT_DIR}/kafka.sh" security-env) || die "the broker started without its SASL and TLS listeners"
fi

if [[ -n ${PG_URL:-} ]]; then
  log "PG_URL=${PG_URL} given; checking it instead of starting PostgreSQL"
  check_postgres "$PG_URL" || die "no usable PostgreSQL at PG_URL=${PG_URL}"
else
  PG_URL=$(bash "${SCRIPT_DIR}/postgres.sh" start | tail -n 1)
fi

[[ -n $KAFKA_BROKERS && -n $PG_URL ]] || die "a service script printed no address"

# Written whole then renamed, so a test starting meanwhile never reads half a file.
tmp=$(mktemp "${ENV_FILE}.XXXXXX")
printf '# Written by test/services/up.sh; read by test/support/services.ts.\nKAFKA_BROKERS=%s\nPG_URL=%s\n' \
  "$KAFKA_BROKERS" "$PG_URL" >"$tmp"
[[ -z $security ]] || printf '%s\n' "$security" >>"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$ENV_FILE"

log "services up in $((SECONDS - started)) s; addresses written to ${ENV_FILE}"
echo "KAFKA_BROKERS=${KAFKA_BROKERS} PG_URL=${PG_URL}"
