# Shared by the benchmark scripts: a catalog and templates of the
# benchmark's own on the dev server, so a run never touches dev tenants.
# Needs the dev environment (eval "$(scripts/dev-services env)") and bin/platform.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=${BIN:-bin/platform}

# use_catalog NAME: point PLATFORM_DATABASE_URL at a fresh database NAME
# (BENCH_KEEP=1: at the one left by an earlier BENCH_KEEP=1 run, tenants
# and all, when it exists).
use_catalog() {
  local name=$1
  if [[ ${BENCH_KEEP:-} == 1 && $(psql -X -Atc "SELECT 1 FROM pg_database WHERE datname = '$name'" "$PLATFORM_DB_ADMIN_URL") == 1 ]]; then
    echo "BENCH_KEEP=1: reusing catalog $name and its tenants"
  else
    psql -X -q "$PLATFORM_DB_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
  fi
  PLATFORM_DATABASE_URL=${PLATFORM_DB_ADMIN_URL%/*}/$name?sslmode=disable
  export PLATFORM_DATABASE_URL
}

# drop_catalog NAME: drop the benchmark's catalog (after purge_all).
drop_catalog() {
  psql -X -q "$PLATFORM_DB_ADMIN_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# purge_all: purge every tenant of the current catalog, 4 at a time.
purge_all() {
  "$BIN" tenant list -o json | sed -n 's/.*"slug": "\(.*\)".*/\1/p' |
    xargs -r -P 4 -I{} "$BIN" tenant delete {} --purge --yes >/dev/null
}

drop_templates() {
  local prefix=$1
  for k in restaurant institution; do
    psql -X -q "$PLATFORM_DB_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${prefix}${k} WITH (FORCE)"
  done
  psql -X -q "$PLATFORM_DB_ADMIN_URL" -c "DROP ROLE IF EXISTS ${prefix}owner"
}

machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(psql -X -Atc 'show server_version' "$PLATFORM_DB_ADMIN_URL" | cut -d' ' -f1) PostgreSQL, $(go version | cut -d' ' -f3)"
}
