"""The real integration against a misbehaving CertStream server (fault modes of xsoar_local.server).

Each test streams innocent names with planted lookalikes, runs the integration's real loop for a
bounded time (`xsoar-local run ... --for S`, which stops it the way XSOAR does, with SIGTERM) and
checks that every planted lookalike produces exactly one incident, and what the loop said.
"""
import json
import re

import pytest

from helpers import incidents, integration_context, state_with_list, xsoar_local
from xsoar_local.server import CertStreamServer

WATCH_LIST = {"paypal": ["paypall"], "examplebank.com": ["examp1ebank"]}
PLANTED = ["paypa1-login.com", "xn--pypal-4ve.com", "secure-examplebank.com.verify-user.top",
           "examp1ebank-support.com"]
FAST_RECONNECT = ["--param", "reconnect_delay=0.2", "--param", "reconnect_max_delay=2"]


@pytest.fixture
def state(tmp_path):
    return state_with_list(tmp_path, WATCH_LIST)


@pytest.fixture
def stream(tmp_path):
    """120 domain names (240 messages: precert + certificate each), lookalikes spread through."""
    names = [f"garden-{i}.example-shop.net" for i in range(116)]
    for position, lookalike in zip((5, 40, 80, 115), PLANTED):
        names.insert(position, lookalike)
    path = tmp_path / "stream.txt"
    path.write_text("\n".join(names) + "\n")
    return path


def run_loop(state, server, seconds, *params):
    return xsoar_local(state, "run", "CertStream", "long-running-execution",
                       "--param", f"url={server.url('/full-stream')}", "--param", "list_name=WatchList",
                       *FAST_RECONNECT, *params, "--for", str(seconds), timeout=seconds + 40)


def lookalike_counts(state):
    counts = {}
    for incident in incidents(state):
        names = {domain.lstrip("*.").removeprefix("www.") for domain in incident["CustomFields"]["certstreammatcheddomains"]}
        for key in names:
            counts[key] = counts.get(key, 0) + 1
    return counts


def reconnect_delays(state):
    log = (state / "log.txt").read_text()
    return [float(d) for d in re.findall(r"reconnecting in ([\d.]+) s", log)], log


def health(state):
    return json.loads((state / "health.json").read_text()).get("CertStream", {})


def assert_each_planted_once(state):
    counts = lookalike_counts(state)
    assert counts == {name: 1 for name in PLANTED}, counts


def test_drops_every_n_messages_lose_nothing_and_duplicate_nothing(state, stream):
    with CertStreamServer(stream, drop_every=50) as server:
        run_loop(state, server, 6)
    assert_each_planted_once(state)
    status = integration_context(state)["status"]
    assert status["reconnects"] >= 4
    assert status["messages"] >= 240  # every message of the file arrived across the connections
    delays, log = reconnect_delays(state)
    assert "closed the connection (code 1012)" in log


def test_abrupt_disconnects_without_close_frame(state, stream):
    with CertStreamServer(stream, abrupt_every=60) as server:
        run_loop(state, server, 6)
    counts = lookalike_counts(state)
    assert all(count == 1 for count in counts.values()), counts
    assert len(counts) >= 3  # messages in flight at an abort may be lost with the TCP connection
    _, log = reconnect_delays(state)
    assert "dropped without a close frame" in log


def test_stall_is_detected_and_the_loop_reconnects(state, stream):
    with CertStreamServer(stream, stall_after=100, heartbeat_interval=0) as server:
        run_loop(state, server, 7, "--param", "stall_timeout=2")
    assert_each_planted_once(state)
    _, log = reconnect_delays(state)
    assert "no data from ws://127.0.0.1" in log and "for 2 s" in log


def test_refused_handshakes_back_off_then_recover(state, stream):
    with CertStreamServer(stream, refuse_status=521, refuse_times=4, loop=True, rate=200) as server:
        run_loop(state, server, 8)
    assert_each_planted_once(state)
    delays, log = reconnect_delays(state)
    assert "refused the websocket handshake with HTTP 521" in log
    assert len(delays) >= 4
    assert delays[1] > delays[0] and delays[2] > delays[1] and delays[3] > delays[2]  # exponential
    assert max(delays) <= 2.0  # capped
    assert health(state)["message"] == ""  # cleared once connected again


def test_garbage_frames_are_counted_and_skipped(state, stream):
    with CertStreamServer(stream, garbage_every=10) as server:
        run_loop(state, server, 4)
    assert_each_planted_once(state)
    rejected = integration_context(state)["status"]["rejected"]
    assert sum(rejected.values()) >= 20
    assert {"not_json", "not_object", "unknown_type"} <= set(rejected)


def test_heartbeats_only_keeps_the_connection_alive(state, stream):
    with CertStreamServer(stream, heartbeats_only=True, heartbeat_interval=0.5) as server:
        run_loop(state, server, 4, "--param", "stall_timeout=2")
    status = integration_context(state)["status"]
    assert status["heartbeats"] >= 4 and status["reconnects"] == 0 and status["certificates"] == 0
    assert incidents(state) == []


def test_unreachable_server_reports_health_and_retries(state, unused_port):
    class Nowhere:
        @staticmethod
        def url(path):
            return f"ws://127.0.0.1:{unused_port}{path}"
    run_loop(state, Nowhere, 3)
    delays, log = reconnect_delays(state)
    assert len(delays) >= 3 and "cannot reach ws://127.0.0.1" in log
    assert health(state)["is_error"] is True and "retrying in" in health(state)["message"]


def test_restart_of_the_integration_creates_no_duplicates(state, stream):
    with CertStreamServer(stream) as server:
        run_loop(state, server, 3)
        assert_each_planted_once(state)
        run_loop(state, server, 3)  # a restart: the same certificates arrive again
    assert_each_planted_once(state)
    assert integration_context(state)["status"]["duplicates_suppressed"] >= len(PLANTED)


@pytest.fixture
def unused_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
