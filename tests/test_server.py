"""The local CertStream server over real websockets on 127.0.0.1: endpoints, pacing, fault modes."""
import argparse
import json
import threading
import time

import pytest
import websocket  # websocket-client: shows the server's ping frames
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.sync.client import connect as websockets_connect

from xsoar_local.messages import GARBAGE_FRAMES
from xsoar_local.server import CertStreamServer, add_fault_arguments, faults_from_args

NAMES = ["bluemaple-bakery.de", "shop.quietharbor.co.uk", "*.tenant.example-saas.io", "www.annaschmidt.com"]


def stored_message(index: int) -> dict:
    """A stored full-stream message (shape of the real ones), numbered by cert_index."""
    name = f"n{index}.example"
    return {"message_type": "certificate_update", "data": {
        "update_type": "X509LogEntry", "cert_index": index, "seen": 1700000000.0 + index,
        "cert_link": f"https://log.example/ct/v1/get-entries?start={index}&end={index}",
        "source": {"url": "https://log.example/", "name": "Example log"},
        "leaf_cert": {"all_domains": [name, "www." + name], "as_der": "TEFFRg==", "fingerprint": "AA:BB",
                      "subject": {"CN": name, "aggregated": "/CN=" + name}, "serial_number": "0A"},
        "chain": [{"subject": {"CN": "Example CA"}, "as_der": "Q0hBSU4="}]}}


def connect(url: str, **options):
    """A client that gives up quickly when closing (an unread backlog would delay the close)."""
    return websockets_connect(url, **{"open_timeout": 3, "close_timeout": 0.5, **options})


@pytest.fixture
def names_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("# demo\n" + "\n".join(NAMES) + "\n")
    return str(path)


def numbered_stream(tmp_path, count: int, extra_lines=()) -> str:
    path = tmp_path / "stream.jsonl"
    lines = [json.dumps(stored_message(i), separators=(",", ":")) for i in range(count)]
    path.write_text("\n".join(lines + list(extra_lines)) + "\n")
    return str(path)


def receive_until_closed(url: str, timeout: float = 3.0):
    """Every frame until the server closes: (frames, close code or None without a close frame)."""
    frames = []
    with connect(url) as ws:
        try:
            while True:
                frames.append(ws.recv(timeout=timeout))
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else None


def indexes(frames) -> list:
    """cert_index of every certificate_update frame (heartbeats and garbage skipped)."""
    found = []
    for frame in frames:
        try:
            message = json.loads(frame)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "certificate_update" \
                and isinstance(message.get("data"), dict) and isinstance(message["data"].get("cert_index"), int):
            found.append(message["data"]["cert_index"])
    return found


# -- endpoints ---------------------------------------------------------------------------------
def test_full_stream_wraps_names_into_precert_and_final_messages_with_der(names_file):
    with CertStreamServer(names_file, heartbeat_interval=None) as server:
        frames, code = receive_until_closed(server.url("/full-stream"))
    assert code == 1000
    messages = [json.loads(frame) for frame in frames]
    assert len(messages) == 2 * len(NAMES)
    assert [m["data"]["update_type"] for m in messages[:2]] == ["PrecertLogEntry", "X509LogEntry"]
    assert [m["data"]["leaf_cert"]["subject"]["CN"] for m in messages[::2]] == NAMES
    assert all(m["data"]["leaf_cert"]["as_der"] and m["data"]["chain"][0]["as_der"] for m in messages)


def test_lite_endpoint_strips_der(names_file, tmp_path):
    with CertStreamServer(names_file, heartbeat_interval=None) as server:
        frames, _ = receive_until_closed(server.url("/"))
    assert len(frames) == 2 * len(NAMES) and '"as_der"' not in "".join(frames)
    assert all(json.loads(f)["data"]["leaf_cert"]["all_domains"] for f in frames)
    with CertStreamServer(numbered_stream(tmp_path, 3), heartbeat_interval=None) as server:
        frames, _ = receive_until_closed(server.url("/"))
    assert indexes(frames) == [0, 1, 2] and '"as_der"' not in "".join(frames)


def test_domains_only_endpoint_sends_dns_entries(names_file):
    with CertStreamServer(names_file, heartbeat_interval=None) as server:
        frames, _ = receive_until_closed(server.url("/domains-only"))
    messages = [json.loads(frame) for frame in frames]
    assert len(messages) == 2 * len(NAMES)
    assert all(set(m) == {"message_type", "data"} and m["message_type"] == "dns_entries" for m in messages)
    assert messages[4]["data"] == ["*.tenant.example-saas.io", "tenant.example-saas.io"]
    assert messages[6]["data"] == ["annaschmidt.com", "www.annaschmidt.com"]


def test_jsonl_lines_are_sent_as_they_are_including_garbage(tmp_path):
    path = numbered_stream(tmp_path, 3, extra_lines=["this is not json", '{"message_type": "heartbeat"}'])
    with open(path) as handle:
        lines = [line.rstrip("\n") for line in handle]
    with CertStreamServer(path, heartbeat_interval=None) as server:
        frames, code = receive_until_closed(server.url("/full-stream"))
    assert frames == lines and code == 1000


def test_unknown_path_is_refused_with_404(names_file):
    with CertStreamServer(names_file) as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(server.url("/latest.json"))
        assert refused.value.response.status_code == 404
        assert server.connections == 0


def test_each_connection_streams_from_the_start_and_clients_run_concurrently(tmp_path):
    path = numbered_stream(tmp_path, 50)
    with CertStreamServer(path, heartbeat_interval=None) as server:
        results = []
        threads = [threading.Thread(target=lambda: results.append(receive_until_closed(server.url())))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert indexes(receive_until_closed(server.url())[0]) == list(range(50))
        assert server.wait_idle(2) and server.connections == 4 and server.messages_sent == 200
    assert [indexes(frames) for frames, _ in results] == [list(range(50))] * 3


def test_loop_restarts_the_file(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 5), loop=True, heartbeat_interval=None) as server:
        with connect(server.url()) as ws:
            received = indexes([ws.recv(timeout=2) for _ in range(12)])
    assert received == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


def test_wait_idle_reports_when_the_whole_file_was_served(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 5)) as server:
        assert server.wait_idle(0.2) is False  # nobody connected yet
        receive_until_closed(server.url())
        assert server.wait_idle(2) is True


def test_bad_sources_fail_early(tmp_path):
    with pytest.raises(FileNotFoundError):
        CertStreamServer(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError):
        CertStreamServer(str(tmp_path / "stream.csv"))


# -- liveness ----------------------------------------------------------------------------------
def test_heartbeats_only_sends_heartbeat_frames_and_no_certificates(names_file):
    with CertStreamServer(names_file, heartbeats_only=True, heartbeat_interval=0.1) as server:
        with connect(server.url()) as ws:
            frames = [json.loads(ws.recv(timeout=1)) for _ in range(3)]
        assert server.messages_sent == 0 and server.heartbeats_sent >= 3
    assert all(set(f) == {"message_type", "timestamp"} and f["message_type"] == "heartbeat" for f in frames)
    assert all(isinstance(f["timestamp"], float) and abs(f["timestamp"] - time.time()) < 5 for f in frames)


def test_heartbeats_are_interleaved_with_messages(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 8), drip=0.05, heartbeat_interval=0.1) as server:
        frames, _ = receive_until_closed(server.url())
    assert indexes(frames) == list(range(8))
    assert sum('"heartbeat"' in frame for frame in frames) >= 2


def test_server_pings_and_answers_client_pings(names_file):
    with CertStreamServer(names_file, heartbeats_only=True, heartbeat_interval=None, ping_interval=0.1) as server:
        client = websocket.create_connection(server.url(), timeout=2)
        try:
            opcode, _ = client.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_PING
        finally:
            client.close()
        with connect(server.url()) as ws:
            assert ws.ping().wait(1)


# -- pacing ------------------------------------------------------------------------------------
def test_rate_limits_messages_per_second(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 25), rate=50, heartbeat_interval=None) as server:
        started = time.monotonic()
        frames, _ = receive_until_closed(server.url())
        elapsed = time.monotonic() - started
    assert len(frames) == 25
    assert 0.4 <= elapsed < 1.5  # 25 messages at 50/s: about half a second


def test_drip_pauses_between_messages(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 5), drip=0.1, heartbeat_interval=None) as server:
        started = time.monotonic()
        frames, _ = receive_until_closed(server.url())
    assert len(frames) == 5 and time.monotonic() - started >= 0.4


def test_unlimited_rate_follows_the_reader_without_buffering_the_file(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("\n".join(f"site{i}.example" for i in range(20_000)))
    with CertStreamServer(str(path), heartbeat_interval=None) as server:
        with connect(server.url("/"), max_queue=4) as ws:
            ws.recv(timeout=2)
            assert server.wait_for(lambda s: s.messages_sent > 100, 2)
            time.sleep(0.5)
            stalled_at = server.messages_sent
            time.sleep(0.3)
            assert server.messages_sent == stalled_at < 40_000  # waiting for the reader
            ws.recv(timeout=2)


# -- faults ------------------------------------------------------------------------------------
def test_drop_every_closes_and_a_reconnecting_client_gets_every_message_once(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 30), drop_every=7, heartbeat_interval=None) as server:
        received, codes = [], []
        while 1000 not in codes and len(codes) < 10:
            frames, code = receive_until_closed(server.url())
            received += frames
            codes.append(code)
    assert indexes(received) == list(range(30))
    assert codes == [1012, 1012, 1012, 1012, 1000]


def test_stall_after_goes_silent_then_the_next_connection_resumes(tmp_path):
    path = numbered_stream(tmp_path, 12)
    with CertStreamServer(path, stall_after=5, heartbeat_interval=0.1, ping_interval=0.1) as server:
        client = websocket.create_connection(server.url(), timeout=2)
        try:
            first = []
            while len(first) < 5:
                opcode, data = client.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_TEXT and b'"heartbeat"' not in data:
                    first.append(data.decode())
            assert indexes(first) == [0, 1, 2, 3, 4]
            client.settimeout(0.6)
            with pytest.raises(websocket.WebSocketTimeoutException):  # no data, heartbeat or ping
                client.recv_data(control_frame=True)
            assert client.connected and server.stalls == 1
            frames, code = receive_until_closed(server.url())  # while the first one is still open
        finally:
            client.close()
    assert indexes(frames) == list(range(5, 12)) and code == 1000


def test_stall_on_every_connection(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 12), stall_after=3, stall_once=False,
                          heartbeat_interval=None) as server:
        for expected in ([0, 1, 2], [3, 4, 5]):
            with connect(server.url()) as ws:
                assert indexes([ws.recv(timeout=2) for _ in range(3)]) == expected
                with pytest.raises(TimeoutError):
                    ws.recv(timeout=0.3)
        assert server.stalls == 2


def test_stall_every_n_messages_of_the_whole_stream(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 10), stall_every=4, heartbeat_interval=None) as server:
        received = []
        for expected in ([0, 1, 2, 3], [4, 5, 6, 7]):
            with connect(server.url()) as ws:
                frames = [ws.recv(timeout=2) for _ in range(4)]
                assert indexes(frames) == expected
                with pytest.raises(TimeoutError):
                    ws.recv(timeout=0.3)
                received += frames
        frames, code = receive_until_closed(server.url())
        assert indexes(frames) == [8, 9] and code == 1000 and server.stalls == 2


@pytest.mark.parametrize("status,reason", [(503, "Service Unavailable"), (521, "Web Server Is Down")])
def test_refuse_status_refuses_the_first_handshakes_then_accepts(tmp_path, status, reason):
    with CertStreamServer(numbered_stream(tmp_path, 3), refuse_status=status, refuse_times=2) as server:
        for _ in range(2):
            with pytest.raises(InvalidStatus) as refused:
                connect(server.url())
            assert (refused.value.response.status_code, refused.value.response.reason_phrase) == (status, reason)
        frames, code = receive_until_closed(server.url())
        assert indexes(frames) == [0, 1, 2] and code == 1000 and server.refused == 2


def test_refuse_status_without_times_refuses_every_handshake(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 3), refuse_status=503) as server:
        for _ in range(4):
            with pytest.raises(InvalidStatus):
                connect(server.url())
        assert server.connections == 0 and server.refused == 4


def test_garbage_every_inserts_rotating_malformed_frames(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 12), garbage_every=3, heartbeat_interval=None) as server:
        frames, code = receive_until_closed(server.url())
    assert code == 1000 and indexes(frames) == list(range(12))
    assert [frames[i] for i in (3, 7, 11, 15)] == list(GARBAGE_FRAMES[:4])
    assert server.garbage_sent == 4 and len(frames) == 16


def test_abrupt_every_drops_tcp_without_a_close_frame_and_the_position_moves_on(tmp_path):
    with CertStreamServer(numbered_stream(tmp_path, 10), abrupt_every=4, heartbeat_interval=None) as server:
        with connect(server.url()) as ws:
            received = []
            with pytest.raises(ConnectionClosedError) as closed:
                while True:
                    received.append(ws.recv(timeout=2))
        assert closed.value.rcvd is None and len(received) <= 4
        assert indexes(received) == list(range(len(received)))
        with connect(server.url()) as ws:
            assert indexes([ws.recv(timeout=2)]) == [4]


def test_fault_options_on_the_command_line():
    parser = argparse.ArgumentParser()
    add_fault_arguments(parser)
    args = parser.parse_args(["--drop-every", "5", "--stall-after", "9", "--stall-every-connection",
                              "--refuse-status", "521", "--refuse-times", "3", "--garbage-every", "10",
                              "--heartbeats-only", "--drip", "0.5", "--abrupt-every", "7",
                              "--heartbeat-interval", "2"])
    assert faults_from_args(args) == {"drop_every": 5, "stall_after": 9, "stall_once": False, "refuse_status": 521,
                                      "refuse_times": 3, "garbage_every": 10, "heartbeats_only": True,
                                      "drip": 0.5, "abrupt_every": 7, "heartbeat_interval": 2.0}
    assert faults_from_args(parser.parse_args([])) == {}
