#!/usr/bin/env bash
# Measures Merapi against nginx and HAProxy in one run, interleaved, with shared/bench/proxy-bench.sh.
# Merapi runs exactly as users get it: `./merapi proxy ... --threads 1`, pinned to one core with taskset.
#
#   bench/run.sh                 full run: 3 repetitions of S1-S4r (about 10 minutes)
#   bench/run.sh --smoke         1 short repetition (about 2 minutes)
#   bench/run.sh --scenarios "S1 S3" --reps 5    any other proxy-bench.sh options pass through
#
# Environment: MERAPI_SHARED (default ../shared), PROXY_CPU (1), LOAD_CPU (0), MERAPI_JAVA_OPTS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${MERAPI_SHARED:-$root/../shared}"
bench="$shared/bench/proxy-bench.sh"
[ -x "$bench" ] || { echo "bench/run.sh: $bench not found (set MERAPI_SHARED)" >&2; exit 1; }

args=()
for a in "$@"; do
  if [ "$a" = "--smoke" ]; then args+=(--reps 1 --duration 2 --warmup 1 --prime 2); else args+=("$a"); fi
done

missing=()
for tool in nginx haproxy wrk hey curl taskset ss; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/run.sh: installing nginx-light haproxy wrk hey curl" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nginx-light haproxy wrk hey curl iproute2 util-linux >/dev/null
fi

port=18090
if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; then
  echo "bench/run.sh: port $port is busy; stop what listens there first" >&2
  exit 1
fi

# build (if needed) in the foreground, then start pinned
"$root/merapi" --version >/dev/null
log="$(mktemp)"
taskset -c "${PROXY_CPU:-1}" "$root/merapi" proxy --listen "127.0.0.1:$port" --upstream 127.0.0.1:18080 --threads 1 >"$log" 2>&1 &
merapi_pid=$!
trap 'kill -TERM $merapi_pid 2>/dev/null || true; wait $merapi_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  ss -ltnH "sport = :$port" | grep -q . && break
  sleep 0.1
done
ss -ltnH "sport = :$port" | grep -q . || { cat "$log" >&2; echo "bench/run.sh: Merapi did not start" >&2; exit 1; }
head -n 3 "$log" >&2

"$bench" --compare --peers "nginx haproxy" --also "$port:merapi" "${args[@]}"
