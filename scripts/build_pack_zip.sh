#!/usr/bin/env bash
# Builds the uploadable pack zip(s) with demisto-sdk prepare-content (run by `make zip`, which puts
# .venv/bin on PATH): out/<Pack>.zip holds the unified integration and scripts (code, image,
# description and the API modules they import inlined) and the pack's other content.
#
# Usage: scripts/build_pack_zip.sh [PACK ...]   (default: CertStream; output folder: $OUT or out/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/out}

if ! command -v demisto-sdk >/dev/null 2>&1; then
  echo "build_pack_zip.sh: demisto-sdk is not on PATH; run 'make zip' (installs it into .venv)" >&2
  exit 2
fi
export DEMISTO_SDK_LOG_FILE_PATH="$ROOT/.demisto-sdk-logs"
export DEMISTO_SDK_IGNORE_CONTENT_WARNING=1
mkdir -p "$DEMISTO_SDK_LOG_FILE_PATH" "$OUT"  # prepare-content writes a FILE named like -o when the folder is missing

packs=("$@")
[ ${#packs[@]} -gt 0 ] || packs=(CertStream)
for pack in "${packs[@]}"; do
  pack=${pack#Packs/}; pack=${pack%/}
  if [ ! -f "Packs/$pack/pack_metadata.json" ]; then
    echo "build_pack_zip.sh: no pack at Packs/$pack" >&2
    exit 2
  fi
  rm -f "$OUT/$pack.zip"
  demisto-sdk prepare-content -i "Packs/$pack" -o "$OUT" 2>&1 | grep -v -e 'Could not find remote' -e 'landing_page' -e 'landingPage_sections' || true
  if [ ! -s "$OUT/$pack.zip" ]; then
    echo "build_pack_zip.sh: $OUT/$pack.zip was not built" >&2
    exit 1
  fi
  echo "built $OUT/$pack.zip ($(wc -c <"$OUT/$pack.zip") bytes)"
done
