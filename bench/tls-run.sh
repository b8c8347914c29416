#!/usr/bin/env bash
# TLS scenarios, Merapi against nginx and HAProxy in one run, each terminating TLS 1.3 with the same ECDSA P-256
# certificate in front of the same plain nginx origin, the proxy pinned to one core:
#   T1  keep-alive requests over TLS (wrk, 50 connections, like S1)
#   T3  a new TLS connection for every request (wrk with Connection: close; wrk resumes no session)
# For T3 the client limits the request rate, so compare requests per proxy CPU-second (req_per_cpu_s).
#
#   bench/tls-run.sh                 3 repetitions of 10 s per scenario and proxy
#   bench/tls-run.sh --smoke         1 repetition of 3 s
#   bench/tls-run.sh --reps N --duration S
#
# Environment: PROXY_CPU (1), LOAD_CPU (0), MERAPI_JAVA_OPTS. Results: a table on stdout and $TLS_BENCH_OUT/tls-*.tsv (default /tmp/merapi-tls-bench).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
bench_options bench/tls-run.sh "$@"
proxy_cpu="${PROXY_CPU:-1}" load_cpu="${LOAD_CPU:-0}"
bench_install "nginx haproxy wrk openssl taskset" nginx-light haproxy wrk openssl util-linux

bench_workdir
bench_cert "$work"

bench_origin_conf "$work" 18480
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx/nginx.pid; error_log $work/nginx/logs/error.log crit;
events { worker_connections 4096; }
http { access_log off; upstream o { server 127.0.0.1:18480; keepalive 64; }
  server { listen 127.0.0.1:18482 ssl; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off; keepalive_requests 1000000;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
bench_haproxy_head > "$work/haproxy.cfg"
cat >> "$work/haproxy.cfg" <<CONF
frontend f
  bind 127.0.0.1:18483 ssl crt $work/haproxy.pem ssl-min-ver TLSv1.3 no-tls-tickets
  default_backend b
backend b
  server o 127.0.0.1:18480
CONF

"$root/merapi" --version >/dev/null  # builds Merapi first if needed, unpinned and outside the start-up wait
bench_start_peers "$proxy_cpu"
taskset -c "$proxy_cpu" "$root/merapi" proxy --listen 127.0.0.1:18481 --upstream 127.0.0.1:18480 --threads 1 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/merapi.log" 2>&1 & pids+=($!)
for _ in $(seq 1 300); do grep -q "proxy: https://" "$work/merapi.log" 2>/dev/null && break; sleep 0.2; done
for port in 18480 18482 18483; do
  [ -n "$(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | head -1)" ] || { echo "nothing listens on $port" >&2; cat "$work/haproxy.log" >&2; exit 1; }
done
grep -q "proxy: https://" "$work/merapi.log" || { echo "Merapi did not start" >&2; cat "$work/merapi.log" >&2; exit 1; }
sleep 1

# the process that serves a port: its CPU ticks (user + system, children excluded) and peak RSS
port_pid() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

out="${TLS_BENCH_OUT:-/tmp/merapi-tls-bench}"
mkdir -p "$out"
tsv="$out/tls-$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'proxy\tscenario\trep\trps\tp99_ms\tcpu_s\treq_per_cpu_s\thwm_kb\terrors\n' > "$tsv"

load() { # scenario port seconds
  local extra=()
  [ "$1" = T3 ] && extra=(-H "Connection: close")
  nice -n 0 taskset -c "$load_cpu" wrk -t1 -c50 -d"$3"s --latency "${extra[@]}" "https://127.0.0.1:$2/tiny"
}

for rep in $(seq 1 "$reps"); do
  for sc in T1 T3; do
    for target in merapi:18481 nginx:18482 haproxy:18483; do
      name="${target%%:*}" port="${target##*:}" pid="$(port_pid "$port")"
      load "$sc" "$port" "$warm" >/dev/null 2>&1 || true
      t0=$(ticks "$pid")
      res="$(load "$sc" "$port" "$dur" 2>&1 || true)"
      t1=$(ticks "$pid")
      rps=$(echo "$res" | awk '/Requests\/sec/ {print $2}')
      reqs=$(echo "$res" | awk '/requests in/ {print $1}')
      p99=$(echo "$res" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}')
      errs=$(echo "$res" | awk '/Socket errors/ {gsub(/,/,""); s=$4+$6+$8+$10} /Non-2xx/ {n=$NF} END {print s+n+0}')
      cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b-a)/hz}')
      per=$(awk -v r="${reqs:-0}" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? r / c : 0)}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$sc" "$rep" "${rps:-0}" "${p99:-}" "$cpu" "$per" "$(hwm_kb "$pid")" "$errs" >> "$tsv"
    done
  done
done

echo "results: $tsv"
printf "%-8s %-3s %10s %14s %17s %9s %7s\n" proxy sc req/s req/cpu-s "(min-max)" hwm_kb errors
awk -F'\t' 'NR==1 {next} {k=$1" "$2; n[k]++; s[k]+=$7; r[k]+=$4; if (!(k in lo) || $7<lo[k]) lo[k]=$7; if ($7>hi[k]) hi[k]=$7; e[k]+=$9; h[k]=$8}
  END {for (k in n) {split(k, a, " "); printf "%-8s %-3s %10.0f %14.0f %8.0f-%-8.0f %9s %7d\n", a[1], a[2], r[k]/n[k], s[k]/n[k], lo[k], hi[k], h[k], e[k]}}' "$tsv" | sort -k2,2 -k1,1
