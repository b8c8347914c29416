#!/usr/bin/env bash
# Measures Merapi against nginx and HAProxy in one run, interleaved, with shared/bench/proxy-bench.sh.
# Merapi runs exactly as users get it: `./merapi proxy ... --threads 1`, pinned to one core with taskset.
#
#   bench/run.sh                 full run: 3 repetitions of S1-S4r (about 10 minutes)
#   bench/run.sh --smoke         1 short repetition (about 2 minutes)
#   bench/run.sh --scenarios "S1 S3" --reps 5    any other proxy-bench.sh options pass through
#   bench/run.sh --io-uring      also measures Merapi on the io_uring transport (port 18095), in the same run
#   bench/run.sh --alt-opts "-XX:..."   also measures Merapi with these JVM options added (port 18096)
#   bench/run.sh --s1l --scenarios S1   scenario S1L: S1 through the gateway (`merapi run`, access log and metrics on,
#                                 port 18097) against nginx (18098) and HAProxy (18099) with their access logs on, to
#                                 files under $RUN_DIR/s1l; the labels end in -S1L
#
# Environment: MERAPI_SHARED (default ../shared), PROXY_CPU (1), LOAD_CPU (0), MERAPI_JAVA_OPTS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${MERAPI_SHARED:-$root/../shared}"
bench="$shared/bench/proxy-bench.sh"
[ -x "$bench" ] || { echo "bench/run.sh: $bench not found (set MERAPI_SHARED)" >&2; exit 1; }

args=()
io_uring=0
s1l=0
alt_opts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) args+=(--reps 1 --duration 2 --warmup 1 --prime 2) ;;
    --io-uring) io_uring=1 ;;
    --s1l) s1l=1 ;;
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

for port in 18090 18095 18096 18097 18098 18099 18100; do
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
await_port() {  # label port log: waits for the port to listen and measures it under label, else shows the log and stops
  for _ in $(seq 100); do
    ss -ltnH "sport = :$2" | grep -q . && break
    sleep 0.1
  done
  ss -ltnH "sport = :$2" | grep -q . || { cat "$3" >&2; echo "bench/run.sh: $1 did not start" >&2; exit 1; }
  also+=(--also "$2:$1")
}
start_merapi() {  # label port [extra JVM options] [command and options...]; the command defaults to a plain proxy
  local label="$1" port="$2" opts="$3"; shift 3
  [ $# -gt 0 ] && [ "$1" = run ] || set -- proxy --listen "127.0.0.1:$port" --upstream 127.0.0.1:18080 --threads 1 "$@"
  local log; log="$(mktemp)"
  MERAPI_JAVA_OPTS="${MERAPI_JAVA_OPTS:-} $opts" taskset -c "${PROXY_CPU:-1}" "$root/merapi" "$@" >"$log" 2>&1 &
  pids+=($!)
  await_port "$label" "$port" "$log"
  head -n 3 "$log" >&2
}
start_merapi merapi 18090 ""
[ "$io_uring" = 1 ] && start_merapi merapi-io_uring 18095 "" --transport io_uring
[ -n "$alt_opts" ] && start_merapi merapi-alt 18096 "$alt_opts"
[ -n "$alt_opts" ] && echo "bench/run.sh: merapi-alt adds: $alt_opts" >&2
if [ "$s1l" = 1 ]; then
  # S1L: the same load through the gateway and the peers with their access logs on, each to a file
  run="${RUN_DIR:-/tmp/proxy-bench}"; logs="$run/s1l"
  mkdir -p "$logs" "$run/tmp"
  rm -f "$logs"/*-access.log
  cat >"$logs/merapi.yaml" <<YAML
server: {threads: 1}
listeners: [{name: bench, address: "127.0.0.1:18097"}]
upstreams: [{name: origin, backends: ["127.0.0.1:18080"]}]
routes: [{name: all, upstream: origin}]
admin: {address: "127.0.0.1:18100"}
access-log: {output: $logs/merapi-access.log, buffer: 64KiB, flush-interval: 1s}
YAML
  # the access log buffered like nginx's below: 64 KiB per write, flushed at least every second
  start_merapi merapi-S1L 18097 "" run --config "$logs/merapi.yaml"
  # nginx: the combined format, buffered (64 KiB, flushed every second)
  sed -e "s|access_log off;|access_log $logs/nginx-access.log combined buffer=64k flush=1s;|" -e 's/18091/18098/g' \
    "$shared/bench/conf/proxy.nginx.conf" >"$logs/nginx.conf"
  taskset -c "${PROXY_CPU:-1}" nginx -p "$run/" -e "$logs/nginx.err" -c "$logs/nginx.conf" -g "pid $logs/nginx.pid;" &
  pids+=($!)
  await_port nginx-S1L 18098 "$logs/nginx.err"
  # HAProxy: its HTTP log format to standard output, which goes to a file (HAProxy writes a file through no buffer
  # of its own: one write per line)
  sed -e 's/18092/18099/g' -e 's/^global$/global\n    log stdout format raw local0/' \
    -e 's/^defaults$/defaults\n    log global\n    option httplog/' "$shared/bench/conf/haproxy.cfg" >"$logs/haproxy.cfg"
  taskset -c "${PROXY_CPU:-1}" haproxy -db -f "$logs/haproxy.cfg" >"$logs/haproxy-access.log" 2>&1 &
  pids+=($!)
  await_port haproxy-S1L 18099 "$logs/haproxy-access.log"
  echo "bench/run.sh: S1L access logs in $logs (merapi-, nginx-, haproxy-access.log)" >&2
fi

"$bench" --compare --peers "nginx haproxy" "${also[@]}" "${args[@]}"
