"""Graph checks for every playbook YAML of every pack (no XSOAR needed).

For each playbook: the start task exists; every `nexttasks` target exists; every task is reachable
from the start; every task has a name (but the start) and a description; conditions branch only on
their own labels; every script or command a task calls exists in the repository's packs or is in
the known built-ins below; every `inputs.X` referenced is declared, and every declared input is used;
the id equals the name and the playbook has its README and image.
"""
import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOKS = sorted(glob.glob(os.path.join(ROOT, "Packs", "*", "Playbooks", "*.yml")))

# Scripts and commands a playbook may call that come from XSOAR itself or from other packs,
# with where they come from. Keep the pack dependencies in pack_metadata.json in step.
KNOWN_SCRIPTS = {
    "Set": "CommonScripts",
    "SetAndHandleEmpty": "CommonScripts",
    "Print": "CommonScripts",
    "IsListExist": "CommonScripts",
    "IsIntegrationAvailable": "CommonScripts",
    "DeleteContext": "CommonScripts",
    "SetGridField": "CommonScripts",
    "AddEvidence": "CommonScripts",
    "GetTime": "CommonScripts",
}
KNOWN_COMMANDS = {
    # server built-ins (brand Builtin)
    "getList": "Builtin", "setList": "Builtin", "createList": "Builtin", "addToList": "Builtin",
    "removeFromList": "Builtin", "setIncident": "Builtin", "closeInvestigation": "Builtin",
    "createNewIncident": "Builtin", "send-mail": "Builtin", "setIndicator": "Builtin",
    "associateIndicatorToIncident": "Builtin", "createNewIndicator": "Builtin",
    "investigate": "Builtin", "setOwner": "Builtin", "setPlaybook": "Builtin",
    # other packs (optional dependencies)
    "asm-list-external-websites": "CortexXpanse",
    "gpt-send-message": "OpenAI",
    "whois": "Whois",
    "domain": "any reputation integration",
    "url-screenshot": "Rasterize", "rasterize": "Rasterize",
}
STANDARD_LABELS = {"#none#", "#default#", "yes", "no"}
INPUT_RE = re.compile(r"\binputs\.([A-Za-z0-9_]+)")


def pack_items():
    """Script ids and integration command names defined in the repository's packs."""
    scripts, commands = set(), set()
    for path in glob.glob(os.path.join(ROOT, "Packs", "*", "Scripts", "*", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        scripts.add(data["commonfields"]["id"])
        scripts.add(data["name"])
    for path in glob.glob(os.path.join(ROOT, "Packs", "*", "Integrations", "*", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        commands.update(command["name"] for command in data.get("script", {}).get("commands") or [])
    return scripts, commands


PACK_SCRIPTS, PACK_COMMANDS = pack_items()


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def walk_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(key)
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)


def test_there_are_playbooks():
    names = [os.path.basename(path) for path in PLAYBOOKS]
    assert "playbook-Create_list_for_PTH.yml" in names


@pytest.fixture(params=PLAYBOOKS, ids=[os.path.basename(p) for p in PLAYBOOKS])
def playbook(request):
    return request.param, load(request.param)


def test_identity_and_docs(playbook):
    path, data = playbook
    assert data["id"] == data["name"], "the id must equal the name"
    assert data.get("version") == -1
    assert data.get("fromversion"), "fromversion must be set"
    assert data.get("description", "").strip()
    readme = path[:-len(".yml")] + "_README.md"
    assert os.path.isfile(readme), f"missing {os.path.relpath(readme, ROOT)}"
    image = os.path.join(os.path.dirname(os.path.dirname(path)), "doc_files",
                         os.path.basename(path)[len("playbook-"):-len(".yml")] + ".png")
    assert os.path.isfile(image), f"missing {os.path.relpath(image, ROOT)}"
    with open(readme, encoding="utf-8") as handle:
        assert "../doc_files/" + os.path.basename(image) in handle.read()


def test_graph_is_connected(playbook):
    _path, data = playbook
    tasks = data["tasks"]
    start = str(data["starttaskid"])
    assert start in tasks, "starttaskid names no task"
    assert tasks[start]["type"] == "start"
    for key, task in tasks.items():
        assert str(task["id"]) == str(key), f"task {key} has id {task['id']}"
        assert task["task"]["id"] == task["taskid"], f"task {key}: task.id differs from taskid"
        for label, targets in (task.get("nexttasks") or {}).items():
            for target in targets or []:
                assert str(target) in tasks, f"task {key} ({label}) points to missing task {target}"
    seen, todo = set(), [start]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for targets in (tasks[key].get("nexttasks") or {}).values():
            todo.extend(str(target) for target in targets or [])
    unreachable = sorted(set(tasks) - seen, key=int)
    assert not unreachable, "unreachable tasks: " + ", ".join(
        f"{key} ({tasks[key]['task'].get('name')})" for key in unreachable)
    ends = [key for key, task in tasks.items() if not task.get("nexttasks")]
    assert ends, "the playbook never ends"


def test_every_task_is_described(playbook):
    _path, data = playbook
    for key, task in data["tasks"].items():
        assert task["task"].get("description", "").strip(), f"task {key} has no description"
        if task["type"] != "start":
            assert task["task"].get("name", "").strip(), f"task {key} has no name"


def test_condition_branches(playbook):
    _path, data = playbook
    for key, task in data["tasks"].items():
        nexttasks = task.get("nexttasks") or {}
        if task["type"] != "condition":
            assert set(nexttasks) <= {"#none#"}, f"task {key} is not a condition but branches: {sorted(nexttasks)}"
            continue
        labels = {c["label"] for c in task.get("conditions") or []}
        labels |= set((task.get("message") or {}).get("replyOptions") or [])
        for label in nexttasks:
            if task["task"].get("scriptName") or task["task"].get("script"):
                continue  # a condition script answers with its own labels (yes / no)
            assert label in labels | {"#default#"}, f"task {key}: branch {label!r} has no condition"
        for label in labels:
            assert label in nexttasks, f"task {key}: condition {label!r} leads nowhere"


def test_called_scripts_and_commands_exist(playbook):
    _path, data = playbook
    for key, task in data["tasks"].items():
        inner = task["task"]
        script_name = inner.get("scriptName")
        if script_name:
            assert script_name in PACK_SCRIPTS or script_name in KNOWN_SCRIPTS, (
                f"task {key} runs unknown script {script_name!r}")
        script = inner.get("script")
        if script:
            brand, _, command = script.partition("|||")
            assert inner.get("iscommand") is True, f"task {key} runs a command but iscommand is not true"
            assert command in PACK_COMMANDS or command in KNOWN_COMMANDS or command in PACK_SCRIPTS, (
                f"task {key} runs unknown command {command!r} (brand {brand!r})")


def test_inputs_declared_and_used(playbook):
    _path, data = playbook
    declared = {item["key"] for item in data.get("inputs") or []}
    used = set()
    for task in data["tasks"].values():
        for text in walk_strings(task):
            used.update(INPUT_RE.findall(text))
    undeclared = sorted(used - declared)
    assert not undeclared, f"inputs used but not declared: {undeclared}"
    unused = sorted(declared - used)
    assert not unused, f"inputs declared but never used: {unused}"
    for item in data.get("inputs") or []:
        assert item.get("description", "").strip(), f"input {item['key']} has no description"


def test_dependencies_are_declared_in_pack_metadata(playbook):
    path, data = playbook
    pack_dir = os.path.dirname(os.path.dirname(path))
    with open(os.path.join(pack_dir, "pack_metadata.json"), encoding="utf-8") as handle:
        dependencies = (yaml.safe_load(handle) or {}).get("dependencies") or {}
    needed = set()
    for task in data["tasks"].values():
        inner = task["task"]
        if inner.get("scriptName") in KNOWN_SCRIPTS and inner["scriptName"] not in PACK_SCRIPTS:
            needed.add(KNOWN_SCRIPTS[inner["scriptName"]])
        command = (inner.get("script") or "").partition("|||")[2]
        if command in KNOWN_COMMANDS and command not in PACK_COMMANDS:
            needed.add(KNOWN_COMMANDS[command])
    needed -= {"Builtin", "any reputation integration"}
    missing = sorted(needed - set(dependencies))
    assert not missing, f"pack_metadata.json lacks dependencies on {missing}"
