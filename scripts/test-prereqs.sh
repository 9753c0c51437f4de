#!/usr/bin/env bash
# What `npm test` needs besides node_modules: kcat (the independent Kafka client the tests read
# topics back with), promtool and prometheus (the monitoring tests), openssl (test CAs),
# rsvg-convert (renders the load test's chart), and the local broker. Installs the missing Debian packages when it can.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v openssl >/dev/null || missing+=(openssl)
command -v rsvg-convert >/dev/null || missing+=(librsvg2-bin)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-prereqs: installing ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null)
  else
    echo "test-prereqs: missing ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
bash scripts/kafka.sh start
