#!/usr/bin/env bash
# Install harbinger as a systemd service, from a built checkout.
# Run `scripts/install.sh --help` for what it does.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [OPTIONS]

Installs harbinger from this checkout (after `npm ci && npm run build`) as a
systemd service. Run it as root. Running it again upgrades in place and keeps
your configuration.

  /usr/lib/harbinger/          the agent: dist/, production node_modules/,
                               package.json, examples/
  /usr/lib/harbinger/bin/harbinger
                               wrapper: runs dist/src/cli.js with the node found now
  /usr/local/bin/harbinger     symlink to the wrapper
  /etc/harbinger/harbinger.yml config, from examples/harbinger.yml, only if absent
  /etc/default/harbinger       environment file (HARBINGER_OPTS), only if absent
  /etc/systemd/system/harbinger.service
                               the agent's unit (replaced on every install: put
                               local changes in `systemctl edit harbinger`)
  /etc/systemd/system/harbinger-collector.service
                               the central collector's unit (replaced on every
                               install), neither enabled nor started without
                               --collector
  /etc/default/harbinger-collector
                               its environment file (HARBINGER_COLLECTOR_OPTS),
                               only if absent
  user and group "harbinger"   system account, no login, no home of its own

Then it checks the config with `harbinger check-config` as user harbinger, and
when systemd is running runs `systemctl daemon-reload` and `systemctl enable
--now harbinger` (and restarts the agent if it was running and something
changed). A collector that is running is restarted the same way on upgrades.

Options:
  --collector      also run the central collector on this machine: check the
                   config as the collector's unit will see it, then `systemctl
                   enable --now harbinger-collector` (state in
                   /var/lib/harbinger-collector). One machine per fleet needs
                   it, not every host.
  --uninstall      stop and disable the services (agent and collector); remove
                   /usr/lib/harbinger, both units and the symlink. Keeps
                   /etc/harbinger, /etc/default/harbinger{,-collector},
                   /var/lib/harbinger{,-collector} and the user.
  --purge          with --uninstall (or alone): also remove /etc/harbinger,
                   /etc/default/harbinger, /etc/default/harbinger-collector,
                   /var/lib/harbinger, /var/lib/harbinger-collector and both
                   units' drop-ins. The user and group are kept (userdel
                   harbinger).
  --no-start       install, but do not enable, start or restart any service
                   (--collector included).
  --destdir DIR    install under DIR instead of / (also: DESTDIR=DIR in the
                   environment), for packaging or testing. Needs no root; does
                   not create the user nor call systemctl.
  --node PATH      the node binary to use (default: `command -v node`);
                   must be >= 20.19 and outside /home, /root and /run/user.
  -h, --help       this text.

Production dependencies are installed with `npm ci --omit=dev --prefer-offline`
into /usr/lib/harbinger: from npm's cache when it has them (it does after the
checkout's own `npm ci`), else from the registry.
EOF
}

MIN_NODE=20.19
UNIT=harbinger.service
CUNIT=harbinger-collector.service

die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}
say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }

# --- arguments ---------------------------------------------------------------
orig_args="$*"
mode=install
purge=0
start=1
collector=0
node_arg=""
destdir="${DESTDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) mode=uninstall ;;
    --purge) mode=uninstall; purge=1 ;;
    --no-start) start=0 ;;
    --collector) collector=1 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir="$2"; shift ;;
    --destdir=*) destdir="${1#--destdir=}" ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; node_arg="$2"; shift ;;
    --node=*) node_arg="${1#--node=}" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done

if [ -n "$destdir" ]; then
  case "$destdir" in /*) ;; *) destdir="$PWD/$destdir" ;; esac
  destdir="${destdir%/}"
fi

umask 022
LIB="$destdir/usr/lib/harbinger"
ETC="$destdir/etc/harbinger"
CONFIG="$ETC/harbinger.yml"
DEFAULTS="$destdir/etc/default/harbinger"
UNIT_DIR="$destdir/etc/systemd/system"
LINK="$destdir/usr/local/bin/harbinger"
STATE="$destdir/var/lib/harbinger"
CDEFAULTS="$destdir/etc/default/harbinger-collector"
CSTATE="$destdir/var/lib/harbinger-collector"
# The collector unit's Environment=: its own state directory (StateDirectory=).
CSTATE_ENV=HARBINGER_STATE_DIR=/var/lib/harbinger-collector

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  die "needs root: run \`sudo $0${orig_args:+ $orig_args}\` (or --destdir DIR to install into a directory)"
fi

# systemctl only for a real install on a host that was booted with systemd
# (the test sd_booted() uses), not in a container or chroot without it.
use_systemd=0
if [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  use_systemd=1
fi

# --- uninstall ---------------------------------------------------------------
if [ "$mode" = uninstall ]; then
  if [ "$use_systemd" = 1 ]; then
    for u in "$CUNIT" "$UNIT"; do
      if systemctl cat "$u" >/dev/null 2>&1; then
        say "stopping and disabling $u"
        systemctl disable --now "$u" || warn "could not stop/disable $u"
      fi
    done
  elif [ -z "$destdir" ]; then
    say "systemd is not running here: nothing to stop (run \`systemctl disable --now $UNIT $CUNIT\` where they are)"
  fi
  rm -f "$UNIT_DIR/$UNIT" "$UNIT_DIR/$CUNIT"
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = /usr/lib/harbinger/bin/harbinger ]; then rm -f "$LINK"; fi
  rm -rf "$LIB"
  say "removed /usr/lib/harbinger, the units ($UNIT, $CUNIT) and /usr/local/bin/harbinger"
  if [ "$purge" = 1 ]; then
    rm -rf "$ETC" "$DEFAULTS" "$STATE" "$UNIT_DIR/$UNIT.d" "$CDEFAULTS" "$CSTATE" "$UNIT_DIR/$CUNIT.d"
    say "purged /etc/harbinger, /etc/default/harbinger, /var/lib/harbinger and $UNIT.d drop-ins"
    say "purged /etc/default/harbinger-collector, /var/lib/harbinger-collector and $CUNIT.d drop-ins"
    if [ -z "$destdir" ] && getent passwd harbinger >/dev/null; then
      say "kept user and group harbinger (remove them with \`userdel harbinger\`)"
    fi
  else
    say "kept /etc/harbinger, /etc/default/harbinger{,-collector} and /var/lib/harbinger{,-collector} (--purge removes them)"
  fi
  if [ "$use_systemd" = 1 ]; then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT" "$CUNIT" 2>/dev/null || true
  fi
  exit 0
fi

# --- install: preconditions --------------------------------------------------
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for f in package.json package-lock.json systemd/harbinger.service systemd/harbinger.default \
  systemd/harbinger-collector.service systemd/harbinger-collector.default; do
  [ -f "$SRC/$f" ] || die "$SRC/$f is missing: run this script from a harbinger checkout"
done
[ -f "$SRC/dist/src/cli.js" ] || die "$SRC/dist/src/cli.js not found: run \`npm ci && npm run build\` in $SRC first"

node_bin="${node_arg:-$(command -v node || true)}"
[ -n "$node_bin" ] || die "node >= $MIN_NODE not found: install Node.js (Debian: apt-get install nodejs; or NodeSource), or pass --node PATH"
[ -x "$node_bin" ] || die "$node_bin is not an executable node (--node PATH)"
case "$node_bin" in /*) ;; *) node_bin="$(cd "$(dirname "$node_bin")" && pwd)/$(basename "$node_bin")" ;; esac
node_version="$("$node_bin" -p 'process.versions.node' 2>/dev/null)" || die "$node_bin does not run"
if ! "$node_bin" -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  const [x, y] = process.argv[1].split(".").map(Number);
  process.exit(a > x || (a === x && b >= y) ? 0 : 1);' "$MIN_NODE"; then
  die "node >= $MIN_NODE not found: $node_bin is $node_version (install a newer nodejs, or pass --node PATH)"
fi
# The unit's ProtectHome=yes hides these; a node from nvm or volta would not start.
node_real="$(readlink -f "$node_bin")"
for p in "$node_bin" "$node_real"; do
  case "$p" in
    /home/* | /root/* | /run/user/*)
      die "node is $p, in a home directory, which the service cannot see (ProtectHome=yes): install node system-wide (apt-get install nodejs, or NodeSource) or pass --node PATH" ;;
  esac
done
npm_bin="$(command -v npm || true)"
[ -n "$npm_bin" ] || die "npm not found: it installs the production dependencies (Debian: apt-get install npm; NodeSource's nodejs includes it)"
if [ -z "$destdir" ] && ! getent group disk >/dev/null; then
  die "group \"disk\" does not exist: the unit's SupplementaryGroups=disk needs it (groupadd --system disk)"
fi

# --- install: /usr/lib/harbinger ---------------------------------------------
# Everything is assembled in a staging directory next to the target, then
# swapped in with rename(): a failed npm ci leaves the installed agent as it was.
mkdir -p "$(dirname "$LIB")"
stage="$(mktemp -d "$(dirname "$LIB")/.harbinger.XXXXXX")"
cleanup() { rm -rf "$stage" "${old:-}"; }
trap cleanup EXIT

cp "$SRC/package.json" "$SRC/package-lock.json" "$stage/"
mkdir -p "$stage/dist"
cp -R "$SRC/dist/src" "$stage/dist/src"
for f in README.md LICENSE; do
  if [ -f "$SRC/$f" ]; then cp "$SRC/$f" "$stage/"; fi
done
if [ -d "$SRC/examples" ]; then cp -R "$SRC/examples" "$stage/examples"; fi
# A private registry or cache setting, if the checkout has one.
if [ -f "$SRC/.npmrc" ]; then cp "$SRC/.npmrc" "$stage/.npmrc"; fi

say "installing production dependencies (npm ci --omit=dev)"
# --prefer-offline: npm's cache first (works without network after the
# checkout's own npm ci), the registry for anything missing.
# --ignore-scripts: no package install scripts run as root. The one native
# addon (better-sqlite3, the history store) is taken already built from the
# checkout below, or rebuilt on its own if that build does not load here.
# npm runs under the node chosen above.
if ! (cd "$stage" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" ci --omit=dev --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null); then
  die "npm ci --omit=dev failed (output above): the npm registry must be reachable, or npm's cache must hold the dependencies (run \`npm ci\` in $SRC as this user first)"
fi
# better-sqlite3: the checkout's `npm ci` built it for this machine's node.
if [ -d "$SRC/node_modules/better-sqlite3/build" ]; then
  cp -R "$SRC/node_modules/better-sqlite3/build" "$stage/node_modules/better-sqlite3/"
fi
if ! (cd "$stage" && "$node_bin" -e "new (require('better-sqlite3'))(':memory:').close()" 2>/dev/null); then
  say "building better-sqlite3 for $node_version"
  (cd "$stage" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" rebuild better-sqlite3 --loglevel=error >/dev/null) \
    || die "better-sqlite3 (the history store) does not load and cannot be built: install python3, make and g++, or run \`npm ci\` in $SRC with this node first"
fi
rm -f "$stage/.npmrc"

mkdir -p "$stage/bin"
# The checkout's launcher (it sets the daemon's node flags), pinned to the node
# found now ($node_version): re-run the installer after moving node.
sed "s|^node=.*|node=\${HARBINGER_NODE:-$node_bin}|" "$SRC/bin/harbinger" >"$stage/bin/harbinger"
chmod 0755 "$stage" "$stage/bin/harbinger"

# Did anything change? Decides whether a running agent is restarted. node_modules
# follows from package-lock.json, which is compared.
digest() {
  [ -d "$1" ] || { echo none; return; }
  (cd "$1" && find . -path ./node_modules -prune -o -type f -print | LC_ALL=C sort | xargs -d '\n' sha256sum) | sha256sum
}
changed=0
[ "$(digest "$LIB")" = "$(digest "$stage")" ] || changed=1

if [ -e "$LIB" ]; then
  old="$LIB.old.$$"
  mv "$LIB" "$old"
fi
mv "$stage" "$LIB"
rm -rf "${old:-}"
trap - EXIT
say "installed $LIB (node $node_version: $node_bin)"

mkdir -p "$(dirname "$LINK")"
ln -sfn /usr/lib/harbinger/bin/harbinger "$LINK"

# --- user --------------------------------------------------------------------
if [ -z "$destdir" ]; then
  if ! getent group harbinger >/dev/null; then
    groupadd --system harbinger
    say "created group harbinger"
  fi
  if ! getent passwd harbinger >/dev/null; then
    # Home is the state directory (which systemd creates); nothing is created here.
    useradd --system --gid harbinger --no-create-home --home-dir /var/lib/harbinger \
      --shell /usr/sbin/nologin --comment "harbinger monitoring agent" harbinger
    say "created user harbinger"
  fi
fi

# --- configuration -----------------------------------------------------------
# Config may hold credentials (MQTT, databases): root writes, harbinger reads.
mkdir -p "$ETC"
chmod 0750 "$ETC"
if [ -z "$destdir" ]; then chgrp harbinger "$ETC"; fi
have_config=1
if [ -e "$CONFIG" ]; then
  say "kept existing /etc/harbinger/harbinger.yml (the current example: /usr/lib/harbinger/examples/harbinger.yml)"
elif [ -f "$SRC/examples/harbinger.yml" ]; then
  install -m 0640 "$SRC/examples/harbinger.yml" "$CONFIG"
  if [ -z "$destdir" ]; then chgrp harbinger "$CONFIG"; fi
  say "created /etc/harbinger/harbinger.yml from examples/harbinger.yml"
else
  have_config=0
  warn "$SRC/examples/harbinger.yml not found: write /etc/harbinger/harbinger.yml yourself before starting the service"
fi

mkdir -p "$(dirname "$DEFAULTS")"
# 0640: HARBINGER_* overrides may be credentials; systemd reads them as root.
if [ -e "$DEFAULTS" ]; then
  say "kept existing /etc/default/harbinger"
else
  install -m 0640 "$SRC/systemd/harbinger.default" "$DEFAULTS"
  say "created /etc/default/harbinger"
fi
if [ -e "$CDEFAULTS" ]; then
  say "kept existing /etc/default/harbinger-collector"
else
  install -m 0640 "$SRC/systemd/harbinger-collector.default" "$CDEFAULTS"
  say "created /etc/default/harbinger-collector"
fi

# The units are replaced on every install; a changed unit restarts its service
# (when it runs), like a changed agent does.
mkdir -p "$UNIT_DIR"
agent_changed=$changed
collector_changed=$changed
cmp -s "$SRC/systemd/harbinger.service" "$UNIT_DIR/$UNIT" || agent_changed=1
cmp -s "$SRC/systemd/harbinger-collector.service" "$UNIT_DIR/$CUNIT" || collector_changed=1
install -m 0644 "$SRC/systemd/harbinger.service" "$UNIT_DIR/$UNIT"
install -m 0644 "$SRC/systemd/harbinger-collector.service" "$UNIT_DIR/$CUNIT"

# --- check the configuration as the service will see it -----------------------
# check_config DEFAULTS OPTS_VAR MODE [NAME=VALUE...]: `harbinger check-config`
# (MODE `agent` or `collector`: what it checks the configuration for) with
# the same file, environment and flags as the unit, and (on a real install) as
# user harbinger, so that an unreadable file shows up now: a clean environment
# plus NAME=VALUE (the unit's Environment=), then DEFAULTS (its EnvironmentFile=,
# read by root like systemd does, and overriding those); node runs as
# harbinger, from / like the service, with $OPTS_VAR split into words (not
# globbed, as systemd does not).
check_config() {
  local defaults="$1" opts_var="$2" mode="$3"
  shift 3
  local as_user=()
  if [ -z "$destdir" ] && command -v runuser >/dev/null 2>&1; then as_user=(runuser -u harbinger --); fi
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@" bash -c '
    set -a; . "$1"; set +a; set -f; opts="${!2:-}"; shift 2; cd /
    exec "$@" $opts' check "$defaults" "$opts_var" \
    "${as_user[@]}" "$node_bin" "$LIB/dist/src/cli.js" check-config --for "$mode" --config "$CONFIG"
}

config_ok=0
if [ "$have_config" = 1 ]; then
  if check_config "$DEFAULTS" HARBINGER_OPTS agent; then
    config_ok=1
  else
    warn "/etc/harbinger/harbinger.yml (with /etc/default/harbinger) is invalid, see above: fix it, check it with \`harbinger check-config --config /etc/harbinger/harbinger.yml\`, then run \`systemctl restart $UNIT\`"
  fi
fi

# The collector: checked when it is asked for, or already running here (an
# upgrade restarts it).
collector_active=0
if [ "$use_systemd" = 1 ] && systemctl is-active --quiet "$CUNIT"; then collector_active=1; fi
collector_config_ok=0
if [ "$have_config" = 1 ] && { [ "$collector" = 1 ] || [ "$collector_active" = 1 ]; }; then
  if check_config "$CDEFAULTS" HARBINGER_COLLECTOR_OPTS collector "$CSTATE_ENV"; then
    collector_config_ok=1
  else
    warn "/etc/harbinger/harbinger.yml (with /etc/default/harbinger-collector) is invalid for the collector, see above: fix it, then run \`systemctl restart $CUNIT\`"
  fi
fi

# --- systemd -----------------------------------------------------------------
# start_unit UNIT CHANGED CONFIG_OK: enable UNIT and start it, or restart it if
# it was running and CHANGED is 1; with CONFIG_OK 0, only enable it.
start_unit() {
  local unit="$1" unit_changed="$2" ok="$3" was_active=0
  if [ "$ok" = 0 ]; then
    systemctl enable "$unit"
    say "$unit enabled but not started: the configuration is missing or invalid"
    return
  fi
  systemctl is-active --quiet "$unit" && was_active=1
  systemctl enable --now "$unit"
  if [ "$was_active" = 1 ] && [ "$unit_changed" = 1 ]; then
    say "restarting $unit (harbinger or the unit changed)"
    systemctl restart "$unit"
  fi
}
# stays_up UNIT HINT: after start_unit, whether UNIT is still running.
stays_up() {
  if systemctl is-active --quiet "$1"; then
    say "$1 is running: $2"
  else
    systemctl --no-pager --lines=20 status "$1" >&2 || true
    printf 'install.sh: error: %s\n' "$1 did not stay up; see \`journalctl -u $1\`" >&2
    return 1
  fi
}

CHINT="on the central machine only, set mqtt.url in /etc/harbinger/harbinger.yml and run \`systemctl enable --now $CUNIT\` (or install.sh --collector); its state goes to /var/lib/harbinger-collector"
failed=0
if [ -n "$destdir" ]; then
  say "installed under $destdir: no user created and systemctl not called"
  if [ "$collector" = 1 ]; then
    say "--collector: on the target host run \`systemctl enable --now $CUNIT\`"
  else
    say "$CUNIT installed, not enabled: $CHINT"
  fi
elif [ "$use_systemd" = 0 ]; then
  say "systemd is not running here (no /run/systemd/system); on the target host run:"
  say "  systemctl daemon-reload && systemctl enable --now $UNIT"
  if [ "$collector" = 1 ]; then
    say "  systemctl enable --now $CUNIT"
  else
    say "$CUNIT installed, not enabled: $CHINT"
  fi
else
  systemctl daemon-reload
  if [ "$start" = 0 ]; then
    say "--no-start: run \`systemctl enable --now $UNIT\` when ready"
    if [ "$collector" = 1 ]; then
      say "--no-start: run \`systemctl enable --now $CUNIT\` when ready"
    elif [ "$collector_active" = 1 ]; then
      say "--no-start: $CUNIT still runs the previous version until \`systemctl restart $CUNIT\`"
    fi
  else
    start_unit "$UNIT" "$agent_changed" "$config_ok"
    check_agent=$config_ok
    check_collector=0
    if [ "$collector" = 1 ]; then
      start_unit "$CUNIT" "$collector_changed" "$collector_config_ok"
      check_collector=$collector_config_ok
    elif [ "$collector_active" = 1 ]; then
      if [ "$collector_changed" = 0 ]; then
        :
      elif [ "$collector_config_ok" = 1 ]; then
        say "restarting $CUNIT (harbinger or the unit changed)"
        systemctl restart "$CUNIT"
        check_collector=1
      else
        warn "$CUNIT not restarted: it still runs the previous version"
      fi
    elif systemctl is-enabled --quiet "$CUNIT" 2>/dev/null; then
      say "$CUNIT is enabled but not running: see \`systemctl status $CUNIT\`"
    else
      say "$CUNIT installed, not enabled: $CHINT"
    fi
    if [ "$check_agent" = 1 ] || [ "$check_collector" = 1 ]; then sleep 2; fi
    if [ "$check_agent" = 1 ]; then
      stays_up "$UNIT" "curl -s http://localhost:10190/metrics | head" || failed=1
    fi
    if [ "$check_collector" = 1 ]; then
      stays_up "$CUNIT" "curl -s http://localhost:10191/api/fleet | head -c 300" || failed=1
    fi
  fi
fi

[ "$failed" = 0 ] || exit 1
[ "$have_config" = 0 ] || [ "$config_ok" = 1 ] || exit 1
# A collector that was asked for, or runs here, with a config it would refuse.
if [ "$have_config" = 1 ] && [ "$collector_config_ok" = 0 ] && { [ "$collector" = 1 ] || [ "$collector_active" = 1 ]; }; then exit 1; fi
