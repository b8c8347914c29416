#!/usr/bin/env bash
# Scans a Merapi TLS listener with its default settings (`merapi proxy --tls-cert --tls-key`, an ECDSA P-256
# certificate made here with openssl) using sslscan, and prints a summary: the protocols it accepts and every
# cipher suite it accepts. Fails (exit 1) if a protocol below TLS 1.2 or a suite that is not an AEAD suite with
# ECDHE (or a TLS 1.3 suite) is accepted.
#
#   bench/tls-scan.sh            port 18443 on 127.0.0.1; the origin need not exist (the scan only handshakes)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${TLS_SCAN_PORT:-18443}"
for tool in sslscan openssl; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "bench/tls-scan.sh: installing sslscan openssl" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sslscan openssl >/dev/null
  }
done

work="$(mktemp -d)"
proxy_pid=""
cleanup() {
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
chmod 600 "$work/key.pem"

"$root/merapi" proxy --listen "127.0.0.1:$port" --upstream 127.0.0.1:9 --threads 1 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 300); do
  grep -q "proxy: https://" "$work/proxy.log" 2>/dev/null && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat "$work/proxy.log" >&2; exit 1; }
  sleep 0.2
done
grep -q "proxy: https://" "$work/proxy.log" || { echo "bench/tls-scan.sh: the proxy did not start" >&2; cat "$work/proxy.log" >&2; exit 1; }

sslscan --no-colour --no-heartbleed --show-sigs "127.0.0.1:$port" >"$work/scan.txt" 2>&1 || true
grep -o "TLS with .*" "$work/proxy.log" | head -1 | sed 's/^/merapi: /'

echo "== protocols"
sed -n '/SSL\/TLS Protocols:/,/^$/p' "$work/scan.txt" | tail -n +2
echo "== accepted cipher suites"
accepted="$(grep -E '^(Preferred|Accepted)' "$work/scan.txt" || true)"
echo "$accepted"
echo "== key exchange groups"
sed -n '/Server Key Exchange Group/,/^$/p' "$work/scan.txt" | tail -n +2

bad=0
if sed -n '/SSL\/TLS Protocols:/,/^$/p' "$work/scan.txt" | grep -E '^(SSLv2|SSLv3|TLSv1\.0|TLSv1\.1) +enabled' ; then
  echo "FAIL: a protocol below TLS 1.2 is enabled"; bad=1
fi
weak="$(echo "$accepted" | grep -vE 'TLS_AES_|TLS_CHACHA20_|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM|CHACHA20-POLY1305)' || true)"
if [ -n "$weak" ]; then
  echo "FAIL: weak suites accepted:"; echo "$weak"; bad=1
fi
[ "$bad" = 0 ] && echo "OK: only TLS 1.2 and 1.3, only ECDHE AEAD suites (and the TLS 1.3 suites)"
exit "$bad"
