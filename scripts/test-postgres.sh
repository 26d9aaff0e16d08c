#!/usr/bin/env bash
# shellcheck disable=SC2015,SC1090
# Throwaway PostgreSQL 15 + pgvector cluster for tests, benchmarks and CI (Debian 12).
#   install            install postgresql-15 and build pgvector if missing (idempotent; needs root)
#   start              install, start a cluster; stdout = connection URL only, logs on stderr
#   stop               stop the cluster recorded in the state file and delete its data dir
#   run -- CMD...      start, run CMD with TEST_DATABASE_URL set, always stop, exit with CMD's status
# Env: TEST_POSTGRES_STATE (state file, default <repo>/.data/test-postgres.env),
#      TEST_POSTGRES_PORT (first port to try, default 55432), PGVECTOR_SUITE (default trixie),
#      PGVECTOR_MIRROR (default: the Debian mirror from this machine's apt sources).
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${TEST_POSTGRES_STATE:-$REPO_ROOT/.data/test-postgres.env}
DB=streamrag_test
SUITE=${PGVECTOR_SUITE:-trixie}
export DEBIAN_FRONTEND=noninteractive

log() { echo "test-postgres: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# Postgres refuses to run as root: run server tools as the postgres user when we are root.
as_pg() { if [ "$EUID" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
need_root() { [ "$EUID" -eq 0 ] || die "$1 is missing; run 'sudo $0 install' first"; }

apt_install() { # install the given packages that are not installed yet
  local p missing=()
  for p; do [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "${missing[*]}"
  log "apt-get install ${missing[*]}"
  local cmd=(apt-get install -y -q --no-install-recommends "${missing[@]}")
  "${cmd[@]}" >&2 || { log "install failed; retrying after apt-get update"
    apt-get update -q >&2 || die "apt-get update failed (is the Debian mirror reachable?)"
    "${cmd[@]}" >&2 || die "apt-get install ${missing[*]} failed"; }
}

debian_mirror() { # reuse the mirror the machine already uses for Debian packages
  local u
  u=$( { grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
         grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
           | grep -oE 'https?://[^ ]+' ; } | grep -E '/debian/?$' | head -n1 || true)
  echo "${u:-http://deb.debian.org/debian}"
}

build_pgvector() {
  # Debian 12 has no pgvector package: fetch the *source* package from $SUITE with a private
  # apt config (no change to the system's sources, no trixie binaries can ever be installed).
  local tmp mirror=${PGVECTOR_MIRROR:-$(debian_mirror)}
  tmp=$(mktemp -d /tmp/pgvector-build.XXXXXX); chmod 755 "$tmp"; BUILD_TMP=$tmp
  trap 'rm -rf "$BUILD_TMP"' EXIT
  mkdir -p "$tmp/lists/partial" "$tmp/parts" "$tmp/dl"
  ! id _apt >/dev/null 2>&1 || chown _apt "$tmp/dl"   # lets apt download sandboxed
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" >"$tmp/sources.list"
  local o=(-q -o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
           -o "Dir::State::Lists=$tmp/lists")
  log "fetching pgvector source from $mirror $SUITE"
  # apt-get update may exit 0 after a failed fetch, so also check that a Sources index arrived.
  apt-get "${o[@]}" update >&2 && compgen -G "$tmp/lists/*_Sources*" >/dev/null \
    || die "cannot fetch the $SUITE source index from $mirror (mirror unreachable?)"
  (cd "$tmp/dl" && apt-get "${o[@]}" source --download-only pgvector >&2) \
    || die "apt-get source pgvector failed (no pgvector in $SUITE at $mirror?)"
  (cd "$tmp/dl" && dpkg-source -x ./pgvector_*.dsc "$tmp/src" >&2) || die "unpacking pgvector source failed"
  log "building pgvector $(sed -n '1s/.*(\(.*\)).*/\1/p' "$tmp/src/debian/changelog")"
  make -C "$tmp/src" -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config" >&2 || die "pgvector build failed"
  make -C "$tmp/src" install PG_CONFIG="$PG_BIN/pg_config" >&2 || die "pgvector install failed"
  rm -rf "$tmp"; trap - EXIT
}

cmd_install() {
  [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pg_config" ] || apt_install postgresql-15 postgresql-client-15
  if [ -f "$("$PG_BIN/pg_config" --sharedir)/extension/vector.control" ]; then
    log "postgresql-15 and pgvector already installed"; return 0
  fi
  need_root pgvector
  apt_install postgresql-server-dev-15 dpkg-dev build-essential
  build_pgvector
  log "pgvector installed"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
load_state() { [ -f "$STATE" ] && . "$STATE"; }   # sets PG_DIR, PG_PORT, PG_URL
psql_q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@" >&2; }

cmd_start() {
  cmd_install
  if load_state; then
    if "$PG_BIN/pg_isready" -q -d "$PG_URL"; then  # (pg_ctl status is fooled by unreaped zombies)
      log "already running (state: $STATE)"; echo "$PG_URL"; return 0
    fi
    log "removing stale state $STATE"; cmd_stop
  fi
  local port=${TEST_POSTGRES_PORT:-55432} dir
  while ! port_free "$port"; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/streamrag-pg.XXXXXX)
  [ "$EUID" -ne 0 ] || chown postgres:postgres "$dir"
  local url="postgres://postgres@127.0.0.1:$port/$DB"
  mkdir -p "$(dirname "$STATE")"
  printf 'PG_DIR=%q\nPG_PORT=%q\nPG_URL=%q\n' "$dir" "$port" "$url" >"$STATE"
  trap 'log "start failed, cleaning up"; cmd_stop || true' EXIT   # cleared once the cluster is ready
  log "initdb in $dir/data"
  as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale -N >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # Throwaway cluster: trust auth, loopback only. fsync/full_page_writes off trade crash safety for
  # speed, which is fine only because the data dir is deleted on stop (never do this for real data).
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 256MB
maintenance_work_mem = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # Parallel HNSW builds put the graph (up to maintenance_work_mem) in dynamic shared memory;
  # a small /dev/shm (Docker default 64MB) would make them fail, so use mmap'ed files then.
  if [ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2{print $4}')" -lt 1048576 ] 2>/dev/null; then
    echo "dynamic_shared_memory_type = mmap" >>"$dir/data/postgresql.conf"
  fi
  log "starting on 127.0.0.1:$port"
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >&2 \
    || { tail -n 30 "$dir/postgres.log" >&2 || true; die "server failed to start (log: $dir/postgres.log)"; }
  psql_q "postgres://postgres@127.0.0.1:$port/postgres" -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed"
  psql_q "$url" -c "CREATE EXTENSION IF NOT EXISTS vector" || die "CREATE EXTENSION vector failed"
  trap - EXIT; log "ready: $url"
  echo "$url"
}

cmd_stop() {
  load_state || { log "nothing to stop (no $STATE)"; return 0; }
  case "${PG_DIR:-}" in /tmp/streamrag-pg.*) ;; *) log "refusing to delete '${PG_DIR:-}'"; return 1 ;; esac
  if [ -d "$PG_DIR/data" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >&2 || log "warning: pg_ctl stop failed"
  fi
  rm -rf "$PG_DIR" "$STATE"
  log "stopped and removed $PG_DIR"
}

cmd_run() {
  [ "${1:-}" != "--" ] || shift
  [ $# -gt 0 ] || die "usage: $0 run -- <command...>"
  STATE="${STATE%.env}.run-$$.env"   # own state file: never reuse/stop a cluster from 'start'
  trap 'cmd_stop || true' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
  local url rc=0; url=$(cmd_start)
  export TEST_DATABASE_URL=$url
  "$@" || rc=$?
  exit "$rc"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '3,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
