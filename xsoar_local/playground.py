"""The playground: `xsoar-local '!command arg=value arg2="quoted value"'`, like XSOAR's war room.

The command is looked up in every integration YAML (script.commands[].name) and script YAML
(name) of Packs/; an integration runs with the params remembered for its instance (the last
`run` / `replay` of it), or its YAML defaults.
"""
import json
import shlex
import sys

from xsoar_local import runner
from xsoar_local.state import StateStore

# XSOAR's own arguments for choosing the instance / integration that runs a command.
INSTANCE_ARGS = ("using", "using-brand")


def split_command_line(words):
    """argv words -> ("command", ["arg=value", ...]). One word is split like a shell would."""
    tokens = shlex.split(words[0]) if len(words) == 1 else list(words)
    if not tokens or not tokens[0].startswith("!") or len(tokens[0]) < 2:
        raise runner.RunnerError("a playground command starts with !, e.g. '!certstream-get-status'")
    return tokens[0][1:], tokens[1:]


def parse_args(tokens, arg_definitions):
    """["k=v", "bare"] -> {"k": "v", <default arg>: "bare"}."""
    args = {}
    default_arg = next((d["name"] for d in arg_definitions if d.get("default") and d.get("name")), None)
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key:
            args[key] = value
        elif default_arg:
            args[default_arg] = token
        else:
            raise runner.RunnerError("argument {!r} is not key=value and the command has no default argument"
                                     .format(token))
    return args


def choose_owner(command, instance_args, repo_root):
    owners = runner.find_command_owners(command, repo_root)
    wanted = instance_args.get("using") or instance_args.get("using-brand")
    if wanted:
        owners = [owner for owner in owners if owner.name.lower() == wanted.lower()]
    if not owners:
        raise runner.RunnerError("Unsupported Command: no integration or script in Packs/ declares !{}{}"
                                 .format(command, " for {}".format(wanted) if wanted else ""))
    if len(owners) > 1:
        sys.stderr.write("note: !{} is declared by {}; using {}\n".format(
            command, ", ".join(owner.name for owner in owners), owners[0].name))
    return owners[0]


def _as_text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def print_entries(result, out=None, err=None):
    """Each entry's HumanReadable (or Contents), then its EntryContext as JSON; errors to stderr.
    Returns the exit code: 1 when there was an error entry or the run raised."""
    out, err = out or sys.stdout, err or sys.stderr
    for entry in result.entries:
        stream = err if entry.get("Type") == 4 else out
        readable = entry.get("HumanReadable") or entry.get("Contents")
        if readable not in (None, ""):
            print(_as_text(readable), file=stream)
        if entry.get("EntryContext"):
            print(_as_text(entry["EntryContext"]), file=stream)
    if result.error:
        print("error: {}".format(result.error), file=err)
    return 1 if result.failed else 0


def run_playground(words, state_dir, out=None, err=None):
    """Run a playground command line; returns the exit code."""
    repo_root = runner.find_repo_root()
    command, tokens = split_command_line(words)
    given = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key in INSTANCE_ARGS:
            given[key] = value
    tokens = [t for t in tokens if t.partition("=")[0] not in INSTANCE_ARGS]
    owner = choose_owner(command, given, repo_root)
    args = runner.command_args(owner, command, parse_args(tokens, owner.command_args(command)))
    params = {} if owner.is_script else runner.instance_params(owner, StateStore(state_dir), remembered=True)
    result = runner.run_content(owner, command, params, args, state_dir, repo_root=repo_root)
    return print_entries(result, out, err)
