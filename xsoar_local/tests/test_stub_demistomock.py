"""The demistomock stand-in: in-memory defaults as the real mock, file-backed mode for the runner."""
import json
import os

import pytest

import demistomock as demisto
from xsoar_local.state import StateStore

stand_in_only = pytest.mark.skipif(not hasattr(demisto, "_xsoar_local_setup"),
                                   reason="behaviour of the local stand-in, not of the real demistomock")


@pytest.fixture
def file_backed(tmp_path):
    demisto._xsoar_local_setup(str(tmp_path), {"url": "wss://example.invalid/", "insecure": False},
                               "long-running-execution", {"limit": "5"}, "CertStream")
    yield StateStore(str(tmp_path))
    demisto._xsoar_local_reset()


# ---------------------------------------------------------------- in-memory defaults (as the real mock)
def test_defaults_are_empty():
    assert demisto.params() == {}
    assert demisto.args() == {}
    assert demisto.command() == ""


def test_get_last_run_default_is_a_non_empty_placeholder_and_set_is_ignored():
    assert demisto.getLastRun() == {"lastRun": "2018-10-24T14:13:20+00:00"}
    demisto.setLastRun({"mine": 1})
    assert "mine" not in demisto.getLastRun()


def test_error_prints_to_stdout(capsys):
    demisto.error("something broke")
    assert "something broke" in capsys.readouterr().out


def test_unknown_command_answers_empty_string():
    assert demisto.executeCommand("no-such-command", {}) == ""


def test_search_indicators_default_is_empty_dict():
    assert demisto.searchIndicators(value="example.com") == {}


def test_demisto_version_is_the_mock_version():
    assert demisto.demistoVersion()["version"] == "5.5.0"


def test_integration_context_set_replaces_whole_dict():
    demisto.setIntegrationContext({"a": 1})
    demisto.setIntegrationContext({"b": 2})
    assert demisto.getIntegrationContext() == {"b": 2}
    demisto.setIntegrationContext({})


def test_create_incidents_and_update_health_do_nothing_in_memory(tmp_path):
    assert demisto.createIncidents([{"name": "x"}]) == []
    assert demisto.updateModuleHealth("msg") == ""
    assert demisto.createIndicators([{"value": "a.example", "type": "Domain"}]) == ""


def test_incidents_with_list_sends_a_json_entry(mocker):
    results = mocker.patch.object(demisto, "results")
    demisto.incidents([{"name": "x"}])
    entry = results.call_args[0][0]
    assert entry["Type"] == 1 and json.loads(entry["Contents"]) == [{"name": "x"}]


def test_internal_http_request_to_other_uri_is_not_found():
    assert demisto.internalHttpRequest("GET", "/incidents/1")["statusCode"] == 404


# ---------------------------------------------------------------- lists (stand-in)
@stand_in_only
def test_missing_list_answers_item_not_found_error_entry():
    entries = demisto.executeCommand("getList", {"listName": "nope"})
    assert entries[0]["Contents"] == "Item not found (8)"
    assert entries[0]["Type"] == 4
    assert demisto.getList("nope") is None


@stand_in_only
def test_list_is_the_same_through_all_three_paths(file_backed):
    demisto.executeCommand("setList", {"listName": "Watch", "listData": '{"paypal.com": []}'})
    via_command = demisto.executeCommand("getList", {"listName": "Watch"})[0]["Contents"]
    response = demisto.internalHttpRequest("GET", "/lists/")
    via_http = {item["id"]: item["data"] for item in json.loads(response["body"])}["Watch"]
    assert response["statusCode"] == 200 and response["status"] == "200 OK"
    assert via_command == via_http == demisto.getList("Watch") == '{"paypal.com": []}'
    assert file_backed.get_list("Watch") == '{"paypal.com": []}'


@stand_in_only
def test_in_memory_list_store_is_reset():
    demisto.executeCommand("setList", {"listName": "Tmp", "listData": "x"})
    assert demisto.getList("Tmp") == "x"
    demisto._xsoar_local_reset()
    assert demisto.getList("Tmp") is None


@stand_in_only
def test_create_list_refuses_existing_and_add_to_list_appends(file_backed):
    assert demisto.executeCommand("createList", {"listName": "L", "listData": "a"})[0]["Type"] == 1
    assert demisto.executeCommand("createList", {"listName": "L", "listData": "b"})[0]["Type"] == 4
    demisto.executeCommand("addToList", {"listName": "L", "listData": "b"})
    assert demisto.getList("L") == "a,b"


# ---------------------------------------------------------------- file-backed mode (stand-in)
@stand_in_only
def test_setup_sets_params_command_args_instance(file_backed):
    assert demisto.params()["url"] == "wss://example.invalid/"
    assert demisto.command() == "long-running-execution"
    assert demisto.args() == {"limit": "5"}
    assert demisto.integrationInstance() == "CertStream"
    assert demisto.callingContext["context"]["IntegrationBrand"] == "CertStream"


@stand_in_only
def test_create_incidents_writes_exactly_the_dicts_one_per_line(file_backed):
    incidents = [{"name": "a", "severity": 3, "CustomFields": {"certstreamasset": "paypal.com"}}, {"name": "b"}]
    demisto.createIncidents(incidents)
    with open(file_backed.path("incidents.jsonl"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert [json.loads(line) for line in lines] == incidents


@stand_in_only
def test_last_run_is_empty_then_persisted(file_backed):
    assert demisto.getLastRun() == {}
    demisto.setLastRun({"offset": 3})
    assert file_backed.get_last_run("CertStream") == {"offset": 3}
    assert demisto.getLastRun() == {"offset": 3}


@stand_in_only
def test_integration_context_is_a_file_per_instance(file_backed):
    demisto.setIntegrationContext({"status": {"messages": 4}})
    with open(file_backed.path("context", "CertStream.json"), encoding="utf-8") as handle:
        assert json.load(handle) == {"status": {"messages": 4}}
    file_backed.set_integration_context("CertStream", {"changed": "by another process"})
    assert demisto.getIntegrationContext() == {"changed": "by another process"}


@stand_in_only
def test_module_health_and_log(file_backed, capsys):
    demisto.updateModuleHealth("connection refused", is_error=True)
    demisto.info("hello %s", "log")
    demisto.error("bad thing")
    health = file_backed.read_health()["CertStream"]
    assert health["message"] == "connection refused" and health["is_error"] is True
    with open(file_backed.path("log.txt"), encoding="utf-8") as handle:
        log = handle.read()
    assert "INFO hello log" in log and "ERROR bad thing" in log
    assert capsys.readouterr().out == ""


@stand_in_only
def test_search_indicators_file_backed_shape(file_backed):
    assert demisto.searchIndicators(value="paypa1.com") == {"iocs": [], "total": 0}
    demisto.createIndicators([{"value": "paypa1.com", "type": "Domain", "score": 3, "fields": {"tags": "x"}},
                              {"value": "other.example", "type": "Domain"}])
    found = demisto.searchIndicators(value="paypa1.com")
    assert found["total"] == 1
    assert found["iocs"][0]["value"] == "paypa1.com" and found["iocs"][0]["score"] == 3
    assert demisto.searchIndicators(query="type:Domain", size=1)["total"] == 2
    assert len(demisto.searchIndicators(query="type:Domain", size=1)["iocs"]) == 1


@stand_in_only
def test_results_go_to_the_sink(tmp_path):
    sink = []
    demisto._xsoar_local_setup(str(tmp_path), {}, "x", {}, "I", results_sink=sink)
    try:
        demisto.results({"Type": 1, "Contents": "hi"})
    finally:
        demisto._xsoar_local_reset()
    assert sink == [{"Type": 1, "Contents": "hi"}]


@stand_in_only
def test_reset_returns_to_in_memory_defaults(tmp_path):
    demisto._xsoar_local_setup(str(tmp_path), {"a": "1"}, "test-module", {}, "I")
    demisto._xsoar_local_reset()
    assert demisto.params() == {} and demisto.command() == "" and demisto.callingContext == {}
    demisto.createIncidents([{"name": "x"}])
    assert not os.path.exists(os.path.join(str(tmp_path), "incidents.jsonl"))
