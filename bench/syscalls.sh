#!/usr/bin/env bash
# Where a proxy's CPU goes on one scenario (S1 by default: tiny responses, 50 keep-alive connections): system calls per request,
# counted with strace, and user and system CPU time per request, read from /proc, for Merapi (epoll and
# io_uring), nginx and HAProxy behind the same origin. Counts are exact; times are as noisy as the machine.
#
#   bench/syscalls.sh [seconds]     default 10 s of load per proxy and round, 3 rounds, interleaved
#
# Environment: MERAPI_SHARED (default ../shared), PROXY_CPU (1), LOAD_CPU (0), ROUNDS (3), WARMUP (20 s per proxy),
# SCENARIO (S1; S2 is 100 KiB responses, S3 a new connection per request, as in shared/bench).
#
# FLOOR=1 adds servers that answer at once, without an upstream, to tell apart what a connection costs where:
# nginx with `return 200` (18097), the least a server on Netty's epoll (18098) and io_uring (18096) transports can
# do (accept, read, write a canned response, close), and Merapi's own HTTP/1 server with an application that
# answers at once (18099); see dev.merapi.benchmarks.ConnectionFloor. With SCENARIO=S3 it then prints how
# Merapi's extra cost per connection over nginx's divides between the transport, Merapi's HTTP/1 server and the
# proxying.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${MERAPI_SHARED:-$root/../shared}"
secs="${1:-10}"
rounds="${ROUNDS:-3}"
pcpu="${PROXY_CPU:-1}"
lcpu="${LOAD_CPU:-0}"
conf="$shared/bench/conf"
[ -d "$conf" ] || { echo "bench/syscalls.sh: $conf not found (set MERAPI_SHARED)" >&2; exit 1; }
for tool in nginx haproxy wrk strace taskset curl; do
  command -v "$tool" >/dev/null || { echo "bench/syscalls.sh: $tool is needed" >&2; exit 1; }
done

floor="${FLOOR:-0}"
if [ "$floor" = 1 ] && [ "${SCENARIO:-S1}" != S3 ]; then
  echo "bench/syscalls.sh: FLOOR=1 needs SCENARIO=S3 (the floor servers close every connection)" >&2; exit 1
fi
run="$(mktemp -d /tmp/merapi-syscalls.XXXXXX)"
mkdir -p "$run/tmp" "$run/www"
head -c 102400 /dev/urandom >"$run/www/100k.bin"  # S2's body, as shared/bench makes it
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

up() { curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/tiny"; }
wait_up() { for _ in $(seq 100); do up "$1" && return 0; sleep 0.1; done; echo "bench/syscalls.sh: nothing answers on $1" >&2; exit 1; }

ports=(18080 18091 18092 18090 18095)
[ "$floor" = 1 ] && ports+=(18096 18097 18098 18099)
for port in "${ports[@]}"; do
  if up "$port"; then echo "bench/syscalls.sh: port $port is busy; stop what listens there first" >&2; exit 1; fi
done

taskset -c "$lcpu" nginx -p "$run/" -e "$run/origin.err" -c "$conf/origin.nginx.conf" -g "pid $run/origin.pid;" &
pids+=($!)
wait_up 18080
taskset -c "$pcpu" nginx -p "$run/" -e "$run/nginx.err" -c "$conf/proxy.nginx.conf" -g "pid $run/nginx.pid;" &
pids+=($!)
taskset -c "$pcpu" haproxy -db -f "$conf/haproxy.cfg" >"$run/haproxy.log" 2>&1 &
pids+=($!)
if [ "$floor" = 1 ]; then  # built before anything runs from the build
  . "$root/bench/lib.sh"
  (cd "$root" && mvn -B -q -DskipTests package -pl merapi-benchmarks -am) >&2
  java="$(bench_java)" || { echo "bench/syscalls.sh: Java 25 or newer is needed" >&2; exit 1; }
  mapfile -t jvm_opts < <(launcher_opts "$root")
  cp="$root/merapi-benchmarks/target/merapi-benchmarks-0.1.0-SNAPSHOT.jar:$root/merapi-benchmarks/target/lib/*"
fi
"$root/merapi" --version >/dev/null
taskset -c "$pcpu" "$root/merapi" proxy --listen 127.0.0.1:18090 --upstream 127.0.0.1:18080 --threads 1 >"$run/merapi.log" 2>&1 &
pids+=($!)
taskset -c "$pcpu" "$root/merapi" proxy --listen 127.0.0.1:18095 --upstream 127.0.0.1:18080 --threads 1 \
  --transport io_uring >"$run/merapi-uring.log" 2>&1 &
pids+=($!)
if [ "$floor" = 1 ]; then
  # nginx as in shared/bench's proxy configuration, but answering from its configuration
  cat >"$run/floor.nginx.conf" <<'CONF'
worker_processes 1;
daemon off;
events { worker_connections 16384; }
http {
    access_log off;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 10000000;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:18097 backlog=4096;
        location / { default_type text/plain; return 200 "hello, world\n"; }
    }
}
CONF
  taskset -c "$pcpu" nginx -p "$run/" -e "$run/floor.err" -c "$run/floor.nginx.conf" -g "pid $run/floor.pid;" &
  pids+=($!)
  for f in "netty 127.0.0.1:18098 epoll" "netty 127.0.0.1:18096 io_uring" "merapi 127.0.0.1:18099 epoll"; do
    # shellcheck disable=SC2086
    taskset -c "$pcpu" "$java" "${jvm_opts[@]}" -cp "$cp" dev.merapi.benchmarks.ConnectionFloor $f >"$run/floor-${f%% *}-${f##* }.log" 2>&1 &
    pids+=($!)
  done
fi
for port in "${ports[@]:1}"; do wait_up "$port"; done  # all but the origin, which is up already

# the process that does the proxying: nginx's worker, HAProxy, the JVM
worker() {
  case "$1" in
    nginx) pgrep -P "$(cat "$run/nginx.pid")" | head -n 1 ;;
    haproxy) pgrep -f "haproxy -db -f $conf/haproxy.cfg" | head -n 1 ;;
    merapi) pgrep -f "listen 127.0.0.1:18090" | tail -n 1 ;;
    merapi-io_uring) pgrep -f "listen 127.0.0.1:18095" | tail -n 1 ;;
    nginx-floor) pgrep -P "$(cat "$run/floor.pid")" | head -n 1 ;;
    netty-floor) pgrep -f "ConnectionFloor netty 127.0.0.1:18098" | head -n 1 ;;
    netty-floor-io_uring) pgrep -f "ConnectionFloor netty 127.0.0.1:18096" | head -n 1 ;;
    merapi-floor) pgrep -f "ConnectionFloor merapi 127.0.0.1:18099" | head -n 1 ;;
  esac
}
declare -A port=([nginx]=18091 [haproxy]=18092 [merapi]=18090 [merapi-io_uring]=18095
  [nginx-floor]=18097 [netty-floor]=18098 [netty-floor-io_uring]=18096 [merapi-floor]=18099)
targets=(nginx haproxy merapi merapi-io_uring)
[ "$floor" = 1 ] && targets+=(nginx-floor netty-floor netty-floor-io_uring merapi-floor)

scenario="${SCENARIO:-S1}"
case "$scenario" in
  S1) wrk_args=() path=/tiny ;;
  S2) wrk_args=() path=/100k.bin ;;
  S3) wrk_args=(-H 'Connection: close') path=/tiny ;;
  *) echo "bench/syscalls.sh: SCENARIO is S1, S2 or S3" >&2; exit 1 ;;
esac
load() { taskset -c "$lcpu" wrk -t1 -c50 -d"$1"s "${wrk_args[@]}" "http://127.0.0.1:$2$path" | awk '/requests in/{print $1}'; }
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"

echo "warming up (JIT, pools)..." >&2
for t in "${targets[@]}"; do load "${WARMUP:-20}" "${port[$t]}" >/dev/null; done

out="$run/cpu.tsv"
printf 'round\tproxy\trequests\tuser_us_per_req\tsys_us_per_req\treq_per_cpu_s\n' >"$out"
for r in $(seq "$rounds"); do
  for t in "${targets[@]}"; do
    pid="$(worker "$t")"
    read -r u0 s0 < <(ticks "$pid")
    n="$(load "$secs" "${port[$t]}")"
    read -r u1 s1 < <(ticks "$pid")
    awk -v r="$r" -v t="$t" -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN {
      printf "%d\t%s\t%d\t%.2f\t%.2f\t%.0f\n", r, t, n, u / hz * 1e6 / n, s / hz * 1e6 / n, n / ((u + s) / hz) }' >>"$out"
  done
done

sys="$run/syscalls.tsv"
printf 'proxy\trequests\tsyscalls_per_req\ttop calls per request\n' >"$sys"
for t in "${targets[@]}"; do
  pid="$(worker "$t")"
  strace -c -f -p "$pid" -o "$run/strace-$t.txt" 2>/dev/null &
  spid=$!
  sleep 1
  n="$(load 4 "${port[$t]}")"
  kill -INT "$spid"; wait "$spid" 2>/dev/null || true
  # strace -c lines: % time, seconds, usecs/call, calls, [errors,] syscall; the JVM's idle housekeeping
  # threads (futex, restart_syscall) are left out, they are not the event loop's work
  awk '/^[ ]*[0-9.]+[ ]+[0-9.]+[ ]+[0-9]+[ ]+[0-9]+/ && $NF != "total" && $NF != "futex" && $NF != "restart_syscall" {
    print $NF, $4 }' "$run/strace-$t.txt" | sort -k2,2nr >"$run/calls-$t.txt"
  total="$(awk '{ s += $2 } END { print s + 0 }' "$run/calls-$t.txt")"
  top="$(head -n 5 "$run/calls-$t.txt" | awk -v n="$n" '{ printf "%s %.2f  ", $1, $2 / n }')"
  awk -v t="$t" -v n="$n" -v total="$total" -v top="$top" 'BEGIN { printf "%s\t%d\t%.2f\t%s\n", t, n, total / n, top }' >>"$sys"
done

echo "== user and system CPU per request ($scenario, $secs s per proxy and round)"
column -t -s $'\t' "$out"
echo
echo "== medians"
awk -F'\t' 'NR > 1 { u[$2] = u[$2] " " $4; s[$2] = s[$2] " " $5; q[$2] = q[$2] " " $6 }
  function med(str,   a, n, i, j, x) { n = split(str, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }; return a[int((n + 1) / 2)] }
  END { printf "%-22s %10s %10s %12s\n", "proxy", "user us", "sys us", "req/CPU-s"; for (k in u) printf "%-22s %10.2f %10.2f %12.0f\n", k, med(u[k]), med(s[k]), med(q[k]) }' "$out" | tee "$run/medians.txt"
if [ "$floor" = 1 ]; then
  echo
  echo "== where Merapi's CPU per request goes beyond nginx's (medians of user + system us per request)"
  awk 'NR > 1 { t[$1] = $2 + $3 }
    END {
      transport = t["netty-floor"] - t["nginx-floor"]; server = t["merapi-floor"] - t["netty-floor"]
      proxying = (t["merapi"] - t["merapi-floor"]) - (t["nginx"] - t["nginx-floor"])
      printf "nginx %.2f us, Merapi %.2f us: %+.2f us\n", t["nginx"], t["merapi"], t["merapi"] - t["nginx"]
      printf "  transport (Netty epoll floor %.2f us - nginx return-200 %.2f us)   %+.2f us\n", t["netty-floor"], t["nginx-floor"], transport
      printf "  Merapi HTTP/1 server (Merapi floor %.2f us - Netty floor)          %+.2f us\n", t["merapi-floor"], server
      printf "  proxying (Merapi - Merapi floor) - (nginx - nginx floor)            %+.2f us\n", proxying
      printf "  Netty io_uring floor %.2f us\n", t["netty-floor-io_uring"]
      printf "best ratio to nginx with nothing but the transport costing more than nginx: epoll %.2f, io_uring %.2f\n",
        t["nginx"] / (t["nginx"] + transport), t["nginx"] / (t["nginx"] + t["netty-floor-io_uring"] - t["nginx-floor"])
    }' "$run/medians.txt"
fi
echo
echo "== system calls per request (strace -c, 4 s of $scenario; futex and restart_syscall of idle JVM threads left out)"
column -t -s $'\t' "$sys"
echo
echo "raw files: $run" >&2
