#!/usr/bin/env bash
# Stops what up.sh started (`npm run services:down`): the Kafka broker, and the private
# PostgreSQL cluster if one was needed. The machine's own PostgreSQL server keeps running.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

status=0
bash "${SCRIPT_DIR}/kafka.sh" stop || status=1
bash "${SCRIPT_DIR}/postgres.sh" stop || status=1
# The addresses would now point at nothing; tests then report "not running" instead of timing out.
rm -f "${SCRIPT_DIR}/.env"
exit "$status"
