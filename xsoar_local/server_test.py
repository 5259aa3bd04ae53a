"""Unit tests of the local CertStream server's message synthesis and rendering (no network)."""
import base64
import gzip
import json
import re
import tracemalloc

import pytest
from cryptography import x509

from xsoar_local import messages
from xsoar_local.messages import DOMAINS, FULL, LITE, MessageFactory, iter_items, render

START = 1_780_000_000
COLON_SHA1 = re.compile(r"^([0-9A-F]{2}:){19}[0-9A-F]{2}$")
COLON_SHA256 = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
# The field set of a current server's certificate_update (see docs: certstream.md).
LEAF_FIELDS = {"subject", "issuer", "extensions", "not_before", "not_after", "serial_number", "fingerprint",
               "sha1", "sha256", "signature_algorithm", "is_ca", "all_domains"}
DATA_FIELDS = {"update_type", "leaf_cert", "chain", "cert_index", "cert_link", "seen", "source"}
DN_FIELDS = {"aggregated", "C", "ST", "L", "O", "OU", "CN"}
EXTENSIONS = {"subjectAltName", "keyUsage", "extendedKeyUsage", "basicConstraints", "authorityInfoAccess",
              "certificatePolicies", "authorityKeyIdentifier", "subjectKeyIdentifier"}

STORED = {"message_type": "certificate_update", "data": {
    "update_type": "X509LogEntry", "cert_index": 42, "seen": 1700000000.5,
    "cert_link": "https://log.example/ct/v1/get-entries?start=42&end=42",
    "source": {"url": "https://log.example/", "name": "Example log"},
    "leaf_cert": {"all_domains": ["stored.example", "www.stored.example"], "as_der": "TEFFRg==",
                  "subject": {"CN": "stored.example", "aggregated": "/CN=stored.example"}},
    "chain": [{"subject": {"CN": "Example CA"}, "as_der": "Q0hBSU4="}]}}


def wrap(domain, start=START):
    return MessageFactory(start_time=start, clock=lambda: START + 0.25).messages_for(domain)


def test_each_domain_becomes_a_precert_and_a_final_certificate_of_the_real_shape():
    precert, final = wrap("bluemaple-bakery.de")
    assert [m["data"]["update_type"] for m in (precert, final)] == ["PrecertLogEntry", "X509LogEntry"]
    for message in (precert, final):
        data = message["data"]
        leaf = data["leaf_cert"]
        assert message["message_type"] == "certificate_update"
        assert set(data) == DATA_FIELDS and LEAF_FIELDS <= set(leaf)
        assert DN_FIELDS <= set(leaf["subject"]) and DN_FIELDS <= set(leaf["issuer"])
        assert EXTENSIONS <= set(leaf["extensions"])
        assert leaf["subject"]["aggregated"] == "/CN=bluemaple-bakery.de"
        assert "bluemaple-bakery.de" in leaf["all_domains"] and len(leaf["all_domains"]) == 2
        assert sorted(leaf["extensions"]["subjectAltName"].replace("DNS:", "").split(", ")) == leaf["all_domains"]
        assert leaf["not_after"] - leaf["not_before"] == 90 * 86400
        assert isinstance(leaf["not_before"], int) and leaf["not_before"] < START
        assert re.fullmatch(r"[0-9A-F]+", leaf["serial_number"])
        assert COLON_SHA1.match(leaf["fingerprint"]) and leaf["sha1"] == leaf["fingerprint"]
        assert COLON_SHA256.match(leaf["sha256"])
        assert leaf["is_ca"] is False and leaf["extensions"]["basicConstraints"] == "CA:FALSE"
        assert len(data["chain"]) == 1 and data["chain"][0]["is_ca"] is True
        assert data["chain"][0]["subject"] == leaf["issuer"]
        index = data["cert_index"]
        assert data["cert_link"] == f"{data['source']['url'].rstrip('/')}/ct/v1/get-entries?start={index}&end={index}"
        assert data["seen"] == START + 0.25
        assert "as_der" not in leaf
    assert precert["data"]["leaf_cert"]["extensions"].get("ctlPoisonByte") is True
    assert "ctlPoisonByte" not in final["data"]["leaf_cert"]["extensions"]
    same = ("serial_number", "issuer", "not_before", "all_domains")
    assert all(precert["data"]["leaf_cert"][k] == final["data"]["leaf_cert"][k] for k in same)
    for differs in ("cert_index", "cert_link", "source"):
        assert precert["data"][differs] != final["data"][differs]
    assert precert["data"]["leaf_cert"]["fingerprint"] != final["data"]["leaf_cert"]["fingerprint"]


def test_wrapping_is_deterministic_per_domain_and_varies_between_domains():
    assert wrap("shop.example.org") == wrap("shop.example.org")
    names = [f"site{i}.example" for i in range(200)]
    leaves = [wrap(name)[0]["data"]["leaf_cert"] for name in names]
    assert len({leaf["issuer"]["CN"] for leaf in leaves}) >= 4
    assert len({leaf["serial_number"] for leaf in leaves}) == len(names)
    assert any(leaf["all_domains"][0].startswith("*.") for leaf in leaves)
    assert any(leaf["all_domains"][1].startswith("www.") for leaf in leaves)


def test_listed_wildcard_and_www_names_pair_with_the_bare_name():
    assert wrap("*.acme-c0rp.net")[0]["data"]["leaf_cert"]["all_domains"] == ["*.acme-c0rp.net", "acme-c0rp.net"]
    leaf = wrap("www.paypal.com")[1]["data"]["leaf_cert"]
    assert leaf["all_domains"] == ["paypal.com", "www.paypal.com"] and leaf["subject"]["CN"] == "www.paypal.com"


def test_cert_index_increases_per_log():
    factory = MessageFactory(start_time=START)
    seen = {}
    for i in range(100):
        for message in factory.messages_for(f"n{i}.example"):
            data = message["data"]
            log = data["source"]["url"]
            assert data["cert_index"] > seen.get(log, -1)
            seen[log] = data["cert_index"]
    assert len(seen) >= 4


def test_full_stream_carries_real_der_certificates_matching_the_message():
    precert, final = [json.loads(render(m, FULL)) for m in wrap("bluemaple-bakery.de")]
    for message in (precert, final):
        leaf = message["data"]["leaf_cert"]
        certificate = x509.load_der_x509_certificate(base64.b64decode(leaf["as_der"]))
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(sans.get_values_for_type(x509.DNSName)) == leaf["all_domains"]
        assert certificate.serial_number == int(leaf["serial_number"], 16)
        assert int(certificate.not_valid_before_utc.timestamp()) == leaf["not_before"]
        issuer_cn = certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert issuer_cn == leaf["issuer"]["CN"]
        assert certificate.subject.rfc4514_string() == "CN=bluemaple-bakery.de"
        chain = x509.load_der_x509_certificate(base64.b64decode(message["data"]["chain"][0]["as_der"]))
        assert chain.subject == certificate.issuer
    poisoned = [x509.load_der_x509_certificate(base64.b64decode(m["data"]["leaf_cert"]["as_der"]))
                .extensions.get_extension_for_class for m in (precert, final)]
    assert poisoned[0](x509.PrecertPoison)
    with pytest.raises(x509.ExtensionNotFound):
        poisoned[1](x509.PrecertPoison)


def test_lite_drops_der_and_domains_only_sends_dns_entries():
    lite = json.loads(render(wrap("lite.example")[0], LITE))
    assert "as_der" not in lite["data"]["leaf_cert"] and all("as_der" not in c for c in lite["data"]["chain"])
    stored = json.dumps(STORED)
    lite = json.loads(render(stored, LITE))
    assert "as_der" not in lite["data"]["leaf_cert"] and "as_der" not in lite["data"]["chain"][0]
    assert lite["data"]["leaf_cert"]["all_domains"] == ["stored.example", "www.stored.example"]
    assert json.loads(render(stored, DOMAINS)) == {"message_type": "dns_entries",
                                                    "data": ["stored.example", "www.stored.example"]}
    assert json.loads(render(wrap("d.example")[0], DOMAINS))["data"][0].endswith("d.example")


def test_stored_lines_are_sent_as_they_are_and_garbage_passes_through():
    stored = json.dumps(STORED, separators=(",", ":"))
    assert render(stored, FULL) == stored
    for line in ("not json {", "[1, 2]", '{"message_type": "heartbeat", "timestamp": 1.0}'):
        assert render(line, FULL) == render(line, LITE) == render(line, DOMAINS) == line


def test_source_files_txt_jsonl_and_gzip(tmp_path):
    txt = tmp_path / "names.txt"
    txt.write_text("# a comment\n\na.example\n  b.example  \n")
    assert [m["data"]["leaf_cert"]["subject"]["CN"] for m in iter_items(str(txt))] == \
        ["a.example", "a.example", "b.example", "b.example"]
    jsonl = tmp_path / "stream.jsonl.gz"
    with gzip.open(jsonl, "wt") as handle:
        handle.write('{"message_type": "certificate_update", "data": {}}\n\nbroken line\n')
    assert list(iter_items(str(jsonl))) == ['{"message_type": "certificate_update", "data": {}}', "broken line"]
    gz_txt = tmp_path / "names.txt.gz"
    with gzip.open(gz_txt, "wt") as handle:
        handle.write("c.example\n")
    assert len(list(iter_items(str(gz_txt)))) == 2
    with pytest.raises(ValueError):
        messages.source_kind("stream.csv")


def test_a_200k_line_file_is_read_lazily(tmp_path):
    path = tmp_path / "big.jsonl"
    line = '{"message_type": "certificate_update", "data": {"leaf_cert": {"all_domains": ["n%d.example"]}}}\n'
    with open(path, "w") as handle:
        handle.writelines(line % i for i in range(200_000))
    tracemalloc.start()
    try:
        count = sum(1 for item in iter_items(str(path)) if render(item, FULL))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000  # the file is ~19 MB


def test_garbage_frames_cover_each_kind():
    kinds = set()
    for frame in messages.GARBAGE_FRAMES:
        try:
            value = json.loads(frame)
        except ValueError:
            kinds.add("not json")
            continue
        if not isinstance(value, dict):
            kinds.add("not an object")
        elif value.get("message_type") != "certificate_update":
            kinds.add("unknown or missing message_type")
        elif value["data"].get("leaf_cert") is None:
            kinds.add("null fields")
        else:
            kinds.add("wrong types")
    assert kinds == {"not json", "not an object", "unknown or missing message_type", "null fields", "wrong types"}


def test_endpoint_paths():
    assert messages.endpoint_for("/") == LITE
    assert messages.endpoint_for("/full-stream") == messages.endpoint_for("/full-stream/?x=1") == FULL
    assert messages.endpoint_for("/domains-only") == DOMAINS
    assert messages.endpoint_for("/latest.json") is None


def test_malformed_stored_messages_render_on_every_endpoint():
    odd = {"message_type": "certificate_update", "data": {"leaf_cert": {"all_domains": "x.example"}, "chain": 5}}
    assert json.loads(render(json.dumps(odd), DOMAINS)) == {"message_type": "dns_entries", "data": []}
    assert json.loads(render(json.dumps(odd), LITE)) == odd
    for frame in messages.GARBAGE_FRAMES:
        for endpoint in (LITE, FULL, DOMAINS):
            assert isinstance(render(frame, endpoint), str)
