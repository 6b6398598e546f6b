#!/usr/bin/env bash
# Packs the solution and checks the packages: exactly the five libraries users reference, each with README.md,
# its assembly, the Apache-2.0 license expression and one version; no package for an executable.
# Usage: tools/check-pack.sh [output folder]   (default: a temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
[[ $# -ge 1 ]] || trap 'rm -rf "$out"' EXIT
rm -f "$out"/*.nupkg
log=$(dotnet pack VisualGen.sln -c Release -o "$out" 2>&1) || { echo "$log"; echo "check-pack: dotnet pack failed"; exit 1; }
if grep -Ei ': (warning|error) ' <<<"$log"; then echo "check-pack: dotnet pack printed warnings or errors"; exit 1; fi
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
expected="VisualGen VisualGen.Engines.Cuda VisualGen.Engines.OnnxRuntime VisualGen.Exporter VisualGen.Runtime"
actual=$(cd "$out" && ls *.nupkg | sed "s/\.$version\.nupkg\$//" | sort | xargs)
[[ "$actual" == "$expected" ]] || { echo "check-pack: packages '$actual', expected '$expected' (version $version)"; exit 1; }
for id in $expected; do
  pkg="$out/$id.$version.nupkg"
  files=$(unzip -Z1 "$pkg")
  grep -qx README.md <<<"$files" || { echo "check-pack: $id has no README.md"; exit 1; }
  grep -qx "lib/net10.0/$id.dll" <<<"$files" || { echo "check-pack: $id has no lib/net10.0/$id.dll"; exit 1; }
  unzip -p "$pkg" "$id.nuspec" | grep -q '<license type="expression">Apache-2.0</license>' || { echo "check-pack: $id has no Apache-2.0 license"; exit 1; }
done
echo "check-pack: ok: $expected ($version) in $out"
