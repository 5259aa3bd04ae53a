"""Run an integration command or a script of the repository's Packs/ the way XSOAR does.

The file runs in this process as ``__main__`` (runpy), with the stand-in demistomock switched to
the state folder, the stand-ins and every Packs/ApiModules/Scripts/* folder importable, and every
demisto.results() call captured. Params are what XSOAR would send: the YAML configuration
defaults (checkboxes as bools, everything else as strings) plus the caller's overrides.
"""
import glob
import importlib.util
import os
import runpy
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

import yaml

from xsoar_local import PACKAGE_DIR, STUBS_DIR
from xsoar_local.state import StateStore

CHECKBOX, CREDENTIALS, MULTI_SELECT = 8, 9, 16
STOP_GRACE_SECONDS = 30
# Params the runner adds for local runs only; never remembered as instance configuration.
RUNNER_ONLY_PARAMS = ("exit_on_stream_end",)
STUB_MODULES = ("CommonServerPython", "CommonServerUserPython", "DemistoClassApiModule")


class RunnerError(Exception):
    """A problem a user can act on (unknown integration, bad --param, ...)."""


@dataclass
class Content:
    """An integration or a script found in Packs/."""
    name: str
    kind: str  # "integration" or "script"
    py_path: str
    yml_path: str
    yml: dict

    @property
    def is_script(self):
        return self.kind == "script"

    def commands(self):
        """Names this content answers to in the playground."""
        if self.is_script:
            return [self.yml.get("name") or self.name]
        return [c.get("name") for c in (self.yml.get("script") or {}).get("commands") or []]

    def command_args(self, command):
        """The YAML argument definitions of a command (of the script itself for a script)."""
        if self.is_script:
            return self.yml.get("args") or []
        for definition in (self.yml.get("script") or {}).get("commands") or []:
            if definition.get("name") == command:
                return definition.get("arguments") or []
        return []


@dataclass
class RunResult:
    entries: list = field(default_factory=list)  # every war-room entry, as dicts
    error: str = None  # the exception that ended the run, if any
    exit_code: object = None  # the SystemExit code, if the run called sys.exit
    elapsed: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def error_entries(self):
        return [entry for entry in self.entries if entry.get("Type") == 4]

    @property
    def failed(self):
        return bool(self.error or self.error_entries or self.exit_code not in (None, 0))


# ---------------------------------------------------------------- locating content
def find_repo_root():
    """The checkout holding Packs/: $XSOAR_LOCAL_REPO, else upward from this package, else from cwd."""
    if os.environ.get("XSOAR_LOCAL_REPO"):
        root = os.path.abspath(os.environ["XSOAR_LOCAL_REPO"])
        if not os.path.isdir(os.path.join(root, "Packs")):
            raise RunnerError("XSOAR_LOCAL_REPO={} has no Packs/ folder".format(root))
        return root
    for start in (PACKAGE_DIR, os.getcwd()):
        directory = os.path.abspath(start)
        while True:
            if os.path.isdir(os.path.join(directory, "Packs")):
                return directory
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    raise RunnerError("no Packs/ folder found above {} or {}; set XSOAR_LOCAL_REPO".format(PACKAGE_DIR, os.getcwd()))


def _load_yml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _content_dirs(repo_root):
    """(kind, folder) of every integration and script folder, integrations first."""
    for kind, folder in (("integration", "Integrations"), ("script", "Scripts")):
        for directory in sorted(glob.glob(os.path.join(repo_root, "Packs", "*", folder, "*"))):
            if os.path.join("Packs", "ApiModules") not in directory:
                yield kind, directory


def _content_from_dir(kind, directory):
    """The Content of a folder with <Name>.py and <Name>.yml; None otherwise.
    RunnerError when the YAML cannot be read."""
    name = os.path.basename(directory)
    py_path = os.path.join(directory, name + ".py")
    yml_path = os.path.join(directory, name + ".yml")
    if not (os.path.isfile(py_path) and os.path.isfile(yml_path)):
        return None
    try:
        return Content(name, kind, py_path, yml_path, _load_yml(yml_path))
    except yaml.YAMLError as error:
        raise RunnerError("cannot read {}: {}".format(yml_path, error))


def iter_contents(repo_root):
    """Every readable integration and script; unreadable YAML is reported on stderr and skipped."""
    for kind, directory in _content_dirs(repo_root):
        try:
            content = _content_from_dir(kind, directory)
        except RunnerError as error:
            sys.stderr.write("warning: {}\n".format(error))
            continue
        if content:
            yield content


def find_content(name, repo_root=None):
    repo_root = repo_root or find_repo_root()
    folders = list(_content_dirs(repo_root))
    for matches in (lambda folder: folder == name, lambda folder: folder.lower() == name.lower()):
        for kind, directory in folders:
            content = matches(os.path.basename(directory)) and _content_from_dir(kind, directory)
            if content:
                return content
    known = ", ".join(os.path.basename(directory) for _, directory in folders) or "none"
    raise RunnerError("no integration or script named {!r} in {}/Packs (known: {})".format(name, repo_root, known))


def find_command_owners(command, repo_root=None):
    """The integrations / scripts that declare a playground command."""
    return [content for content in iter_contents(repo_root or find_repo_root()) if command in content.commands()]


# ---------------------------------------------------------------- params and args
def parse_assignments(pairs, what="--param"):
    """["k=v", ...] -> {"k": "v"}."""
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RunnerError("{} expects key=value, got {!r}".format(what, pair))
        result[key.strip()] = value
    return result


def _checkbox_value(value, name):
    text = str(value).strip().lower()
    if text in ("true", "yes"):
        return True
    if text in ("false", "no", "", "none"):
        return False
    raise RunnerError("param {} is a checkbox: use true or false, not {!r}".format(name, value))


def _as_xsoar_string(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed_param(definition, value):
    """A param value the way XSOAR sends it for this configuration field."""
    param_type = definition.get("type")
    if param_type == CHECKBOX:
        return _checkbox_value(value, definition.get("name"))
    if param_type == MULTI_SELECT:
        return value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
    if param_type == CREDENTIALS:
        return value if isinstance(value, dict) else {"identifier": "", "password": str(value)}
    return _as_xsoar_string(value)


def param_definitions(yml):
    return {item["name"]: item for item in yml.get("configuration") or [] if item.get("name")}


def default_params(yml):
    """Params of a new instance: every YAML default; unchecked checkboxes are False."""
    params = {}
    for name, definition in param_definitions(yml).items():
        default = definition.get("defaultvalue")
        if definition.get("type") == CHECKBOX:
            params[name] = _checkbox_value(default if default is not None else "false", name)
        elif default is not None and default != "":
            params[name] = _typed_param(definition, default)
    return params


def apply_param_overrides(params, overrides, yml):
    """params updated with --param values: strings, except checkbox (bool), multi-select (list)
    and credentials (`name=password` or `name.identifier=...` / `name.password=...`)."""
    params = dict(params)
    definitions = param_definitions(yml)
    for key, value in overrides.items():
        base, _, sub_key = key.partition(".")
        definition = definitions.get(base)
        if definition and definition.get("type") == CREDENTIALS and sub_key:
            params[base] = dict(params.get(base) or {"identifier": "", "password": ""}, **{sub_key: value})
        elif definition:
            params[key] = _typed_param(definition, value)
        else:
            params[key] = value
    return params


def command_args(content, command, given):
    """Args as XSOAR passes them: YAML defaultValue for absent args, then the given ones."""
    args = {}
    for definition in content.command_args(command):
        if definition.get("defaultValue") is not None and definition.get("name"):
            args[definition["name"]] = _as_xsoar_string(definition["defaultValue"])
    args.update(given or {})
    missing = [d["name"] for d in content.command_args(command) if d.get("required") and d.get("name") not in args]
    if missing:
        raise RunnerError("missing required argument(s) for {}: {}".format(command, ", ".join(missing)))
    return args


def instance_params(content, store, overrides=None, remembered=False):
    """Params for a run: the remembered instance params (if asked and present) or the YAML defaults,
    plus overrides."""
    params = store.get_instance_params(content.name) if remembered else None
    if params is None:
        params = default_params(content.yml)
    return apply_param_overrides(params, overrides or {}, content.yml)


def remembered_view(params):
    """The params worth remembering as the instance's configuration."""
    return {key: value for key, value in params.items() if key not in RUNNER_ONLY_PARAMS}


# ---------------------------------------------------------------- running
def _entries_from(results_calls):
    """Every demisto.results() argument as a list of entry dicts (lists flattened, strings wrapped)."""
    entries = []
    for value in results_calls:
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if not isinstance(item, dict):
                item = {"Type": 1, "ContentsFormat": "text", "Contents": item, "HumanReadable": None,
                        "EntryContext": None}
            entries.append(item)
    return entries


def _import_stub_demistomock():
    """The stand-in demistomock module, even when the real one was imported before."""
    module = sys.modules.get("demistomock")
    if module is not None and hasattr(module, "_xsoar_local_setup"):
        return module
    spec = importlib.util.spec_from_file_location("demistomock", os.path.join(STUBS_DIR, "demistomock.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["demistomock"] = module
    return module


class _IsolatedImports:
    """sys.path with the stand-ins and API modules first and fresh CommonServerPython / API modules
    for the run; everything restored afterwards so other code in this process is unaffected."""

    def __init__(self, repo_root):
        self.api_dirs = sorted(glob.glob(os.path.join(repo_root, "Packs", "ApiModules", "Scripts", "*")))
        names = list(STUB_MODULES) + [os.path.basename(d) for d in self.api_dirs] + ["demistomock"]
        self.saved_modules = {name: sys.modules.get(name) for name in names}

    def __enter__(self):
        self.saved_path = list(sys.path)
        sys.path[:0] = [STUBS_DIR] + self.api_dirs
        for name in self.saved_modules:
            if name != "demistomock":
                sys.modules.pop(name, None)
        return self

    def __exit__(self, *exc):
        sys.path[:] = self.saved_path
        for name, module in self.saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt("signal {}".format(signum))


class _SignalDefaults:
    """SIGTERM stops a run that installs no handler of its own; previous handlers restored after."""

    def __enter__(self):
        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.saved[signum] = signal.getsignal(signum)
            signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)


class _StopTimer:
    """--for: SIGTERM to this process after `seconds`; give up if the run still goes `grace` s later."""

    def __init__(self, seconds, grace=STOP_GRACE_SECONDS, label="run"):
        self.timers = []
        if seconds is not None:
            self.timers = [threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM)),
                           threading.Timer(seconds + grace, self._give_up, (label, grace))]
            for timer in self.timers:
                timer.daemon = True
                timer.start()

    @staticmethod
    def _give_up(label, grace):
        sys.stderr.write("error: {} still running {} s after SIGTERM; giving up\n".format(label, grace))
        sys.stderr.flush()
        os._exit(2)

    def cancel(self):
        for timer in self.timers:
            timer.cancel()


def run_content(content, command, params=None, args=None, state_dir=".xsoar-local", run_for=None,
                repo_root=None, grace=STOP_GRACE_SECONDS):
    """Run one command of an integration (or a script) in this process; returns a RunResult."""
    repo_root = repo_root or find_repo_root()
    store = StateStore(state_dir)
    result = RunResult(params=dict(params or {}))
    calls = []
    label = "{} {}".format(content.name, command)
    store.log("info", "xsoar-local: start {}".format(label))
    started = time.monotonic()
    with _IsolatedImports(repo_root), _SignalDefaults():
        demisto = _import_stub_demistomock()
        demisto._xsoar_local_setup(state_dir, result.params, command, args or {}, content.name,
                                   results_sink=calls, is_script=content.is_script)
        stop_timer = _StopTimer(run_for, grace, label)
        try:
            runpy.run_path(content.py_path, run_name="__main__")
        except SystemExit as exit_:
            result.exit_code = exit_.code
        except KeyboardInterrupt:
            pass  # stopped from outside (Ctrl-C, or --for without a SIGTERM handler of its own): not an error
        except Exception as error:  # what XSOAR reports as the command's error
            result.error = str(error) or type(error).__name__
            store.log("error", traceback.format_exc())
        finally:
            stop_timer.cancel()
            demisto._xsoar_local_reset()
    result.elapsed = time.monotonic() - started
    result.entries = _entries_from(calls)
    store.log("info", "xsoar-local: end {} after {:.1f} s".format(label, result.elapsed))
    return result


def run(name, command=None, param_overrides=None, args=None, state_dir=".xsoar-local", until_closed=False,
        run_for=None, remembered_params=False, repo_root=None):
    """Locate `name`, build its params and args, run it, and remember an integration's params."""
    repo_root = repo_root or find_repo_root()
    content = find_content(name, repo_root)
    if content.is_script:
        command = command or content.commands()[0]
        params = {}
    elif not command:
        raise RunnerError("{} is an integration: name the command to run".format(content.name))
    else:
        store = StateStore(state_dir)
        params = instance_params(content, store, param_overrides, remembered=remembered_params)
        store.set_instance_params(content.name, remembered_view(params))
        if until_closed:
            params["exit_on_stream_end"] = True
    args = command_args(content, command, args)
    return run_content(content, command, params, args, state_dir, run_for, repo_root)
