#!/usr/bin/env bash
# Soak test: `./merapi proxy` in front of a small Python origin, all on 127.0.0.1, under mixed traffic for a while
# (keep-alive, Connection: close, 4 MiB uploads and downloads, chunked both ways, storms of one-byte chunks both ways,
# client aborts mid-body, an origin that resets and one that closes early, requests the proxy rejects, pipelining floods). After a
# warm-up (a fifth of the run, at least 20 s) it samples the proxy's RSS, live heap (jcmd GC.class_histogram, which
# collects first) and open file descriptors, then checks: no unexpected error; RSS, live heap and fds flat (the median
# of the last quarter of the samples within max(10 %, 16 MiB / 4 MiB / 8 fds) of the first quarter's); the fds back
# near idle after the load; and no Netty "LEAK:" in the proxy's output (the proxy runs with paranoid leak detection).
#
#   soak/run.sh [seconds]     default 600; CI runs `soak/run.sh 60`
#
# Environment: SOAK_WORKERS (client threads, default 4), MERAPI_JAVA_OPTS (added after the leak-detection flag).
# Exits 0 when every check passes, 1 otherwise. Writes its logs to a temporary directory it names at the end.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-600}"
workers="${SOAK_WORKERS:-4}"
case "$seconds" in ''|*[!0-9]*) echo "usage: soak/run.sh [seconds]" >&2; exit 2 ;; esac
[ "$seconds" -ge 30 ] || { echo "soak/run.sh: run at least 30 s (warm-up and samples)" >&2; exit 2; }
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"

work="$(mktemp -d /tmp/merapi-soak.XXXXXX)"
origin_pid=""
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "$origin_pid" ] && kill -TERM "$origin_pid" 2>/dev/null && wait "$origin_pid" 2>/dev/null
}
trap cleanup EXIT

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_listening() { # port pid log
  for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  cat "$3" >&2
  return 1
}

# build (if needed) in the foreground, so that the start below is quick
"$root/merapi" --version >/dev/null || { echo "soak/run.sh: the build failed" >&2; exit 1; }

"$python" "$root/soak/soak.py" origin "$work/origin.port" >"$work/origin.log" 2>&1 &
origin_pid=$!
for _ in $(seq 100); do [ -s "$work/origin.port" ] && break; sleep 0.1; done
origin_port="$(cat "$work/origin.port" 2>/dev/null)"
[ -n "$origin_port" ] || { cat "$work/origin.log" >&2; echo "soak/run.sh: the origin did not start" >&2; exit 1; }

proxy_port="$(free_port)"
MERAPI_JAVA_OPTS="-Dio.netty.leakDetection.level=paranoid ${MERAPI_JAVA_OPTS:-}" \
  "$root/merapi" proxy --listen "127.0.0.1:$proxy_port" --upstream "127.0.0.1:$origin_port" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_listening "$proxy_port" "$proxy_pid" "$work/proxy.log" || { echo "soak/run.sh: the proxy did not start" >&2; exit 1; }

# jcmd of the JDK the proxy runs on (the launcher execs java, so the pid is the JVM's)
jcmd="$(dirname "$(readlink -f "/proc/$proxy_pid/exe")")/jcmd"
[ -x "$jcmd" ] || { echo "soak/run.sh: no jcmd next to $(readlink -f "/proc/$proxy_pid/exe")" >&2; exit 1; }

echo "soak/run.sh: ${seconds} s through 127.0.0.1:$proxy_port (proxy pid $proxy_pid) to origin 127.0.0.1:$origin_port; logs in $work"
timeout $((seconds + 180)) "$python" "$root/soak/soak.py" drive --proxy "$proxy_port" --pid "$proxy_pid" \
  --seconds "$seconds" --workers "$workers" --jcmd "$jcmd" | tee "$work/summary.txt"
status=${PIPESTATUS[0]}

kill -TERM "$proxy_pid" 2>/dev/null
wait "$proxy_pid" 2>/dev/null
proxy_pid=""
if grep -q 'LEAK:' "$work/proxy.log"; then
  grep -m 5 -A 3 'LEAK:' "$work/proxy.log"
  echo "soak: FAILED: Netty reported a buffer leak (LEAK:) in $work/proxy.log"
  status=1
fi
events="$(grep -c -E 'security-event(s-suppressed)? ' "$work/proxy.log")"
errors="$(grep -E ' (ERROR|WARN) ' "$work/proxy.log" | grep -c -v -E 'security-event(s-suppressed)? ')"
echo "soak: proxy log: $(wc -l <"$work/proxy.log") lines: $events security-event lines (rate-limited), $errors other WARN/ERROR"
if [ "$status" -eq 0 ]; then echo "soak: PASSED"; else echo "soak: FAILED (logs in $work)"; fi
exit "$status"
