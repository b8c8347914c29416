#!/usr/bin/env bash
# Builds Merapi twice, each time in a fresh copy of the work tree at a different path, and compares the
# SHA-256 of every artifact: each module's jar, the gateway's distribution archive and the SBOMs.
# Exits 1 on any difference, listing it.
#   build/reproducible.sh [extra Maven arguments]                  two clean builds (about two package builds)
#   build/reproducible.sh --against-tree [extra Maven arguments]   one clean build, compared with the artifacts
#       already in this work tree's target/ folders (CI: right after `mvn -B verify` in a fresh clone)
set -euo pipefail
against_tree=false
if [ "${1:-}" = "--against-tree" ]; then
  against_tree=true
  shift
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/merapi-repro.XXXXXX")"
trap 'rm -rf "$work"' EXIT

build() { # $1: name of the copy, then extra Maven arguments
  local name="$1" dir="$work/$1"
  shift
  mkdir -p "$dir"
  # Every file git knows of (committed or not), nothing else: no target/, no IDE files.
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$dir"
  if ! (cd "$dir" && mvn -B -q -DskipTests "$@" package) >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    echo "reproducible: the build in $dir failed" >&2
    exit 1
  fi
  sums "$dir" >"$work/$name.sha256"
}

sums() { # SHA-256 of every artifact under the work tree $1
  (cd "$1" && find . -maxdepth 3 -path '*/target/*' -type f \
      \( -name '*.jar' -o -name '*.tar.gz' -o -name 'bom.json' -o -name 'bom.xml' \) \
      -not -path '*/target/lib/*' -print0 | sort -z | xargs -0 -r sha256sum)
}

if $against_tree; then
  sums "$root" >"$work/first.sha256"
else
  build first "$@"
fi
build second "$@"

count=$(wc -l <"$work/first.sha256")
if [ "$count" -eq 0 ]; then
  echo "reproducible: no artifact was built" >&2
  exit 1
fi
if ! diff -u "$work/first.sha256" "$work/second.sha256"; then
  echo "reproducible: the two builds differ (see above)" >&2
  exit 1
fi
echo "reproducible: $count artifacts identical in two builds"
sed 's/^/  /' "$work/first.sha256"
