#!/usr/bin/env bash
# Measures Merapi against nginx and HAProxy in one run, interleaved, with shared/bench/proxy-bench.sh.
# Merapi runs exactly as users get it: `./merapi proxy ... --threads 1`, pinned to one core with taskset.
#
#   bench/run.sh                 full run: 3 repetitions of S1-S4r (about 10 minutes)
#   bench/run.sh --smoke         1 short repetition (about 2 minutes)
#   bench/run.sh --scenarios "S1 S3" --reps 5    any other proxy-bench.sh options pass through
#   bench/run.sh --io-uring      also measures Merapi on the io_uring transport (port 18095), in the same run
#   bench/run.sh --alt-opts "-XX:..."   also measures Merapi with these JVM options added (port 18096)
#
# Environment: MERAPI_SHARED (default ../shared), PROXY_CPU (1), LOAD_CPU (0), MERAPI_JAVA_OPTS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${MERAPI_SHARED:-$root/../shared}"
bench="$shared/bench/proxy-bench.sh"
[ -x "$bench" ] || { echo "bench/run.sh: $bench not found (set MERAPI_SHARED)" >&2; exit 1; }

args=()
io_uring=0
alt_opts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) args+=(--reps 1 --duration 2 --warmup 1 --prime 2) ;;
    --io-uring) io_uring=1 ;;
    --alt-opts) alt_opts="$2"; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

missing=()
for tool in nginx haproxy wrk hey curl taskset ss; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/run.sh: installing nginx-light haproxy wrk hey curl" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nginx-light haproxy wrk hey curl iproute2 util-linux >/dev/null
fi

for port in 18090 18095 18096; do
  if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; then
    echo "bench/run.sh: port $port is busy; stop what listens there first" >&2
    exit 1
  fi
done

# build (if needed) in the foreground, then start each Merapi pinned, as users run it
"$root/merapi" --version >/dev/null
pids=()
also=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
start_merapi() {  # label port [extra JVM options] [proxy options...]
  local label="$1" port="$2" opts="$3"; shift 3
  local log; log="$(mktemp)"
  MERAPI_JAVA_OPTS="${MERAPI_JAVA_OPTS:-} $opts" taskset -c "${PROXY_CPU:-1}" "$root/merapi" proxy \
    --listen "127.0.0.1:$port" --upstream 127.0.0.1:18080 --threads 1 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    ss -ltnH "sport = :$port" | grep -q . && break
    sleep 0.1
  done
  ss -ltnH "sport = :$port" | grep -q . || { cat "$log" >&2; echo "bench/run.sh: Merapi ($label) did not start" >&2; exit 1; }
  head -n 3 "$log" >&2
  also+=(--also "$port:$label")
}
start_merapi merapi 18090 ""
[ "$io_uring" = 1 ] && start_merapi merapi-io_uring 18095 "" --transport io_uring
[ -n "$alt_opts" ] && start_merapi merapi-alt 18096 "$alt_opts"
[ -n "$alt_opts" ] && echo "bench/run.sh: merapi-alt adds: $alt_opts" >&2

"$bench" --compare --peers "nginx haproxy" "${also[@]}" "${args[@]}"
