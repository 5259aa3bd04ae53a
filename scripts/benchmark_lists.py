"""Shared helpers for scripts/benchmark.py and scripts/evaluate.py: watch lists expanded by dnstwist,
realistic SAN input, access to the shared evaluation data (../shared/data from the repo root).

Nothing here is imported by pack code. The evaluation data is never copied into the repository:
functions return None (or an empty list) when it is absent, and the callers skip cleanly.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import tempfile
from typing import Dict, Iterable, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
MODULE_DIR = os.path.join(ROOT, "Packs", "ApiModules", "Scripts", "CertStreamDetectorApiModule")
if MODULE_DIR not in sys.path:
    sys.path.insert(0, MODULE_DIR)
CACHE_DIR = os.path.join(tempfile.gettempdir(), "certstream-bench-cache")

# A realistic 20-brand watch list: popular, frequently imitated brands.
POPULAR_BRANDS = [
    "paypal", "google", "amazon", "apple", "microsoft", "facebook", "netflix", "instagram", "linkedin",
    "twitter", "whatsapp", "dropbox", "adobe", "chase", "wellsfargo", "bankofamerica", "coinbase",
    "binance", "outlook", "office365",
]

# Small embedded vocabulary for synthetic names (no external word list needed).
WORDS = """
alpha beta cloud data shop store market media news blog studio design web app apps digital labs
tech solutions systems group global world home house garden green blue red black white gold
silver star sun moon sky sea river lake mountain forest city town village north south east west
auto car bike travel tour hotel food pizza coffee tea wine beer bread fresh farm pet dog cat baby
kids school learn academy college health care dental clinic medical fitness yoga sport team club
music art photo video film game games play fun party event wedding fashion style beauty hair
nail spa wood stone metal print paper book books library law legal tax money finance invest
capital trust energy solar power water air fire light smart fast easy best top prime pro plus max
one first next new open free true real local public private service support help info online net
hub point zone base link line path way road street park square center office work job career
""".split()

CT_PREFIXES = ["www", "mail", "autodiscover", "cpanel", "webmail", "webdisk", "cpcalendars", "cpcontacts",
               "api", "dev", "staging", "test", "app", "shop", "blog", "m", "static", "cdn", "admin",
               "portal", "vpn", "remote", "owa", "smtp", "imap", "ftp", "ns1", "ns2"]
CT_SUFFIXES = ["com", "net", "org", "io", "de", "co.uk", "fr", "nl", "ru", "com.br", "xyz", "online",
               "site", "top", "info", "app", "dev", "shop", "store", "com.au", "in", "jp", "cloud"]


def data_path(*parts: str) -> Optional[str]:
    path = os.path.join(DATA, *parts)
    return path if os.path.exists(path) else None


def read_lines(path: Optional[str]) -> List[str]:
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


# --- watch lists ----------------------------------------------------------------------------------

def _expand_one(brand: str) -> List[str]:
    """All label permutations dnstwist's Fuzzer generates for ``brand`` (Unicode, TLD removed)."""
    import dnstwist  # imported lazily: only the list builders need it

    fuzzer = dnstwist.Fuzzer(brand + ".com")
    fuzzer.generate()
    labels = set()
    for perm in fuzzer.permutations(unicode=True):
        name = perm["domain"]
        if name.endswith(".com") and perm["fuzzer"] not in ("*original", "tld-swap", "various"):
            labels.add(name[:-4])
    labels.discard(brand)
    return sorted(labels)


def _cached_expand(brand: str) -> List[str]:
    os.makedirs(CACHE_DIR, exist_ok=True)
    key = hashlib.sha1(brand.encode()).hexdigest()[:16]
    path = os.path.join(CACHE_DIR, f"dnstwist-{key}.json")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            pass
    labels = _expand_one(brand)
    tmp = path + f".{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(labels, handle, ensure_ascii=False)
    os.replace(tmp, path)
    return labels


def expand_brands(brands: Iterable[str], per_brand: Optional[int] = None, seed: int = 7,
                  processes: int = 0) -> Dict[str, List[str]]:
    """``{brand: [dnstwist label permutations]}``, at most ``per_brand`` each (a seeded sample).
    Permutations are cached in the temp folder (dnstwist takes ~0.1-1 s per brand)."""
    brands = list(dict.fromkeys(brands))
    missing = [b for b in brands if not os.path.exists(os.path.join(
        CACHE_DIR, f"dnstwist-{hashlib.sha1(b.encode()).hexdigest()[:16]}.json"))]
    if len(missing) > 20 and (processes or os.cpu_count() or 1) > 1:
        from multiprocessing import Pool
        with Pool(processes or os.cpu_count()) as pool:
            pool.map(_cached_expand, missing, chunksize=8)
    out: Dict[str, List[str]] = {}
    rnd = random.Random(seed)
    for brand in brands:
        labels = _cached_expand(brand)
        if per_brand is not None and len(labels) > per_brand:
            labels = sorted(rnd.sample(labels, per_brand))
        out[brand] = labels
    return out


def made_up_brands(count: int, seed: int = 11, exclude: Iterable[str] = ()) -> List[str]:
    """Pronounceable invented brand names, 5-12 letters."""
    rnd = random.Random(seed)
    onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br",
              "cr", "dr", "gr", "kl", "pl", "st", "tr", "sh", "ch", "qu"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
    codas = ["", "", "n", "r", "s", "x", "l", "m", "t", "nd", "rk", "st"]
    seen = set(exclude)
    out: List[str] = []
    while len(out) < count:
        name = "".join(rnd.choice(onsets) + rnd.choice(vowels) + rnd.choice(codas)
                       for _ in range(rnd.randint(2, 3)))
        if 5 <= len(name) <= 12 and name not in seen:
            seen.add(name)
            out.append(name)
    return out


def real_brand_labels(count: int) -> List[str]:
    """Brand labels from the IDN study (real, imitated brands) when the data is present."""
    path = data_path("idn", "shamfinder_result_detect_simchar_confusable.json")
    if not path:
        return []
    with open(path, encoding="utf-8") as handle:
        brands = [b for b in json.load(handle) if len(b) >= 4 and b.isascii()]
    return brands[:count]


def watch_list_for(n_assets: int, total_terms: int, seed: int = 7) -> Dict[str, List[str]]:
    """A watch list of ``n_assets`` brands expanded by dnstwist to about ``total_terms`` entries:
    the 20 popular brands, then invented names (an organisation's product names; the IDN study's
    brand labels are not used here because many are plain words such as ``mail`` or ``shop`` that
    no organisation would watch)."""
    brands = list(POPULAR_BRANDS[:n_assets])
    if len(brands) < n_assets:
        brands += made_up_brands(n_assets - len(brands), exclude=brands)
    per_brand = max(1, total_terms // n_assets)
    return expand_brands(brands, per_brand=per_brand, seed=seed)


# --- SAN input ------------------------------------------------------------------------------------

def _synthetic_name(rnd: random.Random) -> str:
    pick = rnd.random()
    words = [rnd.choice(WORDS) for _ in range(rnd.randint(1, 3))]
    label = ("-" if rnd.random() < 0.3 else "").join(words)
    if rnd.random() < 0.15:
        label += str(rnd.randint(1, 999))
    suffix = rnd.choice(CT_SUFFIXES)
    if pick < 0.10:  # cloud / CDN style hashed hosts
        return f"{rnd.getrandbits(48):012x}.{rnd.choice(['cloudfront', 'herokuapp', 'azurewebsites', 'vercel', 'netlify', 'github', 'ngrok-free', 'workers'])}.{rnd.choice(['net', 'com', 'app', 'io', 'dev'])}"
    if pick < 0.15:  # deep service names
        return f"{rnd.choice(CT_PREFIXES)}.{rnd.choice(['eu-west-1', 'us-east-2', 'prod', 'int'])}.{label}.{suffix}"
    return f"{label}.{suffix}"


def ct_like_sans(count: int, seed: int = 3, phishing_share: float = 0.05) -> List[str]:
    """A realistic certificate-transparency SAN mix.

    Certificates carry a base name plus usual hosts (www, mail, cPanel's autodiscover/webmail/...,
    wildcards), cloud hostnames with hashed labels, and a small share of phishing names. Base names
    come from the benign top-sites list and the phishing list when present, else from synthetic
    word combinations. Deterministic for a seed.
    """
    rnd = random.Random(seed)
    benign = read_lines(data_path("benign", "top_sites_dev_50k.txt"))
    phishing = read_lines(data_path("phishing", "phishing_domains_dev_20k.txt"))
    out: List[str] = []
    while len(out) < count:
        roll = rnd.random()
        if roll < phishing_share and phishing:
            out.append(rnd.choice(phishing))
            continue
        base = rnd.choice(benign) if benign and roll < 0.55 else _synthetic_name(rnd)
        # one certificate's SANs
        out.append(base)
        extra = rnd.random()
        if extra < 0.5:
            out.append("www." + base)
        elif extra < 0.6:
            out.append("*." + base)
        elif extra < 0.7:
            out.extend(f"{p}.{base}" for p in ("mail", "autodiscover", "cpanel", "webmail", "webdisk",
                                                "cpcalendars", "cpcontacts", "www"))
        elif extra < 0.8:
            out.append(f"{rnd.choice(CT_PREFIXES)}.{base}")
    return out[:count]
