"""The integration's parsing and indicator building on the genuine CertStream messages of
../shared/data/certstream (skipped when that folder is absent)."""
import json

import pytest

from helpers import SHARED_DATA

REAL = SHARED_DATA / "certstream" / "real_messages.jsonl"
pytestmark = pytest.mark.skipif(not REAL.exists(), reason="shared data absent")


def real_frames():
    return [line for line in REAL.read_text().splitlines() if line.strip()] if REAL.exists() else []


@pytest.mark.parametrize("frame", real_frames())
def test_every_real_message_builds_complete_indicators(frame):
    from CertStreamCertificateApiModule import certificate_fields, certificate_from_message, parse_frame
    kind, sans, _, seen = parse_frame(frame)
    assert kind == "certificate" and sans and seen
    cert = certificate_from_message(json.loads(frame), sans)
    fields = certificate_fields(cert)
    leaf = json.loads(frame)["data"]["leaf_cert"]
    assert cert.not_before and cert.source_name and fields["x.509v3extensions"]
    assert bool(cert.fingerprint) == any(leaf.get(k) for k in ("sha256", "fingerprint", "sha1"))
    assert bool(cert.serial_number) == bool(leaf.get("serial_number"))
    if cert.serial_number:
        assert fields["stixid"].startswith("x509-certificate--")
    assert "derparseerror" not in fields
    der = leaf.get("as_der") or ""
    if len(der) > 100:  # a real DER certificate: its facts are read, and agree with the JSON
        assert fields["pem"].startswith("-----BEGIN CERTIFICATE-----") and fields["publickeysize"]
        assert "derdisagreement" not in fields, fields["derdisagreement"]


def test_some_real_messages_carry_a_real_der():
    assert sum(len(json.loads(f)["data"]["leaf_cert"].get("as_der") or "") > 100 for f in real_frames()) >= 3
