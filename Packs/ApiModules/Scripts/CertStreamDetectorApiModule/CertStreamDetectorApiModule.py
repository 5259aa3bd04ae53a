"""CertStream lookalike-domain detector (API module).

Pure Python: the standard library plus ``idna``, ``publicsuffixlist``, ``confusable_homoglyphs`` and
``Levenshtein`` (``rapidfuzz`` as a fallback), the libraries of the pack's Docker image. No ``demisto``.

Public API (see docs/architecture.md and docs/detection.md):

- ``WatchListError``          a watch list the user has to fix (message says how)
- ``parse_watch_list(text)``  JSON text (markdown fence tolerated) -> ``{asset: [homographs]}``
- ``normalize_term(term)``    the key under which the detector compares a list entry
- ``Detector(watch_list, threshold=0.85, allowlist=())`` with ``match``, ``match_domains``, ``size``
- ``Match``                   one explained match
- ``baseline_similarity_match(domain, watch_list, threshold)``  the original pack's rule

How a SAN is read (``Detector.match``): lower-case; strip ``*.`` and a trailing dot; decode punycode
labels (UTS 46; an invalid A-label stays as it is); drop invisible characters; split with the Public
Suffix List (ICANN and private sections: under a hosting suffix such as ``github.io`` the user label
is the registrable label); cut labels into hyphen tokens; fold every token to a skeleton (Unicode
TR39 confusables, accents dropped, digits read as letters, ``rn``/``vv``/``cl`` read as ``m``/``w``/``d``);
look up every run of adjacent tokens in a dict of normalised list terms (exact), the skeletons of
the assets through a pigeonhole index bounded by the threshold (similarity), and the separator-free
name in a trie regex of asset skeletons (containment). Cost per SAN depends on the SAN and the
threshold, not on the list size. This module must not use ``from __future__`` imports:
``demisto-sdk unify`` inlines it in the middle of the integration.
"""

import json
import math
import re
import unicodedata
from functools import lru_cache
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import idna

try:  # C implementation of the edit distance; both are in the image
    from Levenshtein import distance as _lev_distance
except ImportError:  # pragma: no cover
    from rapidfuzz.distance.Levenshtein import distance as _lev_distance  # type: ignore

try:
    from confusable_homoglyphs.confusables import confusables_data as _CONFUSABLES
except Exception:  # pragma: no cover - the package is part of the image
    _CONFUSABLES = {}

try:
    from publicsuffixlist import PSLFILE as _PSLFILE
except Exception:  # pragma: no cover
    _PSLFILE = None

__all__ = [
    "WatchListError",
    "parse_watch_list",
    "normalize_term",
    "normalize_domain",
    "split_domain",
    "Detector",
    "Match",
    "baseline_similarity_match",
    "DEFAULT_THRESHOLD",
    "CREDENTIAL_WORDS",
]

DEFAULT_THRESHOLD = 0.85

# --- tunables (general, never per string; see docs/detection.md) --------------------------------
MIN_FUZZY_LEN = 4        # asset skeletons shorter than this only match exactly (box, hp, ups)
MIN_CONTAINS_LEN = 4     # asset skeletons shorter than this are never searched inside longer tokens
MIN_NESTED_LEN = 5       # a plain short brand as a subdomain label of someone else's domain needs context
MIN_HOMOGRAPH_LEN = 3    # listed homographs whose key is shorter (`p`, `hq`) are everyday tokens: ignored
MIN_DISTINCTIVE_LEN = 7  # brands this long alert inside a registrable label with up to 3 stray characters
MAX_INDEX_EDITS = 2      # pigeonhole index depth; larger edit budgets compare asset by asset (C distance)
PROBE_WIDTH = 3          # characters of each pigeonhole piece used as the index key
MAX_NAME_CHARS = 1024    # longer inputs are not DNS names; ignored
SAN_CACHE_SIZE = 50_000  # CT logs carry every certificate twice (precertificate, certificate)
LABEL_CACHE_SIZE = 100_000
_MISSING = object()
_NO_NOTES: Dict[int, Tuple[str, str]] = {}
_EPS = 1e-9

# Credential / phishing vocabulary: found as tokens, or as the parts of a token around the brand.
CREDENTIAL_WORDS = frozenset("""
login logon logins signin signon signup sign verify verification verified validate validation
secure security account accounts acct wallet wallets update updates support helpdesk
help service services confirm confirmation auth authenticate authentication password passwd unlock
unlocked locked recover recovery restore reset billing payment payments invoice invoices refund
refunds banking bank webscr customer customers client clients alert alerts notice suspended suspend
limited unusual activity access session token sso mfa otp 2fa claim claims reward rewards bonus gift
giftcard prize airdrop giveaway promo connect portal member members mailbox
checkout order orders delivery shipping tracking parcel dispute resolution activate activation renew
cuenta conta konto compte verificar verifica verifizieren seguridad seguranca sicherheit anmelden
connexion identifiant acceso acesso pagamento pago rechnung factura fattura suporte soporte
""".split())

# Words that may surround a brand in a longer token without being suspicious on their own
# (``mypaypal``, ``paypalshop``); they explain the rest of the token but add nothing to the score.
FILLER_WORDS = frozenset("""
my the a e i go get www web app apps online official site page pages shop store stores net info us
usa uk eu home center centre team inc corp group global world mobile now today pro plus hub me you
your our new best top on to in of for and co com org live link cloud mail id pay cash card cards
money fund funds crypto coin coins token tokens nft exchange trade trading market free offer deal
deals sale sales gifts pass service desk check now fast easy safe user users admin cp panel webmail shopping
""".split()) | CREDENTIAL_WORDS

# TLDs with a record of abuse (Spamhaus / Interisle reports): a small bump, never evidence alone.
ABUSED_TLDS = frozenset("""
top xyz tk ml ga cf gq icu buzz cyou sbs cfd bond monster rest bar click link live online site
website space fun lol quest beauty hair skin makeup autos boats yachts mom zip mov ws su pw cc vip
win bid loan men date review stream download racing party science trade webcam country kim gdn
accountant faith cricket host press digital email support help today work shop store best life
""".split())

_SEVERITY_BY_SCORE = ((80, 4), (60, 3), (40, 2))
# a subdomain label that makes the labels before it read like a host name (paypal.com.evil.top)
_HOST_IMITATION_LABELS = frozenset("com net org info biz gov edu co io me app".split())

# --- errors and watch-list parsing ---------------------------------------------------------------


class WatchListError(ValueError):
    """The watch list cannot be used; the message says what to fix."""


_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})[^\n]*\n(.*?)\n?\s*\1\s*$", re.S)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _check_asset_name(name: str) -> None:
    """A one-character brand label would match every one-letter label and token."""
    if len(normalize_term(name.split(".")[0])) < 2:
        raise WatchListError(f"Asset {name!r} is too short to watch: a brand label needs at least 2 characters.")


def parse_watch_list(text: Any) -> Dict[str, List[str]]:
    """Parse the watch-list JSON into the canonical ``{asset: [homographs]}``.

    Accepted: an object of asset -> array of strings; a string value (one homograph); an array of
    asset strings (assets without homographs); the same inside a markdown code fence. Anything else
    raises ``WatchListError`` with a message a user can act on. Empty strings are dropped and
    duplicates removed (order kept).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if isinstance(text, (dict, list)):
        data = text
    else:
        if text is None or not isinstance(text, str):
            raise WatchListError(f"The watch list must be JSON text, got {_describe(text)}.")
        body = text.strip().lstrip("\ufeff")
        fence = _FENCE_RE.match(body)
        if fence:
            body = fence.group(2).strip()
        if not body:
            raise WatchListError(
                'The watch list is empty. Expected a JSON object such as {"paypal": ["paypa1", "pay-pal"]}.')
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise WatchListError(
                f"The watch list is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
                f"(character {exc.pos}). Expected an object such as {{\"paypal\": [\"paypa1\"]}}.") from None
    result: Dict[str, List[str]] = {}
    if isinstance(data, list):
        if not data:
            raise WatchListError("The watch list is an empty array: list at least one asset.")
        for pos, item in enumerate(data, 1):
            if not isinstance(item, str):
                raise WatchListError(
                    f"Item {pos} of the watch-list array is {_describe(item)}; an array may only hold asset "
                    f"names (strings). Use an object to give homographs: {{\"asset\": [\"lookalike\"]}}.")
            name = item.strip()
            if name:
                _check_asset_name(name)
                result.setdefault(name, [])
        if not result:
            raise WatchListError("The watch-list array holds no asset names.")
        return result
    if not isinstance(data, dict):
        raise WatchListError(
            f"The watch list is {_describe(data)}; expected a JSON object such as {{\"paypal\": [\"paypa1\"]}}.")
    if not data:
        raise WatchListError('The watch list is an empty object: add at least one asset, e.g. {"paypal": []}.')
    for key, value in data.items():
        name = key.strip() if isinstance(key, str) else ""
        if not name:
            raise WatchListError("The watch list has an empty asset name (an empty key).")
        _check_asset_name(name)
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, list):
            values = value
        else:
            raise WatchListError(
                f"The value of asset {name!r} is {_describe(value)}; expected an array of lookalike strings "
                f"(or a single string).")
        terms = result.setdefault(name, [])
        seen = set(terms)
        for pos, item in enumerate(values, 1):
            if not isinstance(item, str):
                raise WatchListError(
                    f"Entry {pos} of asset {name!r} is {_describe(item)}; homographs must be strings "
                    f"(write \"{item}\" in quotes if you meant it).")
            term = item.strip()
            if term and term not in seen:
                seen.add(term)
                terms.append(term)
    return result


# --- character folding ---------------------------------------------------------------------------

_INVISIBLE_EXTRA = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x034F, 0x17B4, 0x17B5}
_NAME_LETTER_RE = re.compile(
    r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS |SCRIPT |CLOSED |OPEN |TURNED )?"
    r"([A-Z])(?: WITH .*)?$")
# Lowercase letters that read as a Latin letter in common fonts but that the TR39 data maps to
# another non-ASCII letter (or not at all); the same pairs homograph generators use (dnstwist).
_EXTRA_LOOKALIKES = {
    "\u043f": "n", "\u043a": "k", "\u0448": "w", "\u0433": "r", "\u0442": "t", "\u043c": "m",
    "\u044c": "b", "\u0432": "b", "\u043d": "h", "\u0438": "u", "\u0446": "u", "\u00fe": "p",
    "\u014b": "n", "\u03b5": "e", "\u025b": "e", "\u03c0": "n", "\u0475": "v", "\u051b": "q",
    "\u03ba": "k", "\u03bd": "v", "\u03c4": "t", "\u03c9": "w", "\u03b9": "i",
}
# Dotless vertical strokes the TR39 data in the package sends to `i`; in a lower-case host name
# they read as `l` (`аррӏе` is the classic "apple" homograph). Checked before the TR39 data.
_STROKE_LETTERS = {"\u04cf": "l", "\u04c0": "l", "\u01c0": "l"}
_DIGIT_FOLD = {"0": "o", "1": "l", "2": "z", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b",
               "9": "g"}
_DIGIT_TABLE = str.maketrans(_DIGIT_FOLD)
_LONG_DIGITS_RE = re.compile(r"[0-9]{3}")
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SEPARATORS_RE = re.compile(r"[-._\s]+")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.category(c).startswith("M") and c not in "\u200e\u200f")


def _ascii_target(text: str) -> Optional[str]:
    """``text`` reduced to lower-case ASCII letters/digits, or None when it is not that."""
    base = _strip_marks(text).lower()
    if base and all(c in _ASCII_ALNUM for c in base):
        return base
    return None


def _is_invisible(code: int) -> bool:
    cat = unicodedata.category(chr(code))
    return cat in ("Cf", "Cc", "Zs", "Zl", "Zp") or code in _INVISIBLE_EXTRA or \
        0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0xE0000 <= code <= 0xE007F


def _map_char(code: int, depth: int = 0) -> Tuple[Optional[str], str]:
    """(replacement, reason) for one non-ASCII character (already lower-cased); replacement '' drops
    it, None keeps it as it is.

    In order: invisible characters and combining marks are dropped; compatibility decomposition
    with the marks removed (accents, full-width and mathematical letters); the TR39 confusables
    data (a target made of ASCII letters/digits); a few lowercase Cyrillic/Greek/Latin letters
    that look Latin but that TR39 does not map to ASCII (``_EXTRA_LOOKALIKES``); the base letter
    named by the character's Unicode name (``... LETTER B WITH HOOK`` -> ``b``, Cyrillic
    ``HA WITH DESCENDER`` -> the Cyrillic ``HA`` -> ``x``).
    """
    ch = chr(code)
    if _is_invisible(code):
        return "", "invisible"
    if unicodedata.category(ch).startswith("M"):
        return "", "mark"
    target = _ascii_target(ch)  # accents, full-width and mathematical letters
    if target is not None:
        return target, "accent" if unicodedata.decomposition(ch)[:1] != "<" else "compat"
    base = _strip_marks(ch).lower()
    if depth < 2 and len(base) == 1 and base != ch and ord(base) > 127:  # e.g. Cyrillic ie with grave
        repl, reason = _map_char(ord(base), depth + 1)
        if repl:
            return repl, reason
    if ch in _STROKE_LETTERS:
        return _STROKE_LETTERS[ch], "confusable"
    best = None
    for entry in _CONFUSABLES.get(ch, ()):  # TR39 data: characters that look like this one
        cand = _ascii_target(entry.get("c", ""))
        if cand and (best is None or (cand.isalpha(), -len(cand)) > (best.isalpha(), -len(best))):
            best = cand
    if best is not None:
        return best, "confusable"
    if ch in _EXTRA_LOOKALIKES:
        return _EXTRA_LOOKALIKES[ch], "confusable"
    name = unicodedata.name(ch, "")
    match = _NAME_LETTER_RE.match(name)
    if match:
        return match.group(1).lower(), "letterform"
    if depth < 2 and " WITH " in name:
        try:
            plain = unicodedata.lookup(name.split(" WITH ")[0])
        except KeyError:
            plain = ""
        if plain and plain != ch:
            repl, reason = _map_char(ord(plain.lower()), depth + 1)
            if repl:
                return repl, reason
    return None, ""


class _CharTable(dict):
    """str.translate table computed on demand (ASCII passes through untouched)."""

    def __missing__(self, code: int):
        if code < 128:
            value: Any = None if code < 32 or code == 127 else chr(code)
        else:
            repl, _reason = _map_char(code)
            value = chr(code) if repl is None else repl
        if value is None or value == "":
            value = None
        self[code] = value
        return value


_CHAR_TABLE = _CharTable()


_LETTER_DIGITS_RE = re.compile(r"(?<![0-9])[0-9]{1,2}(?![0-9])")


def _fold_digits(tok: str) -> str:
    """Digits read as letters, in tokens that hold a letter, and only in runs of one or two
    digits (``we11point``, ``g00gle``); longer runs are numbers (``instagram5807``, ``office365``)."""
    if tok.isalpha() or tok.isdigit():
        return tok
    if not _LONG_DIGITS_RE.search(tok):
        return tok.translate(_DIGIT_TABLE)
    return _LETTER_DIGITS_RE.sub(lambda m: m.group(0).translate(_DIGIT_TABLE), tok)


def _fold_ascii(tok: str) -> str:
    """Digit and digraph folds on an ASCII-ish token (letters/digits)."""
    if not tok.isalpha() and not tok.isdigit():
        tok = _fold_digits(tok)
    if "rn" in tok:
        tok = tok.replace("rn", "m")
    if "vv" in tok:
        tok = tok.replace("vv", "w")
    if "cl" in tok:
        tok = tok.replace("cl", "d")
    return tok


def _skeleton(tok: str) -> str:
    """Skeleton of one token (no separators inside)."""
    if not tok.isascii():
        tok = tok.lower().translate(_CHAR_TABLE).lower()
    return _fold_ascii(tok)


def _fold_steps(raw: str) -> List[str]:
    """Human-readable list of what folding did to ``raw`` (only for explanations)."""
    notes: List[str] = []
    out = []
    for ch in raw:
        if ord(ch) < 128:
            out.append(ch)
            continue
        repl, reason = _map_char(ord(ch))
        name = unicodedata.name(ch, f"U+{ord(ch):04X}").title()
        if reason == "invisible":
            notes.append(f"invisible character U+{ord(ch):04X} removed")
        elif reason == "mark":
            notes.append(f"combining mark U+{ord(ch):04X} dropped")
        elif repl is not None:
            notes.append(f"{ch} (U+{ord(ch):04X} {name}) read as {repl}")
            out.append(repl)
        else:
            out.append(ch)
    text = "".join(out).lower()
    folded = _fold_digits(text)
    if folded != text:
        digits = sorted({c for c, f in zip(text, folded) if c != f})
        notes += [f"digit {d} read as {_DIGIT_FOLD[d]}" for d in digits]
        text = folded
    for src, dst in _DIGRAPHS:
        if src in text:
            notes.append(f"{src} read as {dst}")
            text = text.replace(src, dst)
    return notes


# --- domain reading --------------------------------------------------------------------------------

class _SuffixList:
    """Public Suffix List as a label trie (reversed labels), from the publicsuffixlist package data."""

    def __init__(self) -> None:
        self.root: Dict[str, Any] = {}
        lines: Iterable[str] = ()
        if _PSLFILE:
            try:
                with open(_PSLFILE, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except OSError:  # pragma: no cover
                lines = ()
        private = False
        for line in lines:
            line = line.strip()
            if line.startswith("//"):
                if "===BEGIN PRIVATE DOMAINS===" in line:
                    private = True
                continue
            if not line:
                continue
            rule = line.split()[0].lower()
            exception = rule.startswith("!")
            node = self.root
            for label in reversed(rule.lstrip("!").split(".")):
                node = node.setdefault(label, {})
            node["!" if exception else "$"] = 2 if private else 1

    def suffix_len(self, labels: Sequence[str]) -> Tuple[int, bool]:
        """(number of trailing labels forming the public suffix, suffix is from the private section)."""
        node = self.root
        n, kind = 0, 0
        for i in range(len(labels) - 1, -1, -1):
            child = node.get(labels[i])
            if child is not None and "!" in child:
                break
            wild = node.get("*")
            if child is not None and "$" in child:
                n, kind = len(labels) - i, child["$"]
            elif wild is not None and "$" in wild:
                n, kind = len(labels) - i, wild["$"]
            nxt = child if child is not None else wild
            if nxt is None:
                break
            node = nxt
        if n == 0:
            return 1, False  # unknown TLD: treat the last label as the suffix
        return n, kind == 2


_PSL = _SuffixList()
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _decode_label(label: str) -> Tuple[str, str]:
    """(Unicode label, note) for one lower-case label; never raises."""
    if not label.startswith("xn--"):
        return label, ""
    try:
        return idna.decode(label), "idna"
    except Exception:
        pass
    try:  # valid punycode but not valid IDNA 2008 (emoji, invisible characters): still read it
        text = label[4:].encode("ascii").decode("punycode")
        if text:
            return text, "punycode-invalid-idna"
    except Exception:
        pass
    return label, "invalid-a-label"


def normalize_domain(domain: Any) -> str:
    """Display form of a domain: lower case, no ``*.``/trailing dot, punycode decoded, invisibles
    and control characters removed. Returns '' for anything that is not a string."""
    labels, _notes = _domain_labels(domain)
    return ".".join(labels)


def _domain_labels(domain: Any) -> Tuple[List[str], Dict[int, Tuple[str, str]]]:
    if not isinstance(domain, str):
        return [], {}
    s = domain.strip().lower()
    if len(s) > MAX_NAME_CHARS:
        return [], {}
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s).lower()
        s = s.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    while s.startswith("*."):
        s = s[2:]
    s = s.strip(".")
    if not s:
        return [], {}
    notes: Dict[int, Tuple[str, str]] = {}
    labels = s.split(".")
    if "" in labels:
        labels = [lab for lab in labels if lab]
    if "xn--" in s:
        for i, lab in enumerate(labels):
            if lab.startswith("xn--"):
                decoded, how = _decode_label(lab)
                notes[i] = (how, lab)
                labels[i] = decoded
    if notes or not s.isprintable():
        for i, lab in enumerate(labels):
            if not lab.isprintable() or not lab.isascii():
                cleaned = "".join(c for c in lab if not _is_invisible(ord(c)))
                if cleaned != lab:
                    notes.setdefault(i, ("invisible-removed", lab))
                labels[i] = unicodedata.normalize("NFC", cleaned).lower()
    if "" in labels:  # a label made only of invisible characters
        keep = [i for i, lab in enumerate(labels) if lab]
        notes = {keep.index(i): v for i, v in notes.items() if i in keep}
        labels = [labels[i] for i in keep]
    return labels, notes


def split_domain(domain: Any) -> Optional[Dict[str, Any]]:
    """Public-suffix split of a domain (display form): ``registrable``, ``label``, ``subdomains``,
    ``suffix``, ``private_suffix``. None for IPs, bare names and public suffixes themselves."""
    labels, _notes = _domain_labels(domain)
    parts = _split_labels(labels)
    if parts is None:
        return None
    n_suffix, private = parts
    reg_index = len(labels) - n_suffix - 1
    return {
        "registrable": ".".join(labels[reg_index:]),
        "label": labels[reg_index],
        "subdomains": labels[:reg_index],
        "suffix": ".".join(labels[reg_index + 1:]),
        "private_suffix": private,
    }


def _split_labels(labels: List[str]) -> Optional[Tuple[int, bool]]:
    if len(labels) < 2:
        return None
    if ":" in labels[-1] or labels[-1].isdigit() or (len(labels) == 4 and _IPV4_RE.match(".".join(labels))):
        return None
    n_suffix, private = _PSL.suffix_len(labels)
    if n_suffix >= len(labels):
        return None
    return n_suffix, private


def _tokens(label: str) -> List[str]:
    if "-" in label or "_" in label:
        return [t for t in label.replace("_", "-").split("-") if t]
    return [label] if label else []


def normalize_term(term: Any) -> str:
    """The key under which the detector compares a list entry: punycode decoded, separators
    (``.``, ``-``, ``_``, spaces) removed, folded to the skeleton. ``"PayPa1"``, ``"pay-pal"`` and
    ``"pаypal"`` (Cyrillic а) all give ``"paypal"``."""
    if not isinstance(term, str):
        return ""
    labels, _notes = _domain_labels(term)
    if not labels:
        return ""
    pieces = [t for lab in labels for t in _SEPARATORS_RE.split(lab) if t]
    return "".join(_skeleton(p) for p in pieces)


def _asset_parts(asset: str) -> Tuple[str, Optional[str], str]:
    """(brand label, owned registrable domain or None, skeleton) for an asset key."""
    labels, _notes = _domain_labels(asset)
    if not labels:
        return "", None, ""
    if len(labels) == 1:
        label = labels[0]
        owned = label + ".com"
    else:
        parts = _split_labels(labels)
        if parts is None:
            label, owned = labels[0], ".".join(labels)
        else:
            n_suffix, _private = parts
            reg_index = len(labels) - n_suffix - 1
            label, owned = labels[reg_index], ".".join(labels[reg_index:])
    skeleton = "".join(_skeleton(t) for t in _SEPARATORS_RE.split(label) if t)
    return label, owned, skeleton


# --- word segmentation for context ------------------------------------------------------------------

def _segment(text: str, vocabulary) -> Optional[List[str]]:
    """Split ``text`` entirely into vocabulary words or digit runs (fewest pieces), or None."""
    n = len(text)
    if n == 0:
        return []
    if n > 64:
        return None
    best: List[Optional[List[str]]] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            prev = best[start]
            if prev is None:
                continue
            piece = text[start:end]
            if piece in vocabulary or piece.isdigit():
                cand = prev + [piece]
                if best[end] is None or len(cand) < len(best[end]):  # type: ignore[arg-type]
                    best[end] = cand
    return best[n]


_VOCABULARY: Dict[str, str] = {}


def _vocabulary() -> Dict[str, str]:
    """Known words, also in their folded spelling (``cloud`` reads ``doud`` after the ``cl`` fold,
    and residues around a brand are folded): spelling -> word."""
    if not _VOCABULARY:
        for word in FILLER_WORDS:
            _VOCABULARY.setdefault(word, word)
            _VOCABULARY.setdefault(_fold_ascii(word), word)
    return _VOCABULARY


@lru_cache(maxsize=65536)
def _segment_cached(text: str) -> Optional[Tuple[str, ...]]:
    vocabulary = _vocabulary()
    seg = _segment(text, vocabulary)
    return None if seg is None else tuple(vocabulary.get(piece, piece) for piece in seg)


def _token_words(raw: str, folded: str) -> List[str]:
    """Credential words in one token: the token itself, or the words it is made of."""
    for cand in (raw, folded):
        if cand in CREDENTIAL_WORDS:
            return [cand]
    if raw.isascii() and len(raw) >= 5:
        seg = _segment_cached(raw)
        if seg and len(seg) > 1:
            return [w for w in seg if w in CREDENTIAL_WORDS]
    return []


# --- result ---------------------------------------------------------------------------------------

@dataclass
class Match:
    domain: str                 # the SAN as received
    normalized: str             # display form (Unicode, no wildcard, no trailing dot)
    registrable: str            # registrable domain, Unicode
    asset: str                  # watched asset (as written in the list)
    term: str                   # homograph / asset string that matched
    similarity: float           # 0..1
    score: int                  # 0..100 suspicion
    severity: int               # 1 low, 2 medium, 3 high, 4 critical
    evidence: str               # homograph | skeleton | similar | contains
    words: List[str] = field(default_factory=list)   # credential words found
    explanation: str = ""
    token: str = ""             # the part of the name that matched (display form)
    reasons: List[str] = field(default_factory=list)  # context that raised the score

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _severity(score: int) -> int:
    for floor_, sev in _SEVERITY_BY_SCORE:
        if score >= floor_:
            return sev
    return 1


# --- the detector -----------------------------------------------------------------------------------

class _Asset:
    __slots__ = ("name", "label", "owned", "skeleton", "index")

    def __init__(self, name: str, label: str, owned: Optional[str], skeleton: str, index: int) -> None:
        self.name, self.label, self.owned, self.skeleton, self.index = name, label, owned, skeleton, index


def _trie_regex(words: Iterable[str]):
    """Two regexes for ``words`` as substrings, shaped as a trie (fast in sre): one to test, one
    (a lookahead) to list every occurrence, overlapping ones included. None when no words."""
    trie: Dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True
    if not trie:
        return None

    def build(node: Dict[str, Any]) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            body = "(?:" + body + ")?"
        return body

    body = build(trie)
    return re.compile(body), re.compile("(?=(" + body + "))")


def _watches_own_label(asset: str, label: str, terms: Sequence[str]) -> bool:
    """An asset written without a TLD owns <label>.com only by default: when its own list names
    the brand label itself, letter for letter, as a lookalike (`{"acme": ["acme"]}`), the user is
    watching that exact name everywhere, so <label>.com alerts too. An asset written with its TLD
    always owns it."""
    return "." not in asset and any(isinstance(t, str) and t.strip().lower() == label for t in terms)


class Detector:
    """Matches SANs against a watch list through an index built once.

    ``watch_list``: ``{asset: [homographs]}`` (or JSON text, parsed with ``parse_watch_list``).
    ``threshold``: inclusive similarity in [0, 1] (ValueError outside). ``allowlist``: domains that
    never alert, matched on label boundaries (``paypal.com`` covers ``www.paypal.com``, not
    ``notpaypal.com``).
    """

    def __init__(self, watch_list: Any, threshold: float = DEFAULT_THRESHOLD, allowlist: Iterable[str] = ()):
        if isinstance(threshold, bool):
            raise ValueError("threshold must be a number in [0, 1]")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}") from None
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        self.threshold = threshold
        canonical = parse_watch_list(watch_list) if not isinstance(watch_list, dict) else \
            parse_watch_list(watch_list) if watch_list else {}
        if not canonical:
            raise WatchListError('The watch list is an empty object: add at least one asset, e.g. {"paypal": []}.')
        self.watch_list = canonical
        self._assets: List[_Asset] = []
        self._owned: set = set()
        # key -> (asset index, term as written, kind) ; kind 0 = asset skeleton, 1 = homograph
        self._exact: Dict[str, Tuple[int, str, int]] = {}
        for name, terms in canonical.items():
            label, owned, skel = _asset_parts(name)
            if not skel:
                continue
            asset = _Asset(name, label, owned, skel, len(self._assets))
            self._assets.append(asset)
            if owned and not _watches_own_label(name, label, terms):
                self._owned.add(owned)
            prev = self._exact.get(skel)
            if prev is None or prev[2] != 0:
                self._exact[skel] = (asset.index, name, 0)
        for asset in self._assets:
            for term in canonical[asset.name]:
                key = normalize_term(term)
                if len(key) >= MIN_HOMOGRAPH_LEN and key not in self._exact:
                    self._exact[key] = (asset.index, term, 1)
        self._allow: set = set()
        for entry in allowlist or ():
            norm = normalize_domain(entry) if isinstance(entry, str) else ""
            if norm:
                self._allow.add(norm)
        self._max_key_len = max((len(k) for k in self._exact), default=0)
        self._label_cache: Dict[str, Tuple[str, ...]] = {}
        self._san_cache: Dict[Any, Optional[Match]] = {}
        self._build_similarity_index()
        contain = [a.skeleton for a in self._assets if len(a.skeleton) >= MIN_CONTAINS_LEN]
        self._contains_re, self._contains_all = _trie_regex(contain) or (None, None)
        self._contains_map: Dict[str, List[int]] = {}
        for a in self._assets:
            if len(a.skeleton) >= MIN_CONTAINS_LEN:
                self._contains_map.setdefault(a.skeleton, []).append(a.index)

    # -- index construction ---------------------------------------------------------------------
    def _max_edits(self, length: int) -> int:
        """Largest edit distance d for which a string of this length can still reach the threshold
        against a string of length up to ``length + d``: d <= (1 - t) * (length + d)."""
        t = self.threshold
        if t <= 0:
            return 10 ** 6
        return int(math.floor((1 - t) * length / t + _EPS))

    def _build_similarity_index(self) -> None:
        """Candidate generation for similarity, bounded by the threshold (pigeonhole on pieces).

        An asset skeleton of length n can reach the threshold with at most d = floor((1-t) n / t)
        edits (against a token of length up to n + d). Cut it into d + 1 pieces. Each edit spoils at
        most one piece (an edit inside it; for the first piece also an insertion before it, for the
        last one an insertion after it), so a token within d edits keeps one piece usable: the first
        as its prefix, the last as its suffix, or a middle one shifted by at most d. For each token
        length m the probes (slices of the token; PROBE_WIDTH characters of each piece) are
        precomputed; each probe is one dict lookup, so the cost per token depends on the threshold
        and the lengths, not on the number of assets or terms. Candidates are verified with the C
        edit distance. Assets whose edit budget exceeds MAX_INDEX_EDITS (very low thresholds) are
        compared one by one.
        """
        max_len = 64
        self._fuzzy_max = max_len
        # the longest span worth building: the longest exact key, or an asset plus its edit budget
        self._span_limit = self._max_key_len
        tables: Dict[Tuple[int, int, int], Dict[str, Tuple[int, ...]]] = {}
        probes: List[set] = [set() for _ in range(max_len + 1)]
        self._scan_lists: List[List[int]] = [[] for _ in range(max_len + 1)]
        for a in self._assets:
            sk = a.skeleton
            n = len(sk)
            if n < MIN_FUZZY_LEN or n > max_len:
                continue
            d = min(self._max_edits(n), n)
            if d <= 0:
                continue
            self._span_limit = max(self._span_limit, min(max_len, n + d))
            if d > MAX_INDEX_EDITS or n // (d + 1) < 2:
                for m in range(max(1, n - d), min(max_len, n + d) + 1):
                    self._scan_lists[m].append(a.index)
                continue
            k = d + 1
            bounds = [(n * i) // k for i in range(k + 1)]
            for i in range(k):
                start, stop = bounds[i], bounds[i + 1]
                width = min(PROBE_WIDTH, stop - start)  # an intact piece has an intact head/tail
                if i == k - 1:
                    key = sk[n - width:]
                else:
                    key = sk[start:start + width]
                table = tables.setdefault((n, d, i), {})
                table[key] = table.get(key, ()) + (a.index,)
                for m in range(max(1, n - d), min(max_len, n + d) + 1):
                    if i == 0:
                        shifts = [(0, width)]
                    elif i == k - 1:
                        shifts = [(m - width, m)]
                    else:
                        shifts = [(start + delta, start + delta + width) for delta in range(-d, d + 1)]
                    for lo, hi in shifts:
                        if 0 <= lo and hi <= m:
                            probes[m].add(((n, d, i), lo, hi))
        # merge the tables probed with the same slice of a token of length m (fewer lookups)
        self._probes: List[Optional[Tuple[Tuple[Dict[str, Tuple[int, ...]], int, int], ...]]] = []
        for m in range(max_len + 1):
            merged: Dict[Tuple[int, int], Dict[str, Tuple[int, ...]]] = {}
            for key, lo, hi in probes[m]:
                target = merged.setdefault((lo, hi), {})
                for piece, ids in tables[key].items():
                    if len(piece) == hi - lo:
                        target[piece] = tuple(sorted(set(target.get(piece, ()) + ids)))
            self._probes.append(tuple((tab, lo, hi) for (lo, hi), tab in sorted(merged.items())) or None)
        self._fuzzy_any = any(self._probes) or any(self._scan_lists)

    @property
    def size(self) -> int:
        """Number of indexed terms (distinct normalised keys: asset skeletons and homographs)."""
        return len(self._exact)

    # -- matching ------------------------------------------------------------------------------
    def match_domains(self, domains: Iterable[str]) -> List[Match]:
        """One best match per matching SAN (a SAN repeated in ``domains`` is reported once)."""
        out: List[Match] = []
        seen = set()
        for domain in domains or ():
            if domain in seen:
                continue
            try:
                seen.add(domain)
            except TypeError:
                continue
            found = self.match(domain)
            if found is not None:
                out.append(found)
        return out

    def match(self, domain: Any) -> Optional[Match]:
        """The best explained match for one SAN, or None. Never raises on any input string."""
        cache = self._san_cache
        try:
            found = cache.get(domain, _MISSING)
        except TypeError:  # unhashable input
            return None
        if found is _MISSING:
            try:
                found = self._match(domain)
            except Exception:  # pragma: no cover - defensive: a SAN must never break the stream
                found = None
            if len(cache) >= SAN_CACHE_SIZE:
                cache.clear()
            cache[domain] = found
        return None if found is None else replace(found, words=list(found.words), reasons=list(found.reasons))

    def clear_caches(self) -> None:
        """Forget cached results (SAN -> result, label -> tokens); results do not change."""
        self._san_cache.clear()
        self._label_cache.clear()

    def _match(self, domain: Any) -> Optional[Match]:
        # fast path for the usual SAN: printable ASCII, no punycode
        if type(domain) is str and domain.isascii() and domain.isprintable() and len(domain) <= MAX_NAME_CHARS:
            s = domain.lower()
            if "xn--" in s or s[:1].isspace() or s[-1:].isspace():
                labels, notes = _domain_labels(domain)
            else:
                while s.startswith("*."):
                    s = s[2:]
                labels = s.split(".")
                if "" in labels:
                    labels = [lab for lab in labels if lab]
                notes = _NO_NOTES
        else:
            labels, notes = _domain_labels(domain)
        n_labels = len(labels)
        if n_labels < 2:
            return None
        last = labels[-1]
        if last.isdigit() or ":" in last:
            return None  # IPv4 / IPv6 literal
        n_suffix, private = _PSL.suffix_len(labels)
        reg_index = n_labels - n_suffix - 1
        if reg_index < 0:
            return None  # the name is a public suffix itself
        registrable = ".".join(labels[reg_index:])
        if registrable in self._owned:
            return None
        if self._allow and self._allowed(labels, reg_index):
            return None
        cache = self._label_cache
        folded: List[str] = []
        for li in range(reg_index + 1):
            lab = labels[li]
            toks = cache.get(lab)
            if toks is None:
                if lab.isalpha() and lab.isascii():
                    toks = (_fold_ascii(lab),)
                else:
                    toks = tuple([sk for sk in map(_skeleton, _tokens(lab)) if sk])
                if len(cache) >= LABEL_CACHE_SIZE:
                    cache.clear()
                cache[lab] = toks
            folded.extend(toks)
        if not folded:
            return None
        hits = self._find_hits(folded, labels, reg_index, len(toks))
        if not hits:
            return None
        return self._best_match(domain, labels, notes, reg_index, n_suffix, private, registrable, hits)

    def not_watched_reason(self, domain: Any) -> str:
        """Why a name that does not match is left alone, in words for `certstream-check-domain`."""
        labels, _ = _domain_labels(domain)
        parts = _split_labels(labels) if len(labels) >= 2 else None
        if parts is None:
            return "not a domain name the detector compares (IP address, bare name or public suffix)"
        reg_index = len(labels) - parts[0] - 1
        registrable = ".".join(labels[reg_index:])
        if registrable in self._owned:
            return f"`{registrable}` belongs to a watched asset (its own domain)"
        if self._allow and self._allowed(labels, reg_index):
            return f"`{registrable}` or a parent domain is in the allowlist"
        return "no watched asset is imitated"

    def _allowed(self, labels: List[str], reg_index: int) -> bool:
        allow = self._allow
        for i in range(reg_index + 1):
            if ".".join(labels[i:]) in allow:
                return True
        return False

    def _find_hits(self, folded: List[str], labels: List[str], reg_index: int, n_reg_tokens: int) -> list:
        """Cheap pass: candidate hits as (kind, start token, end token, asset index, term, sim, term kind)."""
        exact_get = self._exact.get
        hits: list = []
        n = len(folded)
        limit = self._span_limit
        fuzzy_max = self._fuzzy_max if self._fuzzy_any else -1
        probes_by_len = self._probes
        scan_lists = self._scan_lists
        for i in range(n):
            span = ""
            for j in range(i, n):
                span = folded[j] if j == i else span + folded[j]
                m = len(span)
                if m > limit:
                    break
                entry = exact_get(span)
                if entry is not None:
                    hits.append(("exact", i, j + 1, entry[0], entry[1], 1.0, entry[2]))
                elif m <= fuzzy_max:
                    probes = probes_by_len[m]
                    cands = None
                    if probes is not None:
                        for table, lo, hi in probes:
                            got = table.get(span[lo:hi])
                            if got is not None:
                                if cands is None:
                                    cands = set(got)
                                else:
                                    cands.update(got)
                    if cands is not None or scan_lists[m]:
                        self._verify(span, cands or (), hits, i, j + 1)
        # domain hack: registrable label + suffix read together (payp.al)
        if n_reg_tokens:
            hack = "".join(folded[n - n_reg_tokens:]) if n_reg_tokens > 1 else folded[-1]
            hack += "".join(labels[reg_index + 1:])
            entry = exact_get(hack)
            if entry is not None:
                hits.append(("hack", -1, -1, entry[0], entry[1], 1.0, entry[2]))
        contains = self._contains_re
        if contains is not None:
            joined = "".join(folded) if n > 1 else folded[0]
            if contains.search(joined) is not None:
                for found in self._contains_all.finditer(joined):
                    hits.append(("contains", found.start(1), found.end(1), -1, found.group(1), 0.0, 0))
        return hits

    def _verify(self, span: str, cands: Iterable[int], hits: list, i: int, j: int) -> None:
        t = self.threshold
        assets = self._assets
        m = len(span)
        for ai in list(cands) + self._scan_lists[m]:
            sk = assets[ai].skeleton
            longest = m if m > len(sk) else len(sk)
            d = _lev_distance(span, sk)
            if d and 1.0 - d / longest >= t - _EPS:
                hits.append(("similar", i, j, ai, assets[ai].name, 1.0 - d / longest, 0))

    # -- evidence, context, score, explanation (only for names with a candidate hit) ----------------
    def _best_match(self, domain, labels, notes, reg_index, n_suffix, private, registrable, hits) -> Optional[Match]:
        raw_tokens: List[str] = []
        tok_label: List[int] = []
        folded: List[str] = []
        for li in range(reg_index + 1):
            for tok in _tokens(labels[li]):
                sk = _skeleton(tok)
                if sk:
                    raw_tokens.append(tok)
                    folded.append(sk)
                    tok_label.append(li)
        offsets = []
        pos = 0
        for sk in folded:
            offsets.append(pos)
            pos += len(sk)
        ends = [o + len(sk) for o, sk in zip(offsets, folded)]
        suffix = ".".join(labels[reg_index + 1:])
        tld = labels[-1]
        reg_label = labels[reg_index]
        candidates = []
        for kind, i, j, ai, term, sim, term_kind in hits:
            if kind == "contains":
                start, stop = i, j
                # tokens covering the occurrence
                ti = max(k for k in range(len(folded)) if offsets[k] <= start)
                tj = min(k for k in range(len(folded)) if ends[k] >= stop) + 1
                container = "".join(folded[ti:tj])
                if container == term:
                    continue  # an exact token: already an exact hit
                left = container[:start - offsets[ti]]
                right = container[stop - offsets[ti]:]
                for ai2 in self._contains_map.get(term, ()):
                    candidates.append(self._candidate(
                        "contains", ti, tj, ai2, self._assets[ai2].name, len(term) / len(container), 0,
                        raw_tokens, folded, tok_label, reg_index, (left, right), labels=labels, notes=notes))
            elif kind == "hack":
                candidates.append(self._candidate(
                    "hack", -1, -1, ai, term, 1.0, term_kind, raw_tokens, folded, tok_label, reg_index, None,
                    labels=labels, notes=notes))
            else:
                candidates.append(self._candidate(
                    kind, i, j, ai, term, sim, term_kind, raw_tokens, folded, tok_label, reg_index, None,
                    labels=labels, notes=notes))
        candidates = [c for c in candidates if c is not None]
        if not candidates:
            return None
        # credential words per token; a candidate counts the words outside its own tokens
        token_words = [_token_words(raw, sk) for raw, sk in zip(raw_tokens, folded)]
        abused = tld in ABUSED_TLDS
        hyphens = reg_label.count("-")
        best = None
        for cand in candidates:
            i, j = cand["tokens"]
            words = [w for k, tw in enumerate(token_words) if not i <= k < j for w in tw]
            cand["next_token"] = raw_tokens[j] if 0 <= i and j < len(raw_tokens) and \
                tok_label[j] == tok_label[j - 1] else None
            if i >= 0:
                span_labels = set(tok_label[i:j])
                rest = [raw_tokens[k] for k in range(len(raw_tokens))
                        if tok_label[k] in span_labels and not i <= k < j]
                cand["rest_explained"] = all(_segment_cached(r) is not None for r in rest if r.isascii()) \
                    and all(r.isascii() for r in rest)
                cand["partial"] = bool(rest)
            else:
                cand["rest_explained"], cand["partial"] = True, False
            scored = self._score(cand, words, abused, hyphens, private, suffix, labels, reg_index, notes)
            if scored is None:
                continue
            # strongest score; on a tie the more specific (longer) match, then the stronger evidence
            scored["key"] = (scored["score"], len(cand["display"].replace("-", "").replace(".", "")),
                             -scored["rank"])
            if best is None or scored["key"] > best["key"]:
                best = scored
        if best is None:
            return None
        score = max(0, min(100, best["score"]))
        words_list = sorted(set(best["words"]))
        asset = self._assets[best["asset"]]
        parts = [best["what"], f"registrable domain `{registrable}`", f"brand asset `{asset.name}`"]
        if words_list:
            parts.append("words: " + ", ".join(words_list))
        parts += best["reasons"]
        explanation = "; ".join(parts)
        return Match(
            domain=domain,
            normalized=".".join(labels),
            registrable=registrable,
            asset=asset.name,
            term=best["term"],
            similarity=round(best["sim"], 4),
            score=score,
            severity=_severity(score),
            evidence=best["evidence"],
            words=words_list,
            explanation=explanation,
            token=best["token"],
            reasons=best["reasons"],
        )

    def _candidate(self, kind, i, j, ai, term, sim, term_kind, raw_tokens, folded, tok_label, reg_index,
                   residue, labels=None, notes=None) -> Optional[dict]:
        asset = self._assets[ai]
        notes = notes or {}
        if kind == "hack":
            raw = ".".join(labels[reg_index:])
            in_reg, in_sub = True, False
            display = raw
            lab_idx = list(range(reg_index, len(labels)))
            steps = _fold_steps("".join(labels[reg_index:]).replace("-", ""))
        else:
            raw_span = raw_tokens[i:j]
            lab_idx = tok_label[i:j]
            in_reg = any(li == reg_index for li in lab_idx)
            in_sub = not in_reg
            # display: raw tokens with their separators
            display = raw_span[0]
            for k in range(1, len(raw_span)):
                display += ("." if lab_idx[k] != lab_idx[k - 1] else "-") + raw_span[k]
            steps = []
            for li in sorted(set(lab_idx)):
                how, raw_label = notes.get(li, ("", ""))
                if how == "idna":
                    steps.append(f"punycode `{raw_label}` decodes to `{labels[li]}`")
                elif how == "punycode-invalid-idna":
                    steps.append(f"punycode `{raw_label}` decodes to `{labels[li]}` (not valid IDNA 2008)")
                elif how == "invisible-removed":
                    steps.append("invisible characters removed from the label")
            for tok in raw_span:
                for step in _fold_steps(tok):
                    if step not in steps:
                        steps.append(step)
        joined_raw = display.replace("-", "").replace(".", "")
        if joined_raw == asset.label.replace("-", "").replace(".", ""):
            # the brand as the asset writes it (office365): its own digits are no disguise
            steps = [st for st in steps if st.startswith(("punycode", "invisible"))]
        cross = kind != "hack" and j - i > 1
        return {
            "kind": kind, "asset": ai, "term": term, "sim": sim, "term_kind": term_kind,
            "in_reg": in_reg, "in_sub": in_sub, "display": display, "steps": steps,
            "plain": joined_raw == asset.label.replace("-", "") and not steps,
            "cross": cross, "residue": residue, "tokens": (i, j), "last_label": lab_idx[-1],
        }

    def _score(self, cand, words, abused, hyphens, private, suffix, labels, reg_index, notes) -> Optional[dict]:
        asset = self._assets[cand["asset"]]
        kind = cand["kind"]
        reasons: List[str] = []
        cand_words = list(words)
        disguised = bool(cand["steps"])
        idn = any(s.startswith("punycode") or "invisible" in s or ("read as" in s and not s.startswith(
            ("digit", "rn ", "vv ", "cl "))) for s in cand["steps"])
        span_text = f"`{cand['display']}`"
        if kind in ("exact", "hack"):
            if cand["term_kind"] == 1:
                evidence, rank, base = "homograph", 0, 70
                what = f"label {span_text} is the listed homograph `{cand['term']}`"
                if disguised:
                    what += " (" + ", ".join(cand["steps"]) + ")"
            else:
                evidence, rank = "skeleton", 1
                if disguised:
                    base = 75
                    what = f"label {span_text} folds to `{asset.skeleton}` (" + ", ".join(cand["steps"]) + ")"
                else:
                    base = 50
                    if kind == "hack":
                        what = f"labels {span_text} read together spell `{asset.skeleton}`"
                    elif cand["cross"]:
                        what = f"labels {span_text} joined spell `{asset.skeleton}`"
                    else:
                        what = f"label {span_text} is the brand `{asset.label}`"
            if idn:
                base += 10
        elif kind == "similar":
            evidence, rank = "similar", 2
            base = int(round(20 + 40 * cand["sim"]))
            what = (f"label {span_text} is {cand['sim']:.2f} similar to `{asset.skeleton}` "
                    f"(threshold {self.threshold:g})")
            if disguised:
                what += " after folding (" + ", ".join(cand["steps"]) + ")"
        else:  # contains
            evidence, rank = "contains", 3
            left, right = cand["residue"]
            rest = [r for r in (left, right) if r]
            explained = []
            ok = True
            for r in rest:
                seg = _segment_cached(r)
                if seg is None:
                    ok = False
                else:
                    explained += seg
            cand_words += [w for w in explained if w in CREDENTIAL_WORDS]
            base = 35
            what = f"label {span_text} contains `{asset.skeleton}`"
            if disguised:
                what += " after folding (" + ", ".join(cand["steps"]) + ")"
            if ok and explained:
                what += " with " + " + ".join(f"`{w}`" for w in explained)
        score = base
        in_sub = cand["in_sub"]
        # a full host name imitated inside the subdomain (paypal.com.evil.top)
        after = cand["last_label"] + 1
        imitation = in_sub and after < reg_index and labels[after] in _HOST_IMITATION_LABELS
        if in_sub and not imitation and cand.get("next_token") in _HOST_IMITATION_LABELS:
            imitation = True  # paypal-com.evil.top, facebookcom-2897.evil.as
        if in_sub and not imitation and kind == "contains" and cand["residue"][1][:3] in ("com", "net", "org"):
            imitation = True
        # weak evidence needs supporting context (general guards, see docs/detection.md)
        if kind == "contains":
            # a long brand with a few stray characters around it (facebookcu, binancezh)
            distinctive = len(asset.skeleton) >= MIN_DISTINCTIVE_LEN and sum(map(len, rest)) <= 3
            if in_sub:
                if not (cand_words or imitation or (distinctive and ok)):
                    return None
            elif not (ok or cand_words or abused or private or distinctive):
                return None
        elif in_sub and not disguised and evidence in ("skeleton", "homograph"):
            if len(asset.skeleton) < MIN_NESTED_LEN and not (cand_words or imitation or abused):
                return None
        elif evidence in ("homograph", "similar") and not disguised and cand["partial"] \
                and not cand["rest_explained"]:
            # a typo or listed variant among unknown words (ntt-finance, case-battle): needs context
            if not (cand_words or abused):
                return None
        elif in_sub and evidence == "similar":
            if not (cand_words or imitation):
                return None
        if in_sub:
            reasons.append(f"brand placed in the subdomain of `{'.'.join(labels[reg_index:])}`")
            score += 5
        if imitation:
            reasons.append("subdomain imitates a full host name")
            score += 10
        if cand_words:
            score += min(30, 10 * len(set(cand_words)))
        if hyphens >= 2:
            reasons.append(f"{hyphens} hyphens in the registrable label")
            score += 5 if hyphens < 4 else 10
        if abused:
            reasons.append(f"TLD `.{labels[-1]}` is often abused")
            score += 10
        if private:
            reasons.append(f"hosted under the shared suffix `{suffix}` (the label is chosen by whoever signed up)")
            score += 5
        note_kinds = {how for how, _raw in notes.values()}
        if "punycode-invalid-idna" in note_kinds:
            reasons.append("punycode label is not valid IDNA 2008")
        if "invalid-a-label" in note_kinds:
            reasons.append("a label starting xn-- is not valid punycode (kept as written)")
        return {"score": score, "rank": rank, "evidence": evidence, "asset": cand["asset"],
                "term": cand["term"] if evidence == "homograph" else asset.name,
                "sim": cand["sim"], "what": what, "words": cand_words, "reasons": reasons,
                "token": cand["display"]}


# --- the original pack's rule (baseline) ---------------------------------------------------------

def baseline_similarity_match(domain: str, watch_list: Dict[str, List[str]],
                              threshold: float = DEFAULT_THRESHOLD, distance=None) -> Optional[Dict[str, Any]]:
    """The original CertStream pack's rule, faithfully (with the C edit distance unless another
    ``distance(a, b)`` is given): skip names
    starting with ``*``; split on ``.``; drop only the last label; compare every remaining label with
    every homograph of every asset (the asset keys themselves are not compared); similarity =
    1 - distance / max(len); strict ``>``; first hit wins. Returns
    ``{"similarity", "homograph", "asset"}`` or None."""
    if not isinstance(domain, str) or domain.startswith("*"):
        return None
    for word in domain.split(".")[:-1]:
        for asset, homographs in watch_list.items():
            for homograph in homographs:
                longest = max(len(homograph), len(word))
                if longest == 0:
                    continue
                similarity = 1 - (distance or _lev_distance)(homograph, word) / longest
                if similarity > threshold:
                    return {"similarity": similarity, "homograph": homograph, "asset": asset}
    return None
