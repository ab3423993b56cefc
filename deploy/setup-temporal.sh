#!/bin/sh
# One-shot, after the Temporal server is up: create the namespace if it is missing and
# register the adapter's search attributes (InngestFunctionId, InngestEventName,
# InngestEventId, InngestAppId; Keyword), so runs can be listed by function, event and
# app. Idempotent: what exists already is left alone. `adapter setup` does the same
# for the search attributes from Python (see adapter/_search.py).
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-72h}
ATTRIBUTES=${INNGEST_SEARCH_ATTRIBUTES:-"InngestFunctionId InngestEventName InngestEventId InngestAppId"}
ATTEMPTS=${SETUP_ATTEMPTS:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-2}
SETTLE=${SETUP_SETTLE_SECONDS:-15}

retry() {
  # retry WHAT COMMAND...: run COMMAND until it succeeds, at most $ATTEMPTS times.
  what=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      echo "gave up: $what (after $ATTEMPTS attempts)" >&2
      return 1
    fi
    echo "not yet: $what (attempt $n/$ATTEMPTS)"
    n=$((n + 1))
    sleep "$PAUSE"
  done
}

ensure_namespace() {
  temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1 ||
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
}

missing_attributes() {
  # Prints the attributes the namespace lacks; fails if the list cannot be read.
  listed=$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS") || return 1
  for name in $ATTRIBUTES; do
    printf '%s\n' "$listed" | grep -qw -- "$name" || printf '%s ' "$name"
  done
}

create_missing_attributes() {
  # One `create` per attribute: given several --name, temporal CLI 1.9 registers only
  # the first. Each is created once: while the server's namespace cache catches up the
  # list may still miss it, and creating it again would take another column of the
  # SQL visibility store.
  missing=$(missing_attributes) || return 1
  for name in $missing; do
    case " $CREATED " in *" $name "*) continue ;; esac
    # Keyword, as adapter/_search.py declares them.
    temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" \
      --name "$name" --type Keyword || return 1
    CREATED="$CREATED $name"
  done
}

attributes_listed() {
  missing=$(missing_attributes) || return 1
  [ -z "$missing" ]
}

retry "Temporal at $ADDRESS answers" temporal operator cluster health --address "$ADDRESS"
retry "namespace $NAMESPACE exists" ensure_namespace
CREATED=""
retry "search attributes created in $NAMESPACE" create_missing_attributes
retry "search attributes listed in $NAMESPACE" attributes_listed
if [ -n "$CREATED" ]; then
  # Frontends learn new attributes when they refresh their namespace cache (seconds):
  # give them that long before the worker starts runs that carry them.
  sleep "$SETTLE"
fi
echo "Temporal is ready: namespace $NAMESPACE with the Inngest* search attributes"
