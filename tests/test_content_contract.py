"""The contract between the integration's incidents and the pack's incident content.

The CustomFields the integration sets (taken by calling CertStream.build_incident on a tiny
certificate and Match-like objects) must be exactly the incident fields of the pack, with the
cliNames and types of the table in docs/architecture.md; every field must be associated to the
incident type and shown in its layout; the type, its layout and the integration's default incident
type must agree.
"""
import glob
import json
import os
import re
import sys
from types import SimpleNamespace

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK = os.path.join(ROOT, "Packs", "CertStream")
INTEGRATION_DIR = os.path.join(PACK, "Integrations", "CertStream")
INCIDENT_TYPE = "CertStream Suspicious Certificate"
CLI_NAME = re.compile(r"^[a-z0-9]+$")

if INTEGRATION_DIR not in sys.path:
    sys.path.insert(0, INTEGRATION_DIR)


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def incident_fields():
    fields = {}
    for path in sorted(glob.glob(os.path.join(PACK, "IncidentFields", "*.json"))):
        data = load_json(path)
        assert data["cliName"] not in fields, f"two fields with cliName {data['cliName']}"
        fields[data["cliName"]] = dict(data, _path=os.path.basename(path))
    return fields


def architecture_table():
    """{cliName: type} from the CustomFields table of docs/architecture.md."""
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## Incident CustomFields", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*(certstream[a-z0-9]*)\s*\|\s*([A-Za-z]+)\s*\|", section, re.MULTILINE)
    assert rows, "no CustomFields table found in docs/architecture.md"
    return dict(rows)


def layout():
    paths = glob.glob(os.path.join(PACK, "Layouts", "layoutscontainer-*.json"))
    assert len(paths) == 1, paths
    return load_json(paths[0])


def incident_type():
    paths = glob.glob(os.path.join(PACK, "IncidentTypes", "*.json"))
    assert len(paths) == 1, paths
    return load_json(paths[0])


def layout_field_ids(data):
    ids = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("sectionItemType") == "field" and node.get("fieldId"):
                ids.add(node["fieldId"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(data)
    return ids


@pytest.fixture(scope="module")
def incident():
    """build_incident on a certificate with two matching SANs."""
    import CertStream  # needs demistomock / CommonServerPython / the API module (see conftest.py)

    cert = CertStream.Certificate(
        sans=["paypa1-login.com", "www.paypa1-login.com", "example.org"],
        raw={"message_type": "certificate_update"},
        update_type="X509LogEntry", fingerprint="AB:CD", sha1="AB:CD", serial_number="0A1B",
        subject="/CN=paypa1-login.com", issuer="/C=US/O=Let's Encrypt/CN=R3",
        not_before="2026-01-01T00:00:00Z", not_after="2026-04-01T00:00:00Z", signature_algorithm="sha256",
        cert_index=42, cert_link="https://ct.example/log/ct/v1/get-entries?start=42&end=42",
        source_name="Example CT log", source_url="https://ct.example/log/", seen=1767225600.0)

    def match(domain, score, severity):
        return SimpleNamespace(domain=domain, normalized=domain, registrable="paypa1-login.com", asset="paypal",
                               term="paypal", similarity=0.9, score=score, severity=severity,
                               evidence="skeleton", words=["login"],
                               explanation=f"{domain} reads as paypal with a credential word")
    return CertStream.build_incident(cert, [match("paypa1-login.com", 90, 4), match("www.paypa1-login.com", 80, 3)],
                                     INCIDENT_TYPE)


def custom_fields_in_source():
    """The CustomFields keys written in build_incident's source (a cross-check of the call)."""
    with open(os.path.join(INTEGRATION_DIR, "CertStream.py"), encoding="utf-8") as handle:
        source = handle.read()
    body = source.split("def build_incident(", 1)[1].split("\ndef ", 1)[0]
    block = body.split('"CustomFields": {', 1)[1].split("\n        },", 1)[0]
    return set(re.findall(r'^\s*"([a-z0-9]+)":', block, re.MULTILINE))


def test_custom_fields_are_the_pack_fields(incident):
    custom = set(incident["CustomFields"])
    assert custom == custom_fields_in_source()
    fields = incident_fields()
    assert custom == set(fields), (f"fields without a field file: {sorted(custom - set(fields))}; "
                                   f"field files the integration never sets: {sorted(set(fields) - custom)}")


def test_fields_follow_the_architecture_table():
    table = architecture_table()
    fields = incident_fields()
    assert set(table) == set(fields)
    for cli_name, field_type in table.items():
        assert fields[cli_name]["type"] == field_type, f"{cli_name}: {fields[cli_name]['type']} != {field_type}"


@pytest.mark.parametrize("cli_name", sorted(architecture_table()))
def test_field_file(cli_name):
    field = incident_fields()[cli_name]
    assert CLI_NAME.match(cli_name), "cliName must be lower-case alphanumeric"
    assert field["id"] == f"incident_{cli_name}"
    assert re.sub(r"[^a-z0-9]", "", field["name"].lower()) == cli_name, "XSOAR derives the cliName from the name"
    assert field["name"].startswith("CertStream "), "field names start with the pack name"
    assert field.get("fromVersion"), "fromVersion must be set"
    assert field.get("description", "").strip()
    assert field.get("associatedToAll") is False
    assert INCIDENT_TYPE in (field.get("associatedTypes") or []), "field not associated to the incident type"
    assert field["_path"] == "incidentfield-" + field["name"].replace(" ", "_") + ".json"


def test_values_fit_the_field_types(incident):
    fields = incident_fields()
    for cli_name, value in incident["CustomFields"].items():
        field_type = fields[cli_name]["type"]
        if field_type == "number":
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (cli_name, value)
        elif field_type == "multiSelect":
            assert isinstance(value, list) and all(isinstance(item, str) for item in value), (cli_name, value)
        elif field_type == "date":
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", value), (cli_name, value)
        else:
            assert isinstance(value, str), (cli_name, value)
    assert incident["CustomFields"]["certstreammatcheddomains"] == ["paypa1-login.com", "www.paypa1-login.com"]
    assert incident["type"] == INCIDENT_TYPE


def test_every_field_is_in_the_layout():
    shown = layout_field_ids(layout())
    missing = sorted(set(incident_fields()) - shown)
    assert not missing, f"fields not shown in the layout: {missing}"


def test_layout_shows_the_essentials_on_the_first_tab():
    first_tab = layout()["detailsV2"]["tabs"][0]
    shown = layout_field_ids(first_tab)
    for cli_name in ("certstreammatcheddomain", "certstreamasset", "certstreamsimilarity", "certstreamscore",
                     "certstreamexplanation", "certstreamissuer", "certstreamfingerprint"):
        assert cli_name in shown, cli_name


def test_type_layout_and_integration_agree():
    itype = incident_type()
    container = layout()
    assert itype["id"] == itype["name"] == INCIDENT_TYPE
    assert itype.get("fromVersion") and container.get("fromVersion")
    assert itype["layout"] == container["id"]
    assert container["group"] == "incident"
    with open(os.path.join(INTEGRATION_DIR, "CertStream.yml"), encoding="utf-8") as handle:
        integration = yaml.safe_load(handle)
    params = {param["name"]: param for param in integration["configuration"]}
    assert params["incidentType"].get("defaultvalue") == INCIDENT_TYPE
    with open(os.path.join(INTEGRATION_DIR, "CertStream.py"), encoding="utf-8") as handle:
        assert f'DEFAULT_INCIDENT_TYPE = "{INCIDENT_TYPE}"' in handle.read()
