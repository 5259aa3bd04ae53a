import base64
import copy
import datetime
import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

import demistomock as demisto
from CommonServerPython import CommandResults

from CertStreamParseCertificate import (InputError, certificate_fields, certificate_from_message, der_message,
                                        main, name_parts, parse_certificate)

TEST_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_data")
# test_data/paypa1_login.pem: a leaf for paypa1-login.com (RSA 2048) issued by a throwaway EC CA
# (its certificate is the second one of paypa1_login_chain.pem); certificate_update.json is the
# CertStream message a server would publish for the same certificate (lite stream: no as_der).
SHA256 = "28:F6:30:1D:4C:EA:D5:63:65:D7:E1:DA:B6:A6:FD:6F:D2:52:E4:C0:57:33:9E:BA:96:09:1F:6D:84:BE:28:5C"
SHA1 = "F5:58:C4:49:51:DB:D2:A3:00:E3:1C:F6:26:A9:36:C0:7D:9A:2A:E2"
SERIAL = "4A1B2C3D4E5F60718293A4B5C6D7E8F9001"
ISSUER = "/C=US/CN=Example Test Issuing CA E1/O=Example Test CA"
NAMES = ["paypa1-login.com", "www.paypa1-login.com"]


def read_text(name):
    with open(os.path.join(TEST_DATA, name), encoding="utf-8") as handle:
        return handle.read()


def pem_der(name="paypa1_login.pem"):
    return x509.load_pem_x509_certificate(read_text(name).encode()).public_bytes(serialization.Encoding.DER)


def message():
    return json.loads(read_text("certificate_update.json"))


def outputs(result):
    assert isinstance(result, CommandResults)
    assert result.outputs_prefix == "CertStream.Certificate"
    assert result.outputs_key_field == "fingerprint"
    return result.outputs


def grid(rows):
    return {row["title"]: row["data"] for row in rows}


def make_certificate(key=None, subject_cn="login-examp1e.com", sans=("login-examp1e.com",), precert=False,
                     extra_names=(), not_before=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)):
    """A real certificate, self-signed, for the cases the fixtures do not cover."""
    key = key or ec.generate_private_key(ec.SECP384R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)] if subject_cn else []
    name = x509.Name(attributes + list(extra_names))
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(0xABC).not_valid_before(not_before)
               .not_valid_after(not_before + datetime.timedelta(days=30)))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), False)
    if precert:
        builder = builder.add_extension(x509.PrecertPoison(), True)
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA384()
    return builder.sign(key, digest)


# --- a CertStream message --------------------------------------------------------------------
def test_message_gives_the_integration_indicator_fields():
    result = parse_certificate({"message": read_text("certificate_update.json")})
    context = outputs(result)
    raw = message()
    cert = certificate_from_message(raw, NAMES)
    for key, value in certificate_fields(cert).items():  # exactly what the integration's indicator gets
        assert context[key] == value, key
    assert context["fingerprint"] == SHA256 == context["sha256"]
    assert context["sha1"] == SHA1
    assert context["serialnumber"] == SERIAL
    assert context["sans"] == NAMES and context["domains"] == [{"domain": n} for n in NAMES]
    assert context["issuerdn"] == ISSUER and context["subjectdn"] == "/CN=paypa1-login.com"
    assert context["validitynotbefore"] == "2026-03-01T08:30:00Z"
    assert context["validitynotafter"] == "2026-05-30T08:29:59Z"
    assert context["source"] == "Example Test 2026h1 Log" and context["certificateindex"] == 812345678
    assert context["updatetype"] == "X509LogEntry" and context["inputtype"] == "message"
    assert "pem" not in context and "publickeyalgorithm" not in context  # the lite stream has no DER
    readable = result.readable_output
    assert readable.startswith(f"### CertStream certificate {SHA256}")
    assert "| Names | 2: paypa1-login.com, www.paypa1-login.com |" in readable
    assert "| Registrable domains | paypa1-login.com |" in readable
    assert context["names"] == [
        {"name": "paypa1-login.com", "domain": "paypa1-login.com", "registrable": "paypa1-login.com"},
        {"name": "www.paypa1-login.com", "domain": "www.paypa1-login.com", "registrable": "paypa1-login.com"}]
    assert "| Log index | 812345678 |" in readable
    assert "| authorityInfoAccess | CA Issuers - URI:http://ca.example.test/e1.der; OCSP - URI:" in readable


def test_message_with_der_adds_the_key_facts():
    raw = message()
    raw["data"]["leaf_cert"]["as_der"] = base64.b64encode(pem_der()).decode()
    context = outputs(parse_certificate({"message": json.dumps(raw)}))
    assert context["publickeyalgorithm"] == "RSA" and context["publickeysize"] == 2048
    assert len(context["spkisha256"]) == 64
    assert context["pem"] == read_text("paypa1_login.pem")
    assert "derdisagreement" not in context


def test_message_whose_der_disagrees_is_flagged():
    raw = message()
    raw["data"]["leaf_cert"]["as_der"] = base64.b64encode(pem_der()).decode()
    raw["data"]["leaf_cert"]["serial_number"] = "01"
    result = parse_certificate({"message": json.dumps(raw)})
    assert "serial number JSON 01" in outputs(result)["derdisagreement"]
    assert "**Note:** The DER certificate disagrees with the message" in result.readable_output


def test_message_may_come_as_an_object():
    """A playbook may pass the message from context as an object instead of text."""
    context = outputs(parse_certificate({"message": message()}))
    assert context["fingerprint"] == SHA256


def test_old_message_without_sha256_is_keyed_by_sha1():
    raw = message()
    del raw["data"]["leaf_cert"]["sha256"]
    context = outputs(parse_certificate({"message": json.dumps(raw)}))
    assert context["fingerprint"] == SHA1 and "sha256" not in context


def test_certificate_without_usable_names_is_noted():
    raw = message()
    raw["data"]["leaf_cert"]["all_domains"] = ["192.0.2.10", "localhost"]
    result = parse_certificate({"message": json.dumps(raw)})
    assert "sans" not in outputs(result)
    assert "names no usable domain" in result.readable_output


# --- the incident's rawJSON (the default) ----------------------------------------------------
def test_default_reads_the_incident_raw_json(mocker):
    mocker.patch.object(demisto, "incident", return_value={"id": "7", "rawJSON": read_text("certificate_update.json")})
    context = outputs(parse_certificate({}))
    assert context["fingerprint"] == SHA256
    assert context["inputtype"] == "incident message"


def test_incident_without_raw_json_is_an_error(mocker):
    mocker.patch.object(demisto, "incident", return_value={"id": "7", "rawJSON": ""})
    with pytest.raises(InputError, match="Nothing to parse.*this incident has no rawJSON"):
        parse_certificate({})


def test_incident_of_another_kind_is_an_error(mocker):
    mocker.patch.object(demisto, "incident", return_value={"rawJSON": json.dumps({"alert": "x"})})
    with pytest.raises(InputError, match="incident's rawJSON is JSON without a message_type"):
        parse_certificate({})


def test_arguments_win_over_the_incident(mocker):
    incident = mocker.patch.object(demisto, "incident", return_value={"rawJSON": "{}"})
    context = outputs(parse_certificate({"certificate": read_text("paypa1_login.pem")}))
    assert context["inputtype"] == "pem"
    incident.assert_not_called()


# --- PEM and DER -----------------------------------------------------------------------------
def test_pem_gives_the_same_facts_as_the_message():
    from_pem = outputs(parse_certificate({"certificate": read_text("paypa1_login.pem")}))
    from_message = outputs(parse_certificate({"message": read_text("certificate_update.json")}))
    for key in ("fingerprint", "sha256", "sha1", "serialnumber", "stixid", "validitynotbefore", "validitynotafter",
                "signaturealgorithm", "subjectdn", "issuerdn", "sans", "domains", "subject", "issuer"):
        assert from_pem[key] == from_message[key], key
    # the message's extensions are what the DER says (in OpenSSL's words), plus the key identifiers
    assert grid(from_message["x.509v3extensions"]).items() <= grid(from_pem["x.509v3extensions"]).items()
    assert from_pem["publickeyalgorithm"] == "RSA" and from_pem["publickeysize"] == 2048
    assert from_pem["pem"] == read_text("paypa1_login.pem")
    assert from_pem["inputtype"] == "pem"
    for key in ("source", "certificateindex", "certificatelink", "updatetype", "derdisagreement", "derparseerror"):
        assert key not in from_pem, key


def test_pem_extensions_in_openssl_words():
    extensions = grid(outputs(parse_certificate({"certificate": read_text("paypa1_login.pem")}))["x.509v3extensions"])
    assert extensions["subjectAltName"] == "DNS:paypa1-login.com, DNS:www.paypa1-login.com, IP Address:192.0.2.10"
    assert extensions["basicConstraints"] == "CA:FALSE"
    assert extensions["keyUsage"] == "Digital Signature, Key Encipherment"
    assert extensions["extendedKeyUsage"] == "TLS Web server authentication, TLS Web client authentication"
    assert extensions["authorityKeyIdentifier"].startswith("keyid:") and extensions["authorityKeyIdentifier"].endswith("\n")
    assert len(extensions["subjectKeyIdentifier"].split(":")) == 20


def test_base64_der_and_pem_agree():
    der = pem_der()
    from_der = outputs(parse_certificate({"certificate": base64.b64encode(der).decode()}))
    from_pem = outputs(parse_certificate({"certificate": read_text("paypa1_login.pem")}))
    assert from_der["inputtype"] == "der"
    assert {k: v for k, v in from_der.items() if k != "inputtype"} == {
        k: v for k, v in from_pem.items() if k != "inputtype"}
    wrapped = "\n".join(base64.b64encode(der).decode()[i:i + 64] for i in range(0, 2000, 64))
    assert outputs(parse_certificate({"certificate": wrapped}))["fingerprint"] == SHA256


def test_pem_flattened_by_the_war_room():
    """A PEM pasted into an argument may arrive with spaces instead of newlines."""
    flat = " ".join(read_text("paypa1_login.pem").split("\n"))
    assert outputs(parse_certificate({"certificate": flat}))["fingerprint"] == SHA256


def test_chain_pem_describes_the_leaf():
    result = parse_certificate({"certificate": read_text("paypa1_login_chain.pem")})
    assert outputs(result)["fingerprint"] == SHA256
    assert "The PEM holds 2 certificates; the first one" in result.readable_output


def test_generated_ec_certificate():
    certificate = make_certificate(extra_names=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Examp1e Ltd"),
                                                x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@login-examp1e.com")])
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    context = outputs(parse_certificate({"certificate": pem}))
    assert context["fingerprint"] == certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    assert context["serialnumber"] == "ABC"
    assert context["signaturealgorithm"] == "sha384, ecdsa"
    assert context["publickeyalgorithm"] == "EC secp384r1" and context["publickeysize"] == 384
    assert context["validitynotbefore"] == "2026-01-02T03:04:05Z"
    assert context["validitynotafter"] == "2026-02-01T03:04:05Z"
    assert context["subjectdn"] == "/CN=login-examp1e.com/O=Examp1e Ltd/emailAddress=a@login-examp1e.com"
    assert context["issuerdn"] == context["subjectdn"]
    assert grid(context["subject"])["emailAddress"] == "a@login-examp1e.com"
    assert context["sans"] == ["login-examp1e.com"]


def test_generated_ed25519_precertificate():
    certificate = make_certificate(key=ed25519.Ed25519PrivateKey.generate(), subject_cn="",
                                   sans=("a.login-examp1e.com", "b.login-examp1e.com"), precert=True)
    der = certificate.public_bytes(serialization.Encoding.DER)
    message = der_message(der, "test")
    leaf = message["data"]["leaf_cert"]
    assert leaf["extensions"]["ctlPoisonByte"] is True  # as CertStream publishes it
    assert leaf["all_domains"] == ["a.login-examp1e.com", "b.login-examp1e.com"]
    context = outputs(parse_certificate({"certificate": base64.b64encode(der).decode()}))
    assert context["signaturealgorithm"] == "ed25519"
    assert context["publickeyalgorithm"] == "Ed25519"
    assert context["updatetype"] == "PrecertLogEntry"
    assert "subjectdn" not in context


def test_certificate_file(mocker, tmp_path):
    der_file = tmp_path / "cert.der"
    der_file.write_bytes(pem_der())
    pem_file = tmp_path / "cert.pem"
    pem_file.write_text(read_text("paypa1_login.pem"))
    paths = {"1@1": str(der_file), "2@1": str(pem_file)}
    mocker.patch.object(demisto, "getFilePath", side_effect=lambda entry_id: {"path": paths[entry_id], "name": "x"})
    from_der = outputs(parse_certificate({"entry_id": "1@1"}))
    from_pem = outputs(parse_certificate({"entry_id": "2@1"}))
    assert from_der["fingerprint"] == from_pem["fingerprint"] == SHA256
    assert (from_der["inputtype"], from_pem["inputtype"]) == ("file der", "file pem")
    with pytest.raises(InputError, match="No file found for entry_id '3@1'"):
        parse_certificate({"entry_id": "3@1"})


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("args, error", [
    ({"certificate": "hello there"}, "neither a PEM certificate .* base64 DER, nor a JSON CertStream message"),
    ({"certificate": base64.b64encode(b"just some text here").decode()}, "base64 but does not decode to a DER"),
    ({"certificate": base64.b64encode(b"\x30\x03\x02\x01\x01").decode()}, "5 bytes that are not a DER X.509"),
    ({"certificate": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"},
     "holds PEM PRIVATE KEY data, not a certificate"),
    ({"certificate": "-----BEGIN CERTIFICATE-----\nMIIB"}, "no complete -----BEGIN CERTIFICATE-----"),
    ({"certificate": "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----"}, "not valid base64"),
    ({"message": "{not json"}, "looks like JSON but cannot be parsed"),
    ({"message": "[1, 2]"}, "JSON but not an object"),
    ({"message": '{"message_type": "heartbeat", "timestamp": 1}'}, "heartbeat message, which describes no certificate"),
    ({"message": '{"message_type": "dns_entries", "data": ["a.com"]}'}, "dns_entries message"),
    ({"message": '{"message_type": "other"}'}, "a message of type 'other'; a certificate_update message is needed"),
    ({"message": '{"message_type": "certificate_update", "data": {}}'}, "without data.leaf_cert"),
    ({"message": "   "}, "Nothing to parse"),  # blank arguments are not given: falls back to the incident
    ({"certificate": "x", "message": "{}"}, "Give only one of certificate, message and entry_id"),
])
def test_bad_input(mocker, args, error):
    mocker.patch.object(demisto, "incident", return_value={"rawJSON": ""})
    with pytest.raises(InputError, match=error):
        parse_certificate(args)


def test_main_reports_errors(mocker):
    mocker.patch.object(demisto, "args", return_value={"message": '{"message_type": "heartbeat"}'})
    mocker.patch.object(demisto, "results")
    with pytest.raises(SystemExit):
        main()
    entry = demisto.results.call_args[0][0]
    assert entry["Type"] == 4
    assert "CertStreamParseCertificate" in entry["Contents"] and "heartbeat" in entry["Contents"]


def test_main_returns_the_certificate(mocker):
    mocker.patch.object(demisto, "args", return_value={"certificate": read_text("paypa1_login.pem")})
    mocker.patch.object(demisto, "results")
    main()
    entry = demisto.results.call_args[0][0]
    context = entry["EntryContext"]["CertStream.Certificate(val.fingerprint && val.fingerprint == obj.fingerprint)"]
    assert context["fingerprint"] == SHA256
    assert "### CertStream certificate" in entry["HumanReadable"]


def test_input_is_not_changed():
    raw = message()
    before = copy.deepcopy(raw)
    parse_certificate({"message": raw})
    assert raw == before


@pytest.mark.parametrize("name, domain, registrable", [
    ("www.paypa1-login.com", "www.paypa1-login.com", "paypa1-login.com"),
    ("*.paypa1-login.com", "paypa1-login.com", "paypa1-login.com"),
    ("Login.Examp1e.CO.UK.", "login.examp1e.co.uk", "examp1e.co.uk"),
    ("paypal-login.github.io", "paypal-login.github.io", "paypal-login.github.io"),  # a private suffix
    ("secure.xn--pypal-4ve.com", "secure.xn--pypal-4ve.com", "xn--pypal-4ve.com"),  # stays punycode
    ("co.uk", "co.uk", ""),  # a public suffix has no registrable domain
])
def test_name_parts(name, domain, registrable):
    assert name_parts(name) == {"name": name, "domain": domain, "registrable": registrable}
