"""The real CertStream-compatible server and the real integration over a loopback websocket."""
import json

import pytest

from helpers import (SHARED_DATA, incidents, integration_context, matched_domains, read_jsonl, state_with_list,
                     xsoar_local)
from xsoar_local.server import CertStreamServer

WATCH_LIST = {"paypal": ["paypall", "paypai"], "examplebank.com": ["examp1ebank"], "box": ["b0x"]}
PLANTED = ["paypa1-login.com", "xn--pypal-4ve.com", "secure-examplebank.com.verify-user.top", "b0x-login.com"]
OWN_OR_INNOCENT = ["www.paypal.com", "paypal.com", "login.examplebank.com", "xbox.com", "dropbox.com",
                   "boxing-club.org", "gardenparty.net", "weather-today.io"]


@pytest.fixture
def state(tmp_path):
    return state_with_list(tmp_path, WATCH_LIST)


def stream_file(tmp_path, names):
    path = tmp_path / "stream.txt"
    path.write_text("\n".join(names) + "\n")
    return path


def run_until_closed(state, server, endpoint="/full-stream", timeout=60):
    return xsoar_local(state, "run", "CertStream", "long-running-execution",
                       "--param", f"url={server.url(endpoint)}", "--param", "list_name=WatchList",
                       "--until-closed", timeout=timeout)


@pytest.mark.parametrize("endpoint", ["/full-stream", "/", "/domains-only"])
def test_planted_lookalikes_create_exactly_their_incidents(tmp_path, state, endpoint):
    with CertStreamServer(stream_file(tmp_path, OWN_OR_INNOCENT[:4] + PLANTED + OWN_OR_INNOCENT[4:])) as server:
        run_until_closed(state, server, endpoint)
    expected = set(PLANTED)
    found = {domain.lstrip("*.").removeprefix("www.") for domain in matched_domains(state)}
    assert found == expected
    # one incident per certificate lookalike: precert + final certificate are de-duplicated
    assert len(incidents(state)) == len(PLANTED)
    status = integration_context(state)["status"]
    assert status["incidents_created"] == len(PLANTED)
    assert status["duplicates_suppressed"] >= (len(PLANTED) if endpoint != "/domains-only" else 0)


def test_incident_content_is_complete(tmp_path, state):
    with CertStreamServer(stream_file(tmp_path, ["paypa1-login.com"])) as server:
        run_until_closed(state, server)
    incident = incidents(state)[0]
    assert incident["type"] == "CertStream Suspicious Certificate"
    assert incident["occurred"].endswith("Z")
    fields = incident["CustomFields"]
    assert fields["certstreamasset"] == "paypal"
    assert fields["certstreammatcheddomain"] in ("paypa1-login.com", "www.paypa1-login.com", "*.paypa1-login.com")
    for name in ("certstreamfingerprint", "certstreamserialnumber", "certstreamissuer", "certstreamnotbefore",
                 "certstreamnotafter", "certstreamsourcelog", "certstreamcertlink", "certstreamexplanation"):
        assert fields[name], name
    assert isinstance(fields["certstreamcertindex"], int)
    assert json.loads(incident["rawJSON"])["message_type"] == "certificate_update"


@pytest.mark.skipif(not (SHARED_DATA / "certstream" / "real_messages.jsonl").exists(), reason="shared data absent")
def test_replay_of_real_messages(tmp_path):
    list_file = tmp_path / "list.json"
    list_file.write_text(json.dumps({"rundschleifmaschinen": ["rundschleifmaschinen"]}))
    state = tmp_path / "state"
    result = xsoar_local(state, "replay", str(SHARED_DATA / "certstream" / "real_messages.jsonl"),
                         "--list", str(list_file))
    assert "rundschleifmaschinen" in result.stdout
    assert matched_domains(state) == ["rundschleifmaschinen-service.de", "www.rundschleifmaschinen-service.de"]


def test_existing_verdicts_raise_or_suppress_incidents(tmp_path, state):
    xsoar_local(state, "indicator", "add", "paypa1-login.com", "--type", "Domain", "--score", "3")
    xsoar_local(state, "indicator", "add", "b0x-login.com", "--type", "Domain", "--score", "1")
    with CertStreamServer(stream_file(tmp_path, ["paypa1-login.com", "b0x-login.com", "xn--pypal-4ve.com"])) as server:
        run_until_closed(state, server)
    by_domain = {incident["CustomFields"]["certstreammatcheddomain"].removeprefix("www."): incident
                 for incident in incidents(state)}
    assert set(by_domain) == {"paypa1-login.com", "xn--pypal-4ve.com"}  # the Good one is suppressed
    malicious = by_domain["paypa1-login.com"]
    assert malicious["severity"] == 4
    assert "already scored malicious in XSOAR" in malicious["CustomFields"]["certstreamexplanation"]
    assert integration_context(state)["status"]["suppressed_by_verdict"] >= 1


def test_indicators_and_relationships_reach_the_local_store(tmp_path, state):
    with CertStreamServer(stream_file(tmp_path, ["paypa1-login.com"])) as server:
        run_until_closed(state, server)
    indicators = read_jsonl(state / "indicators.jsonl")
    certificates = [i for i in indicators if i["type"] == "X509 Certificate"]
    domains = {i["value"] for i in indicators if i["type"] == "Domain"}
    assert "paypa1-login.com" in domains
    assert certificates and {r["entityB"] for r in certificates[0]["relationships"]} >= {"paypa1-login.com"}
    assert certificates[0]["fields"]["pem"].startswith("-----BEGIN CERTIFICATE-----")  # the full stream's DER
    similar = [r for i in indicators if i["type"] == "Domain" for r in i["relationships"]]
    assert {(r["name"], r["entityB"]) for r in similar} == {("similar-to", "paypal.com")}
    shown = xsoar_local(state, "incidents").stdout
    assert "paypa1-login.com (and www.paypa1-login.com) imitates paypal" in shown and "Certificate issued" in shown


def test_fetch_incidents_mode_reads_for_a_bounded_time_and_keeps_dedup_in_last_run(tmp_path, state):
    with CertStreamServer(stream_file(tmp_path, PLANTED + OWN_OR_INNOCENT)) as server:
        fetch = ["run", "CertStream", "fetch-incidents", "--param", f"url={server.url('/full-stream')}",
                 "--param", "list_name=WatchList", "--param", "isFetch=true", "--param", "fetch_duration=3"]
        xsoar_local(state, *fetch)
        first = len(incidents(state))
        xsoar_local(state, *fetch)  # the same certificates again: nothing new
    assert first == len(PLANTED) == len(incidents(state))
    last_run = json.loads((state / "last_run" / "CertStream.json").read_text())
    assert len(last_run["certstream_dedup"]) >= len(PLANTED)


def test_generated_list_feeds_the_integration(tmp_path):
    state = tmp_path / "state"
    xsoar_local(state, "!GenerateDomainHomographs domains=paypal.com list_name=Generated")
    stream = stream_file(tmp_path, ["paypa1.com", "xn--pypal-4ve.com", "gardenparty.net", "www.paypal.com"])
    xsoar_local(state, "replay", str(stream), "--list-name", "Generated")
    found = {domain.removeprefix("www.") for domain in matched_domains(state)}
    assert found == {"paypa1.com", "xn--pypal-4ve.com"}
