#!/usr/bin/env bash
# Fuzzes the @FuzzTests of merapi-http (and merapi-core's TLS inputs) with Jazzer, one target after another (libFuzzer fuzzes one per JVM).
#
#   fuzz/run.sh [minutes-per-target] [target-substring]
#   fuzz/run.sh 5                    # every target, 5 minutes each
#   fuzz/run.sh 10 parseRequest      # one target
#   fuzz/run.sh 2 TlsInputs          # the PEM and server-name targets of merapi-core
#
# Instrumentation is limited to Merapi and Netty's codec packages: instrumenting the rest of Netty trips Jazzer's
# Unsafe hooks. A finding stops that target, is written as crash-<sha1> into the target's Inputs directory under
# merapi-http/src/test/resources (so the plain build replays it from then on), and makes this script exit non-zero.
# The corpus Jazzer grows stays in merapi-http/.cifuzz-corpus (not committed). Figures: fuzz/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-5}"
only="${2:-}"
targets=(
  Http1RequestFuzzTest#parseRequest
  Http1ResponseFuzzTest#parseResponse
  ChunkedDecoderFuzzTest#decode
  HeaderFieldFuzzTest#fieldLine
  HeaderFieldFuzzTest#headersModel
  HeaderFieldFuzzTest#hopByHop
  HeadSetterFuzzTest#fieldSetters
  HeadSetterFuzzTest#startLineSetters
  RequestTargetFuzzTest#requestTarget
  RequestTargetFuzzTest#validHost
  merapi-core:dev.merapi.core.tls.TlsInputsFuzzTest#pem
  merapi-core:dev.merapi.core.tls.TlsInputsFuzzTest#serverName
  merapi-core:dev.merapi.core.protocols.http2.Http2FramesFuzzTest#frames
)

export JAZZER_INSTRUMENTATION_INCLUDES='dev.merapi.**:io.netty.handler.codec.**'
export JAZZER_CUSTOM_HOOK_INCLUDES="$JAZZER_INSTRUMENTATION_INCLUDES"
mkdir -p fuzz/logs
mvn -B -q -pl merapi-http,merapi-core -am test-compile || exit 1

status=0
for target in "${targets[@]}"; do
  [[ -n "$only" && "$target" != *"$only"* ]] && continue
  module=merapi-http test="dev.merapi.http.fuzz.$target"
  if [[ "$target" == *:* ]]; then # module:fully.qualified.Class#method
    module="${target%%:*}" test="${target#*:}" target="${test##*.}"
  fi
  log="fuzz/logs/${target/\#/.}.log"
  echo "== $target: ${minutes}m (log: $log)"
  mvn -B -pl "$module" -am -Pfuzz test \
      -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
      -Djazzer.max_duration="${minutes}m" >"$log" 2>&1
  rc=$?
  # libFuzzer's last status line: "#<runs> DONE cov: ... exec/s: ..." (or the last pulse if it stopped early)
  grep -E '^#[0-9]+' "$log" | tail -1
  grep -E 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1
  if [[ $rc -ne 0 ]]; then
    echo "   FINDING or failure (exit $rc): see $log" >&2
    status=1
  fi
done
exit "$status"
