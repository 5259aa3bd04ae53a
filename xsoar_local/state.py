"""The file-backed state folder that stands in for the XSOAR server's database.

Layout (see docs/architecture.md):
    lists/<name>.txt             list text
    context/<instance>.json      integration context of an instance
    last_run/<instance>.json     fetch state (getLastRun / setLastRun)
    instances/<instance>.json    params of the last run of an instance
    incidents.jsonl              every dict passed to createIncidents / incidents, one a line
    indicators.jsonl             every indicator passed to createIndicators, one a line
    health.json                  {instance: {"message", "is_error", "updated_at"}}
    files/                       files written by fileResult
    log.txt                      info/debug/error of the runs

Another process (a status command, the CLI) may read while a long-running integration writes:
JSON files are replaced atomically (temp file + os.replace), JSON-lines files only grow by
whole-line appends, and readers skip a last line that is still incomplete.
"""
import json
import os
import shlex
import tempfile
from datetime import datetime, timezone
from urllib.parse import quote, unquote

# Characters kept as they are in file names made from list / instance names.
_SAFE_NAME_CHARS = " -_.()@+,"


def file_name_for(name):
    """A file name (without extension) for a list or instance name; reversible with name_from."""
    if not name or name in (".", ".."):
        raise ValueError("invalid name: {!r}".format(name))
    return quote(name, safe=_SAFE_NAME_CHARS)


def name_from(file_name):
    return unquote(file_name)


def read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def write_json(path, obj):
    """Write obj as JSON so that a concurrent reader sees either the old or the new file."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, ensure_ascii=False, indent=1, default=str)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise


def append_jsonl(path, objects):
    """Append objects, one JSON document a line, in a single append-mode write."""
    if not objects:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps(obj, ensure_ascii=False, default=str) + "\n" for obj in objects)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, data.encode("utf-8"))
    finally:
        os.close(fd)


def read_jsonl(path):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []
    objects = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except ValueError:
            continue  # a line still being written by another process
    return objects


def utc_now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StateStore:
    """Reads and writes one state folder. Cheap to create; holds no open files."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    # ---- lists ----
    def list_path(self, name):
        return self.path("lists", file_name_for(name) + ".txt")

    def list_names(self):
        try:
            files = os.listdir(self.path("lists"))
        except FileNotFoundError:
            return []
        return sorted(name_from(f[:-4]) for f in files if f.endswith(".txt") and not f.startswith(".tmp-"))

    def get_list(self, name):
        """The list text, or None when there is no such list."""
        try:
            with open(self.list_path(name), encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def set_list(self, name, text):
        path = self.list_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, temp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_path, path)

    def all_lists(self):
        return {name: self.get_list(name) for name in self.list_names()}

    # ---- per-instance JSON documents ----
    def get_integration_context(self, instance):
        return read_json(self.path("context", file_name_for(instance) + ".json"), {})

    def set_integration_context(self, instance, context):
        write_json(self.path("context", file_name_for(instance) + ".json"), context)

    def get_last_run(self, instance):
        return read_json(self.path("last_run", file_name_for(instance) + ".json"), {})

    def set_last_run(self, instance, last_run):
        write_json(self.path("last_run", file_name_for(instance) + ".json"), last_run)

    def get_instance_params(self, instance):
        """Params of the last run of this instance, or None."""
        return read_json(self.path("instances", file_name_for(instance) + ".json"))

    def set_instance_params(self, instance, params):
        write_json(self.path("instances", file_name_for(instance) + ".json"), params)

    # ---- health ----
    def set_health(self, instance, message, is_error=False):
        health = self.read_health()
        health[instance] = {"message": message, "is_error": bool(is_error), "updated_at": utc_now_iso()}
        write_json(self.path("health.json"), health)

    def read_health(self):
        return read_json(self.path("health.json"), {})

    # ---- incidents and indicators ----
    def append_incidents(self, incidents):
        append_jsonl(self.path("incidents.jsonl"), list(incidents))

    def read_incidents(self):
        return read_jsonl(self.path("incidents.jsonl"))

    def append_indicators(self, indicators):
        append_jsonl(self.path("indicators.jsonl"), list(indicators))

    def read_indicators(self):
        return read_jsonl(self.path("indicators.jsonl"))

    # ---- log ----
    def log(self, level, message):
        line = "{} {} {}\n".format(utc_now_iso(), level.upper(), message)
        os.makedirs(self.root, exist_ok=True)
        with open(self.path("log.txt"), "a", encoding="utf-8") as handle:
            handle.write(line)

    # ---- files ----
    def files_dir(self):
        directory = self.path("files")
        os.makedirs(directory, exist_ok=True)
        return directory


def merged_indicators(indicators):
    """The indicator store as XSOAR shows it: one ioc per (type, value), later writes win.

    Returns iocs in the server's search shape: id, value, indicator_type, score, CustomFields,
    relationships, rawJSON.
    """
    by_key = {}
    for indicator in indicators:
        if not isinstance(indicator, dict) or not indicator.get("value"):
            continue
        key = (str(indicator.get("type", "")).lower(), str(indicator["value"]).lower())
        ioc = by_key.get(key) or {"id": str(len(by_key) + 1), "score": 0, "CustomFields": {}}
        ioc.update({
            "value": indicator["value"],
            "indicator_type": indicator.get("type", ""),
            "rawJSON": indicator.get("rawJSON", ioc.get("rawJSON")),
            "relationships": indicator.get("relationships", ioc.get("relationships", [])),
        })
        if indicator.get("score") is not None:
            ioc["score"] = indicator["score"]
        ioc["CustomFields"] = dict(ioc["CustomFields"], **(indicator.get("fields") or {}))
        by_key[key] = ioc
    return list(by_key.values())


def _ioc_matches_term(ioc, term):
    key, sep, wanted = term.partition(":")
    if not sep:
        return term.strip('"').lower() in str(ioc["value"]).lower()
    wanted = wanted.strip('"').lower()
    key = key.lower()
    if key == "value":
        return str(ioc["value"]).lower() == wanted
    if key in ("type", "indicator_type"):
        return str(ioc["indicator_type"]).lower() == wanted
    if key == "score":
        return str(ioc["score"]) == wanted
    return str(ioc["CustomFields"].get(key, "")).lower() == wanted


def query_matches(ioc, query):
    """A small subset of the XSOAR indicator query language: `a:b c:d or e:f`, free text."""
    if not query:
        return True
    groups, current = [], []
    for word in _tokens(query):
        if word.lower() == "or":
            groups.append(current)
            current = []
        elif word.lower() != "and":
            current.append(word)
    groups.append(current)
    return any(group and all(_ioc_matches_term(ioc, term) for term in group) for group in groups)


def _tokens(query):
    try:
        lexer = shlex.shlex(query, posix=False)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return query.split()


def search_iocs(store, value=None, query=None, size=None):
    iocs = merged_indicators(store.read_indicators())
    if value:
        iocs = [ioc for ioc in iocs if str(ioc["value"]).lower() == str(value).lower()]
    iocs = [ioc for ioc in iocs if query_matches(ioc, query)]
    total = len(iocs)
    if size:
        iocs = iocs[:int(size)]
    return {"iocs": iocs, "total": total}
