"""Detection quality: recall on lookalikes, false alerts on legitimate names; detector vs original rule.

Default run (no arguments), on the shared evaluation data (../shared/data; skipped when absent):
  (a) IDN recall. Watch list: the brand labels of the IDN study (idn/shamfinder_result_detect_simchar
      _confusable.json) as assets, each expanded by dnstwist's Fuzzer (the generation engine; nothing
      taken from the study's homographs). Positives: the study's registered homographs, encoded to
      punycode + ".com" as they appear in certificates; and idn/shamfinder_scan_list_punycode.txt
      where the imitated brand is known (the decoded label is listed under a brand in one of the
      study's result files).
  (b) False alerts on benign/top_sites_dev_50k.txt with the 20 popular brands of
      scripts/benchmark_lists.POPULAR_BRANDS expanded by dnstwist; the brands' own domains found in
      that file are allowlisted as a user would: the brand label under any suffix (google.co.uk,
      amazon.in) plus OWNED_DOMAINS below (hand-checked domains of the same companies).
  (c) The original rule (scripts/original_rule.py, C edit distance) on the same inputs (samples).

Custom run:
  python scripts/evaluate.py --list LIST.json --domains FILE [FILE...] [--allowlist FILE] [--threshold T]
  Each domains line is "domain" (a legitimate name: any alert is a false alert) or
  "domain<TAB or comma>asset" (a lookalike of that asset: recall counts a match on that asset).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark_lists as bl  # noqa: E402
from CertStreamDetectorApiModule import Detector, normalize_term, parse_watch_list, split_domain  # noqa: E402
from original_rule import OriginalRule  # noqa: E402

# Domains in the top-sites file owned by the companies behind the 20 popular brands whose label
# contains the brand but is not the bare brand label (those are allowlisted automatically). A user
# protecting these brands would list them; each was checked to belong to the brand's company.
OWNED_DOMAINS = """
googleapis.com googletagmanager.com googlevideo.com googleusercontent.com googlesyndication.com
google-analytics.com googleadservices.com googleblog.com googleapis.cn googleoptimize.com
googledomains.com googlemail.com googlesource.com google-apps.com googleplex.com googlecode.com
googlezip.net googleweblight.com googlecnapps.cn googleanalytics.com googleearth.com
apple-dns.net apple-cloudkit.com apple-mapkit.com apple-livephotoskit.com appleiphonecell.com
apple-dns.cn applemusic.com apple.news
amazonvideo.com amazonalexa.com amazontrust.com amazonaws.com amazonaws.com.cn amazon-adsystem.com
amazonpay.com amazonpay.in amazonwebservices.com amazoncognito.com amazonmusic.com amazonsilk.com
amazon.dev amazonlogistics.com amazonworkspaces.com amazonforum.com amazon-corp.com
microsoftonline.com microsoftonline.us microsoftonline-p.com microsoftstore.com microsoftazuread-sso.com
microsoft365.com microsoftedge.com microsoftonline.cn microsoftcasualgames.com microsoftstream.com
microsoftapp.net microsoftaffiliates.com microsoftadvertising.com microsofttranslator.com
facebookmail.com facebookcorewwwi.onion facebook.net facebookrecruiting.com
netflix.net netflixstudios.com netflixtechblog.com netflixinvestor.com
instagram-engineering.com linkedinlearning.com
twitterstat.us twitter-ads.com
whatsapp.net
dropboxapi.com dropbox-dns.com dropboxusercontent.com dropboxstatic.com dropboxbusiness.com dropboxcaptcha.com
adobedtm.com adobedc.net adobelogin.com adobesc.com adobe.io adobeccstatic.com adobestock.com
adobe-identity.com adobeexchange.com adobeaemcloud.com adobecqms.net adobeconnect.com adobe.ly adobess.com
chasecdn.com chasebonus.com
wellsfargomedia.com wellsfargoadvisors.com
bankofamerica.com bankofamericacareers.com
coinbase.net coinbasecloud.net coinbase-wallet.com
binance.org binanceapi.com binance.vision
office365.com office365.us outlook.live.com
cdn-apple.com axm-usercontent-apple.com appleid.com media-amazon.com ssl-images-amazon.com images-amazon.com
payments-amazon.com ads-twitter.com s-microsoft.com microsoftonline-p.net instagr.am adobepass.com
adobe-campaign.com paypal-corp.com googleapps.com goo.gle getdropbox.com
""".split()

IDN_RESULT = ("idn", "shamfinder_result_detect_simchar_confusable.json")
IDN_CONFUSABLE_ONLY = ("idn", "shamfinder_result_detect_confusable_only.json")
IDN_SCAN = ("idn", "shamfinder_scan_list_punycode.txt")
TOP_SITES = ("benign", "top_sites_dev_50k.txt")


def to_punycode_domain(label: str, tld: str = "com") -> str:
    """A Unicode label as it appears in a certificate: its A-label (IDNA 2008 where valid, else the
    raw punycode encoding) plus a TLD."""
    import idna
    try:
        return idna.encode(label).decode("ascii") + "." + tld
    except Exception:
        try:
            return "xn--" + label.encode("punycode").decode("ascii") + "." + tld
        except Exception:
            return label + "." + tld


def pct(num: int, den: int) -> str:
    return "n/a" if den == 0 else f"{100.0 * num / den:.2f}% ({num:,}/{den:,})"


def evaluate(detector, positives: List[Tuple[str, str]], negatives: List[str]):
    """(hits per asset, totals per asset, misses, false alerts) for the Detector API."""
    hit_by, tot_by = collections.Counter(), collections.Counter()
    misses, false_alerts = [], []
    for domain, asset in positives:
        tot_by[asset] += 1
        m = detector.match(domain)
        if m is not None and m.asset == asset:
            hit_by[asset] += 1
        else:
            misses.append((domain, asset, m))
    for domain in negatives:
        m = detector.match(domain)
        if m is not None:
            false_alerts.append((domain, m))
    return hit_by, tot_by, misses, false_alerts


def rule_eval(rule: OriginalRule, positives, negatives, allow: Optional[set] = None):
    hits, fas = 0, []
    for domain, asset in positives:
        r = rule.match(domain)
        hits += bool(r and r["asset"] == asset)
    for domain in negatives:
        r = rule.match(domain)
        if r:
            fas.append((domain, r))
    allowed_fas = fas
    if allow:
        allowed_fas = [(d, r) for d, r in fas if not _under(d, allow)]
    return hits, fas, allowed_fas


def _under(domain: str, allow: set) -> bool:
    labels = domain.lower().strip(".").split(".")
    return any(".".join(labels[i:]) in allow for i in range(len(labels)))


def own_domains_in(sites: List[str], brands: List[str]) -> Tuple[List[str], List[str]]:
    """(brand label under any suffix, hand-checked owned domains) found in ``sites``."""
    brand_set = set(brands)
    auto, curated = [], []
    owned = set(OWNED_DOMAINS)
    for site in sites:
        parts = split_domain(site)
        if not parts:
            continue
        if parts["label"] in brand_set:
            auto.append(parts["registrable"])
        elif parts["registrable"] in owned or site in owned:
            curated.append(parts["registrable"])
    return sorted(set(auto)), sorted(set(curated))


def show(title: str, rows, limit: int) -> None:
    if not rows:
        return
    print(f"\n{title} (first {min(limit, len(rows))} of {len(rows):,}):")
    for row in rows[:limit]:
        print("  " + row)


# --- default run --------------------------------------------------------------------------------

def default_run(args) -> int:
    if not os.path.isdir(bl.DATA):
        print(f"evaluation data not found at {bl.DATA}: skipped")
        return 0
    table = []
    rnd = random.Random(args.seed)

    # (a) IDN recall
    path = bl.data_path(*IDN_RESULT)
    if path:
        with open(path, encoding="utf-8") as handle:
            study = json.load(handle)
        # one-letter brands cannot be watched (parse_watch_list rejects them); their homographs stay
        # in the recall denominator as misses
        brands = [brand for brand in study if len(normalize_term(brand)) >= 2]
        if len(brands) < len(study):
            print(f"(a) not watchable (one letter), counted as misses: {sorted(set(study) - set(brands))}")
        t = time.perf_counter()
        watch_list = bl.expand_brands(brands, per_brand=args.per_brand)
        n_terms = sum(len(v) for v in watch_list.values())
        detector = Detector(watch_list, threshold=args.threshold)
        print(f"(a) IDN watch list: {len(brands)} brands from the study, {n_terms:,} dnstwist terms "
              f"(<= {args.per_brand} per brand), {detector.size:,} indexed keys; built in {time.perf_counter() - t:.1f}s")
        positives = [(to_punycode_domain(h), b) for b, hs in study.items() for h in hs]
        label_brand: Dict[str, str] = {}
        for extra in (IDN_RESULT, IDN_CONFUSABLE_ONLY):
            p = bl.data_path(*extra)
            if p:
                with open(p, encoding="utf-8") as handle:
                    for b, hs in json.load(handle).items():
                        for h in hs:
                            label_brand.setdefault(h, b)
        scan_pos, unknown = [], 0
        import idna
        for line in bl.read_lines(bl.data_path(*IDN_SCAN)):
            label = line.split(".")[0]
            try:
                uni = idna.decode(label)
            except Exception:
                unknown += 1
                continue
            if uni in label_brand:
                scan_pos.append((line, label_brand[uni]))
            else:
                unknown += 1
        for name, pos in (("IDN homographs (study results)", positives), ("IDN scan list, brand known", scan_pos)):
            hit_by, tot_by, misses, _ = evaluate(detector, pos, [])
            hits = sum(hit_by.values())
            other = sum(1 for _, _, m in misses if m is not None)
            sample = rnd.sample(pos, min(args.baseline_sample, len(pos)))
            base_hits, _, _ = rule_eval(OriginalRule(watch_list, args.threshold, "c"), sample, [])
            table.append((f"recall: {name}", pct(hits, len(pos)), pct(base_hits, len(sample)) + " sample", ">= 95%"))
            table.append((f"  alerted at all (another listed brand for {other})", pct(hits + other, len(pos)), "", ""))
            show(f"misses, {name}", [f"{d}  ({_decode(d)})  expected {a}; got "
                                     f"{(m.asset + ' / ' + m.evidence) if m else 'nothing'}" for d, a, m in misses],
                 args.show)
            worst = sorted(((hit_by[a] / tot_by[a], a) for a in tot_by if hit_by[a] < tot_by[a]))[:10]
            if worst:
                print("  brands with misses (recall): " + ", ".join(f"{a} {r:.0%}" for r, a in worst))
        print(f"  scan list: {len(scan_pos):,} domains with a known brand, {unknown:,} without (not counted)")
        del detector

    # (b) false alerts on popular legitimate sites
    sites = bl.read_lines(bl.data_path(*TOP_SITES))
    if sites:
        brands = list(bl.POPULAR_BRANDS)
        watch_list = bl.expand_brands(brands)  # uncapped, like the doc's ~75k-term list
        auto, curated = own_domains_in(sites, brands)
        n_terms = sum(len(v) for v in watch_list.values())
        print(f"\n(b) top sites: {len(sites):,} names; 20 brands, {n_terms:,} dnstwist terms; allowlist: "
              f"{len(auto)} brand-label domains + {len(curated)} hand-checked owned domains")
        for label, allow in (("brand-label allowlist only", auto), ("full allowlist", auto + curated)):
            detector = Detector(watch_list, threshold=args.threshold, allowlist=allow)
            _, _, _, fas = evaluate(detector, [], sites)
            table.append((f"false alerts, top sites ({label})", pct(len(fas), len(sites)), "", "<= 0.05%"))
            if label == "full allowlist":
                by_ev = collections.Counter(m.evidence for _, m in fas)
                show("false alerts (full allowlist)", [f"{d}  [{m.asset} / {m.evidence} / sev {m.severity}]  {m.explanation}"
                                                       for d, m in fas], args.show)
                if by_ev:
                    print("  by evidence: " + ", ".join(f"{k} {v}" for k, v in by_ev.most_common()))
        # (c) the original rule, on a sample
        sample = rnd.sample(sites, min(args.baseline_top_sample, len(sites)))
        t = time.perf_counter()
        _, fas_raw, fas_allowed = rule_eval(OriginalRule(watch_list, args.threshold, "c"), [], sample,
                                            allow=set(auto + curated))
        print(f"  original rule: {len(sample):,}-site sample in {time.perf_counter() - t:.0f}s")
        table.append(("original rule false alerts (no allowlist: it had none)", "", pct(len(fas_raw), len(sample)) + " sample", ""))
        table.append(("original rule false alerts (full allowlist applied after)", "", pct(len(fas_allowed), len(sample)) + " sample", ""))
        show("original rule false alerts (sample, after allowlist)",
             [f"{d}  [{r['asset']} ~ {r['homograph']} {r['similarity']:.2f}]" for d, r in fas_allowed], args.show)

    # (d) the phishing set: unlabelled, so what is flagged and why, not a recall figure
    phishing = bl.read_lines(bl.data_path("phishing", "phishing_domains_dev_20k.txt"))
    if phishing and sites:
        detector = Detector(bl.expand_brands(bl.POPULAR_BRANDS), threshold=args.threshold,
                            allowlist=auto + curated)
        flagged = [m for m in map(detector.match, phishing) if m is not None]
        literal = [p for p in phishing if any(b in p.lower() for b in bl.POPULAR_BRANDS)]
        quiet = [p for p in literal if detector.match(p) is None]
        print(f"\n(d) phishing set: {len(phishing):,} names, {len(flagged):,} flagged "
              f"({', '.join(f'{k} {v}' for k, v in collections.Counter(m.evidence for m in flagged).most_common())}); "
              f"{len(literal):,} contain a watched brand label literally, {len(quiet):,} of them not flagged")
        show("phishing names flagged (sample)", [f"{m.domain}  [sev {m.severity}]  {m.explanation}"
                                                 for m in rnd.sample(flagged, min(len(flagged), args.show))], args.show)
        show("phishing names with a brand label, not flagged", quiet, args.show)
        table.append(("phishing set: flagged (unlabelled)", pct(len(flagged), len(phishing)), "", ""))

    print_table(table, args.threshold)
    return 0


def _decode(domain: str) -> str:
    import idna
    try:
        return idna.decode(domain)
    except Exception:
        return domain


def print_table(table, threshold) -> None:
    print(f"\nthreshold {threshold}")
    w0 = max(len(r[0]) for r in table) if table else 10
    print(f"{'measure':<{w0}}  {'detector':>24}  {'original rule (C)':>28}  {'target':>8}")
    for name, ours, theirs, target in table:
        print(f"{name:<{w0}}  {ours:>24}  {theirs:>28}  {target:>8}")


# --- custom run -----------------------------------------------------------------------------------

def custom_run(args) -> int:
    with open(args.list, encoding="utf-8") as handle:
        watch_list = parse_watch_list(handle.read())
    allow = bl.read_lines(args.allowlist) if args.allowlist else []
    positives, negatives = [], []
    for path in args.domains:
        for line in bl.read_lines(path):
            parts = [p.strip() for p in line.replace("\t", ",").split(",") if p.strip()]
            if len(parts) >= 2:
                positives.append((parts[0], parts[1]))
            elif parts:
                negatives.append(parts[0])
    detector = Detector(watch_list, threshold=args.threshold, allowlist=allow)
    hit_by, tot_by, misses, fas = evaluate(detector, positives, negatives)
    print(f"list: {len(watch_list)} assets, {detector.size:,} indexed keys; allowlist {len(allow)}; "
          f"{len(positives):,} lookalikes, {len(negatives):,} legitimate names")
    if tot_by:
        print("\nrecall per asset:")
        for asset in sorted(tot_by):
            print(f"  {asset:<30} {pct(hit_by[asset], tot_by[asset])}")
        print(f"  {'ALL':<30} {pct(sum(hit_by.values()), len(positives))}")
    if negatives:
        print(f"\nfalse-alert rate: {pct(len(fas), len(negatives))}")
    show("misses", [f"{d} expected {a}; got {(m.asset + ' / ' + m.evidence) if m else 'nothing'}"
                    for d, a, m in misses], args.show)
    show("false alerts", [f"{d} [{m.asset} / {m.evidence}] {m.explanation}" for d, m in fas], args.show)
    if args.baseline:
        rule = OriginalRule(watch_list, args.threshold, "c")
        hits, fas_raw, fas_allowed = rule_eval(rule, positives, negatives, allow=set(allow))
        print(f"\noriginal rule: recall {pct(hits, len(positives))}; false alerts {pct(len(fas_allowed), len(negatives))}")
    return 0


def ablate_folds(args) -> int:
    """IDN recall and top-sites false alerts with the ASCII folds switched off one kind at a time."""
    import CertStreamDetectorApiModule as M
    study_path, sites = bl.data_path(*IDN_RESULT), bl.read_lines(bl.data_path(*TOP_SITES))
    if not study_path or not sites:
        print(f"evaluation data not found at {bl.DATA}: skipped")
        return 0
    with open(study_path, encoding="utf-8") as handle:
        study = json.load(handle)
    idn_list = bl.expand_brands(list(study), per_brand=args.per_brand)
    positives = [(to_punycode_domain(h), b) for b, hs in study.items() for h in hs]
    top_list = bl.expand_brands(bl.POPULAR_BRANDS)
    auto, curated = own_domains_in(sites, bl.POPULAR_BRANDS)
    shipped = M._fold_ascii

    def folder(digits=True, pairs=M._DIGRAPHS):
        def fold(tok):
            if digits and not tok.isalpha() and not tok.isdigit():
                tok = M._fold_digits(tok)
            for src, dst in pairs:
                if src in tok:
                    tok = tok.replace(src, dst)
            return tok
        return fold

    variants = [("all (as shipped)", shipped), ("without cl->d", folder(pairs=M._DIGRAPHS[:2])),
                ("without the letter pairs", folder(pairs=())), ("without digit folds", folder(digits=False)),
                ("with nn->m added", folder(pairs=M._DIGRAPHS + (("nn", "m"),)))]
    print(f"{'folds':<26} {'IDN recall':>16} {'false alerts full / brand-label allowlist':>44}")
    try:
        for name, fold in variants:
            M._fold_ascii = fold
            d_idn = M.Detector(idn_list, threshold=args.threshold)
            recall = sum(1 for dom, b in positives if (m := d_idn.match(dom)) is not None and m.asset == b)
            d_full = M.Detector(top_list, threshold=args.threshold, allowlist=auto + curated)
            full = sum(1 for s in sites if d_full.match(s))
            d_auto = M.Detector(top_list, threshold=args.threshold, allowlist=auto)
            brand_only = sum(1 for s in sites if d_auto.match(s))
            print(f"{name:<26} {recall:>8,}/{len(positives):,} {full:>30} / {brand_only}")
    finally:
        M._fold_ascii = shipped
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="CertStream detector evaluation")
    parser.add_argument("--list", help="watch-list JSON file (custom run)")
    parser.add_argument("--domains", nargs="+", help="domain files (custom run)")
    parser.add_argument("--allowlist", help="allowlist file, one domain per line (custom run)")
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--show", type=int, default=25, help="how many misses / false alerts to list")
    parser.add_argument("--per-brand", type=int, default=1000, help="(a) dnstwist terms per IDN-study brand")
    parser.add_argument("--baseline-sample", type=int, default=100, help="(c) positives for the original rule")
    parser.add_argument("--baseline-top-sample", type=int, default=2000, help="(c) top sites for the original rule")
    parser.add_argument("--baseline", action="store_true", help="custom run: also run the original rule")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ablate-folds", action="store_true", help="measure with each ASCII fold switched off")
    args = parser.parse_args()
    if args.ablate_folds:
        return ablate_folds(args)
    if args.list or args.domains:
        if not (args.list and args.domains):
            parser.error("--list and --domains go together")
        return custom_run(args)
    return default_run(args)


if __name__ == "__main__":
    sys.exit(main())
