#!/usr/bin/env bash
# Auto-scaling walk-through (docs/registration.md): a DNS service and an agent on an embedded
# SQLite store, five instances of module 100/1 registered with `lars register` sidecars, two of
# them killed, and the route watched through the agent as it changes. Needs a build (npm run
# build && npm run build:native). Leaves nothing behind: everything runs in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
LARS="node $PWD/dist/src/cli/main.js"
work=$(mktemp -d)
pids=()
sidecars=()
cleanup() {
  # The sidecars first, while the agent still takes their deregistrations.
  for p in "${sidecars[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${sidecars[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export LARS_STORE_SQLITE_PATH="$work/lars.sqlite" LARS_LOG_LEVEL=warn
DNS_PORT=${DNS_PORT:-17880}
AGENT_PORT=${AGENT_PORT:-17888}
$LARS db init >/dev/null
$LARS dns --set reactor.ip=127.0.0.1 --set reactor.port=$DNS_PORT --set admin.port=0 --set dns.poll_interval_ms=100 &
pids+=($!)
$LARS agent --set agent.port=$AGENT_PORT --set agent.cache_dir= --set admin.port=0 \
  --set dnsserver.ip=127.0.0.1 --set dnsserver.port=$DNS_PORT &
pids+=($!)
sleep 1

show() {
  echo "--- $1"
  $LARS test getroute 100 1 --agent-port $AGENT_PORT --init || true
}

show "before any instance: the agent knows no node of 100/1"
for i in 1 2 3 4 5; do
  $LARS register 100 1 127.0.0.1 $((9100 + i)) --ttl 2000 --agent-port $AGENT_PORT &
  sidecars+=($!)
done
sleep 1
show "five instances registered"
$LARS route ls 100 1

kill -9 "${sidecars[0]}" "${sidecars[1]}"
echo "--- killed two instances with -9 (no deregistration): their leases run out within the 2 s ttl"
sleep 3
show "three instances left"
kill -TERM "${sidecars[2]}"
sleep 0.5
show "one instance stopped cleanly (SIGTERM deregisters at once)"
$LARS route ls 100 1
