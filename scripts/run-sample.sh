#!/usr/bin/env bash
# The main job end to end on the bundled sample: start a worker, import examples/contacts.csv
# into a fresh demo org, wait for the import to complete, print its counts, stop the worker.
# Expects the servers up and migrated (`make up`, which `make run` calls first).
set -euo pipefail
cd "$(dirname "$0")/.."

state=.local/run
mkdir -p "$state"
org="sample-$(date +%Y%m%d-%H%M%S)"
log="$state/worker.log"

leadstream worker --loglevel warning >"$log" 2>&1 &
worker=$!
stop_worker() {
  if kill -0 "$worker" 2>/dev/null; then
    kill -TERM "$worker" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$worker" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$worker" 2>/dev/null || true
  fi
}
trap stop_worker EXIT

echo "worker started (pid $worker, log $log); importing examples/contacts.csv as org $org"
if ! leadstream import examples/contacts.csv --org "$org" --default-region US --wait --timeout 180; then
  echo "the import did not complete; last worker log lines:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "expected (README): rows 290, created 230, updated 20, unchanged 20, rejected 20, conflicts 20"
