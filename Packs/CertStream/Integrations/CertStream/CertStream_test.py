import json
import os
import random
import time

import pytest

import demistomock as demisto
from CommonServerPython import CommandResults, FeedIndicatorType

import CertStream
from CertStream import (Backoff, CertificateProcessor, ConfigurationError, DedupCache, RejectedFrame, Settings,
                        WatchListError, build_incident, build_indicators, certificate_from_message,
                        check_domain_command, clean_sans, get_status_command, load_detector, parse_frame,
                        parse_settings, read_list_text)

TEST_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_data")
WATCH_LIST = {"paypal": ["paypa1", "paypall"], "fishpondcabins": ["fishpondcabin5"]}


def read_messages():
    with open(os.path.join(TEST_DATA, "certificate_updates.jsonl")) as handle:
        return [line.strip() for line in handle if line.strip()]


def read_certificate(frame):
    kind, sans, _, _ = parse_frame(frame)
    assert kind == "certificate"
    return certificate_from_message(json.loads(frame), sans)


def read_text(name):
    with open(os.path.join(TEST_DATA, name)) as handle:
        return handle.read()


def make_settings(**overrides):
    values = {"url": "ws://127.0.0.1:1/full-stream", "list_name": "WatchList"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def detector(mocker):
    mocker.patch.object(demisto, "getList", create=True, return_value=json.dumps(WATCH_LIST))
    return load_detector(make_settings())


# --- settings ---------------------------------------------------------------------------------
def test_parse_settings_defaults():
    settings = parse_settings({"url": "wss://certstream.calidog.io/", "list_name": "L"})
    assert settings.threshold == 0.85
    assert settings.update_interval == 30
    assert settings.dedup_days == 7
    assert settings.incident_type == "CertStream Suspicious Certificate"


def test_parse_settings_numbers_arrive_as_strings():
    settings = parse_settings({"url": "ws://h/", "levenshtein_distance_threshold": "0.8", "update_interval": "5",
                               "allowlist": "paypal.me, paypal.co.uk\nexample.org", "insecure": True})
    assert settings.threshold == 0.8
    assert settings.update_interval == 5
    assert settings.allowlist == ["paypal.me", "paypal.co.uk", "example.org"]
    assert settings.insecure is True


@pytest.mark.parametrize("threshold", ["1.5", "abc", "-0.1"])
def test_parse_settings_rejects_bad_threshold(threshold):
    with pytest.raises(ConfigurationError, match="Similarity threshold"):
        parse_settings({"url": "wss://h/", "levenshtein_distance_threshold": threshold})


def test_parse_settings_rejects_non_websocket_url():
    with pytest.raises(ConfigurationError, match="ws://"):
        parse_settings({"url": "https://certstream.calidog.io/"})


def test_threshold_error_reaches_the_user_from_test_module(mocker):
    mocker.patch.object(demisto, "command", return_value="test-module")
    mocker.patch.object(demisto, "params", return_value={"url": "wss://h/", "list_name": "L",
                                                         "levenshtein_distance_threshold": "1.5"})
    results = mocker.patch.object(demisto, "results")
    with pytest.raises(SystemExit):
        CertStream.main()
    entry = results.call_args[0][0]
    assert entry["Type"] == 4
    assert "Similarity threshold must be between 0 and 1" in entry["Contents"]


# --- list access ------------------------------------------------------------------------------
def test_read_list_uses_getlist_when_present(mocker):
    mocker.patch.object(demisto, "getList", create=True, return_value='{"paypal": []}')
    assert read_list_text("L") == '{"paypal": []}'


def test_read_list_missing_with_getlist(mocker):
    mocker.patch.object(demisto, "getList", create=True, return_value="Item not found (8)")
    with pytest.raises(WatchListError, match="does not exist"):
        read_list_text("L")


def without_getlist(mocker):
    """The real runtime has no demisto.getList."""
    mocker.patch.object(demisto, "getList", None, create=True)


def test_read_list_over_internal_http_when_getlist_is_absent(mocker):
    without_getlist(mocker)
    body = json.dumps([{"id": "Other", "data": "x"}, {"id": "L", "data": '{"tesla": ["tes1a"]}'}])
    mocker.patch.object(demisto, "internalHttpRequest", create=True,
                        return_value={"statusCode": 200, "status": "200 OK", "body": body, "headers": {}})
    assert read_list_text("L") == '{"tesla": ["tes1a"]}'


def test_read_list_over_internal_http_missing(mocker):
    without_getlist(mocker)
    mocker.patch.object(demisto, "internalHttpRequest", create=True,
                        return_value={"statusCode": 200, "body": "[]", "headers": {}})
    with pytest.raises(WatchListError, match="does not exist"):
        read_list_text("L")


def test_read_list_with_execute_command_as_last_resort(mocker):
    without_getlist(mocker)
    mocker.patch.object(demisto, "internalHttpRequest", None, create=True)
    execute = mocker.patch.object(demisto, "executeCommand",
                                  return_value=[{"Type": 1, "Contents": '{"apple": ["app1e"]}'}])
    assert read_list_text("L") == '{"apple": ["app1e"]}'
    execute.assert_called_with("getList", {"listName": "L"})
    execute.return_value = [{"Type": 1, "Contents": "Item not found (8)"}]
    with pytest.raises(WatchListError, match="does not exist"):
        read_list_text("L")


@pytest.mark.parametrize("text", ["{not json", '["paypal", 5]', "{}", '{"paypal.com": 5}'])
def test_load_detector_rejects_bad_lists(mocker, text):
    mocker.patch.object(demisto, "getList", create=True, return_value=text)
    with pytest.raises(WatchListError):
        load_detector(make_settings())


def test_list_name_required():
    with pytest.raises(WatchListError, match="No watch list name"):
        read_list_text("")


# --- incidents and indicators -----------------------------------------------------------------
def test_incident_has_every_custom_field(detector):
    cert = read_certificate(read_messages()[0])
    matches = detector.match_domains(cert.sans)
    assert [m.domain for m in matches] == ["paypa1-secure.com", "www.paypa1-secure.com"]
    incident = build_incident(cert, matches, "CertStream Suspicious Certificate")
    fields = incident["CustomFields"]
    assert incident["name"].startswith("Lookalike of paypal: ")
    assert incident["occurred"] == "2018-03-28T08:59:44Z"
    assert incident["severity"] in (1, 2, 3, 4)
    assert json.loads(incident["rawJSON"]) == json.loads(read_messages()[0])
    assert fields["certstreammatcheddomains"] == ["paypa1-secure.com", "www.paypa1-secure.com"]
    assert fields["certstreamasset"] == "paypal"
    assert fields["certstreamcertindex"] == 34398955
    assert fields["certstreamsourcelog"] == "DigiCert Yeti2018 Log"
    assert fields["certstreamsans"] == cert.sans
    assert all(value not in (None, "", []) for value in fields.values()), fields
    assert "paypa1-secure.com (and www.paypa1-secure.com) imitates paypal" in incident["details"]


def test_indicators_relate_certificate_to_domains(detector):
    cert = read_certificate(read_messages()[1])
    matches = detector.match_domains(["paypa1.com"])
    indicators = build_indicators(cert, matches)
    domain, certificate = indicators
    assert domain["type"] == FeedIndicatorType.Domain and domain["value"] == "paypa1.com"
    assert certificate["type"] == "X509 Certificate"
    relation = certificate["relationships"][0]
    assert relation["entityA"] == cert.fingerprint and relation["entityAType"] == "X509 Certificate"
    assert relation["entityB"] == "paypa1.com" and relation["entityBType"] == "Domain"


def test_processor_one_incident_per_lookalike_within_window(detector, mocker):
    create = mocker.patch.object(demisto, "createIncidents")
    mocker.patch.object(demisto, "createIndicators")
    processor = CertificateProcessor(detector, make_settings(), DedupCache(7 * 86400))
    precert = read_messages()[0]
    final = json.loads(precert)
    final["data"]["update_type"] = "X509LogEntry"
    final["data"]["cert_index"] += 1
    for frame in (precert, json.dumps(final), "garbage", read_text("heartbeat.json"), read_messages()[1]):
        processor.process_frame(frame)
    assert processor.flush() == 1
    assert len(create.call_args[0][0]) == 1
    stats = processor.stats
    assert stats["messages"] == 5 and stats["certificates"] == 3 and stats["heartbeats"] == 1
    assert stats["duplicates_suppressed"] == 1 and stats["rejected"] == {"not_json": 1}


def test_dedup_expires_after_window():
    class M:
        domain, registrable, asset = "paypa1.com", "paypa1.com", "paypal"
    dedup = DedupCache(window_seconds=100)
    assert dedup.is_new(M, now=1000)
    dedup.remember([M], now=1000)
    assert not dedup.is_new(M, now=1050)
    assert dedup.is_new(M, now=1101)
    dedup.expire(now=1200)
    assert dedup.entries == {}


def test_backoff_grows_to_cap_and_resets():
    backoff = Backoff(initial=1, cap=300, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and 3.2 <= delays[2] <= 4.8
    assert all(later >= earlier * 1.3 for earlier, later in zip(delays[:8], delays[1:8]))
    assert max(delays) <= 300 and delays[-1] >= 270
    backoff.reset()
    assert backoff.next_delay() <= 1.2


# --- commands ---------------------------------------------------------------------------------
def test_check_domain_command(detector):
    result = check_domain_command(detector, {"domain": "paypa1-login.com,example.org"})
    own = check_domain_command(detector, {"domain": "www.paypal.com"}).outputs[0]
    assert own["Match"] is False and "belongs to a watched asset" in own["Explanation"]
    assert isinstance(result, CommandResults)
    hit, miss = result.outputs
    assert hit["Match"] is True and hit["Asset"] == "paypal" and hit["Severity"] in ("Low", "Medium", "High", "Critical")
    assert hit["Explanation"]
    assert miss == {"Name": "example.org", "Match": False, "Asset": None, "Term": None, "Similarity": None,
                    "Score": None, "Severity": None, "Explanation": "no watched asset is imitated"}
    assert "CertStream.Domain(val.Name && val.Name == obj.Name)" in result.to_context()["EntryContext"]


def test_check_domain_requires_a_domain(detector):
    with pytest.raises(Exception, match="domain"):
        check_domain_command(detector, {})


def test_get_status_command_reads_published_status():
    context = {"status": {"server": "ws://h/", "messages": 10, "incidents_created": 2, "last_error": ""}}
    result = get_status_command(context)
    assert result.outputs["Messages"] == 10 and result.outputs["IncidentsCreated"] == 2
    assert "not published" in get_status_command({}).readable_output


# --- threat-intel verdicts ----------------------------------------------------------------------
def search_answer(scores):
    def search(value=None, **_):
        if value in scores:
            return {"iocs": [{"value": value, "score": scores[value], "indicator_type": "Domain"}], "total": 1}
        return {}  # what the real mock answers
    return search


def test_malicious_verdict_makes_the_match_critical_and_says_why(detector, mocker):
    mocker.patch.object(demisto, "searchIndicators", side_effect=search_answer({"paypa1-login.com": 3}))
    match = detector.match("paypa1-login.com")
    reviewed = CertStream.ThreatIntel().review([match])
    assert reviewed[0].severity == 4 and "already scored malicious in XSOAR" in reviewed[0].explanation


def test_good_verdict_suppresses_the_incident_and_is_counted(detector, mocker):
    mocker.patch.object(demisto, "searchIndicators", side_effect=search_answer({"paypa1-login.com": 1}))
    create = mocker.patch.object(demisto, "createIncidents")
    mocker.patch.object(demisto, "createIndicators")
    processor = CertificateProcessor(detector, make_settings(), DedupCache(86400))
    message = json.loads(read_messages()[0])
    message["data"]["leaf_cert"]["all_domains"] = ["paypa1-login.com"]
    processor.process_frame(json.dumps(message))
    assert processor.flush() == 0 and not create.called
    assert processor.stats["suppressed_by_verdict"] == 1


def test_unknown_verdict_and_failed_lookup_change_nothing(detector, mocker):
    mocker.patch.object(demisto, "searchIndicators", side_effect=RuntimeError("server busy"))
    match = detector.match("paypa1-login.com")
    assert CertStream.ThreatIntel().review([match]) == [match]


def test_known_bad_list_raises_severity(detector, mocker):
    mocker.patch.object(demisto, "searchIndicators", return_value={})
    match = detector.match("paypal-login.com.verify-account.top")
    intel = CertStream.ThreatIntel(CertStream.parse_known_bad('["verify-account", "evil.example"]'), "BadWords")
    reviewed = intel.review([match])[0]
    assert reviewed.severity == min(4, match.severity + 1)
    assert "known-bad entry `verify-account` from list 'BadWords'" in reviewed.explanation


def test_parse_known_bad_accepts_lines_and_json():
    assert CertStream.parse_known_bad("Evil.com.\nphish, \n") == ["evil.com", "phish"]
    assert CertStream.parse_known_bad('["a", "B"]') == ["a", "b"]
    assert CertStream.parse_known_bad("") == []


def test_one_incident_lists_every_lookalike_of_a_big_certificate(detector):
    sans = [f"host{i}.example.org" for i in range(97)] + ["paypa1.com", "www.paypa1.com", "fishpondcabin5.net"]
    cert = read_certificate(json.dumps({"message_type": "dns_entries", "data": sans}))
    matches = detector.match_domains(cert.sans)
    incident = build_incident(cert, matches, "T")
    fields = incident["CustomFields"]
    assert sorted(fields["certstreammatcheddomains"]) == ["fishpondcabin5.net", "paypa1.com", "www.paypa1.com"]
    assert fields["certstreammatchedassets"] == ["fishpondcabins", "paypal"]
    assert incident["name"].endswith("(+1 more)")
    assert len(incident["details"].splitlines()) == 4  # two lookalikes, the issuer line, the names line
    assert "and 90 more" in incident["details"]


# --- the loop's list refresh ------------------------------------------------------------------
@pytest.mark.parametrize("bad_list", ["{oops", '{"paypal.com": "paypal", "x": 5}', "{}", "Item not found (8)"])
def test_rejected_list_keeps_the_last_good_one_and_says_why(detector, mocker, bad_list):
    mocker.patch.object(demisto, "setIntegrationContext")
    health = mocker.patch.object(demisto, "updateModuleHealth")
    loop = CertStream.StreamingLoop(make_settings(update_interval=1), detector, {})
    loop.list_loaded -= 61  # the refresh interval has passed
    mocker.patch.object(demisto, "getList", create=True, return_value=bad_list)
    loop.refresh_list_if_due()
    assert loop.processor.detector is detector
    message = health.call_args[0][0]
    assert message.startswith("watch list 'WatchList' rejected, still using the previous one:")
    assert health.call_args[1] == {"is_error": True}
    assert loop.processor.detector.match("paypa1-login.com")


def test_refreshed_list_replaces_the_index(detector, mocker):
    loop = CertStream.StreamingLoop(make_settings(update_interval=1), detector, {})
    loop.list_loaded -= 61
    mocker.patch.object(demisto, "getList", create=True, return_value='{"tesla": []}')
    loop.refresh_list_if_due()
    assert loop.processor.detector.match("tes1a-motors.com") and not loop.processor.detector.match("paypa1.com")
    assert loop.status["list_terms"] == loop.processor.detector.size


@pytest.mark.parametrize("url", ["ws://127.0.0.1:abc/", "ws://127.0.0.1:99999/", "ws:///full-stream"])
def test_parse_settings_rejects_urls_that_cannot_work(url):
    with pytest.raises(ConfigurationError, match="URL"):
        parse_settings({"url": url})


def test_check_domain_accepts_urls_and_host_port(detector):
    result = check_domain_command(detector, {"domain": "https://paypa1.com/login, paypa1.com:443,user@paypa1.com"})
    assert [row["Name"] for row in result.outputs] == ["paypa1.com"] * 3
    assert all(row["Match"] for row in result.outputs)
    with pytest.raises(Exception, match="domain"):
        check_domain_command(detector, {"domain": ",,,"})


def test_no_relationship_from_a_name_to_itself(detector):
    cert = read_certificate(read_messages()[0])
    match = CertStream.dataclasses.replace(detector.match("paypa1-secure.com"), asset="paypa1-secure.com")
    domain = build_indicators(cert, [match])[0]
    assert domain["value"] == "paypa1-secure.com" and domain["relationships"] == []


@pytest.mark.parametrize("decoder", ["msgspec", "json only"])
def test_the_loop_knows_how_far_behind_the_logs_it_reads(detector, mocker, decoder):
    import CertStreamCertificateApiModule
    if decoder == "json only":
        mocker.patch.object(CertStreamCertificateApiModule, "_FRAME_DECODER", None)
    context = mocker.patch.object(demisto, "setIntegrationContext")
    loop = CertStream.StreamingLoop(make_settings(), detector, {})
    loop.processor.process_frame(read_messages()[1])  # seen 1759301203.904
    assert loop.processor.last_seen == 1759301203.904
    loop.publish()
    status = context.call_args[0][0]["status"]
    assert status["lag_seconds"] == pytest.approx(time.time() - 1759301203.904, abs=5)
    assert get_status_command({"status": status}).outputs["LagSeconds"] == status["lag_seconds"]


def test_a_server_sending_no_certificates_is_reported_then_cleared(detector, mocker):
    health = mocker.patch.object(demisto, "updateModuleHealth")
    loop = CertStream.StreamingLoop(make_settings(), detector, {})
    loop.on_connected()
    loop.check_certificates_flow()
    loop.certificates_since -= CertStream.QUIET_WARNING_SECONDS + 1
    loop.check_certificates_flow()
    message, kwargs = health.call_args[0][0], health.call_args[1]
    assert "but no certificate for 10 min" in message and kwargs == {"is_error": True}
    loop.processor.process_frame(read_messages()[1])
    loop.check_certificates_flow()
    assert health.call_args[0][0] == ""
