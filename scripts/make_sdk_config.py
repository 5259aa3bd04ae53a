#!/usr/bin/env python3
"""Builds the offline validation config for `demisto-sdk validate` from the one the SDK ships.

demisto-sdk ships the config demisto/content uses
(demisto_sdk/commands/validate/sdk_validation_config.toml). Some of its checks cannot run on a
machine without internet, or always fail in a repository that is not demisto/content:

- content-graph checks: they need a neo4j container and a plugin download, and abort the run;
- Docker Hub / GitHub checks: they query the registry for image tags (DO101, the image-name
  format check, still runs);
- approved-list checks: with `.private-repo-settings` present the SDK does not download
  demisto/content's approved categories / tags / use-cases, so these lists are empty and the
  checks always fail.

This script copies the shipped config and removes exactly those codes from every `select`,
`warning` and `ignore` list, so the result follows the SDK's own config when the SDK is upgraded.

Two deliberate changes beyond that, so that `validate -a` (the only mode that works on the base
branch of a fresh clone: `-g` needs `origin/main` and refuses to run on it) checks what matters:

- PROMOTED: checks the shipped config runs only with `-g` although they need no git history
  (README and playbook image present, description file, unit-test file, playbook inputs declared
  and used, ...) are added to the `-a` section. Checks that compare with a previous version
  (BC*, RN*, PA114, IF111, IN164) stay `-g` only.
- The `support_level.community` exemptions are dropped: the packs here are community-supported
  (nobody else supports them), and we want the description, fetch-parameter and backward-
  compatibility checks to run on them anyway.

Usage: python scripts/make_sdk_config.py [--output .sdk/validation_config.toml] [--source FILE]
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

try:  # Python 3.11+
    import tomllib as _toml_reader
except ModuleNotFoundError:  # pragma: no cover - Python 3.10: the SDK depends on `toml`
    _toml_reader = None

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / ".sdk" / "validation_config.toml"

CONTENT_GRAPH = [f"GR{n}" for n in range(100, 119)] + [
    "AG116", "IF117", "LO100", "PA124", "PA133", "PB131", "PB133", "SC109", "SC110",
]
DOCKER_HUB_AND_GITHUB = ["DO103", "DO104", "DO105", "DO106"]
APPROVED_LISTS = ["IN104", "PA103", "PA119", "PA120", "AG102"]

REMOVED = {
    **{code: "content graph (needs neo4j and a plugin download)" for code in CONTENT_GRAPH},
    **{code: "Docker Hub / GitHub look-up" for code in DOCKER_HUB_AND_GITHUB},
    **{code: "approved lists of demisto/content (empty offline)" for code in APPROVED_LISTS},
}

PROMOTED = {
    "BA103": "tests section present", "BA108": "no separators in folder names",
    "BA109": "no separators in file names", "BA124": "integration/script has a unit-test file",
    "BA127": "context output path depth", "DS104": "integration has a description file",
    "DS108": "descriptions end with a dot", "IF109": "incident field 'required' is valid",
    "IF113": "incident field names start with the pack name", "IM100": "integration has an image",
    "IM106": "integration image is not the default one", "IN115": "context paths well formed",
    "IN117": "type-17 params have no display", "IN118": "params have a display name",
    "IN124": "only hideable params are hidden", "IT100": "incident type hour/day fields valid",
    "IT101": "incident type playbook id valid", "PA128": "pack has its required files",
    "PB118": "every playbook input is used", "PB119": "every playbook input used is declared",
    "RM101": "README image paths valid", "RM108": "README images relative, under doc_files",
    "RM109": "content item has a README", "RM116": "playbook image in doc_files",
    "RM117": "README not too short", "SC101": "aggregated scripts have the generic arguments",
    "ST111": "schema structure, no excluded fields",
}

CODE = re.compile(r"^[A-Z]{2}\d{3}$")


def shipped_config_path() -> Path:
    spec = importlib.util.find_spec("demisto_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("demisto-sdk is not installed in this Python environment "
                         "(install it with: pip install -e '.[sdk]').")
    package = Path(list(spec.submodule_search_locations)[0])
    path = package / "commands" / "validate" / "sdk_validation_config.toml"
    if not path.is_file():
        raise SystemExit(f"The SDK's validation config was not found at {path}.")
    return path


def sdk_version() -> str:
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version("demisto-sdk")
    except Exception:  # noqa: BLE001 - only used in a comment
        return "(unknown version)"


def load(path: Path) -> dict:
    if _toml_reader is not None:
        with path.open("rb") as handle:
            return _toml_reader.load(handle)
    import toml  # noqa: PLC0415 - fallback for Python 3.10

    return toml.load(path)


def strip_codes(config, removed: set, found: set):
    """Returns a copy of config with the removed codes dropped from every list of error codes."""
    if isinstance(config, dict):
        return {key: strip_codes(value, removed, found) for key, value in config.items()}
    if isinstance(config, list) and all(isinstance(item, str) for item in config):
        found.update(item for item in config if item in removed)
        return [item for item in config if item not in removed]
    return config


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"  {_value(item)},\n" for item in value) + "]"
    raise TypeError(f"unsupported TOML value {value!r}")


def dump(config: dict, header: str) -> str:
    """A small TOML writer for this config's shape: tables of lists of strings, nested tables."""
    out = [header]

    def table(name: str, data: dict) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in data.items() if isinstance(v, dict)}
        if name:
            out.append(f"\n[{name}]")
        for key, value in scalars.items():
            out.append(f"{key} = {_value(value)}")
        for key, value in tables.items():
            table(f"{name}.{key}" if name else key, value)

    table("", config)
    return "\n".join(out) + "\n"


def adjust(config: dict) -> dict:
    """Promotes the history-free `-g` checks to `-a` and drops the community exemptions."""
    path_based = config.setdefault("path_based_validations", {})
    use_git = set(config.get("use_git", {}).get("select", []))
    select = list(path_based.get("select", []))
    select += [code for code in sorted(PROMOTED) if code in use_git and code not in select]
    path_based["select"] = select
    community = config.get("support_level", {}).get("community")
    if isinstance(community, dict):
        community["ignore"] = []
    return config


def build(source: Path) -> tuple[str, set]:
    found: set = set()
    config = adjust(strip_codes(load(source), set(REMOVED), found))
    lines = ["# Generated by scripts/make_sdk_config.py from the validation config demisto-sdk "
             f"{sdk_version()} ships",
             "# (demisto_sdk/commands/validate/sdk_validation_config.toml). Do not edit: rerun the script.",
             "# Removed for offline use (code: reason):"]
    lines += [f"#   {code}: {REMOVED[code]}" for code in sorted(found)]
    lines += ["# Added to path_based_validations (validate -a) from use_git (code: what it checks):"]
    lines += [f"#   {code}: {PROMOTED[code]}" for code in sorted(PROMOTED)]
    lines += ["# support_level.community.ignore emptied: community packs get the full checks."]
    return dump(config, "\n".join(lines) + "\n"), found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--source", type=Path, help="the SDK's config (default: the installed SDK's)")
    args = parser.parse_args(argv)
    source = args.source or shipped_config_path()
    text, found = build(source)
    # Check that what we wrote reads back as the same data.
    check = {}
    if _toml_reader is not None:
        check = _toml_reader.loads(text)
        expected = adjust(strip_codes(load(source), set(REMOVED), set()))
        if check != expected:
            raise SystemExit("internal error: the written TOML does not round-trip")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    old = args.output.read_text() if args.output.exists() else None
    if old != text:
        args.output.write_text(text)
    state = "unchanged" if old == text else ("updated" if old is not None else "written")
    print(f"{args.output}: {state} ({len(found)} offline-incompatible checks removed)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
