#!/usr/bin/env bash
# Start a local PostgreSQL for the shared-store tests, installing it from Debian's packages if
# needed, and print the line LRTOOL_TEST_POSTGRES_URL=postgresql://… on stdout (progress goes to
# stderr, so `export "$(scripts/start_postgres.sh)"` works). Idempotent: a second run only checks.
# Works as root in a CI container without systemd (pg_ctlcluster starts the server directly).
set -euo pipefail

# Only the URL line may reach stdout: the tools below print progress of their own there (e.g.
# pg_ctlcluster's "Removed stale pid file."), so stdout is kept as fd 3 and everything else goes
# to stderr.
exec 3>&1 1>&2
emit_url() { echo "LRTOOL_TEST_POSTGRES_URL=${URL}" >&3; }

PG_ROLE=lrtool
PG_PASSWORD=lrtool
PG_DATABASE=lrtool_test
PG_HOST=127.0.0.1
PG_PORT=${LRTOOL_PG_PORT:-5432}
URL="postgresql://${PG_ROLE}:${PG_PASSWORD}@${PG_HOST}:${PG_PORT}/${PG_DATABASE}"

say() { echo "start_postgres: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# Fast path: everything already in place (also lets a non-root user reuse a running server).
if command -v psql >/dev/null 2>&1 && PGCONNECT_TIMEOUT=3 psql "$URL" -XAtqc 'SELECT 1' >/dev/null 2>&1; then
    emit_url
    exit 0
fi

[ "$(id -u)" = 0 ] || die "not root: cannot install or start PostgreSQL here (and ${URL} does not answer)"

newest_major() {
    # The highest installed server version (Debian keeps each under /usr/lib/postgresql/MAJOR).
    find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
        | awk -F/ '{print $5}' | sort -n | tail -n 1
}

MAJOR=$(newest_major)
if [ -z "$MAJOR" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh container has no package lists yet; a failed install retries after updating them.
    apt-get install -y -qq postgresql >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } \
        || die "apt-get install postgresql failed"
    MAJOR=$(newest_major)
    [ -n "$MAJOR" ] || die "PostgreSQL installed, but no server binary found under /usr/lib/postgresql"
fi

# The cluster of that major version on our port; create one if missing: "main" (which the package
# creates on install, unless the image disabled that), or "lrtool" beside a main on another port.
CLUSTER=$(pg_lsclusters -h 2>/dev/null | awk -v v="$MAJOR" -v p="$PG_PORT" '$1 == v && $3 == p {print $2; exit}')
if [ -z "$CLUSTER" ]; then
    CLUSTER=main
    if pg_lsclusters -h 2>/dev/null | awk -v v="$MAJOR" '$1 == v && $2 == "main" {found = 1} END {exit !found}'; then
        CLUSTER=lrtool
    fi
    say "creating cluster ${MAJOR}/${CLUSTER} on port ${PG_PORT}"
    # C locale and UTF-8: no dependence on the container's generated locales.
    pg_createcluster --locale C --encoding UTF8 --port "$PG_PORT" "$MAJOR" "$CLUSTER" >/dev/null
fi

status=$(pg_lsclusters -h | awk -v v="$MAJOR" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')
if [ "$status" != online ]; then
    say "starting cluster ${MAJOR}/${CLUSTER}"
    # The server it forks must not inherit fd 3 or our stderr: a caller reading them through a
    # pipe (`$(...)`, a CI log) would wait for the server to exit. Its messages go via a file.
    # A server killed moments ago may still hold its socket lock, so a failed start is retried.
    start_log=$(mktemp)
    started=no
    for attempt in 1 2 3; do
        if pg_ctlcluster "$MAJOR" "$CLUSTER" start </dev/null >"$start_log" 2>&1 3>&-; then
            started=yes
            cat "$start_log" >&2
            break
        fi
        cat "$start_log" >&2
        say "start attempt ${attempt} failed"
        sleep 2
    done
    rm -f "$start_log"
    [ "$started" = yes ] || die "pg_ctlcluster ${MAJOR} ${CLUSTER} start failed (see /var/log/postgresql)"
fi

for _ in $(seq 1 50); do
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
    sleep 0.2
done
pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "server on ${PG_HOST}:${PG_PORT} does not accept connections"

# From /, so the postgres user is not refused the current directory (e.g. /root).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
psql_admin() { as_postgres psql -XAtq -p "$PG_PORT" -v ON_ERROR_STOP=1 "$@"; }

# Role and database, each only if missing; the password is (re)set so the URL above always works.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '${PG_ROLE}'")" != 1 ]; then
    say "creating role ${PG_ROLE}"
    psql_admin -c "CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}'"
else
    psql_admin -c "ALTER ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${PG_DATABASE}'")" != 1 ]; then
    say "creating database ${PG_DATABASE}"
    # template0 with UTF-8 and C collation, whatever the cluster's defaults are.
    as_postgres createdb -p "$PG_PORT" -O "$PG_ROLE" -E UTF8 --locale C -T template0 "$PG_DATABASE"
fi

PGCONNECT_TIMEOUT=5 psql "$URL" -XAtqc 'SELECT 1' >/dev/null \
    || die "cannot log in as ${PG_ROLE} over TCP (check pg_hba.conf of cluster ${MAJOR}/${CLUSTER})"
emit_url
