#!/usr/bin/env bash
# HTTP/2 front scenarios, Merapi against nghttpx, HAProxy and nginx in one run, interleaved, each proxy pinned to one
# core with one worker, forwarding over HTTP/1.1 keep-alive to the same plain nginx origin (small responses):
#   H1  h2c with prior knowledge: h2load, 50 connections x 10 concurrent streams, one thread
#   H2  the same over TLS 1.3 (ALPN h2), one ECDSA P-256 certificate for all
# Compare requests per proxy CPU-second (req_per_cpu_s): in H1 both cores are busy, so the proxy's efficiency shows as
# fewer CPU-seconds per request rather than as more req/s.
# p99 is the 99th percentile of h2load's per-request times (--log-file: request start to end of its response).
# A proxy that does not negotiate h2 by ALPN is not measured in H2 and the table says so.
#
#   bench/h2-run.sh                 3 repetitions of 10 s per scenario and proxy
#   bench/h2-run.sh --smoke         1 repetition of 3 s
#   bench/h2-run.sh --reps N --duration S
#
# Environment: PROXY_CPU (1), LOAD_CPU (0), MERAPI_JAVA_OPTS. Results: a table on stdout and $H2_BENCH_OUT/h2-*.tsv
# (default /tmp/merapi-h2-bench).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
bench_options bench/h2-run.sh "$@"
proxy_cpu="${PROXY_CPU:-1}" load_cpu="${LOAD_CPU:-0}"
bench_install "nginx haproxy h2load nghttpx openssl taskset ss" nginx-light haproxy nghttp2-client nghttp2-proxy \
  openssl util-linux iproute2

bench_workdir
bench_cert "$work"

# ports: origin 18580; h2c (H1) merapi 18581 nginx 18582 haproxy 18583 nghttpx 18584; TLS (H2) 18591..18594
bench_origin_conf "$work" 18580
mkdir -p "$work/nginx/logs"
# nginx 1.22 turns HTTP/2 on with "listen ... http2"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx/nginx.pid; error_log $work/nginx/logs/error.log crit;
events { worker_connections 4096; }
http { access_log off; upstream o { server 127.0.0.1:18580; keepalive 64; }
  keepalive_requests 1000000;
  server { listen 127.0.0.1:18582 http2;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:18592 ssl http2; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off;
    location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
bench_haproxy_head > "$work/haproxy.cfg"
cat >> "$work/haproxy.cfg" <<CONF
frontend h2c
  bind 127.0.0.1:18583 proto h2
  default_backend b
frontend h2
  bind 127.0.0.1:18593 ssl crt $work/haproxy.pem ssl-min-ver TLSv1.3 no-tls-tickets alpn h2
  default_backend b
backend b
  server o 127.0.0.1:18580
CONF

"$root/merapi" --version >/dev/null  # builds Merapi first if needed, unpinned and outside the start-up wait
bench_start_peers "$proxy_cpu"
# nghttpx: one worker; HTTP/1.1 to the origin (its default backend protocol), no TLS on the h2c frontend
taskset -c "$proxy_cpu" nghttpx --workers=1 --no-ocsp --no-via --errorlog-file="$work/nghttpx.log" \
  --frontend='127.0.0.1,18584;no-tls' --frontend='127.0.0.1,18594' --backend='127.0.0.1,18580;;proto=http/1.1' \
  --tls-min-proto-version=TLSv1.3 --no-server-push "$work/key.pem" "$work/cert.pem" >/dev/null 2>&1 & pids+=($!)
# Merapi: h2c with prior knowledge is on by default on a plain listener
taskset -c "$proxy_cpu" "$root/merapi" proxy --listen 127.0.0.1:18581 --upstream 127.0.0.1:18580 --threads 1 \
  >"$work/merapi.log" 2>&1 & pids+=($!)
taskset -c "$proxy_cpu" "$root/merapi" proxy --listen 127.0.0.1:18591 --upstream 127.0.0.1:18580 --threads 1 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/merapi-tls.log" 2>&1 & pids+=($!)
for _ in $(seq 1 300); do
  grep -q "proxy: http://" "$work/merapi.log" 2>/dev/null && grep -q "proxy: https://" "$work/merapi-tls.log" 2>/dev/null && break
  sleep 0.2
done
grep -q "proxy: http://" "$work/merapi.log" || { echo "Merapi (h2c) did not start" >&2; cat "$work/merapi.log" >&2; exit 1; }
grep -q "proxy: https://" "$work/merapi-tls.log" || { echo "Merapi (TLS) did not start" >&2; cat "$work/merapi-tls.log" >&2; exit 1; }

# every process that holds a port's listening socket (nginx and nghttpx: master and worker)
port_pids() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }
for port in 18580 18581 18582 18583 18584 18591 18592 18593 18594; do
  for _ in $(seq 1 50); do [ -n "$(port_pids "$port")" ] && break; sleep 0.2; done
  [ -n "$(port_pids "$port")" ] || { echo "nothing listens on $port" >&2; cat "$work/haproxy.log" "$work/nghttpx.log" >&2; exit 1; }
done
sleep 1

# CPU ticks (user + system, children excluded) and peak RSS, summed over those processes
ticks() { local t=0 p; for p in $1; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hwm_kb() { local k=0 p; for p in $1; do k=$((k + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done; echo "$k"; }
hz=$(getconf CLK_TCK)

out="${H2_BENCH_OUT:-/tmp/merapi-h2-bench}"
mkdir -p "$out"
stamp="h2-$(date -u +%Y%m%dT%H%M%SZ)"
tsv="$out/$stamp.tsv"
printf 'proxy\tscenario\trep\trps\tp99_ms\tcpu_s\treq_per_cpu_s\thwm_kb\terrors\tnote\n' > "$tsv"

load() { # scenario port seconds [log file]
  local url="http://127.0.0.1:$2/tiny" extra=()
  [ "$1" = H2 ] && url="https://127.0.0.1:$2/tiny" extra=(--npn-list=h2)  # h2load 1.52 sets the ALPN list with --npn-list
  [ -n "${4:-}" ] && extra+=(--log-file="$4")
  # h2load 1.52 can hang at the end of a timed run whose connections failed: bounded here
  timeout -k 5 $(($3 + 30)) taskset -c "$load_cpu" h2load -c 50 -m 10 -t 1 -D "$3" "${extra[@]}" "$url"
}

for rep in $(seq 1 "$reps"); do
  for sc in H1 H2; do
    for name in merapi nginx haproxy nghttpx; do
      case "$name" in merapi) port=18581 ;; nginx) port=18582 ;; haproxy) port=18583 ;; nghttpx) port=18584 ;; esac
      [ "$sc" = H2 ] && port=$((port + 10))
      procs="$(port_pids "$port")"
      load "$sc" "$port" "$warm" >/dev/null 2>&1 || true
      t0=$(ticks "$procs")
      res="$(load "$sc" "$port" "$dur" "$work/lat.tsv" 2>&1 || true)"
      t1=$(ticks "$procs")
      echo "$res" > "$out/$stamp-$name-$sc-$rep.txt"  # h2load's own report, kept beside the table
      note=""
      want=h2c
      [ "$sc" = H2 ] && want=h2
      if ! echo "$res" | grep -q "^Application protocol: $want\$"; then
        # over TLS h2load offers h2 only: a proxy that does not select it by ALPN serves nothing here
        note="no $want negotiated"
      fi
      rps=$(echo "$res" | awk '/^finished in/ {gsub(/,/, ""); print $4}')
      ok=$(echo "$res" | awk '/^requests:/ {gsub(/,/, ""); print $8}')
      # failed, errored and timed-out requests, and any status other than 2xx
      errs=$(echo "$res" | awk '/^requests:/ {gsub(/,/, ""); f=$10+$12+$14} /^status codes:/ {gsub(/,/, ""); s=$5+$7+$9}
        END {print f+s+0}')
      p99=""
      if [ -s "$work/lat.tsv" ]; then
        p99=$(awk -F'\t' '$2 >= 200 {print $3}' "$work/lat.tsv" | sort -n |
          awk '{v[NR]=$1} END {if (NR) {i=int(NR*0.99); if (i < NR*0.99) i++; printf "%.2f", v[i]/1000}}')
      fi
      rm -f "$work/lat.tsv"
      cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b-a)/hz}')
      per=$(awk -v r="${ok:-0}" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? r / c : 0)}')
      [ "${errs:-0}" -gt 0 ] && note="${note:+$note; }$errs requests failed"
      if [ -z "$note" ] && [ "${ok:-0}" -eq 0 ]; then
        note="no request completed"
        errs=$(echo "$res" | awk '/^requests:/ {gsub(/,/, ""); print $4}')  # every request started counts as failed
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$sc" "$rep" "${rps:-0}" "${p99:-}" "$cpu" "$per" \
        "$(hwm_kb "$procs")" "${errs:-0}" "$note" >> "$tsv"
    done
  done
done

echo "results: $tsv"
printf "%-8s %-3s %10s %10s %17s %8s %9s %7s  %s\n" proxy sc req/s req/cpu-s "(min-max)" p99_ms hwm_kb errors note
awk -F'\t' 'NR==1 {next} {k=$1" "$2; n[k]++; s[k]+=$7; r[k]+=$4; if (!(k in lo) || $7<lo[k]) lo[k]=$7; if ($7>hi[k]) hi[k]=$7
    e[k]+=$9; h[k]=$8; if ($5 != "" && $5 > p[k]) p[k]=$5; if ($10 != "") note[k]=$10}
  END {for (k in n) {split(k, a, " "); printf "%-8s %-3s %10.0f %10.0f %8.0f-%-8.0f %8s %9s %7d  %s\n", a[1], a[2], r[k]/n[k],
    s[k]/n[k], lo[k], hi[k], (k in p ? p[k] : "-"), h[k], e[k], note[k]}}' "$tsv" | sort -k2,2 -k1,1
if awk -F'\t' 'NR > 1 && $9 > 0 {bad=1} END {exit !bad}' "$tsv"; then
  echo "bench/h2-run.sh: some requests failed (errors column): those runs do not count" >&2
fi
