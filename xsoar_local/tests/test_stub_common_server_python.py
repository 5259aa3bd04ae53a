"""The CommonServerPython stand-in: the facts of docs/xsoar-runtime.md, checked against the real module."""
import importlib
import json
import os
import sys

import pytest

import CommonServerPython as csp
import demistomock as demisto

stand_in_only = pytest.mark.skipif(not hasattr(demisto, "_xsoar_local_setup"),
                                   reason="behaviour of the local stand-in, not of the real module")


@pytest.fixture
def fresh_csp():
    """Import CommonServerPython again (its import-time code runs), then put the old module back."""
    saved = sys.modules.pop("CommonServerPython")
    try:
        yield lambda: importlib.import_module("CommonServerPython")
    finally:
        sys.modules["CommonServerPython"] = saved


# ---------------------------------------------------------------- loading
def test_star_import_reexports_modules_and_typing_names():
    namespace = {}
    exec("from CommonServerPython import *", namespace)
    for name in ("demisto", "json", "re", "os", "sys", "time", "traceback", "datetime", "timedelta", "timezone",
                 "Any", "Dict", "List", "Optional", "Union", "cast"):
        assert name in namespace, name
    assert namespace["demisto"] is demisto
    assert not hasattr(csp, "__all__")


@stand_in_only
def test_import_puts_params_in_calling_context_as_smart_get_dict(tmp_path, fresh_csp):
    demisto._xsoar_local_setup(str(tmp_path), {"url": "wss://x", "note": None}, "test-module", {}, "I")
    try:
        module = fresh_csp()
        params = demisto.params()
        assert isinstance(params, module.SmartGetDict)
        assert params.get("note", "default") == "default"
    finally:
        demisto._xsoar_local_reset()


# ---------------------------------------------------------------- constants
def test_severity_scales():
    S = csp.IncidentSeverity
    assert (S.UNKNOWN, S.INFO, S.LOW, S.MEDIUM, S.HIGH, S.CRITICAL) == (0, 0.5, 1, 2, 3, 4)
    D = csp.Common.DBotScore
    assert (D.NONE, D.GOOD, D.SUSPICIOUS, D.BAD) == (0, 1, 2, 3)


def test_feed_indicator_types():
    assert csp.FeedIndicatorType.X509 == "X509 Certificate"
    assert csp.FeedIndicatorType.Domain == "Domain"
    assert csp.FeedIndicatorType.URL == "URL"
    assert csp.EntryType.ERROR == 4 and csp.EntryType.NOTE == 1
    assert csp.EntryFormat.MARKDOWN == "markdown" and csp.formats["json"] == "json"


# ---------------------------------------------------------------- relationships
def test_relationship_to_indicator():
    relationship = csp.EntityRelationship(name=csp.EntityRelationship.Relationships.SIMILAR_TO,
                                          entity_a="paypa1.com", entity_a_type=csp.FeedIndicatorType.Domain,
                                          entity_b="paypal.com", entity_b_type=csp.FeedIndicatorType.Domain)
    assert relationship.to_indicator() == {
        "name": "similar-to", "reverseName": "similar-to", "type": "IndicatorToIndicator",
        "entityA": "paypa1.com", "entityAFamily": "Indicator", "entityAType": "Domain",
        "entityB": "paypal.com", "entityBFamily": "Indicator", "entityBType": "Domain", "fields": {}}


def test_relationship_names_and_reverse():
    R = csp.EntityRelationship.Relationships
    assert (R.RELATED_TO, R.SIMILAR_TO, R.SUB_DOMAIN_OF) == ("related-to", "similar-to", "sub-domain-of")
    relationship = csp.EntityRelationship(R.SUB_DOMAIN_OF, "a.b.example", "Domain", "b.example", "Domain")
    assert relationship.to_indicator()["reverseName"] == "supra-domain-of"


def test_relationship_without_entity_b_is_empty():
    relationship = csp.EntityRelationship("related-to", "cert", csp.FeedIndicatorType.X509, "", "Domain")
    assert relationship.to_indicator() == {}
    assert relationship.to_entry() == {}
    assert relationship.to_context() == {}


def test_relationship_rejects_bad_family():
    with pytest.raises(ValueError):
        csp.EntityRelationship("related-to", "a", "Domain", "b", "Domain", entity_a_family="Incident")


# ---------------------------------------------------------------- CommandResults
def test_command_results_to_context_shape_with_key_field():
    results = csp.CommandResults(outputs_prefix="CertStream.Match", outputs_key_field="domain",
                                 outputs=[{"domain": "paypa1.com"}], readable_output="## hi")
    assert results.to_context() == {
        "Type": 1, "ContentsFormat": "json", "Contents": [{"domain": "paypa1.com"}], "HumanReadable": "## hi",
        "EntryContext": {"CertStream.Match(val.domain && val.domain == obj.domain)": [{"domain": "paypa1.com"}]},
        "IndicatorTimeline": [], "IgnoreAutoExtract": False, "Note": False, "Relationships": []}


def test_command_results_several_key_fields_and_plain_prefix():
    key = csp.CommandResults(outputs_prefix="P", outputs_key_field=["a", "b"], outputs={"a": 1, "b": 2})
    assert list(key.to_context()["EntryContext"]) == ["P(val.a && val.a == obj.a && val.b && val.b == obj.b)"]
    plain = csp.CommandResults(outputs_prefix="P", outputs={"a": 1})
    assert plain.to_context()["EntryContext"] == {"P": {"a": 1}}


def test_command_results_defaults():
    context = csp.CommandResults(outputs_prefix="P", outputs={"b": 2, "a": 1}).to_context()
    assert context["HumanReadable"] == "### Results\n|a|b|\n|---|---|\n| 1 | 2 |\n"
    text = csp.CommandResults(readable_output="just text", raw_response="raw").to_context()
    assert text["ContentsFormat"] == "text" and text["EntryContext"] == {} and text["Contents"] == "raw"


def test_command_results_needs_prefix_for_non_dict_outputs():
    with pytest.raises(ValueError):
        csp.CommandResults(outputs=[1, 2])


def test_command_results_relationships_use_to_entry():
    relationship = csp.EntityRelationship("related-to", "a.example", "Domain", "b.example", "Domain",
                                          brand="CertStream")
    empty = csp.EntityRelationship("related-to", "a.example", "Domain", "", "Domain")
    entry = csp.CommandResults(readable_output="x", relationships=[relationship, empty]).to_context()
    assert len(entry["Relationships"]) == 1 and entry["Relationships"][0]["brand"] == "CertStream"


# ---------------------------------------------------------------- return_results / return_error
def test_return_results_command_results_goes_as_to_context(mocker):
    results = mocker.patch.object(demisto, "results")
    command_results = csp.CommandResults(readable_output="hello")
    csp.return_results(command_results)
    assert results.call_args[0][0] == command_results.to_context()


def test_return_results_str_and_dict_unchanged(mocker):
    results = mocker.patch.object(demisto, "results")
    csp.return_results("ok")
    csp.return_results({"Type": 1, "Contents": "x"})
    assert [c[0][0] for c in results.call_args_list] == ["ok", {"Type": 1, "Contents": "x"}]


def test_return_results_list(mocker):
    results = mocker.patch.object(demisto, "results")
    csp.return_results([csp.CommandResults(readable_output="a"), csp.CommandResults(readable_output="b")])
    assert [c[0][0]["HumanReadable"] for c in results.call_args_list] == ["a", "b"]
    results.reset_mock()
    csp.return_results([{"Type": 1, "Contents": "x"}, "y"])  # plain entries go in one call, as in the real module
    assert results.call_args_list == [mocker.call([{"Type": 1, "Contents": "x"}, "y"])]


@pytest.mark.parametrize("command", ["fetch-incidents", "long-running-execution", "fetch-indicators",
                                     "fetch-credentials"])
def test_return_error_raises_in_server_handled_commands(mocker, command):
    mocker.patch.object(demisto, "command", return_value=command)
    results = mocker.patch.object(demisto, "results")
    with pytest.raises(Exception, match="stream failed"):
        csp.return_error("stream failed")
    results.assert_not_called()


def test_return_error_elsewhere_writes_error_entry_and_exits(mocker):
    mocker.patch.object(demisto, "command", return_value="certstream-get-status")
    results = mocker.patch.object(demisto, "results")
    with pytest.raises(SystemExit) as exit_info:
        csp.return_error("bad list")
    assert exit_info.value.code == 0
    entry = results.call_args[0][0]
    assert entry["Type"] == 4 and entry["Contents"] == "bad list" and entry["ContentsFormat"] == "text"


# ---------------------------------------------------------------- tableToMarkdown
def test_table_to_markdown_sorts_columns_without_headers():
    assert csp.tableToMarkdown("Matches", [{"b": 1, "a": "x"}, {"a": "y", "b": 2}]) == (
        "### Matches\n|a|b|\n|---|---|\n| x | 1 |\n| y | 2 |\n")


def test_table_to_markdown_empty():
    assert csp.tableToMarkdown("Matches", []) == "### Matches\n**No entries.**\n"
    assert csp.tableToMarkdown("Matches", None) == "### Matches\n**No entries.**\n"


def test_table_to_markdown_headers_order_transform_and_remove_null():
    rows = [{"domain_name": "a", "score": 90, "empty": None}]
    assert csp.tableToMarkdown("T", rows, headers=["score", "domain_name"]) == (
        "### T\n|score|domain_name|\n|---|---|\n| 90 | a |\n")
    assert csp.tableToMarkdown("T", rows, headerTransform=csp.string_to_table_header, removeNull=True) == (
        "### T\n|Domain Name|Score|\n|---|---|\n| a | 90 |\n")


def test_table_to_markdown_cells():
    table = csp.tableToMarkdown("T", {"a": "x|y\nz", "b": ["p", "q"], "c": True, "d": {"k": "v"}})
    assert table.splitlines()[-1] == "| x\\|y<br>z | p,<br>q | true | k: v |"
    assert csp.tableToMarkdown("T", ["a", "b"], headers="Name") == "### T\n|Name|\n|---|\n| a |\n| b |\n"


# ---------------------------------------------------------------- argument helpers
def test_arg_to_number():
    assert csp.arg_to_number("5") == 5
    assert csp.arg_to_number("5.7") == 5
    assert csp.arg_to_number(7) == 7
    assert csp.arg_to_number(None) is None
    with pytest.raises(ValueError):
        csp.arg_to_number("junk")
    with pytest.raises(ValueError):
        csp.arg_to_number(None, "limit", required=True)


def test_arg_to_boolean():
    assert csp.argToBoolean(True) is True
    assert csp.argToBoolean("yes") is True and csp.argToBoolean("False") is False and csp.argToBoolean("no") is False
    for bad in ("maybe", 1, None):
        with pytest.raises(ValueError):
            csp.argToBoolean(bad)


def test_arg_to_list():
    assert csp.argToList("a, b ,c") == ["a", "b", "c"]
    assert csp.argToList('["a", "b,c"]') == ["a", "b,c"]
    assert csp.argToList(["x"]) == ["x"]
    assert csp.argToList("") == [] and csp.argToList(None) == []
    assert csp.argToList("1,2", transform=int) == [1, 2]


def test_string_helpers():
    assert csp.string_to_table_header("matched_domain") == "Matched Domain"
    assert csp.pascalToSpace("ThreatScore") == "Threat Score"
    assert csp.pascalToSpace("thisIsIPAddressName") == "This Is IP Address Name"
    assert csp.timestamp_to_datestring(0) == "1970-01-01T00:00:00.000Z"


# ---------------------------------------------------------------- errors, proxy, files
def test_demisto_exception_and_is_error():
    assert str(csp.DemistoException("broken")) == "broken"
    error_entry = {"Type": 4, "Contents": "Item not found (8)"}
    assert csp.is_error([{"Type": 1, "Contents": ""}, error_entry]) and csp.isError(error_entry)
    assert not csp.is_error([{"Type": 1, "Contents": "x"}]) and not csp.is_error(None)
    assert csp.get_error([error_entry]) == "Item not found (8)"


def test_handle_proxy_for_long_running_returns_tuple(mocker, monkeypatch):
    monkeypatch.delenv("CRTX_HTTP_PROXY", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.local:3128")
    mocker.patch.object(demisto, "params", return_value={"proxy": True})
    proxies, use_ssl = csp.handle_proxy_for_long_running()
    assert proxies["https"] == "http://proxy.local:3128" and use_ssl is True
    mocker.patch.object(demisto, "params", return_value={})
    assert csp.handle_proxy_for_long_running() == ({}, True)
    assert "HTTPS_PROXY" not in os.environ  # without the proxy param the proxy variables are dropped


@stand_in_only
def test_file_result_writes_into_state_folder(tmp_path):
    demisto._xsoar_local_setup(str(tmp_path), {}, "cmd", {}, "I")
    try:
        entry = csp.fileResult("report.json", '{"a": 1}')
        path = demisto.getFilePath(entry["FileID"])["path"]
    finally:
        demisto._xsoar_local_reset()
    assert entry["Type"] == 3 and entry["File"] == "report.json"
    assert path.startswith(str(tmp_path))
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == '{"a": 1}'


# ---------------------------------------------------------------- integration context helpers
def test_integration_context_helpers_round_trip():
    csp.set_integration_context({"status": {"messages": 1}})
    assert csp.get_integration_context() == {"status": {"messages": 1}}
    demisto.setIntegrationContext({})


def test_set_to_integration_context_with_retries_stores_json_strings():
    demisto.setIntegrationContext({"kept": "\"x\""})
    csp.set_to_integration_context_with_retries({"status": {"messages": 2}, "ids": [1]})
    context = demisto.getIntegrationContext()
    assert context["status"] == '{"messages": 2}' and json.loads(context["ids"]) == [1]
    assert context["kept"] == "\"x\""
    demisto.setIntegrationContext({})
