"""Other clients against the local CertStream server: the public `certstream` Python client
(websocket-client based) and the stand-alone `python -m xsoar_local.server` command."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading

from certstream.core import CertStreamClient
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from xsoar_local.server import CertStreamServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = [f"shop{i}.example-store.com" for i in range(10)]


@pytest.fixture
def names_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n")
    return str(path)


def listen_with_certstream(url: str, wanted: int, timeout: float = 5.0) -> list:
    """Runs the certstream package's CertStreamClient in a thread until `wanted` messages arrived (or timeout)."""
    received = []
    done = threading.Event()

    def on_message(message, context):
        received.append(message)
        if len(received) >= wanted:
            done.set()
            client.close()

    client = CertStreamClient(on_message, url, skip_heartbeats=True)
    thread = threading.Thread(target=client.run_forever, kwargs={"ping_interval": 15}, daemon=True)
    thread.start()
    finished = done.wait(timeout)
    client.close()
    thread.join(timeout)
    assert finished, f"the certstream client got {len(received)} of {wanted} messages"
    return received


def test_public_certstream_client_receives_full_stream_messages(names_file):
    with CertStreamServer(names_file, loop=True, heartbeat_interval=0.05, drip=0.01) as server:
        messages = listen_with_certstream(server.url("/full-stream"), wanted=12)
    assert all(m["message_type"] == "certificate_update" for m in messages)  # heartbeats skipped
    domains = [m["data"]["leaf_cert"]["all_domains"] for m in messages]
    assert domains[0][0].endswith(NAMES[0]) and domains[2][0].endswith(NAMES[1])
    assert all(m["data"]["leaf_cert"]["as_der"] for m in messages)


@pytest.mark.parametrize("path,message_type", [("/", "certificate_update"), ("/domains-only", "dns_entries")])
def test_public_certstream_client_on_the_other_endpoints(names_file, path, message_type):
    with CertStreamServer(names_file, loop=True) as server:
        messages = listen_with_certstream(server.url(path), wanted=5)
    assert {m["message_type"] for m in messages} == {message_type}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_module_runs_as_a_command_and_stops_on_ctrl_c(names_file):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "xsoar_local.server", names_file, "--port", str(port),
                                "--heartbeat-interval", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert "CertStream server on ws://127.0.0.1:%d" % port in process.stdout.readline()
        frames = []
        with connect(f"ws://127.0.0.1:{port}/domains-only", open_timeout=3) as ws:
            try:
                while True:
                    frames.append(json.loads(ws.recv(timeout=3)))
            except ConnectionClosed:
                pass
        assert len(frames) == 2 * len(NAMES) and all(f["message_type"] == "dns_entries" for f in frames)
        assert all(name in frame["data"] for name, frame in zip(NAMES, frames[::2]))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
