#!/usr/bin/env bash
# Jobs beside Ray in one sitting: interleaves Ray's task benchmark (../shared/peers/ray) with
# kumo-bench rtt, job-rtt, fanout and fanout-sleep, then prints the medians and each ratio
# against the jobs issue's target.
#
# Usage: scripts/jobs-vs-ray.sh [ROUNDS]
#   KUMO_PEERS   the peer harness (default: ../shared/peers beside the checkout)
#   KUMO_BENCH   a kumo-bench binary to use instead of building one
# Needs Ray installed once: $KUMO_PEERS/install.sh (root, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
peers="${KUMO_PEERS:-$(cd .. && pwd)/shared/peers}"
[ -x "$peers/ray/run.sh" ] || { echo "no peer harness at $peers (set KUMO_PEERS)" >&2; exit 2; }
if [ -z "${KUMO_BENCH:-}" ]; then
    swift build -c release --product kumo-bench >&2
    KUMO_BENCH="$(swift build -c release --show-bin-path)/kumo-bench"
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
run() {
    local name="$1"; shift
    local line
    line="$(timeout -k 5 120 "$@" 2>/dev/null | grep '^{' | tail -1 || true)"
    [ -n "$line" ] && echo "$line" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['m']='$name'; print(json.dumps(d))" | tee -a "$out" >&2
}
for _ in $(seq 1 "$rounds"); do
    run ray "$peers/ray/run.sh"
    run rtt "$KUMO_BENCH" rtt --json --samples 20000
    run job_rtt "$KUMO_BENCH" job-rtt --json --samples 20000
    run fanout "$KUMO_BENCH" fanout --jobs 100000 --json
    run fanout_sleep "$KUMO_BENCH" fanout-sleep --jobs 5000 --ms 20 --per-node 50 --json
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def med(m, k):
    values = [r[k] for r in rows if r.get('m') == m and k in r]
    return statistics.median(values) if values else None
ray_batch, ray_seq, ray_rtt = med('ray', 'task_tput_per_s'), med('ray', 'task_seq_per_s'), med('ray', 'task_rtt_us_p50')
rtt, job_rtt, job_p99 = med('rtt', 'p50_us'), med('job_rtt', 'p50_us'), med('job_rtt', 'p99_us')
fanout, efficiency = med('fanout', 'jobs_per_s'), med('fanout_sleep', 'efficiency')
def ratio(a, b): return None if a is None or not b else round(a / b, 2)
summary = {
    "summary": True, "rounds": len([r for r in rows if r.get('m') == 'fanout']),
    "ray_tasks_per_s_batch": ray_batch, "ray_tasks_per_s_sequential": ray_seq, "ray_task_rtt_p50_us": ray_rtt,
    "rtt_p50_us": rtt, "job_rtt_p50_us": job_rtt, "job_rtt_p99_us": job_p99, "job_rtt_vs_rtt": ratio(job_rtt, rtt),
    "job_rtt_vs_ray_task_rtt": ratio(job_rtt, ray_rtt),
    "fanout_jobs_per_s": fanout, "fanout_vs_ray_batch": ratio(fanout, ray_batch), "fanout_sleep_efficiency": efficiency,
}
print(json.dumps(summary))
def line(name, value, target, ok):
    print(f"{name:<34} {value!s:<12} target {target:<12} {'met' if ok else 'NOT met'}", file=sys.stderr)
if summary["job_rtt_vs_rtt"] is not None:
    line("job-rtt p50 / rtt p50", summary["job_rtt_vs_rtt"], "<= 1.3", summary["job_rtt_vs_rtt"] <= 1.3)
if fanout is not None:
    line("fanout jobs/s", fanout, ">= 150000", fanout >= 150_000)
if summary["fanout_vs_ray_batch"] is not None:
    line("fanout / Ray batch tasks/s", summary["fanout_vs_ray_batch"], ">= 100", summary["fanout_vs_ray_batch"] >= 100)
if efficiency is not None:
    line("fanout-sleep efficiency", efficiency, ">= 0.9", efficiency >= 0.9)
PY
