#!/bin/sh
# One-shot: create Temporal's two PostgreSQL databases and bring their schemas up to
# the version the admin-tools image ships. Safe to run on every `docker compose up`:
# an existing database is kept, and only missing schema versions are applied.
set -eu

HOST=${POSTGRES_SEEDS:-postgresql}
PORT=${DB_PORT:-5432}
USER_NAME=${POSTGRES_USER:-temporal}
export SQL_PASSWORD="${POSTGRES_PWD:-temporal}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at $HOST:$PORT ..."
tries=0
until nc -z "$HOST" "$PORT"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL at $HOST:$PORT did not open its port" >&2
    exit 1
  fi
  sleep 2
done

for pair in "temporal:temporal" "temporal_visibility:visibility"; do
  db=${pair%%:*}
  schema=${pair#*:}
  echo "database $db: create if missing, then update the schema"
  sql() { temporal-sql-tool --plugin postgres12 --ep "$HOST" -p "$PORT" -u "$USER_NAME" --db "$db" "$@"; }
  sql create
  sql setup-schema -v 0.0
  sql update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "PostgreSQL schemas are ready"
