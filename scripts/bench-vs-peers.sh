#!/usr/bin/env bash
# Kumo beside its peers in one sitting: builds kumo-bench (release), runs the peer harness
# (raw TCP, Erlang/OTP default and delay_send, Ray) interleaved with kumo-bench, and prints each
# ratio against the platform issue's target. Then measures what an idle `kumo node` costs.
#
# Usage: scripts/bench-vs-peers.sh [ROUNDS] [IDLE_SECONDS]
#   KUMO_PEERS   the peer harness (default: ../shared/peers beside the checkout)
#   KUMO_BENCH   a kumo-bench binary to use instead of building one
# Needs the peers installed once: $KUMO_PEERS/install.sh (root, apt and PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
idle_seconds="${2:-20}"
peers="${KUMO_PEERS:-$(cd .. && pwd)/shared/peers}"
[ -x "$peers/compare-kumo.sh" ] || { echo "no peer harness at $peers (set KUMO_PEERS)" >&2; exit 2; }
if [ -z "${KUMO_BENCH:-}" ]; then
    swift build -c release --product kumo-bench >&2
    swift build -c release --product kumo >&2
    KUMO_BENCH="$(swift build -c release --show-bin-path)/kumo-bench"
fi
kumo="$(dirname "$KUMO_BENCH")/kumo"

summary="$(bash "$peers/compare-kumo.sh" "$KUMO_BENCH" "$rounds" | tee /dev/stderr | grep '"summary"' | tail -1)"

idle_json='{}'
if [ -x "$kumo" ] && [ "$idle_seconds" -gt 0 ]; then
    # An idle node of a two-node cluster: CPU seconds it used over IDLE_SECONDS of wall time.
    secret="idle-$RANDOM"
    "$kumo" node --name idle-a --port 0 --secret "$secret" --log-level error > /tmp/kumo-idle-a.$$ &
    a=$!
    for _ in $(seq 1 100); do grep -q "ready" /tmp/kumo-idle-a.$$ 2>/dev/null && break; sleep 0.1; done
    address="$(sed -n 's/.*address=\([^ ]*\).*/\1/p' /tmp/kumo-idle-a.$$)"
    "$kumo" node --name idle-b --port 0 --secret "$secret" --seed "$address" --log-level error > /dev/null &
    b=$!
    sleep 2
    ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
    start="$(ticks $a)"
    sleep "$idle_seconds"
    end="$(ticks $a)"
    hz="$(getconf CLK_TCK)"
    kill -TERM "$a" "$b" 2>/dev/null || true
    wait "$a" "$b" 2>/dev/null || true
    rm -f /tmp/kumo-idle-a.$$
    idle_json="$(python3 -c "print('{\"idle_cpu_percent\": %.3f, \"idle_seconds\": %d}' % (100.0 * ($end - $start) / $hz / $idle_seconds, $idle_seconds))")"
fi

python3 - "$summary" "$idle_json" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); idle = json.loads(sys.argv[2])
def line(name, value, target, ok):
    mark = "?" if value is None else ("ok" if ok(value) else "MISS")
    print(f"{name:<44} {('-' if value is None else value)!s:>10}  target {target:<22} {mark}")
print()
print("Same sitting, medians of the rounds (ratios: Kumo / peer):")
line("rtt p50 / raw TCP ping-pong p50", s.get("rtt_vs_tcp"), "<= 1.5", lambda v: v <= 1.5)
line("rtt p50 / Erlang gen_server:call p50", s.get("rtt_vs_erlang"), "<= 1.0", lambda v: v <= 1.0)
line("throughput / Erlang one-way, delay_send", s.get("oneway_vs_erlang_ds"), ">= 1.5", lambda v: v >= 1.5)
line("concurrent / Erlang 8 callers, delay_send", s.get("conc_vs_erlang_ds"), ">= 3.0", lambda v: v >= 3.0)
line("bulk rate / raw TCP stream", s.get("bulk_vs_tcp_stream"), ">= 0.7", lambda v: v >= 0.7)
line("bulk small-call p99 (us)", s.get("bulk_small_p99_us"), "< 2000", lambda v: v < 2000)
line("rtt p50 / Ray actor call p50", s.get("rtt_vs_ray_actor"), "(for reference)", lambda v: True)
if "idle_cpu_percent" in idle:
    line("idle kumo node CPU (% of one core)", idle["idle_cpu_percent"], "(reported)", lambda v: True)
print(json.dumps({**s, **idle}))
PY
