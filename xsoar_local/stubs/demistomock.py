"""Stand-in for XSOAR's ``demistomock`` (imported by pack code as ``import demistomock as demisto``).

Two modes:
- in-memory (default, what unit tests see): behaves like demisto/content's demistomock.py:
  params() {}, command() "", args() {}, getLastRun() a non-empty placeholder, setLastRun a
  no-op, createIncidents/createIndicators/updateModuleHealth do nothing, searchIndicators {},
  error() prints to stdout. Lists live in a dict so getList/setList/... can be exercised.
- file-backed, after ``_xsoar_local_setup(state_dir, ...)`` (what the runner uses): params,
  command and args are those of the run; lists, integration context, last run, incidents,
  indicators, module health and the log live in the state folder (xsoar_local/state.py).

Not in the real runtime (stand-in only): ``getList(name)`` and the list commands of
``executeCommand``; pack code must not depend on them alone (see docs/xsoar-runtime.md).
"""
from __future__ import print_function

import json
import logging
import os
import sys
import uuid

integrationContext = {}
is_debug = False  # type: bool
callingContext = {}  # type: dict

_LAST_RUN_PLACEHOLDER = {"lastRun": "2018-10-24T14:13:20+00:00"}
_NOT_FOUND_RESPONSE = {
    "statusCode": 404,
    "status": "404 Not Found",
    "body": "This is a mock. Your request was not found.",
    "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
}
LIST_NOT_FOUND = "Item not found (8)"


class _Runtime(object):
    """What the current run configured; the defaults are the in-memory mode."""

    def __init__(self):
        self.store = None  # xsoar_local.state.StateStore in file-backed mode
        self.params = {}
        self.command = ""
        self.args = {}
        self.instance = ""
        self.memory_lists = {}
        self.results_sink = None  # list receiving every demisto.results() argument


_runtime = _Runtime()


def _xsoar_local_setup(state_dir, params, command, args, instance, results_sink=None, is_script=False):
    """Switch to the file-backed state folder for one run of an integration command or a script."""
    global integrationContext
    try:
        from xsoar_local.state import StateStore
    except ImportError:  # stubs dir on sys.path but not the repository root
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        from xsoar_local.state import StateStore
    _runtime.store = StateStore(state_dir)
    _runtime.params = dict(params or {})
    _runtime.command = command or ""
    _runtime.args = dict(args or {})
    _runtime.instance = instance or ""
    _runtime.results_sink = results_sink
    integrationContext = {}
    callingContext.clear()
    callingContext.update({
        "context": {
            "IntegrationBrand": "" if is_script else instance,
            "IntegrationInstance": "" if is_script else instance,
            "ScriptName": instance if is_script else "",
            "ExecutedCommands": [{"moduleBrand": "Scripts" if is_script else instance, "name": command}],
        },
        "integration": not is_script,
        "command": command,
        "args": _runtime.args,
        "params": _runtime.params,
    })


def _xsoar_local_reset():
    """Back to the in-memory defaults (the runner calls this after every run)."""
    global integrationContext, _runtime
    _runtime = _Runtime()
    integrationContext = {}
    callingContext.clear()


def _store():
    return _runtime.store


# ---------------------------------------------------------------- params, args, command
def params():
    if _store() is not None:
        # The real runtime answers from callingContext, where CommonServerPython put a SmartGetDict.
        return callingContext.get("params", _runtime.params)
    demisto_params = os.getenv("DEMISTO_PARAMS")
    if demisto_params:
        try:
            return json.loads(demisto_params)
        except ValueError:
            return {}
    return {}


def args():
    return _runtime.args if _store() is not None else {}


def command():
    return _runtime.command


def getParam(param):
    return params().get(param)


def getArg(arg):
    return args().get(arg)


def integrationInstance():
    return _runtime.instance


def demistoVersion():
    return {"version": "5.5.0", "buildNumber": "12345"}


def demistoUrls():
    return {
        "server": "https://localhost:8443",
        "investigation": "https://localhost:8443/#/Details/1",
        "warRoom": "https://localhost:8443/#/WarRoom/1",
    }


def investigation():
    return {"id": "1"}


def uniqueFile():
    return str(uuid.uuid4())


def context():
    return {}


def setContext(contextPath, value):
    return {"status": True}


def dt(obj=None, trnsfrm=None):
    return ""


def get(obj, field, defaultParam=None):
    for part in field.split("."):
        if obj and part in obj:
            obj = obj[part]
        else:
            return defaultParam
    return obj


def gets(obj, field):
    return str(get(obj, field))


def getAllSupportedCommands():
    return {}


def getLicenseID():
    return ""


def getIndexHash():
    return ""


def isTimeSensitive():
    return False


def initialize():
    pass


# ---------------------------------------------------------------- logging
def _write_log(level, msg, *args):
    try:
        text = str(msg) % args if args else str(msg)
    except (TypeError, ValueError):
        text = " ".join(str(part) for part in (msg,) + args)
    _store().log(level, text)
    return text


def log(msg):
    if _store() is not None:
        _write_log("info", msg)
    else:
        logging.getLogger().info(msg)


def info(msg, *args):
    if _store() is not None:
        _write_log("info", msg, *args)
    else:
        logging.getLogger().info(msg, *args)


def debug(msg, *args):
    if _store() is not None:
        _write_log("debug", msg, *args)
    else:
        logging.getLogger().info(msg, *args)


def error(msg, *args):
    if _store() is not None:
        print(_write_log("error", msg, *args), file=sys.stderr)
    else:
        print(msg, *args)  # like the real mock: stdout, so content's test setup notices


# ---------------------------------------------------------------- results
def results(results):
    if _runtime.results_sink is not None:
        _runtime.results_sink.append(results)
    elif _store() is None:
        if isinstance(results, dict) and results.get("contents"):
            results = results.get("contents")
        log("demisto results: {}".format(json.dumps(results, indent=4, sort_keys=True, default=str)))


def credentials(credentials):
    log("credentials: {}".format(credentials))


def getFilePath(id):
    if _store() is not None:
        path = os.path.join(_store().files_dir(), "{}_{}".format(investigation()["id"], id))
        return {"id": id, "path": path, "name": id}
    return {"id": id, "path": "test/test.txt", "name": "test.txt"}


def _xsoar_local_files_dir():
    """Where fileResult writes: the state folder's files/ (file-backed) or None (in-memory)."""
    return _store().files_dir() if _store() is not None else None


# ---------------------------------------------------------------- incidents and indicators
_EXAMPLE_INCIDENT = {
    "id": "1", "name": "1", "type": "Unclassified", "severity": 0, "status": 1, "details": "",
    "labels": [{"type": "Instance", "value": "test"}, {"type": "Brand", "value": "Manual"}],
    "occurred": "2019-02-20T15:47:23.962163+02:00", "rawJSON": "", "CustomFields": {},
}


def incidents(incidents=None):
    """In a script: the current incident(s). In fetch-incidents: hands the fetched incidents over."""
    if incidents is None:
        return [dict(_EXAMPLE_INCIDENT)]
    if _store() is not None:
        _store().append_incidents(incidents)
        return None
    return results({"Type": 1, "Contents": json.dumps(incidents), "ContentsFormat": "json"})


def incident():
    return incidents()[0]


def createIncidents(incidents, lastRun=None, userID=None):
    if _store() is not None:
        _store().append_incidents(incidents)
        if lastRun:
            setLastRun(lastRun)
    return []


def createIndicators(indicators_batch, noUpdate=False):
    if _store() is not None:
        _store().append_indicators(indicators_batch)
    return ""


def searchIndicators(fromDate="", query="", size=100, page=0, toDate="", value="", searchAfter=None,
                     populateFields=None, **kwargs):
    if _store() is None:
        return {}
    from xsoar_local.state import search_iocs
    return search_iocs(_store(), value=value, query=query, size=size)


def searchRelationships(args):
    return {"data": []}


def updateModuleHealth(data, is_error=False):
    if _store() is not None:
        _store().set_health(_runtime.instance, data, is_error)
    return ""


# ---------------------------------------------------------------- last run and integration context
def getLastRun():
    if _store() is not None:
        return _store().get_last_run(_runtime.instance)
    return dict(_LAST_RUN_PLACEHOLDER)


def setLastRun(obj):
    if _store() is not None:
        _store().set_last_run(_runtime.instance, obj)
    return None


def getLastMirrorRun():
    return {}


def setLastMirrorRun(obj):
    return None


def getIntegrationContext():
    if _store() is not None:
        return _store().get_integration_context(_runtime.instance)
    return integrationContext


def setIntegrationContext(context):
    global integrationContext
    if _store() is not None:
        _store().set_integration_context(_runtime.instance, context)
    else:
        integrationContext = context


def getIntegrationContextVersioned(refresh=False):
    return getIntegrationContext()


def setIntegrationContextVersioned(context, version=-1, sync=False):
    setIntegrationContext(context)


# ---------------------------------------------------------------- lists
def _list_get(name):
    if _store() is not None:
        return _store().get_list(name)
    return _runtime.memory_lists.get(name)


def _list_set(name, text):
    if _store() is not None:
        _store().set_list(name, text)
    else:
        _runtime.memory_lists[name] = text


def _list_names():
    if _store() is not None:
        return _store().list_names()
    return sorted(_runtime.memory_lists)


def getList(name):
    """Stand-in only (the real runtime has no getList): the list text, or None if missing."""
    return _list_get(name)


def _entry(contents, entry_type=1):
    return {"Type": entry_type, "ContentsFormat": "text", "Contents": contents, "HumanReadable": None,
            "EntryContext": None, "Brand": "Builtin", "ModuleName": "InnerServicesModule"}


def _list_command(command, args):
    name = args.get("listName")
    if not name:
        return [_entry("listName is required", 4)]
    data = args.get("listData", "")
    data = data if isinstance(data, str) else json.dumps(data)
    existing = _list_get(name)
    if command == "getList":
        return [_entry(existing)] if existing is not None else [_entry(LIST_NOT_FOUND, 4)]
    if command == "createList" and existing is not None:
        return [_entry("List {} already exists".format(name), 4)]
    if command == "addToList" and existing:
        data = existing + args.get("separator", ",") + data
    _list_set(name, data)
    return [_entry("Done")]


_LIST_COMMANDS = ("getList", "setList", "createList", "addToList")


def executeCommand(command, args):
    if command in _LIST_COMMANDS:
        return _list_command(command, args or {})
    return ""


def internalHttpRequest(method, uri, body=None):
    if method.upper() == "GET" and uri.split("?")[0].rstrip("/") == "/lists":
        lists = [{"id": name, "data": _list_get(name)} for name in _list_names()]
        return {"statusCode": 200, "status": "200 OK", "body": json.dumps(lists), "headers": {}}
    return json.loads(json.dumps(_NOT_FOUND_RESPONSE))


# ---------------------------------------------------------------- messaging (unused here, cheap)
def addEntry(id, entry, username=None, email=None, footer=None):
    return ""


def mirrorInvestigation(id, mirrorType, autoClose=False):
    return ""


def directMessage(message, username=None, email=None, anyoneCanOpenIncidents=None):
    return ""


def findUser(username=None, email=None):
    return {}


def mapObject(obj, mapper, mapper_type):
    return obj


def getModules():
    return {}


def parentEntry():
    return {}
