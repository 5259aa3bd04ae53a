"""xsoar-local: run the CertStream pack outside XSOAR.

    xsoar-local [--state DIR] list set NAME FILE | list get NAME | list ls
    xsoar-local run NAME [COMMAND] [--param k=v]... [--arg k=v]... [--until-closed] [--for S]
    xsoar-local serve FILE [--port P] [--rate N] [--loop] [fault options]
    xsoar-local replay STREAM [--list FILE] [--list-name NAME] [--param k=v]... [--endpoint PATH] [--keep-state]
    xsoar-local demo [--url wss://...] [--param k=v]...
    xsoar-local incidents [--json] [--last N]
    xsoar-local indicators [--json]  |  indicator add VALUE --type Domain --score 3
    xsoar-local status [NAME]
    xsoar-local '!command arg=value arg2="quoted value"'      (playground)
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys

from xsoar_local import DEFAULT_STATE_DIR, SAMPLES_DIR, playground, runner
from xsoar_local.state import StateStore, merged_indicators

INTEGRATION = "CertStream"
DEFAULT_LIST_NAME = "CertStreamWatchList"
DEMO_STREAM = os.path.join(SAMPLES_DIR, "demo_stream.txt")
DEMO_WATCHLIST = os.path.join(SAMPLES_DIR, "demo_watchlist.json")
SEVERITY_WORDS = {0: "Unknown", 0.5: "Informational", 1: "Low", 2: "Medium", 3: "High", 4: "Critical"}
DBOT_SCORE_WORDS = {0: "Unknown", 1: "Good", 2: "Suspicious", 3: "Bad"}


class CliError(Exception):
    pass


# ---------------------------------------------------------------- small helpers
def _store(ns):
    return StateStore(ns.state)


def _read_text(path):
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise CliError("cannot read {}: {}".format(path, error.strerror or error))
    except UnicodeDecodeError as error:
        raise CliError("cannot read {}: not UTF-8 text ({})".format(path, error.reason))


def _print_json(value):
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _server_module():
    try:
        from xsoar_local import server
    except ImportError as error:
        raise CliError("the CertStream test server (xsoar_local.server) is not available: {}".format(error))
    return server


# ---------------------------------------------------------------- lists
def cmd_list_set(ns):
    _store(ns).set_list(ns.name, _read_text(ns.file))
    print("list {} stored".format(ns.name))


def cmd_list_get(ns):
    text = _store(ns).get_list(ns.name)
    if text is None:
        raise CliError("no list named {!r} in {}".format(ns.name, ns.state))
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def cmd_list_ls(ns):
    store = _store(ns)
    for name in store.list_names():
        print("{}\t{} characters".format(name, len(store.get_list(name) or "")))


# ---------------------------------------------------------------- run
def cmd_run(ns):
    before = len(_store(ns).read_incidents())
    result = runner.run(ns.name, ns.command, runner.parse_assignments(ns.param, "--param"),
                        runner.parse_assignments(ns.arg, "--arg"), ns.state, until_closed=ns.until_closed,
                        run_for=ns.run_for)
    exit_code = playground.print_entries(result)
    created = len(_store(ns).read_incidents()) - before
    if created:
        print("{} incident(s) created; `xsoar-local incidents` shows them".format(created))
    return exit_code


# ---------------------------------------------------------------- serve
def cmd_serve(ns):
    server_module = _server_module()
    faults = server_module.faults_from_args(ns) if hasattr(server_module, "faults_from_args") else {}
    try:
        server = server_module.CertStreamServer(ns.file, host=ns.host, port=ns.port, rate=ns.rate, loop=ns.loop,
                                                **faults)
    except (OSError, ValueError) as error:
        raise CliError("cannot serve {}: {}".format(ns.file, error))
    server.serve_forever()  # announces its URL; Ctrl-C stops


# ---------------------------------------------------------------- replay and demo
def _status_counters(store):
    status = store.get_integration_context(INTEGRATION).get("status") or {}
    if isinstance(status, str):  # stored with set_to_integration_context_with_retries
        try:
            status = json.loads(status)
        except ValueError:
            status = {}
    return status if isinstance(status, dict) else {}


def print_summary(status, new_incidents, elapsed):
    messages = status.get("messages")
    # the loop's own streaming time excludes interpreter start-up and list loading
    elapsed = status.get("elapsed_seconds") or elapsed
    rate = messages / elapsed if messages and elapsed else None
    rows = [("messages", messages), ("SANs", status.get("sans")), ("matches", status.get("matches")),
            ("incidents created", len(new_incidents)), ("elapsed seconds", round(elapsed, 1)),
            ("messages/s", round(rate, 1) if isinstance(rate, (int, float)) else rate)]
    print("Summary")
    for label, value in rows:
        print("  {:<18} {}".format(label + ":", "n/a" if value is None else value))
    if status.get("last_error"):
        print("  {:<18} {}".format("last error:", status["last_error"]))


def _prepare_instance(store, list_text, list_name, keep_state):
    store.set_list(list_name, list_text)
    if not keep_state:
        # dedup state of earlier runs would hide this run's incidents
        store.set_integration_context(INTEGRATION, {})


def _run_stream(ns, store, url, list_name, until_closed):
    """Run the CertStream loop against url; print summary and this run's incidents."""
    before = len(store.read_incidents())
    overrides = runner.parse_assignments(ns.param, "--param")
    overrides.update(url=url, list_name=list_name)
    result = runner.run(INTEGRATION, "long-running-execution", overrides, state_dir=ns.state,
                        until_closed=until_closed)
    new_incidents = store.read_incidents()[before:]
    print_summary(_status_counters(store), new_incidents,
                  result.elapsed)
    print()
    print_incidents(new_incidents)
    for entry in result.error_entries:
        print("error: {}".format(entry.get("Contents")), file=sys.stderr)
    if result.error:
        print("error: {}".format(result.error), file=sys.stderr)
    return 1 if result.failed else 0


ENDPOINTS = ("/", "/full-stream", "/domains-only")


def endpoint_path(value):
    """argparse type: one of the server's endpoints, with or without the leading slash."""
    path = "/" + value.strip().lstrip("/")
    if path not in ENDPOINTS:
        raise argparse.ArgumentTypeError("unknown endpoint {!r}: use one of {}".format(value, ", ".join(ENDPOINTS)))
    return path


def start_server_process(stream, endpoint_faults=()):
    """Starts `python -m xsoar_local.server STREAM --port 0` in its own process (so the server
    does not share the integration's interpreter lock) and returns (process, port)."""
    command = [sys.executable, "-m", "xsoar_local.server", stream, "--port", "0", *endpoint_faults]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    announce = process.stdout.readline()
    found = re.search(r"ws://127\.0\.0\.1:(\d+)/", announce)
    if not found:
        process.kill()
        raise CliError("cannot serve {}: {}".format(stream, (announce + process.stderr.read()).strip()))
    return process, int(found.group(1))


def stop_server_process(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def replay(ns, stream, list_path):
    if not os.path.isfile(stream):
        raise CliError("no stream file {}".format(stream))
    try:
        _server_module().source_kind(stream)
    except ValueError as error:
        raise CliError(str(error))
    store = _store(ns)
    list_name = ns.list_name or DEFAULT_LIST_NAME
    if list_path:
        list_text = _read_text(list_path)
    else:  # a list already in the store, e.g. written by GenerateDomainHomographs
        list_text = store.get_list(list_name)
        if list_text is None:
            raise CliError("give --list FILE, or --list-name of a stored list (xsoar-local list ls)")
    _prepare_instance(store, list_text, list_name, ns.keep_state)
    process, port = start_server_process(stream)
    try:
        url = "ws://127.0.0.1:{}{}".format(port, ns.endpoint)
        return _run_stream(ns, store, url, list_name, until_closed=True)
    finally:
        stop_server_process(process)


def cmd_replay(ns):
    return replay(ns, ns.stream, ns.list)


def cmd_demo(ns):
    for path in (DEMO_STREAM, DEMO_WATCHLIST):
        if not os.path.isfile(path):
            raise CliError("demo sample missing: {}".format(path))
    if not ns.url:
        return replay(ns, DEMO_STREAM, DEMO_WATCHLIST)
    store = _store(ns)
    _prepare_instance(store, _read_text(DEMO_WATCHLIST), ns.list_name, ns.keep_state)
    print("streaming from {} until Ctrl-C ...".format(ns.url), flush=True)
    return _run_stream(ns, store, ns.url, ns.list_name, until_closed=False)


# ---------------------------------------------------------------- incidents and indicators
def _custom_field(incident, name):
    return (incident.get("CustomFields") or {}).get(name)


def _indented(text, indent="      "):
    return ("\n" + indent).join(str(text).splitlines())


def _unless_in(text, other):
    """text, unless `other` already says all of it (the details repeat the explanation)."""
    lines = str(text or "").splitlines()
    return None if lines and all(line.split(": ", 1)[-1] in str(other or "") for line in lines) else text


def format_incident(incident):
    severity = SEVERITY_WORDS.get(incident.get("severity"), incident.get("severity"))
    lines = ["[{}] {}".format(severity, incident.get("name", "(no name)"))]
    similarity = _custom_field(incident, "certstreamsimilarity")
    if isinstance(similarity, (int, float)):
        similarity = "{:.2f}".format(similarity)
    fields = [("occurred", incident.get("occurred")),
              ("domain", _custom_field(incident, "certstreammatcheddomain")),
              ("asset", _custom_field(incident, "certstreamasset")),
              ("similarity", similarity),
              ("why", _unless_in(_custom_field(incident, "certstreamexplanation"), incident.get("details"))),
              ("details", incident.get("details"))]
    for label, value in fields:
        if value not in (None, "", []):
            lines.append("  {:<11} {}".format(label + ":", _indented(value, " " * 14)))
    return "\n".join(lines)


def print_incidents(incidents):
    if not incidents:
        print("No incidents.")
        return
    print("{} incident(s):".format(len(incidents)))
    for incident in incidents:
        print()
        print(format_incident(incident))


def cmd_incidents(ns):
    incidents = _store(ns).read_incidents()
    if ns.last:
        incidents = incidents[-ns.last:]
    if ns.json:
        _print_json(incidents)
    else:
        print_incidents(incidents)


def cmd_indicators(ns):
    iocs = merged_indicators(_store(ns).read_indicators())
    if ns.json:
        _print_json(iocs)
        return
    if not iocs:
        print("No indicators.")
    for ioc in iocs:
        score = DBOT_SCORE_WORDS.get(ioc.get("score"), ioc.get("score"))
        related = len(ioc.get("relationships") or [])
        print("{}  [{}]  score {} ({}){}".format(ioc["value"], ioc["indicator_type"], ioc.get("score"), score,
                                               "  {} relationship(s)".format(related) if related else ""))


def cmd_indicator_add(ns):
    if ns.score not in DBOT_SCORE_WORDS:
        raise CliError("--score is a DBot score: 0 unknown, 1 good, 2 suspicious, 3 bad")
    indicator = {"value": ns.value, "type": ns.type, "score": ns.score, "fields": {},
                 "rawJSON": {"value": ns.value, "type": ns.type}}
    _store(ns).append_indicators([indicator])
    print("indicator {} ({}) stored with score {}".format(ns.value, ns.type, ns.score))


def cmd_status(ns):
    store = _store(ns)
    _print_json({"status": _status_counters(store) if ns.name == INTEGRATION else
                 store.get_integration_context(ns.name).get("status"),
                 "health": store.read_health().get(ns.name)})


# ---------------------------------------------------------------- argument parsing
def _add_params(parser):
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="integration param (repeatable); checkboxes take true/false")


def _add_instance_options(parser):
    parser.add_argument("--endpoint", default="/full-stream", type=endpoint_path,
                        help="/full-stream (default), / (lite) or /domains-only")
    parser.add_argument("--list-name", default=DEFAULT_LIST_NAME, help="name to store the watch list under")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep the instance's integration context (dedup state) from earlier runs")
    _add_params(parser)


def build_parser():
    parser = argparse.ArgumentParser(prog="xsoar-local", description="Run the CertStream pack outside XSOAR. "
                                     "A first argument starting with ! runs a playground command.")
    parser.add_argument("--state", default=DEFAULT_STATE_DIR, help="state folder (default ./.xsoar-local)")
    commands = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    commands.required = True

    lists = commands.add_parser("list", help="XSOAR lists").add_subparsers(dest="list_command", metavar="ACTION")
    lists.required = True
    list_set = lists.add_parser("set", help="store FILE (- for stdin) as list NAME")
    list_set.add_argument("name")
    list_set.add_argument("file")
    list_set.set_defaults(func=cmd_list_set)
    list_get = lists.add_parser("get", help="print list NAME")
    list_get.add_argument("name")
    list_get.set_defaults(func=cmd_list_get)
    lists.add_parser("ls", help="list names").set_defaults(func=cmd_list_ls)

    run = commands.add_parser("run", help="run an integration command or a script")
    run.add_argument("name", help="integration or script name, e.g. CertStream")
    run.add_argument("command", nargs="?", help="command, e.g. long-running-execution (not for scripts)")
    _add_params(run)
    run.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE", help="command argument")
    run.add_argument("--until-closed", action="store_true", help="stop when the stream closes")
    run.add_argument("--for", dest="run_for", type=float, metavar="SECONDS", help="SIGTERM after SECONDS")
    run.set_defaults(func=cmd_run)

    serve = commands.add_parser("serve", help="serve a recorded stream as a CertStream server")
    serve.add_argument("file")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="default 8080; 0 picks a free port")
    serve.add_argument("--rate", type=float, help="messages per second (default: as fast as possible)")
    serve.add_argument("--loop", action="store_true", help="start over at the end of the file")
    _add_fault_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    replay_parser = commands.add_parser("replay", help="stream a recorded file through the integration")
    replay_parser.add_argument("stream")
    replay_parser.add_argument("--list", help="watch-list file (default: the stored list --list-name)")
    _add_instance_options(replay_parser)
    replay_parser.set_defaults(func=cmd_replay)

    demo = commands.add_parser("demo", help="replay the built-in sample (or stream from --url)")
    demo.add_argument("--url", help="a live CertStream server; runs until Ctrl-C")
    _add_instance_options(demo)
    demo.set_defaults(func=cmd_demo)

    incidents = commands.add_parser("incidents", help="incidents created so far")
    incidents.add_argument("--json", action="store_true")
    incidents.add_argument("--last", type=int, metavar="N")
    incidents.set_defaults(func=cmd_incidents)

    indicators = commands.add_parser("indicators", help="the local indicator store")
    indicators.add_argument("--json", action="store_true")
    indicators.set_defaults(func=cmd_indicators)

    indicator = commands.add_parser("indicator", help="seed the indicator store").add_subparsers(
        dest="indicator_command", metavar="ACTION")
    indicator.required = True
    indicator_add = indicator.add_parser("add", help="add an indicator")
    indicator_add.add_argument("value")
    indicator_add.add_argument("--type", default="Domain")
    indicator_add.add_argument("--score", type=int, default=3, help="DBot score 0-3")
    indicator_add.set_defaults(func=cmd_indicator_add)

    status = commands.add_parser("status", help="integration context status and module health")
    status.add_argument("name", nargs="?", default=INTEGRATION)
    status.set_defaults(func=cmd_status)
    return parser


def _add_fault_arguments(parser):
    try:
        from xsoar_local import server
    except ImportError:
        return  # serve reports the missing server when used
    if hasattr(server, "add_fault_arguments"):
        server.add_fault_arguments(parser)


def _playground_words(argv):
    """(state_dir, words) when argv is a playground command line, else None."""
    state, index = DEFAULT_STATE_DIR, 0
    while index < len(argv):
        word = argv[index]
        if word == "--state" and index + 1 < len(argv):
            state, index = argv[index + 1], index + 2
        elif word.startswith("--state="):
            state, index = word.split("=", 1)[1], index + 1
        else:
            break
    if index < len(argv) and argv[index].lstrip().startswith("!"):
        return state, [argv[index].lstrip()] + argv[index + 1:]
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        playground_call = _playground_words(argv)
        if playground_call:
            return playground.run_playground(playground_call[1], playground_call[0])
        ns = build_parser().parse_args(argv)
        return ns.func(ns) or 0
    except (CliError, runner.RunnerError) as error:
        print("error: {}".format(error), file=sys.stderr)
        return 1
    except (UnicodeDecodeError, ValueError, OSError) as error:  # bad files, names or quoting
        if isinstance(error, BrokenPipeError):  # output piped into `head`
            sys.stderr.close()
            return 0
        print("error: {}".format(error), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
