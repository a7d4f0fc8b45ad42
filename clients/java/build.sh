#!/usr/bin/env bash
# Builds the Lars Java client with the JDK alone: javac, then jar, into build/clients/java of the
# repository (lars-client.jar). Usage: clients/java/build.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../build/clients/java}"
mkdir -p "$out"
rm -rf "$out/classes"
# --release 11: the jar runs on any Java >= 11, whatever JDK builds it.
javac --release 11 -Xlint:all -Werror -d "$out/classes" $(find "$here/src" -name '*.java')
jar --create --file "$out/lars-client.jar" -C "$out/classes" .
echo "$out/lars-client.jar"
