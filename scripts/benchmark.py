"""Matcher throughput and memory, and the original rule on the same input.

    python scripts/benchmark.py            # full run (first run also builds the dnstwist cache: minutes)
    python scripts/benchmark.py --quick    # fewer SANs, smaller original-rule samples

Measures, on one core (the process pins itself to one CPU when the OS allows it):
- Detector.match throughput with 20 assets / ~30,000 terms and 1,000 assets / ~300,000 terms
  (lists: dnstwist Fuzzer label permutations; SANs: a certificate-transparency-like mix, see
  scripts/benchmark_lists.ct_like_sans, and a harder input of distinct names without repeats);
- resident memory of a fresh process that parses the 300,000-term list and builds the Detector;
- the original pack's rule (scripts/original_rule.py) on a sample of the same SANs: with the C edit
  distance, and as it really ran (pure-Python distance, list re-read per domain) on a few SANs.
Targets (docs/detection.md): >= 100,000 SANs/s (20 assets), >= 50,000 SANs/s (1,000 assets),
<= 300 MB RSS at 300,000 terms.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark_lists as bl  # noqa: E402
from CertStreamDetectorApiModule import Detector  # noqa: E402
from original_rule import OriginalRule  # noqa: E402

RSS_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
def rss():
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(('VmRSS', 'VmHWM')):
                out[line.split(':')[0]] = int(line.split()[1]) // 1024
    return out
import CertStreamDetectorApiModule as M
before = rss()
with open(sys.argv[2], encoding='utf-8') as f:
    text = f.read()
t = time.perf_counter()
watch_list = M.parse_watch_list(text)
del text
detector = M.Detector(watch_list)
build = time.perf_counter() - t
detector.match('paypa1-login.com')
after = rss()
print(json.dumps({'before_mb': before['VmRSS'], 'after_mb': after['VmRSS'], 'peak_mb': after['VmHWM'],
                  'build_s': build, 'size': detector.size}))
"""


def pin_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def throughput(detector: Detector, sans, repeat: int = 1):
    """SANs per second over ``sans`` (best of ``repeat`` passes on a fresh label cache each time)."""
    best = None
    matches = 0
    for _ in range(repeat):
        detector.clear_caches()
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        matches = 0
        match = detector.match
        for san in sans:
            if match(san) is not None:
                matches += 1
        elapsed = time.perf_counter() - start
        gc.enable()
        rate = len(sans) / elapsed
        best = rate if best is None else max(best, rate)
    return best, matches


def rule_rate(rule: OriginalRule, sans):
    start = time.perf_counter()
    hits = sum(1 for san in sans if rule.match(san) is not None)
    elapsed = time.perf_counter() - start
    return len(sans) / elapsed, hits, elapsed


def distinct_key_list(watch_list, per_asset: int = 300, seed: int = 9):
    """The same assets, each with ``per_asset`` random letter strings: keys that do not collapse."""
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return {asset: ["".join(rnd.choice(letters) for _ in range(rnd.randint(6, 14))) for _ in range(per_asset)]
            for asset in watch_list}


def distinct_names(count: int, seed: int = 5):
    """Harder input: distinct names, no repeated base names (each label seen once or rarely)."""
    rnd = random.Random(seed)
    names = list(dict.fromkeys(bl.read_lines(bl.data_path("benign", "top_sites_dev_50k.txt"))
                               + bl.read_lines(bl.data_path("phishing", "phishing_domains_dev_20k.txt"))))
    while len(names) < count:
        names.append(bl._synthetic_name(rnd))
    rnd.shuffle(names)
    return names[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description="CertStream detector benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer SANs and smaller baseline samples")
    parser.add_argument("--sans", type=int, default=None, help="SANs per throughput run")
    parser.add_argument("--threshold", type=float, default=0.85)
    args = parser.parse_args()
    n_sans = args.sans or (40_000 if args.quick else 200_000)
    c_sample = 300 if args.quick else 2_000
    py_sample = 1 if args.quick else 3
    print(f"CertStream detector benchmark ({'quick' if args.quick else 'full'}); {pin_one_core()}; "
          f"threshold {args.threshold}")
    print(f"data folder: {bl.DATA if os.path.isdir(bl.DATA) else 'absent (synthetic input only)'}")

    t = time.perf_counter()
    small = bl.watch_list_for(20, 30_000)
    large = bl.watch_list_for(1000, 300_000)
    print(f"lists built in {time.perf_counter() - t:.1f}s (dnstwist cache: {bl.CACHE_DIR})")
    distinct = distinct_key_list(large)
    sans = bl.ct_like_sans(n_sans)
    hard = distinct_names(n_sans)
    rows = []
    for name, watch_list in (("20 assets", small), ("1000 assets", large), ("1000 assets*", distinct)):
        entries = sum(len(v) for v in watch_list.values()) + len(watch_list)
        t = time.perf_counter()
        detector = Detector(watch_list, threshold=args.threshold)
        build = time.perf_counter() - t
        rate, matches = throughput(detector, sans, repeat=2)
        rate_hard, matches_hard = throughput(detector, hard, repeat=1)
        rows.append((name, entries, detector.size, build, rate, matches, rate_hard, matches_hard))
        del detector
        gc.collect()
    print()
    print(f"{'list':<12} {'entries':>8} {'indexed':>8} {'build s':>8} {'CT-mix SANs/s':>14} {'matches':>8} "
          f"{'distinct SANs/s':>16} {'matches':>8}")
    for name, entries, size, build, rate, matches, rate_hard, matches_hard in rows:
        print(f"{name:<12} {entries:>8,} {size:>8,} {build:>8.2f} {rate:>14,.0f} {matches:>8,} "
              f"{rate_hard:>16,.0f} {matches_hard:>8,}")
    print(f"(input: {len(sans):,} CT-like SANs; {len(hard):,} distinct names; targets >= 100,000 and >= 50,000 SANs/s)")
    print("* the same 1000 assets with 300 random strings each: 300,000 distinct keys (dnstwist lists collapse "
          "to far fewer keys under the skeleton)")

    # memory in a fresh process
    for label, watch_list in (("dnstwist list", large), ("distinct-key list", distinct)):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
            json.dump(watch_list, handle, ensure_ascii=False)
            list_path = handle.name
        try:
            out = subprocess.run([sys.executable, "-c", RSS_CHILD, bl.MODULE_DIR, list_path],
                                 capture_output=True, text=True, check=True)
            mem = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"\nmemory, {label}, 1000 assets / {sum(len(v) for v in watch_list.values()):,} entries "
                  f"({mem['size']:,} indexed keys): RSS {mem['before_mb']} MB after imports -> {mem['after_mb']} MB "
                  f"with the parsed list and Detector (peak {mem['peak_mb']} MB; build {mem['build_s']:.1f}s). "
                  f"Target <= 300 MB.")
        finally:
            os.unlink(list_path)

    # the original rule on the same input
    print("\noriginal rule (scripts/original_rule.py), 20-asset list, same CT-like SANs:")
    detector = Detector(small, threshold=args.threshold)
    ours, _ = throughput(detector, sans, repeat=1)
    sample = sans[:c_sample]
    c_rate, c_hits, c_elapsed = rule_rate(OriginalRule(small, args.threshold, "c"), sample)
    print(f"  C Levenshtein, list in memory:      {c_rate:>10,.1f} SANs/s ({len(sample):,} SANs in {c_elapsed:.1f}s, "
          f"{c_hits} hits)  -> detector is {ours / c_rate:,.0f}x faster")
    py_items = [s for s in sans if not s.startswith("*")][:py_sample]
    py_rate, py_hits, py_elapsed = rule_rate(OriginalRule(small, args.threshold, "python"), py_items)
    print(f"  pure Python, list re-read per SAN: {py_rate:>10,.2f} SANs/s ({len(py_items)} SANs in {py_elapsed:.1f}s)"
          f"  -> detector is {ours / py_rate:,.0f}x faster")
    print(f"  detector on the same list:          {ours:>10,.0f} SANs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
