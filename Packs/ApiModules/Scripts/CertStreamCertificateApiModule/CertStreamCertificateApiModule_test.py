import json
import os

import pytest

import CertStreamCertificateApiModule
from CertStreamCertificateApiModule import (MAX_SANS_PER_CERTIFICATE, RejectedFrame, certificate_fields,
                                            certificate_from_message, clean_sans, parse_frame, stix_id)

TEST_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_data")


def read_messages():
    with open(os.path.join(TEST_DATA, "certificate_updates.jsonl")) as handle:
        return [line.strip() for line in handle if line.strip()]


def read_text(name):
    with open(os.path.join(TEST_DATA, name)) as handle:
        return handle.read()


def read_certificate(frame):
    kind, sans, _, _ = parse_frame(frame)
    assert kind == "certificate"
    return certificate_from_message(json.loads(frame), sans)


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
        mocker.patch.object(CertStreamCertificateApiModule, "_FRAME_DECODER", None)
    kind, sans, rejected, seen = parse_frame(read_messages()[2])
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
        mocker.patch.object(CertStreamCertificateApiModule, "_FRAME_DECODER", None)
    with pytest.raises(RejectedFrame) as error:
        parse_frame(frame)
    assert error.value.kind == kind


def test_clean_sans_caps_huge_certificates():
    names, rejected = clean_sans([f"host{i}.example.com" for i in range(MAX_SANS_PER_CERTIFICATE + 10)])
    assert len(names) == MAX_SANS_PER_CERTIFICATE
    assert rejected == 10


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


def test_certificate_fields_from_json_and_der():
    message = json.loads(read_messages()[1])
    leaf = message["data"]["leaf_cert"]
    leaf["as_der"], sha1 = make_der_certificate("shop.fishpondcabins.com", int(leaf["serial_number"], 16))
    leaf["fingerprint"] = leaf["sha1"] = ":".join(sha1[i:i + 2] for i in range(0, len(sha1), 2))
    cert = read_certificate(json.dumps(message))
    fields = certificate_fields(cert)
    assert fields["serialnumber"] == "0498BDF812FAF923FEBD5EF7B374899FC61A"
    assert fields["stixid"] == stix_id("0498bdf812faf923febd5ef7b374899fc61a")
    assert fields["stixid"].startswith("x509-certificate--")
    assert fields["validitynotbefore"] == "2025-09-30T17:13:25Z"
    assert {"title": "keyUsage", "data": "Digital Signature, Key Encipherment"} in fields["x.509v3extensions"]
    assert {"title": "O", "data": "Let's Encrypt"} in fields["issuer"]
    assert fields["publickeyalgorithm"] == "EC secp256r1" and fields["publickeysize"] == 256
    assert len(fields["spkisha256"]) == 64 and fields["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "derdisagreement" not in fields
    leaf["serial_number"] = "01"
    cert = read_certificate(json.dumps(message))
    assert "serial number JSON 01" in certificate_fields(cert)["derdisagreement"]


def test_placeholder_der_is_ignored():
    cert = read_certificate(read_messages()[0])
    fields = certificate_fields(cert)
    assert "pem" not in fields and "derparseerror" not in fields
    assert fields["issuer"] == [{"title": "aggregated", "data": "/C=US/CN=R11/O=Let's Encrypt"}]


@pytest.mark.parametrize("name", ["10.0.0.1", "2001:db8::1", "[::1]", "localhost", "", "a" * 254 + ".com",
                                  "bad\x07name.com", "tab\tname.com"])
def test_unusable_names_are_rejected(name):
    assert clean_sans([name, "ok.example.com"]) == (["ok.example.com"], 1)


def test_names_are_deduplicated_case_insensitively():
    assert clean_sans(["A.example.com", "a.example.com.", "a.EXAMPLE.com"]) == (["A.example.com", "a.example.com."], 0)


def test_implausible_times_are_left_empty():
    message = json.loads(read_messages()[1])
    message["data"]["seen"], message["data"]["leaf_cert"]["not_before"] = -1, 0
    cert = read_certificate(json.dumps(message))
    assert cert.not_before == "" and CertStreamCertificateApiModule.epoch_to_iso(cert.seen) == ""


def test_issuer_from_the_der_when_the_json_has_none():
    message = json.loads(read_messages()[1])
    leaf = message["data"]["leaf_cert"]
    del leaf["issuer"]
    leaf["as_der"], _ = make_der_certificate("shop.fishpondcabins.com", 5)
    assert read_certificate(json.dumps(message)).issuer == "/CN=shop.fishpondcabins.com"
