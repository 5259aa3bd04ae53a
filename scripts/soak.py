"""Soak run: the real integration against a long, misbehaving stream.

Replays a 200,000-message stream (100,000 domain names, each as precertificate and certificate)
with planted lookalikes through the local server with a disconnect every 5,000 messages and a
stall every 50,000, runs `xsoar-local run CertStream long-running-execution` in its own process
until the server has sent the whole file, stops it with SIGTERM (as XSOAR does), and reports
incidents expected vs created, duplicates, reconnects and peak memory.

    .venv/bin/python scripts/soak.py [--names 100000] [--drop-every 5000] [--stall-every 50000]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from xsoar_local.server import CertStreamServer  # noqa: E402

WATCH_LIST = {"paypal": ["paypall"], "examplebank.com": ["examp1ebank"], "globex": [], "wellpoint": []}
LOOKALIKE_PATTERNS = ["paypa1-{}.com", "secure-examp1ebank-{}.com", "g1obex-{}.net", "we11point-{}.org",
                      "paypal-{}-verify.top"]
WORDS = ["garden", "river", "stone", "maple", "harbor", "cloud", "pixel", "north", "amber", "cedar",
         "lumen", "orbit", "quartz", "meadow", "falcon", "copper", "willow", "summit", "coral", "ember"]
TLDS = ["com", "net", "org", "de", "co.uk", "io", "fr", "nl", "com.au", "shop"]


def make_stream(path: Path, names: int, planted: int) -> list:
    """Writes a .txt of domain names with `planted` lookalikes spread evenly; returns them."""
    lookalikes = [LOOKALIKE_PATTERNS[i % len(LOOKALIKE_PATTERNS)].format(f"{WORDS[i % 20]}{i}")
                  for i in range(planted)]
    step = names // (planted + 1)
    with path.open("w") as out:
        for i in range(names):
            if i % step == step // 2 and i // step < planted:
                out.write(lookalikes[i // step] + "\n")
            else:
                out.write(f"{WORDS[i % 20]}-{WORDS[(i // 20) % 20]}{i}.{TLDS[i % 10]}\n")
    return lookalikes


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=100_000, help="domain names (2 messages each)")
    parser.add_argument("--planted", type=int, default=50)
    parser.add_argument("--drop-every", type=int, default=5000)
    parser.add_argument("--stall-every", type=int, default=50_000)
    parser.add_argument("--stall-timeout", type=float, default=5, help="integration watchdog, seconds")
    parser.add_argument("--timeout", type=float, default=1200, help="give up after this many seconds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="certstream-soak-"))
    stream, state = work / "stream.txt", work / "state"
    lookalikes = make_stream(stream, args.names, args.planted)
    (work / "list.json").write_text(json.dumps(WATCH_LIST))
    cli = [sys.executable, "-m", "xsoar_local", "--state", str(state)]
    subprocess.run(cli + ["list", "set", "Soak", str(work / "list.json")], check=True, cwd=REPO)

    server = CertStreamServer(stream, drop_every=args.drop_every, stall_every=args.stall_every,
                              heartbeat_interval=None)
    server.start()
    started = time.monotonic()
    loop = subprocess.Popen(cli + ["run", "CertStream", "long-running-execution",
                                   "--param", f"url={server.url('/full-stream')}", "--param", "list_name=Soak",
                                   "--param", f"stall_timeout={args.stall_timeout}", "--for", str(args.timeout)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    try:
        while loop.poll() is None and time.monotonic() - started < args.timeout:
            peak = max(peak, peak_rss_mb(loop.pid))
            if server.files_completed:
                break
            time.sleep(0.5)
        peak = max(peak, peak_rss_mb(loop.pid))
        loop.send_signal(signal.SIGTERM)
        _, errors = loop.communicate(timeout=60)
    finally:
        server.stop()
    elapsed = time.monotonic() - started

    incidents = [json.loads(line) for line in (state / "incidents.jsonl").read_text().splitlines()] \
        if (state / "incidents.jsonl").exists() else []
    context = json.loads((state / "context" / "CertStream.json").read_text())
    status = context.get("status", {})
    per_lookalike = {}
    for incident in incidents:
        for name in {d.lstrip("*.").removeprefix("www.") for d in incident["CustomFields"]["certstreammatcheddomains"]}:
            per_lookalike[name] = per_lookalike.get(name, 0) + 1
    missing = [name for name in lookalikes if name not in per_lookalike]
    duplicates = sum(count - 1 for count in per_lookalike.values())
    unexpected = sorted(set(per_lookalike) - set(lookalikes))

    print(f"stream:               {args.names * 2:,} messages ({args.names:,} names), "
          f"drop every {args.drop_every:,}, stall every {args.stall_every:,}")
    print(f"server sent:          {server.messages_sent:,} messages over {server.connections} connections, "
          f"{server.stalls} stalls")
    print(f"integration received: {status.get('messages', 0):,} messages, {status.get('sans', 0):,} SANs, "
          f"{status.get('reconnects', 0)} reconnects")
    print(f"incidents:            expected {len(lookalikes)}, created {len(incidents)}, missing {len(missing)}, "
          f"duplicates {duplicates}, unexpected {len(unexpected)}")
    print(f"duplicates suppressed: {status.get('duplicates_suppressed', 0):,}")
    print(f"peak memory (RSS):    {peak:.0f} MB")
    print(f"elapsed:              {elapsed:.0f} s")
    if missing:
        print("missing:", ", ".join(missing[:20]))
    if unexpected:
        print("unexpected:", ", ".join(unexpected[:20]))
    if loop.returncode not in (0, None):
        print("integration exit code", loop.returncode, errors[-2000:])
    ok = not missing and not duplicates and not unexpected
    print("RESULT:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
