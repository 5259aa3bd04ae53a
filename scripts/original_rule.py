"""The original CertStream pack's matching rule, re-implemented faithfully as the baseline.

What the original integration did for every SAN of every certificate (docs/detection.md):
- skip a SAN starting with ``*`` (wildcards are never looked at);
- split on ``.`` and drop only the last label (``paypa1.co.uk`` compares ``paypa1`` and ``co``);
- for every remaining label, for every asset, for every homograph of that asset (the asset key itself
  is not compared): similarity = 1 - levenshtein / max(len); a match when similarity > threshold
  (strict; default 0.85); the first hit wins;
- severity from the similarity: critical >= 0.85, high >= 0.75, medium >= 0.65, else low;
- one incident per matching SAN, no de-duplication.

Two variants:
- ``variant="c"``: the rule with the C edit distance (python-Levenshtein), the list held in memory;
  this is ``baseline_similarity_match`` of the detector module.
- ``variant="python"``: as the original really ran: a pure-Python dynamic-programming Levenshtein
  and the whole list re-read (``json.loads`` of the integration context) for every domain.

Usable as a library (``OriginalRule``) or from the command line:
    python scripts/original_rule.py --list LIST.json [--threshold 0.85] [--variant c|python] DOMAIN...
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "Packs", "ApiModules", "Scripts", "CertStreamDetectorApiModule"))
from CertStreamDetectorApiModule import baseline_similarity_match, parse_watch_list  # noqa: E402


def python_levenshtein(a: str, b: str) -> int:
    """Textbook dynamic-programming edit distance (full matrix), as the original pack computed it."""
    if len(a) < len(b):
        a, b = b, a
    rows, cols = len(a), len(b)
    table = [list(range(cols + 1))] + [[r] + [0] * cols for r in range(1, rows + 1)]
    for c in range(1, cols + 1):
        for r in range(1, rows + 1):
            if a[r - 1] == b[c - 1]:
                table[r][c] = table[r - 1][c - 1]
            else:
                table[r][c] = 1 + min(table[r - 1][c], table[r][c - 1], table[r - 1][c - 1])
    return table[rows][cols]


def severity(similarity: float) -> int:
    if similarity >= 0.85:
        return 4
    if similarity >= 0.75:
        return 3
    if similarity >= 0.65:
        return 2
    return 1


class OriginalRule:
    def __init__(self, watch_list: Dict[str, List[str]], threshold: float = 0.85, variant: str = "c"):
        if variant not in ("c", "python"):
            raise ValueError("variant must be 'c' or 'python'")
        self.watch_list = watch_list
        self.threshold = float(threshold)
        self.variant = variant
        # what the original kept in the integration context and re-read for every domain
        self._context = json.dumps({"homographs": watch_list, "levenshtein_distance_threshold": self.threshold})

    def match(self, domain: str) -> Optional[Dict[str, Any]]:
        if self.variant == "c":
            return baseline_similarity_match(domain, self.watch_list, self.threshold)
        return self._match_python(domain)

    def _match_python(self, domain: str) -> Optional[Dict[str, Any]]:
        if not isinstance(domain, str) or domain.startswith("*"):
            return None
        context = json.loads(self._context)  # the per-domain re-read
        return baseline_similarity_match(domain, context["homographs"], context["levenshtein_distance_threshold"],
                                         distance=python_levenshtein)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", required=True, help="watch-list JSON file")
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--variant", choices=("c", "python"), default="c")
    parser.add_argument("domains", nargs="+")
    args = parser.parse_args(argv)
    with open(args.list, encoding="utf-8") as handle:
        watch_list = parse_watch_list(handle.read())
    rule = OriginalRule(watch_list, args.threshold, args.variant)
    for domain in args.domains:
        hit = rule.match(domain)
        if hit:
            print(f"{domain}\t{hit['asset']}\t{hit['homograph']}\t{hit['similarity']:.3f}\tseverity {severity(hit['similarity'])}")
        else:
            print(f"{domain}\t-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
