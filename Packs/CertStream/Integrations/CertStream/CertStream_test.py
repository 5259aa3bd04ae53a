import json
import os
import random

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
    kind, sans, _ = parse_frame(frame)
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


# --- message parsing --------------------------------------------------------------------------
def test_parse_old_shape_with_chain():
    cert = read_certificate(read_messages()[0])
    assert cert.sans == ["paypa1-secure.com", "www.paypa1-secure.com"]
    assert cert.update_type == "PrecertLogEntry"
    assert cert.fingerprint == "1D:32:7A:0B:99:C4:5E:60:02:AB:CD:EF:11:22:33:44:55:66:77:88"
    assert cert.issuer == "/C=US/CN=R11/O=Let's Encrypt"  # from the chain: the old shape has no issuer
    assert cert.not_before == "2018-03-28T08:00:00Z"
    assert cert.cert_index == 34398955
    assert cert.source_name == "DigiCert Yeti2018 Log"


def test_parse_new_shape_prefers_sha256():
    cert = read_certificate(read_messages()[1])
    assert cert.fingerprint.startswith("57:61:38")
    assert cert.sha1.startswith("27:58:3D")
    assert cert.issuer == "/C=US/CN=R11/O=Let's Encrypt"
    assert cert.signature_algorithm == "sha256, rsa"
    assert cert.sans == ["*.shop.fishpondcabins.com", "shop.fishpondcabins.com"]


@pytest.mark.parametrize("decoder", ["msgspec", "json only"])
def test_parse_message_with_nulls_and_junk_sans(decoder, mocker):
    if decoder == "json only":
        mocker.patch.object(CertStream, "_FRAME_DECODER", None)
    kind, sans, rejected = parse_frame(read_messages()[2])
    assert sans == ["WWW.Example-Shop.DE.", "example-shop.de"] and rejected == 6
    cert = certificate_from_message(json.loads(read_messages()[2]), sans)
    assert cert.fingerprint == "" and cert.issuer == "" and cert.not_before == "" and cert.seen is None


def test_parse_dns_entries_and_heartbeat():
    cert = read_certificate(read_text("dns_entries.json"))
    assert cert.sans == ["ph-faq.example", "www.ph-faq.example"] and cert.fingerprint == ""
    assert parse_frame(read_text("heartbeat.json"))[0] == "heartbeat"


@pytest.mark.parametrize("frame, kind", [
    ("not json at all", "not_json"),
    (b"\xff\xfe", "not_json"),
    ("[1, 2]", "not_object"),
    ('{"message_type": "surprise"}', "unknown_type"),
    ('{"message_type": "certificate_update"}', "no_domains"),
    ('{"message_type": "certificate_update", "data": {"leaf_cert": {"all_domains": null}}}', "no_domains"),
    ('{"message_type": "certificate_update", "data": {"leaf_cert": {"all_domains": "a.com"}}}', "no_domains"),
    ('{"message_type": "certificate_update", "data": {"leaf_cert": {"all_domains": [1, null]}}}', "no_domains"),
    ('{"message_type": "certificate_update", "data": []}', "no_domains"),
])
@pytest.mark.parametrize("decoder", ["msgspec", "json only"])
def test_parse_rejects_bad_frames(frame, kind, decoder, mocker):
    if decoder == "json only":
        mocker.patch.object(CertStream, "_FRAME_DECODER", None)
    with pytest.raises(RejectedFrame) as error:
        parse_frame(frame)
    assert error.value.kind == kind


def test_clean_sans_caps_huge_certificates():
    names, rejected = clean_sans([f"host{i}.example.com" for i in range(CertStream.MAX_SANS_PER_CERTIFICATE + 10)])
    assert len(names) == CertStream.MAX_SANS_PER_CERTIFICATE
    assert rejected == 10


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
    assert "paypa1-secure.com imitates paypal" in incident["details"]


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


# --- certificate indicator fields -------------------------------------------------------------
def make_der_certificate(domain, serial):
    """A real DER certificate, as the full stream carries in leaf_cert.as_der."""
    import base64
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(serial).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
                   .sign(key, hashes.SHA256()))
    sha1 = certificate.fingerprint(hashes.SHA1()).hex().upper()
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(), sha1


def test_certificate_fields_from_json_and_der(detector):
    message = json.loads(read_messages()[1])
    leaf = message["data"]["leaf_cert"]
    leaf["as_der"], sha1 = make_der_certificate("shop.fishpondcabins.com", int(leaf["serial_number"], 16))
    leaf["fingerprint"] = leaf["sha1"] = ":".join(sha1[i:i + 2] for i in range(0, len(sha1), 2))
    cert = read_certificate(json.dumps(message))
    fields = CertStream.certificate_fields(cert)
    assert fields["serialnumber"] == "0498BDF812FAF923FEBD5EF7B374899FC61A"
    assert fields["stixid"] == CertStream.stix_id("0498bdf812faf923febd5ef7b374899fc61a")
    assert fields["stixid"].startswith("x509-certificate--")
    assert fields["validitynotbefore"] == "2025-09-30T17:13:25Z"
    assert {"title": "keyUsage", "data": "Digital Signature, Key Encipherment"} in fields["x.509v3extensions"]
    assert {"title": "O", "data": "Let's Encrypt"} in fields["issuer"]
    assert fields["publickeyalgorithm"] == "EC secp256r1" and fields["publickeysize"] == 256
    assert len(fields["spkisha256"]) == 64 and fields["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "derdisagreement" not in fields
    leaf["serial_number"] = "01"
    cert = read_certificate(json.dumps(message))
    assert "serial number JSON 01" in CertStream.certificate_fields(cert)["derdisagreement"]


def test_placeholder_der_is_ignored():
    cert = read_certificate(read_messages()[0])
    fields = CertStream.certificate_fields(cert)
    assert "pem" not in fields and "derparseerror" not in fields
    assert fields["issuer"] == [{"title": "aggregated", "data": "/C=US/CN=R11/O=Let's Encrypt"}]
