"""The committed demo sample: reproducible from its script, well-formed, and planted as documented."""
import json
import os
import re
import subprocess
import sys

import idna
import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from xsoar_local.messages import read_domains
from xsoar_local.server import CertStreamServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "xsoar_local", "samples")
FILES = ("demo_stream.txt", "demo_watchlist.json", "demo_expected.json")
HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$")


def read_text(name):
    with open(os.path.join(SAMPLES, name), encoding="utf-8") as handle:
        return handle.read()


def load(name):
    return json.loads(read_text(name))


@pytest.fixture(scope="module")
def names():
    return list(read_domains(os.path.join(SAMPLES, "demo_stream.txt")))


def test_the_script_reproduces_the_committed_files(tmp_path):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_demo_sample.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=60)
    for name in FILES:
        assert (tmp_path / name).read_text(encoding="utf-8") == read_text(name), f"{name} is out of date"


def test_stream_is_a_few_thousand_distinct_valid_host_names(names):
    assert 2500 <= len(names) <= 4000
    assert len(set(names)) == len(names)
    assert [name for name in names if not HOSTNAME.match(name)] == []
    for name in names:
        if "xn--" in name:
            idna.decode(name.lstrip("*."))  # valid IDNA
    kinds = {"cloudfront.net": 20, ".amazonaws.com": 20, "*.": 30, "xn--": 5, ".co.uk": 20, ".github.io": 5}
    for marker, minimum in kinds.items():
        assert sum(marker in name for name in names) >= minimum, marker


def test_planted_own_and_innocent_names_are_in_the_stream(names):
    expected = load("demo_expected.json")
    assert 6 <= len(expected["lookalikes"]) <= 10
    assert set(expected["assets"]) == set(expected["lookalikes"])
    for group in ("lookalikes", "own", "innocent"):
        assert set(expected[group]) <= set(names), group
    assert "xn--pypal-4ve.com" in expected["lookalikes"]
    assert idna.decode("xn--pypal-4ve.com") == "p\u0430ypal.com"  # Cyrillic a
    assert {"www.paypal.com", "login.examplebank.com"} <= set(expected["own"])
    assert "xboxfans.net" in expected["innocent"]
    assert names.index(min(expected["lookalikes"], key=names.index)) < 400  # one shows up early in a demo


def test_watchlist_covers_the_brands_without_the_planted_strings():
    watchlist = load("demo_watchlist.json")
    expected = load("demo_expected.json")
    assert set(watchlist) == {"paypal", "examplebank.com", "wellpoint", "globex", "acmecorp"}
    assert set(expected["assets"].values()) == set(watchlist)
    assert all(1 <= len(homographs) <= 4 for homographs in watchlist.values())
    entries = [entry for homographs in watchlist.values() for entry in homographs]
    for lookalike in expected["lookalikes"]:
        for label in re.split(r"[.]", lookalike.lstrip("*.")):
            if label not in ("com", "net", "top", "info") and label not in watchlist:
                assert label not in entries and all(label not in entry for entry in entries), label
                assert all(part not in entries for part in label.split("-") if len(part) > 4), label


def test_the_demo_stream_is_served_as_two_messages_per_name(names):
    with CertStreamServer(os.path.join(SAMPLES, "demo_stream.txt"), heartbeat_interval=None) as server:
        count = 0
        with connect(server.url("/"), close_timeout=0.5) as ws:
            with pytest.raises(ConnectionClosedOK):
                while True:
                    ws.recv(timeout=5)
                    count += 1
    assert count == 2 * len(names)
