#!/usr/bin/env bash
# Offline content checks with demisto-sdk (run by `make validate`, which puts .venv/bin on PATH).
#
#   1. builds the offline validation config (.sdk/validation_config.toml) from the SDK's own;
#   2. demisto-sdk validate -a, failing on any error, and also when the SDK skipped a pack or an
#      item it could not parse (it then still prints "All validations passed");
#   3. on a branch other than main, when origin/main exists: validate -g --prev-ver origin/main
#      (README, release-note, version-bump and backward-compatibility checks need git history);
#   4. demisto-sdk prepare-content of each pack: the unified integration and scripts (API modules
#      inlined) and the pack zip must build, and the Python code of every unified integration and
#      script must compile (an API module that is valid alone can break the unified file, e.g. with
#      `from __future__ import ...`, which is only legal at the top of a file).
#
# Works in a fresh clone (no origin remote, only the main branch). Logs go to .demisto-sdk-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if ! command -v demisto-sdk >/dev/null 2>&1; then
  echo "validate.sh: demisto-sdk is not on PATH; run 'make validate' (installs it into .venv)" >&2
  exit 2
fi
PYTHON=${PYTHON:-$(dirname "$(command -v demisto-sdk)")/python}
[ -x "$PYTHON" ] || PYTHON=python3

export DEMISTO_SDK_LOG_FILE_PATH="$ROOT/.demisto-sdk-logs"
export DEMISTO_SDK_IGNORE_CONTENT_WARNING=1
mkdir -p "$DEMISTO_SDK_LOG_FILE_PATH"
unset DEMISTO_SDK_OFFLINE_ENV  # validate refuses to run with it

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0

step() { printf '\n== %s\n' "$*"; }

# Runs a demisto-sdk command, shows its output without the noise, and fails when it exits non-zero
# or its output shows that content was skipped instead of checked.
run_sdk() {
  local log="$WORK/sdk.log" rc=0
  demisto-sdk "$@" >"$log" 2>&1 || rc=$?
  grep -v -e 'Could not find remote' -e '^\s*$' -e 'Parsing packs and connectors' "$log" || true
  if grep -q -E 'is not a valid pack|Failed to parse|structure issue|Traceback \(most recent call last\)|InvalidContentItemException' "$log"; then
    echo "validate.sh: demisto-sdk could not read part of the content (see above)" >&2
    rc=1
  fi
  return $rc
}

step "offline validation config"
"$PYTHON" scripts/make_sdk_config.py --output .sdk/validation_config.toml
if command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1 \
    && ! git diff --quiet -- .sdk/validation_config.toml 2>/dev/null; then
  echo "note: .sdk/validation_config.toml changed (a different demisto-sdk?); review and commit it."
fi

step "demisto-sdk validate -a"
run_sdk validate -a --config-path .sdk/validation_config.toml || status=1

branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo "")
if [ -n "$branch" ] && [ "$branch" != "main" ] && [ "$branch" != "HEAD" ] \
    && git rev-parse --verify -q origin/main >/dev/null; then
  step "demisto-sdk validate -g --prev-ver origin/main"
  run_sdk validate -g --prev-ver origin/main --config-path .sdk/validation_config.toml || status=1
else
  step "validate -g skipped (needs a branch other than main and an origin/main ref)"
fi

for pack in Packs/*/; do
  pack=${pack%/}
  [ -f "$pack/pack_metadata.json" ] || continue
  step "demisto-sdk prepare-content -i $pack"
  mkdir -p "$WORK/out"
  run_sdk prepare-content -i "$pack" -o "$WORK/out" || status=1
  zip_file="$WORK/out/$(basename "$pack").zip"
  if [ -f "$zip_file" ]; then
    step "compile the unified Python code of $pack"
    "$PYTHON" - "$zip_file" <<'PY' || status=1
import sys, zipfile, yaml
failed = 0
with zipfile.ZipFile(sys.argv[1]) as archive:
    for name in archive.namelist():
        if not (name.startswith(("Integrations/", "Scripts/")) and name.endswith(".yml")):
            continue
        data = yaml.safe_load(archive.read(name))
        script = data.get("script")
        code = script.get("script") if isinstance(script, dict) else script
        kind = (script.get("type") if isinstance(script, dict) else data.get("type")) or ""
        if kind != "python" or not isinstance(code, str) or code.strip() in ("", "-"):
            continue
        try:
            compile(code, name, "exec")
            print(f"ok      {name}")
        except SyntaxError as error:
            failed += 1
            line = (error.text or "").strip()
            print(f"FAILED  {name}: {error.msg} at line {error.lineno}: {line}")
sys.exit(1 if failed else 0)
PY
  fi
done

echo
if [ "$status" -ne 0 ]; then
  echo "validate.sh: FAILED" >&2
else
  echo "validate.sh: all checks passed"
fi
exit "$status"
