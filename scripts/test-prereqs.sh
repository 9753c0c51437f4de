#!/usr/bin/env bash
# What `npm test` needs besides node_modules: kcat (the independent Kafka client the tests read
# topics back with) and the local broker. Installs kcat from Debian's packages when it can.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v kcat >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-prereqs: installing kcat"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null)
  else
    echo "test-prereqs: kcat is missing: install it (Debian/Ubuntu: sudo apt-get install kcat)" >&2
    exit 1
  fi
fi
bash scripts/kafka.sh start
