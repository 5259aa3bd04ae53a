"""Shared helpers for the end-to-end tests: run xsoar-local as a user would, read its state."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def xsoar_local(state: Path, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `python -m xsoar_local --state STATE ARGS...` and returns the finished process."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.run([sys.executable, "-m", "xsoar_local", "--state", str(state), *args],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if check and process.returncode != 0:
        raise AssertionError(f"xsoar-local {' '.join(args)} failed ({process.returncode}):\n"
                             f"{process.stdout}\n{process.stderr}")
    return process


def read_jsonl(path: Path) -> list:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def incidents(state: Path) -> list:
    return read_jsonl(state / "incidents.jsonl")


def matched_domains(state: Path) -> list:
    """Every matched SAN of every incident, sorted."""
    return sorted(domain for incident in incidents(state)
                  for domain in incident["CustomFields"]["certstreammatcheddomains"])


def integration_context(state: Path, instance: str = "CertStream") -> dict:
    path = state / "context" / f"{instance}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def state_with_list(tmp_path: Path, watch_list: dict, name: str = "WatchList") -> Path:
    """A fresh state folder whose list store holds `watch_list` under `name`."""
    list_file = tmp_path / "list.json"
    list_file.write_text(json.dumps(watch_list))
    state = tmp_path / "state"
    xsoar_local(state, "list", "set", name, str(list_file))
    return state
