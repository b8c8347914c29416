# Helpers shared by the bench/ scripts; sourced, not run.

# A Java 25 or newer, or nothing
bench_java() {
  local j
  for j in "${JAVA_HOME:-/nonexistent}/bin/java" /usr/lib/jvm/temurin-2[5-9]*/bin/java; do
    if [ -x "$j" ] && "$j" -version 2>&1 | grep -q 'version "2[5-9]'; then echo "$j"; return 0; fi
  done
  return 1
}

# The JVM flags the launcher gives Merapi, one per line, read from ./merapi itself so that they cannot drift
launcher_opts() {
  sed -n '/^default_opts=(/,/^)/p' "$1/merapi" | sed '1d;$d' | awk '{ for (i = 1; i <= NF; i++) print $i }'
}

# Installs the Debian packages $2.. (one apt-get) unless every tool of the space-separated list $1 is on PATH
bench_install() {
  local tools="$1" tool; shift
  for tool in $tools; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "bench: installing $*" >&2
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
      return
    }
  done
}

# A new working directory in $work, and a trap that stops the processes of the array $pids, then removes it
bench_workdir() {
  work="$(mktemp -d)"
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# One ECDSA P-256 certificate for localhost in $1: cert.pem, key.pem, and haproxy.pem (both in one file)
bench_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
    -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
  chmod 600 "$1/key.pem"
  cat "$1/cert.pem" "$1/key.pem" > "$1/haproxy.pem"
}

# The origin's nginx.conf in $1/origin: one worker on 127.0.0.1:$2, /tiny answers "ok\n" over keep-alive
bench_origin_conf() {
  mkdir -p "$1/origin/logs"
  cat > "$1/origin/nginx.conf" <<CONF
worker_processes 1; pid $1/origin/nginx.pid; error_log $1/origin/logs/error.log crit;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$2 reuseport; keepalive_requests 1000000;
  location /tiny { return 200 "ok\n"; } } }
CONF
}

# The options of the bench/*-run.sh scripts, for the script named $1: --smoke (one repetition of 3 s after 1 s of
# warm-up), --reps N, --duration S; sets reps, dur and warm (default 3 repetitions of 10 s after 3 s)
bench_options() {
  local name="$1"; shift
  reps=3 dur=10 warm=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --smoke) reps=1 dur=3 warm=1 ;;
      --reps) reps="$2"; shift ;;
      --duration) dur="$2"; shift ;;
      *) echo "$name: unknown option $1" >&2; exit 2 ;;
    esac
    shift
  done
}

# The global and defaults sections of a HAProxy configuration, as the bench scripts run it: one thread, HTTP mode,
# server connections reused; the script appends its frontends and backend
bench_haproxy_head() {
  cat <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
CONF
}

# Starts the origin (unpinned), and nginx and HAProxy as proxies pinned to CPU $1, from their files in $work; their
# process ids go to $pids
bench_start_peers() {
  nginx -p "$work/origin" -c "$work/origin/nginx.conf" -g 'daemon off;' & pids+=($!)
  taskset -c "$1" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)
  taskset -c "$1" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 & pids+=($!)
}
