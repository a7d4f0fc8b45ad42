#!/usr/bin/env bash
# Builds the Lars Java client with the JDK alone: javac, then jar, into build/clients/java of the
# repository (lars-client.jar). Usage: clients/java/build.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../build/clients/java}"
mkdir -p "$out"
# Classes and jar are made aside and the jar renamed into place, so that two builds at once (or a
# JVM reading the jar meanwhile) never see half a jar.
work="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# --release 11: the jar runs on any Java >= 11, whatever JDK builds it.
javac --release 11 -Xlint:all -Werror -d "$work/classes" $(find "$here/src" -name '*.java')
jar --create --file "$work/lars-client.jar" -C "$work/classes" .
mv -f "$work/lars-client.jar" "$out/lars-client.jar"
echo "$out/lars-client.jar"
