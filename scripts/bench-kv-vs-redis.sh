#!/usr/bin/env bash
# kumo-kv beside redis-server in one sitting, as issue 13 measures it: redis-benchmark
# -t set,get -n N -c 50, without and with -P 16, against redis-server 7 (the peer harness's
# redis/run.sh) and against a 3-node kumo-kv with 2 replicas (release build), interleaved.
# redis-benchmark's keys land on some nodes and not others, so kumo-kv is measured through each
# of its three nodes; the figure is the median over nodes and rounds.
#
# Usage: scripts/bench-kv-vs-redis.sh [ROUNDS]     (KUMO_PEERS: the peer harness; REDIS_N: requests)
# Needs redis-server and redis-tools (apt-get install redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
peers="${KUMO_PEERS:-$(cd .. && pwd)/shared/peers}"
n="${REDIS_N:-200000}"
swift build -c release --product kumo-kv >&2
kv="$(swift build -c release --show-bin-path)/kumo-kv"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

kumo_round() {
    local round="$1" secret="bench-$RANDOM" seed="" ports=()
    pids=()
    for i in 1 2 3; do
        local port resp
        port="$(free_port)"; resp="$(free_port)"
        "$kv" --port "$port" --resp-port "$resp" --secret "$secret" --log-level error ${seed:+--seed "$seed"} > "$work/kv$i.log" 2>&1 &
        disown
        pids+=($!); ports+=("$resp")
        [ -z "$seed" ] && seed="127.0.0.1:$port"
        for _ in $(seq 1 100); do redis-cli -p "$resp" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 100); do redis-cli -p "$port" info 2>/dev/null | grep -q store_nodes:3 && break; sleep 0.05; done
    done
    for port in "${ports[@]}"; do
        timeout 120 redis-benchmark -p "$port" -q --csv -t set,get -n "$n" -c 50 > "$work/k_${round}_${port}_P1.csv" || true
        timeout 120 redis-benchmark -p "$port" -q --csv -t set,get -n "$n" -c 50 -P 16 > "$work/k_${round}_${port}_P16.csv" || true
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pids=()
}

for round in $(seq 1 "$rounds"); do
    bash "$peers/redis/run.sh" | tail -1 > "$work/redis_$round.json"
    kumo_round "$round"
done

python3 - "$work" "$rounds" <<'PY'
import csv, glob, json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
redis = [json.load(open(f"{work}/redis_{r}.json")) for r in range(1, rounds + 1)]
out = {"scenario": "kv-vs-redis", "rounds": rounds}
for tag, target in (("P1", 0.5), ("P16", 0.3)):
    for test in ("set", "get"):
        peer = statistics.median(r[f"{test}_{tag}_ops_per_s"] for r in redis if f"{test}_{tag}_ops_per_s" in r)
        rps, p99, p50 = [], [], []
        for path in glob.glob(f"{work}/k_*_{tag}.csv"):
            for row in csv.DictReader(open(path)):
                if row["test"].lower() == test:
                    rps.append(float(row["rps"])); p99.append(float(row["p99_latency_ms"])); p50.append(float(row["p50_latency_ms"]))
        if not rps:
            continue
        kumo = statistics.median(rps)
        out[f"{test}_{tag}"] = {
            "redis_ops_per_s": round(peer), "kumo_ops_per_s": round(kumo), "kumo_min": round(min(rps)), "kumo_max": round(max(rps)),
            "ratio": round(kumo / peer, 3), "target": target, "met": kumo / peer >= target,
            "kumo_p50_ms": round(statistics.median(p50), 3), "kumo_p99_ms": round(statistics.median(p99), 3),
            "redis_p99_ms": statistics.median(r[f"{test}_{tag}_p99_ms"] for r in redis),
        }
print(json.dumps(out))
PY
