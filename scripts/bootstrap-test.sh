#!/usr/bin/env bash
# What the tests need beyond Python, made ready before pytest runs (called by `make test`):
#   chromium (browser tests), pdftoppm from poppler-utils (report tests), pg_dump/pg_restore
#   from postgresql-client (backup tests), and a PostgreSQL server on 127.0.0.1:5432 where
#   user postgres may connect without a password, with a database `test`.
# Installs what is missing with apt-get when run as root on a Debian-like system (a fresh
# CI machine); otherwise stops with one line naming what is missing. Quick when all is there.
# TSELA_BOOTSTRAP_INSTALL=0: never install, only say what is missing.
# TSELA_TEST_PG_URL set: the tests use that PostgreSQL; the local server is left alone.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432

have() { command -v "$1" >/dev/null 2>&1; }
pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
say() { echo "bootstrap-test: $*" >&2; }

missing_packages() {
  local out=()
  have chromium || out+=(chromium)
  have pdftoppm || out+=(poppler-utils)
  { have pg_dump && have pg_restore && have pg_isready && have psql; } || out+=(postgresql-client)
  if [[ -z "${TSELA_TEST_PG_URL:-}" ]] && ! have pg_ctlcluster && ! pg_up; then
    out+=(postgresql)
  fi
  echo "${out[@]:-}"
}

can_install() {
  [[ "${TSELA_BOOTSTRAP_INSTALL:-1}" != 0 && "$(id -u)" == 0 ]] && have apt-get
}

fresh_postgres=0
missing=$(missing_packages)
if [[ -n "$missing" ]]; then
  if ! can_install; then
    say "missing: $missing (install them, e.g. sudo apt-get install $missing; then run make test again)"
    exit 1
  fi
  [[ " $missing " == *" postgresql "* ]] && fresh_postgres=1
  say "installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null
  missing=$(missing_packages)
  if [[ -n "$missing" ]]; then
    say "still missing after apt-get install: $missing"
    exit 1
  fi
fi

[[ -n "${TSELA_TEST_PG_URL:-}" ]] && exit 0

latest_cluster() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

if ! pg_up; then
  version=$(latest_cluster)
  if [[ -z "$version" ]]; then
    say "PostgreSQL is not answering on $PG_HOST:$PG_PORT and no local cluster exists"
    exit 1
  fi
  if [[ $fresh_postgres == 1 ]]; then
    # A cluster this script just installed, on a test machine: let the tests' user in
    # without a password over loopback TCP, as tests/conftest.py expects.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  if ! pg_up; then
    say "PostgreSQL $version did not start (see /var/log/postgresql/postgresql-$version-main.log)"
    exit 1
  fi
fi

psql_test() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -w -Atq "$@" postgres; }
if ! exists=$(psql_test -c "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null); then
  say "cannot connect to PostgreSQL on $PG_HOST:$PG_PORT as user postgres without a password (pg_hba.conf: trust for 127.0.0.1, or set TSELA_TEST_PG_URL)"
  exit 1
fi
[[ "$exists" == 1 ]] || psql_test -c "CREATE DATABASE test" >/dev/null
