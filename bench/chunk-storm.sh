#!/usr/bin/env bash
# What a chunk storm costs a proxy: a body of 1,000,000 one-byte chunks (6 MB on the wire for 1 MB of data),
# uploaded by a client (up) and sent by an origin (down), through Merapi and through nginx in the same run. For
# each body it reads the proxy's CPU time (user + system, /proc/<pid>/stat) before and after, and prints the median,
# minimum and maximum over the repetitions, and Merapi's median over nginx's. Every body is checked byte for byte.
#
#   bench/chunk-storm.sh [reps]      default 5 measured bodies per proxy and direction, after 3 unmeasured ones
#
# Merapi runs as users run it (`./merapi proxy ... --threads 1`); nginx with shared/bench's proxy configuration.
# The origin and the client are bench/chunk_storm.py. Environment: MERAPI_SHARED (default ../shared), PROXY_CPU (1)
# pins both proxies, WARMUP (3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reps="${1:-5}"
warmup="${WARMUP:-3}"
pcpu="${PROXY_CPU:-1}"
shared="${MERAPI_SHARED:-$root/../shared}"
conf="$shared/bench/conf"
[ -f "$conf/proxy.nginx.conf" ] || { echo "bench/chunk-storm.sh: $conf not found (set MERAPI_SHARED)" >&2; exit 1; }
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
origin_port=18081 nginx_port=18091 merapi_port=18090
for tool in nginx taskset; do
  command -v "$tool" >/dev/null || { echo "bench/chunk-storm.sh: $tool is needed (apt-get install -y nginx-light util-linux)" >&2; exit 1; }
done
for port in $origin_port $nginx_port $merapi_port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench/chunk-storm.sh: port $port is busy; stop what listens there first" >&2; exit 1
  fi
done

run="$(mktemp -d /tmp/merapi-chunk-storm.XXXXXX)"
mkdir -p "$run/tmp"
chmod 755 "$run" && chmod 1777 "$run/tmp"  # nginx's workers (nobody) keep a large request body in a temporary file
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_up() {
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench/chunk-storm.sh: nothing listens on $1; logs in $run" >&2; exit 1
}

# nginx exactly as in shared/bench's proxy configuration, in front of this script's origin
sed "s/127\.0\.0\.1:18080;/127.0.0.1:$origin_port;/" "$conf/proxy.nginx.conf" >"$run/nginx.conf"
grep -q "127.0.0.1:$origin_port;" "$run/nginx.conf" || { echo "bench/chunk-storm.sh: no origin in $conf/proxy.nginx.conf" >&2; exit 1; }

"$python" "$root/bench/chunk_storm.py" origin $origin_port >"$run/origin.log" 2>&1 &
pids+=($!)
taskset -c "$pcpu" nginx -p "$run/" -e "$run/nginx.err" -c "$run/nginx.conf" -g "pid $run/nginx.pid;" &
pids+=($!)
"$root/merapi" --version >/dev/null
taskset -c "$pcpu" "$root/merapi" proxy --listen 127.0.0.1:$merapi_port --upstream 127.0.0.1:$origin_port \
  --threads 1 >"$run/merapi.log" 2>&1 &
merapi_pid=$!
pids+=($merapi_pid)
for port in $origin_port $nginx_port $merapi_port; do wait_up $port; done
nginx_pid="$(pgrep -P "$(cat "$run/nginx.pid")" | head -n 1)"

echo "bench/chunk-storm.sh: 1,000,000 one-byte chunks per body; $reps measured after $warmup unmeasured, per proxy and direction"
echo "proxy   direction  cpu-s median   min     max    (chunks the client got, down)"
declare -A median
for direction in up down; do
  for proxy in merapi nginx; do
    case $proxy in merapi) port=$merapi_port pid=$merapi_pid ;; nginx) port=$nginx_port pid=$nginx_pid ;; esac
    "$python" "$root/bench/chunk_storm.py" measure --port "$port" --pid "$pid" --direction $direction \
      --reps "$reps" --warmup "$warmup" >"$run/$proxy-$direction.txt"
    read -r med min max chunks < <(sort -n "$run/$proxy-$direction.txt" | awk '
      { v[NR] = $1; c = $2 } END { printf "%.3f %.3f %.3f %d\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR], c }')
    median[$proxy-$direction]=$med
    printf "%-7s %-10s %8s %7s %7s    %s\n" $proxy $direction "$med" "$min" "$max" "$([ $direction = down ] && echo "$chunks")"
  done
  awk -v m="${median[merapi-$direction]}" -v n="${median[nginx-$direction]}" -v d=$direction \
    'BEGIN { if (n > 0) printf "merapi/nginx %-4s %.2fx\n", d, m / n; else printf "merapi/nginx %-4s (nginx median 0)\n", d }'
done
echo "logs in $run"
