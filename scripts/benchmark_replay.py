"""End-to-end throughput: `xsoar-local replay` of a full-stream .jsonl through a loopback websocket.

Renders N realistic certificate_update messages (with DER certificates, as /full-stream sends them)
into a temporary .jsonl, then runs `xsoar-local replay` on it with a watch list and prints the
loop's messages/s (the server runs in its own process; the figure is the integration's own
streaming time). Repeats and prints each run and the best.

    .venv/bin/python scripts/benchmark_replay.py [--names 50000] [--runs 3] [--list FILE] [--endpoint /full-stream]

Without --list the watch list is 20 popular brands expanded by dnstwist to about 30,000 terms (the
matcher benchmark's list, scripts/benchmark_lists.py).
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from xsoar_local import messages  # noqa: E402

WORDS = ["garden", "river", "stone", "maple", "harbor", "cloud", "pixel", "north", "amber", "cedar",
         "lumen", "orbit", "quartz", "meadow", "falcon", "copper", "willow", "summit", "coral", "ember"]
TLDS = ["com", "net", "org", "de", "co.uk", "io", "fr", "nl", "com.au", "shop"]


def render_stream(path: Path, names: int, endpoint: str) -> int:
    """Writes 2 messages (precertificate, certificate) per name; returns the message count."""
    domains = path.with_suffix(".txt")
    domains.write_text("".join(f"{WORDS[i % 20]}-{WORDS[(i // 20) % 20]}{i}.{TLDS[i % 10]}\n"
                               for i in range(names)) + "paypa1-login.com\nxn--pypal-4ve.com\n")
    count = 0
    with path.open("w") as out:
        for item in messages.iter_items(str(domains), messages.MessageFactory()):
            out.write(messages.render(item, endpoint) + "\n")
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=50_000, help="domain names (2 messages each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--list", type=Path, help="watch-list JSON file (default: 20 brands, ~30,000 terms)")
    parser.add_argument("--endpoint", default="/full-stream", choices=["/full-stream", "/", "/domains-only"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="certstream-bench-"))
    if args.list is None:
        sys.path.insert(0, str(REPO / "scripts"))
        from benchmark_lists import watch_list_for
        args.list = work / "watchlist-20-brands.json"
        args.list.write_text(json.dumps(watch_list_for(20, 30_000)))
    stream = work / "stream.jsonl"
    started = time.monotonic()
    count = render_stream(stream, args.names, args.endpoint)
    size_mb = stream.stat().st_size / 1e6
    terms = sum(1 + len(v) for v in json.loads(args.list.read_text()).values())
    print(f"stream: {count:,} messages, {size_mb:.0f} MB ({size_mb * 1e3 / count:.1f} kB each, {args.endpoint}), "
          f"rendered in {time.monotonic() - started:.0f} s; watch list {args.list.name}: {terms} terms")
    rates = []
    for run in range(1, args.runs + 1):
        result = subprocess.run([sys.executable, "-m", "xsoar_local", "--state", str(work / f"state{run}"),
                                 "replay", str(stream), "--list", str(args.list)],
                                cwd=REPO, capture_output=True, text=True, timeout=1800)
        rate = re.search(r"messages/s:\s+([\d.]+)", result.stdout)
        received = re.search(r"messages:\s+(\d+)", result.stdout)
        incidents = re.search(r"incidents created:\s+(\d+)", result.stdout)
        if result.returncode or not rate:
            print(result.stdout[-2000:], result.stderr[-2000:])
            return 1
        rates.append(float(rate.group(1)))
        print(f"run {run}: {int(received.group(1)):,} messages, {incidents.group(1)} incidents, "
              f"{rates[-1]:,.0f} messages/s")
    print(f"end to end (best of {args.runs}): {max(rates):,.0f} certificate messages/s (target >= 20,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
