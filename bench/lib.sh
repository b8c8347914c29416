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
