#!/usr/bin/env bash
# Builds merapi-benchmarks and runs JMH. Arguments go to JMH, for example:
#   bench/jmh.sh                         every benchmark, with allocation per operation (-prof gc)
#   bench/jmh.sh ParseBenchmark -f 1     one class
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$root" && mvn -B -q -DskipTests package -pl merapi-benchmarks -am)
java=""
for j in "${JAVA_HOME:-/nonexistent}/bin/java" /usr/lib/jvm/temurin-2[5-9]*/bin/java; do
  if [ -x "$j" ] && "$j" -version 2>&1 | grep -q 'version "2[5-9]'; then java="$j"; break; fi
done
[ -n "$java" ] || { echo "bench/jmh.sh: Java 25 or newer is needed" >&2; exit 1; }
cp="$root/merapi-benchmarks/target/merapi-benchmarks-0.1.0-SNAPSHOT.jar:$root/merapi-benchmarks/target/lib/*"
if [ $# -eq 0 ]; then set -- -prof gc; fi
exec "$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -cp "$cp" org.openjdk.jmh.Main "$@"
