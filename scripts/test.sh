#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian packages when run as root), then
# npm ci, build, ava. Ends with "N passed, N failed" from ava's own counts.
set -euo pipefail
cd "$(dirname "$0")/.."

# program → Debian package that provides it
declare -A NEEDED=(
  [promtool]=prometheus
  [prometheus]=prometheus
  [systemd-analyze]=systemd
  [openssl]=openssl
  [smartctl]=smartmontools
  [mosquitto]=mosquitto
  [mosquitto_passwd]=mosquitto
  [haproxy]=haproxy
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
)
# mosquitto and haproxy are in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
missing=()
for program in "${!NEEDED[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${NEEDED[$program]}")
done
# PostgreSQL's programs live in /usr/lib/postgresql/<version>/bin, off PATH (/usr/bin/pgbench is
# only a wrapper). On Debian 12 the postgresql package (postgresql-15) brings the server, initdb,
# pg_basebackup, pgbench and the pg_stat_statements extension (there is no separate contrib).
for program in postgres initdb pg_basebackup pgbench; do
  compgen -G "/usr/lib/postgresql/*/bin/$program" >/dev/null || missing+=(postgresql)
done
if ((${#missing[@]})); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test dependencies: $packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $packages >/dev/null
  else
    echo "scripts/test.sh: missing programs the tests need; install them with:" >&2
    echo "  sudo apt-get install $packages" >&2
    exit 1
  fi
fi

node_major=$(node -p 'process.versions.node.split(".").map(Number).join(" ")' | awk '{ print ($1 > 20 || ($1 == 20 && $2 >= 19)) ? "ok" : "old" }')
if [ "$node_major" != ok ]; then
  echo "scripts/test.sh: Node.js >= 20.19 is needed, found $(node --version)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run build

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx ava --tap "$@" | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^# pass /{ print $3 }' "$log" | tail -n 1)
failed=$(awk '/^# fail /{ print $3 }' "$log" | tail -n 1)
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
