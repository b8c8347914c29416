#!/usr/bin/env bash
# Builds merapi-benchmarks and runs JMH. Arguments go to JMH, for example:
#   bench/jmh.sh                         every benchmark, with allocation per operation (-prof gc)
#   bench/jmh.sh ParseBenchmark -f 1     one class
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$root" && mvn -B -q -DskipTests package -pl merapi-benchmarks -am)
. "$root/bench/lib.sh"
java="$(bench_java)" || { echo "bench/jmh.sh: Java 25 or newer is needed" >&2; exit 1; }
cp="$root/merapi-benchmarks/target/merapi-benchmarks-0.1.0-SNAPSHOT.jar:$root/merapi-benchmarks/target/lib/*"
if [ $# -eq 0 ]; then set -- -prof gc; fi
exec "$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -cp "$cp" org.openjdk.jmh.Main "$@"
