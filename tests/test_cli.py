"""xsoar-local CLI, runner and playground, against a tiny fake Packs/ tree (XSOAR_LOCAL_REPO)."""
import json
import os
import subprocess
import sys
import textwrap
import time
import types

import pytest

import demistomock as demisto
from xsoar_local import cli, runner
from xsoar_local.state import StateStore

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAKE_INTEGRATION = '''
import signal
import time

import demistomock as demisto
from CommonServerPython import *
from CommonServerUserPython import *
from FakeApiModule import *


def long_running():
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    demisto.createIncidents([{"name": "first", "severity": 2}])
    while not stop:
        time.sleep(0.02)
    demisto.createIncidents([{"name": "at-stop", "severity": 1}])
    demisto.setIntegrationContext({"status": {"stopped": True}})


def main():
    command = demisto.command()
    args = demisto.args()
    if command == "test-module":
        return_results("ok " + api_module_greeting())
    elif command == "fake-echo":
        return_results(CommandResults(outputs_prefix="Fake.Echo", outputs_key_field="message",
                                      outputs={"message": args["message"], "count": args.get("count")},
                                      readable_output="echo: " + args["message"]))
    elif command == "fake-params":
        typed = {name: [type(value).__name__, value] for name, value in demisto.params().items()}
        return_results(CommandResults(outputs_prefix="Fake.Params", outputs=typed, readable_output="params"))
    elif command == "fake-fail":
        return_error("it failed")
    elif command == "fake-raise":
        raise ValueError("boom")
    elif command == "fake-sleep":
        time.sleep(20)
    elif command == "long-running-execution":
        long_running()


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
'''

FAKE_INTEGRATION_YML = '''
commonfields: {id: FakeFeed, version: -1}
name: FakeFeed
display: Fake Feed
configuration:
- {name: url, display: URL, type: 0, defaultvalue: "wss://example.invalid/", required: true}
- {name: threshold, display: Threshold, type: 0, defaultvalue: 0.85}
- {name: insecure, display: Trust any certificate, type: 8, defaultvalue: "false"}
- {name: create_indicators, display: Create indicators, type: 8, defaultvalue: "true"}
- {name: proxy, display: Use system proxy, type: 8}
- {name: note, display: Note, type: 12}
script:
  type: python
  subtype: python3
  longRunning: true
  commands:
  - name: fake-echo
    arguments:
    - {name: message, required: true, default: true}
    - {name: count, defaultValue: "1"}
  - name: fake-params
  - name: fake-fail
  - name: fake-raise
  - name: fake-sleep
'''

FAKE_SCRIPT = '''
import demistomock as demisto
from CommonServerPython import *


def main():
    args = demisto.args()
    entries = demisto.executeCommand("getList", {"listName": args["list"]})
    if is_error(entries):
        return_error(get_error(entries))
    found = demisto.searchIndicators(value=args.get("value"))
    return_results(CommandResults(outputs_prefix="FakeScript",
                                  outputs={"length": len(entries[0]["Contents"]), "total": found.get("total")},
                                  readable_output="list {} has {} characters".format(
                                      args["list"], len(entries[0]["Contents"]))))


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
'''

FAKE_SCRIPT_YML = '''
commonfields: {id: FakeScript, version: -1}
name: FakeScript
script: '-'
type: python
subtype: python3
args:
- {name: list, required: true, default: true}
- {name: value}
'''

FAKE_CERTSTREAM = '''
import demistomock as demisto
from CommonServerPython import *


def main():
    params = demisto.params()
    if demisto.command() == "long-running-execution":
        earlier = demisto.getIntegrationContext()
        watched = demisto.getList(params["list_name"]).strip()
        demisto.createIncidents([{
            "name": "CertStream: paypa1.com looks like " + watched, "severity": IncidentSeverity.HIGH,
            "occurred": "2024-01-01T00:00:00Z", "details": "from " + params["url"],
            "CustomFields": {"certstreammatcheddomain": "paypa1.com", "certstreamasset": watched,
                             "certstreamsimilarity": 0.9333, "certstreamexplanation": "1 replaced by l"}}])
        demisto.setIntegrationContext({"status": {
            "messages": 10, "sans": 25, "matches": 1, "incidents_created": 1, "elapsed_seconds": 0.08,
            "exit_on_stream_end": params.get("exit_on_stream_end"), "had_earlier_state": bool(earlier)}})


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
'''

FAKE_CERTSTREAM_YML = '''
commonfields: {id: CertStream, version: -1}
name: CertStream
configuration:
- {name: url, type: 0, defaultvalue: "wss://certstream.calidog.io/"}
- {name: list_name, type: 0, defaultvalue: CertStreamWatchList}
script:
  longRunning: true
  commands: []
'''


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text).lstrip())


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A Packs/ tree with one integration, one script and one API module; the state folder in tmp."""
    repo = tmp_path / "repo"
    packs = repo / "Packs"
    _write(str(packs / "Fake/Integrations/FakeFeed/FakeFeed.py"), FAKE_INTEGRATION)
    _write(str(packs / "Fake/Integrations/FakeFeed/FakeFeed.yml"), FAKE_INTEGRATION_YML)
    _write(str(packs / "Fake/Scripts/FakeScript/FakeScript.py"), FAKE_SCRIPT)
    _write(str(packs / "Fake/Scripts/FakeScript/FakeScript.yml"), FAKE_SCRIPT_YML)
    _write(str(packs / "CertStream/Integrations/CertStream/CertStream.py"), FAKE_CERTSTREAM)
    _write(str(packs / "CertStream/Integrations/CertStream/CertStream.yml"), FAKE_CERTSTREAM_YML)
    _write(str(packs / "ApiModules/Scripts/FakeApiModule/FakeApiModule.py"),
           "def api_module_greeting():\n    return 'from the api module'\n")
    monkeypatch.setenv("XSOAR_LOCAL_REPO", str(repo))
    state = str(tmp_path / "state")
    monkeypatch.chdir(str(tmp_path))
    return types.SimpleNamespace(root=str(repo), state=state, store=StateStore(state))


def xsoar_local(fake_repo, *argv):
    return cli.main(["--state", fake_repo.state] + list(argv))


# ---------------------------------------------------------------- lists
def test_list_set_get_ls(fake_repo, tmp_path, capsys):
    source = tmp_path / "watch.json"
    source.write_text('{"paypal.com": ["paypa1.com"]}', encoding="utf-8")
    assert xsoar_local(fake_repo, "list", "set", "Watch List", str(source)) == 0
    assert xsoar_local(fake_repo, "list", "get", "Watch List") == 0
    assert xsoar_local(fake_repo, "list", "ls") == 0
    out = capsys.readouterr().out
    assert '{"paypal.com": ["paypa1.com"]}' in out and "Watch List\t30 characters" in out
    assert fake_repo.store.get_list("Watch List") == '{"paypal.com": ["paypa1.com"]}'


def test_list_get_missing_is_an_error(fake_repo, capsys):
    assert xsoar_local(fake_repo, "list", "get", "nope") == 1
    assert "no list named 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- run
def test_run_test_module_imports_api_modules(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "FakeFeed", "test-module") == 0
    assert capsys.readouterr().out.strip() == "ok from the api module"


def test_run_params_are_typed_like_xsoar(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "FakeFeed", "fake-params", "--param", "insecure=true",
                       "--param", "threshold=0.9", "--param", "extra=true", "--until-closed") == 0
    out = capsys.readouterr().out
    typed = json.loads(out[out.index("{"):])["Fake.Params"]
    assert typed["url"] == ["str", "wss://example.invalid/"]
    assert typed["threshold"] == ["str", "0.9"]
    assert typed["insecure"] == ["bool", True]
    assert typed["create_indicators"] == ["bool", True]
    assert typed["proxy"] == ["bool", False]
    assert typed["extra"] == ["str", "true"]
    assert typed["exit_on_stream_end"] == ["bool", True]
    assert "note" not in typed


def test_yaml_default_numbers_are_sent_as_strings():
    params = runner.default_params({"configuration": [{"name": "threshold", "type": 0, "defaultvalue": 0.85},
                                                      {"name": "flag", "type": 8, "defaultvalue": True}]})
    assert params == {"threshold": "0.85", "flag": True}


def test_checkbox_param_rejects_non_boolean(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "FakeFeed", "test-module", "--param", "insecure=maybe") == 1
    assert "checkbox" in capsys.readouterr().err


def test_run_remembers_instance_params_without_runner_only_ones(fake_repo):
    xsoar_local(fake_repo, "run", "FakeFeed", "test-module", "--param", "url=ws://127.0.0.1:1/", "--until-closed")
    remembered = fake_repo.store.get_instance_params("FakeFeed")
    assert remembered["url"] == "ws://127.0.0.1:1/"
    assert "exit_on_stream_end" not in remembered


def test_run_error_entry_goes_to_stderr_with_exit_1(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "FakeFeed", "fake-fail") == 1
    captured = capsys.readouterr()
    assert "it failed" in captured.err and "it failed" not in captured.out


def test_run_exception_is_reported(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "FakeFeed", "fake-raise") == 1
    assert "error: boom" in capsys.readouterr().err
    with open(os.path.join(fake_repo.state, "log.txt"), encoding="utf-8") as handle:
        assert "ValueError: boom" in handle.read()


def test_run_unknown_integration(fake_repo, capsys):
    assert xsoar_local(fake_repo, "run", "Nope", "test-module") == 1
    assert "no integration or script named 'Nope'" in capsys.readouterr().err


def test_run_for_stops_with_sigterm_and_keeps_what_was_created(fake_repo, capsys):
    started = time.monotonic()
    assert xsoar_local(fake_repo, "run", "FakeFeed", "long-running-execution", "--for", "0.3") == 0
    assert time.monotonic() - started < 10
    assert "2 incident(s) created" in capsys.readouterr().out
    assert [incident["name"] for incident in fake_repo.store.read_incidents()] == ["first", "at-stop"]
    assert fake_repo.store.get_integration_context("FakeFeed") == {"status": {"stopped": True}}


def test_run_for_stops_a_run_without_sigterm_handler(fake_repo):
    result = runner.run("FakeFeed", "fake-sleep", state_dir=fake_repo.state, run_for=0.2)
    assert result.elapsed < 10 and not result.failed


def test_give_up_when_the_run_ignores_sigterm():
    code = ("import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "from xsoar_local.runner import _StopTimer\n"
            "_StopTimer(0.1, grace=0.3, label='Fake run')\n"
            "time.sleep(20)\n")
    process = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert "Fake run still running" in process.stderr


def test_run_leaves_the_process_as_it_was(fake_repo):
    path_before = list(sys.path)
    runner.run("FakeFeed", "fake-params", {"url": "ws://x/"}, state_dir=fake_repo.state)
    assert sys.path == path_before
    assert "FakeApiModule" not in sys.modules
    assert demisto.params() == {} and demisto.command() == ""


def test_run_script_with_args(fake_repo, capsys):
    fake_repo.store.set_list("Watch", "abc")
    assert xsoar_local(fake_repo, "run", "FakeScript", "--arg", "list=Watch") == 0
    assert "list Watch has 3 characters" in capsys.readouterr().out


# ---------------------------------------------------------------- playground
def test_playground_runs_command_with_quoted_args_and_prints_context(fake_repo, capsys):
    assert xsoar_local(fake_repo, '!fake-echo message="hello world" count=2') == 0
    out = capsys.readouterr().out
    assert out.startswith("echo: hello world\n")
    context = json.loads(out[out.index("{"):])
    assert context == {"Fake.Echo(val.message && val.message == obj.message)": {"message": "hello world",
                                                                               "count": "2"}}


def test_playground_several_argv_words_default_arg_and_arg_defaults(fake_repo, capsys):
    assert xsoar_local(fake_repo, "!fake-echo", "hi there") == 0
    out = capsys.readouterr().out
    assert '"message": "hi there"' in out and '"count": "1"' in out


def test_playground_uses_remembered_instance_params(fake_repo, capsys):
    xsoar_local(fake_repo, "run", "FakeFeed", "test-module", "--param", "url=ws://remembered/")
    capsys.readouterr()
    assert xsoar_local(fake_repo, "!fake-params") == 0
    assert '"ws://remembered/"' in capsys.readouterr().out


def test_playground_error_entry_exit_1(fake_repo, capsys):
    assert xsoar_local(fake_repo, "!fake-fail") == 1
    assert "it failed" in capsys.readouterr().err


def test_playground_script_reads_lists_and_indicators(fake_repo, capsys):
    fake_repo.store.set_list("Watch", "abcd")
    assert xsoar_local(fake_repo, "indicator", "add", "paypa1.com", "--type", "Domain", "--score", "3") == 0
    assert xsoar_local(fake_repo, "!FakeScript Watch value=paypa1.com") == 0
    out = capsys.readouterr().out
    assert "list Watch has 4 characters" in out and '"total": 1' in out


def test_playground_script_missing_list(fake_repo, capsys):
    assert xsoar_local(fake_repo, "!FakeScript list=Nope") == 1
    assert "Item not found (8)" in capsys.readouterr().err


def test_playground_unknown_command_and_missing_required_arg(fake_repo, capsys):
    assert xsoar_local(fake_repo, "!no-such-command") == 1
    assert "Unsupported Command" in capsys.readouterr().err
    assert xsoar_local(fake_repo, "!fake-echo") == 1
    assert "missing required argument(s) for fake-echo: message" in capsys.readouterr().err


def test_python_m_xsoar_local_playground(fake_repo):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    process = subprocess.run([sys.executable, "-m", "xsoar_local", "--state", fake_repo.state, "!fake-echo x=1 y"],
                             cwd=fake_repo.root, env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("echo: y\n")


# ---------------------------------------------------------------- replay
class FakeServer:
    instances = []

    def __init__(self, source, host="127.0.0.1", port=0, rate=None, loop=False, **faults):
        self.source, self.host, self.stopped = source, host, False
        FakeServer.instances.append(self)

    def start(self):
        return 4242

    def stop(self):
        self.stopped = True


@pytest.fixture
def fake_server(monkeypatch):
    """replay runs the server in its own process; the fake stands in for that process."""
    FakeServer.instances = []

    def start(stream):
        server = FakeServer(stream)
        return server, server.start()

    monkeypatch.setattr(cli, "start_server_process", start)
    monkeypatch.setattr(cli, "stop_server_process", lambda server: server.stop())
    return FakeServer


def test_replay_stores_list_resets_state_runs_and_summarises(fake_repo, fake_server, tmp_path, capsys):
    stream, watch = tmp_path / "stream.txt", tmp_path / "watch.json"
    stream.write_text("{}\n", encoding="utf-8")
    watch.write_text("paypal.com\n", encoding="utf-8")
    fake_repo.store.set_integration_context("CertStream", {"dedup": {"old": 1}})
    assert xsoar_local(fake_repo, "replay", str(stream), "--list", str(watch)) == 0
    out = capsys.readouterr().out
    assert fake_repo.store.get_list("CertStreamWatchList") == "paypal.com\n"
    status = fake_repo.store.get_integration_context("CertStream")["status"]
    assert status["had_earlier_state"] is False and status["exit_on_stream_end"] is True
    assert fake_server.instances[0].source == str(stream) and fake_server.instances[0].stopped
    assert "messages:          10" in out and "SANs:              25" in out and "messages/s:        125.0" in out
    assert "incidents created: 1" in out
    assert "[High] CertStream: paypa1.com looks like paypal.com" in out
    assert "from ws://127.0.0.1:4242/full-stream" in out
    assert "similarity: 0.93" in out and "why:        1 replaced by l" in out


def test_replay_keep_state_and_list_name(fake_repo, fake_server, tmp_path, capsys):
    stream, watch = tmp_path / "stream.txt", tmp_path / "watch.json"
    stream.write_text("{}\n", encoding="utf-8")
    watch.write_text("example.com", encoding="utf-8")
    fake_repo.store.set_integration_context("CertStream", {"dedup": {"old": 1}})
    assert xsoar_local(fake_repo, "replay", str(stream), "--list", str(watch), "--list-name", "Other",
                       "--keep-state", "--endpoint", "/") == 0
    assert fake_repo.store.get_integration_context("CertStream")["status"]["had_earlier_state"] is True
    assert "from ws://127.0.0.1:4242/\n" in capsys.readouterr().out
    assert fake_repo.store.get_list("Other") == "example.com"


def test_replay_prints_only_this_runs_incidents(fake_repo, fake_server, tmp_path, capsys):
    fake_repo.store.append_incidents([{"name": "from an earlier run", "severity": 1}])
    stream, watch = tmp_path / "stream.txt", tmp_path / "watch.json"
    stream.write_text("{}\n", encoding="utf-8")
    watch.write_text("paypal.com", encoding="utf-8")
    xsoar_local(fake_repo, "replay", str(stream), "--list", str(watch))
    assert "from an earlier run" not in capsys.readouterr().out


def test_summary_rate_uses_the_loops_streaming_time(capsys):
    cli.print_summary({"messages": 50, "elapsed_seconds": 0.5}, [{"name": "x"}], 2.0)
    out = capsys.readouterr().out
    assert "messages:          50" in out and "messages/s:        100.0" in out and "SANs:              n/a" in out
    cli.print_summary({"messages": 50}, [], 2.0)
    assert "messages/s:        25.0" in capsys.readouterr().out


def test_replay_missing_stream_file(fake_repo, fake_server, capsys):
    assert xsoar_local(fake_repo, "replay", "nope.txt", "--list", "nope.json") == 1
    assert "no stream file nope.txt" in capsys.readouterr().err


# ---------------------------------------------------------------- incidents and indicators
def test_incidents_readable_json_and_last(fake_repo, capsys):
    fake_repo.store.append_incidents([
        {"name": "one", "severity": 4, "occurred": "2024-01-01T00:00:00Z", "details": "line 1\nline 2",
         "CustomFields": {"certstreammatcheddomain": "paypa1.com", "certstreamasset": "paypal.com",
                          "certstreamsimilarity": 0.9, "certstreamexplanation": "looks alike"}},
        {"name": "two", "severity": 0.5}])
    assert xsoar_local(fake_repo, "incidents") == 0
    out = capsys.readouterr().out
    assert "[Critical] one" in out and "[Informational] two" in out
    assert "domain:     paypa1.com" in out and "asset:      paypal.com" in out
    assert "similarity: 0.90" in out and "why:        looks alike" in out
    assert "details:    line 1\n" in out and "line 2" in out
    assert xsoar_local(fake_repo, "incidents", "--json", "--last", "1") == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "two", "severity": 0.5}]


def test_incidents_none(fake_repo, capsys):
    assert xsoar_local(fake_repo, "incidents") == 0
    assert "No incidents." in capsys.readouterr().out


def test_indicator_add_and_list(fake_repo, capsys):
    assert xsoar_local(fake_repo, "indicator", "add", "paypa1.com", "--score", "2") == 0
    assert xsoar_local(fake_repo, "indicator", "add", "paypa1.com", "--score", "3") == 0
    capsys.readouterr()
    assert xsoar_local(fake_repo, "indicators") == 0
    assert capsys.readouterr().out.strip() == "paypa1.com  [Domain]  score 3 (Bad)"
    assert xsoar_local(fake_repo, "indicators", "--json") == 0
    iocs = json.loads(capsys.readouterr().out)
    assert len(iocs) == 1 and iocs[0]["indicator_type"] == "Domain" and iocs[0]["score"] == 3


def test_indicator_add_rejects_bad_score(fake_repo, capsys):
    assert xsoar_local(fake_repo, "indicator", "add", "x.example", "--score", "7") == 1
    assert "DBot score" in capsys.readouterr().err


def test_status_prints_context_status_and_health(fake_repo, capsys):
    fake_repo.store.set_integration_context("CertStream", {"status": json.dumps({"messages": 3})})
    fake_repo.store.set_health("CertStream", "connected", False)
    assert xsoar_local(fake_repo, "status") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == {"messages": 3} and printed["health"]["message"] == "connected"
