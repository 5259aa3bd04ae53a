"""GenerateDomainHomographs: turns an organisation's domains into the CertStream watch list
`{"<asset>": ["<homograph>", ...]}`, optionally written to an XSOAR list.

Permutations come from dnstwist's Fuzzer (the label only: the CertStream detector compares labels
and already alerts on an asset's exact label under a registrable domain the asset does not own).
Every candidate goes through the detector's own normalize_term, so the list never holds two
entries the detector treats as the same, nor an entry the detector already folds onto the asset.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401
from CommonServerUserPython import *  # noqa: F401
from CertStreamDetectorApiModule import *  # noqa: F401

import ipaddress
import unicodedata
from urllib.parse import urlsplit

import dnstwist
import idna
from publicsuffixlist import PublicSuffixList

LIST_NOT_FOUND = "Item not found (8)"
MODES = ("merge", "replace")
DEFAULT_MAX_PER_DOMAIN = 1000

# dnstwist fuzzers that change the registrable label, most deceptive first (used to rank when
# max_per_domain cuts the list; within a rank, the closest to the asset come first).
LABEL_KINDS = (
    "homoglyph", "cyrillic", "replacement", "omission", "transposition", "repetition", "insertion",
    "hyphenation", "vowel-swap", "addition", "bitsquatting", "plural", "various", "dictionary",
)
# The defaults: lookalikes of the label itself. Not `dictionary` (brand + word: the detector's
# "contains" rule already covers these), not `various` (glues the TLD onto the label).
DEFAULT_KINDS = (
    "addition", "bitsquatting", "cyrillic", "homoglyph", "hyphenation", "insertion", "omission",
    "plural", "repetition", "replacement", "transposition", "vowel-swap",
)
# dnstwist fuzzers that keep the label and change what is around it: nothing for a label list.
NOT_LABEL_KINDS = {
    "tld-swap": "it only changes the TLD, and the detector already alerts on an asset's exact label "
                "under any registrable domain the asset does not own",
    "subdomain": "it splits the label with a dot; the detector compares labels and also checks the "
                 "labels joined together",
}
# Words `dictionary` combines with the label (brand-plus-word phishing names).
PHISHING_WORDS = (
    "login", "signin", "secure", "account", "verify", "verification", "update", "support", "help",
    "service", "billing", "payment", "pay", "wallet", "auth", "sso", "portal", "online", "web",
    "app", "mail", "my", "id", "customer", "security", "confirm", "recovery", "unlock",
)
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
HOSTNAME_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$", re.UNICODE)

_PSL = None


def public_suffix_list() -> PublicSuffixList:
    global _PSL
    if _PSL is None:
        _PSL = PublicSuffixList()
    return _PSL


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
def parse_bool(value, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    try:
        return argToBoolean(value)
    except ValueError:
        raise DemistoException(f"'{name}' must be true or false, got {value!r}.")


def parse_kinds(value) -> list:
    kinds = [str(kind).strip().lower() for kind in argToList(value) if str(kind).strip()]
    if not kinds:
        return list(DEFAULT_KINDS)
    if kinds in (["all"], ["*"]):
        return list(LABEL_KINDS)
    for kind in kinds:
        if kind in NOT_LABEL_KINDS:
            raise DemistoException(f"Permutation kind '{kind}' is not supported: {NOT_LABEL_KINDS[kind]}. "
                                   f"Valid kinds: {', '.join(sorted(LABEL_KINDS))} (or 'all').")
        if kind not in LABEL_KINDS:
            raise DemistoException(f"Unknown permutation kind '{kind}'. "
                                   f"Valid kinds: {', '.join(sorted(LABEL_KINDS))} (or 'all').")
    return list(dict.fromkeys(kinds))


def parse_max(value) -> int:
    try:
        number = arg_to_number(value, "max_per_domain")
    except ValueError:
        raise DemistoException(f"'max_per_domain' must be a whole number (0 for no limit), got {value!r}.")
    if number is None:
        return DEFAULT_MAX_PER_DOMAIN
    if number < 0:
        raise DemistoException(f"'max_per_domain' must be 0 (no limit) or more, got {value!r}.")
    return number


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", INVISIBLE.sub("", str(text))).strip().lower()
    return text


def _decode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return idna.decode(label)
        except Exception:  # an invalid A-label: keep it as written
            return label
    return label


def parse_domain(raw: str) -> tuple:
    """Returns (asset, label) for one user-given domain, URL or brand name.

    `paypal` -> ("paypal", "paypal"); `https://www.paypal.co.uk/x` -> ("paypal.co.uk", "paypal").
    Raises DemistoException for IP addresses, public suffixes and names that are not host names.
    """
    original = str(raw)
    text = _clean(raw)
    if not text:
        raise DemistoException("An empty domain name was given.")
    if "://" in text or "/" in text or "?" in text or "@" in text:
        try:
            host = urlsplit(text if "://" in text else "//" + text).hostname
        except ValueError:
            host = None
        if not host:
            raise DemistoException(f"Could not find a host name in {original!r}.")
        text = host
    text = text.strip("[]")
    if text.startswith("*."):
        text = text[2:]
    text = text.strip(".")
    try:
        ipaddress.ip_address(text)
        raise DemistoException(f"{original!r} is an IP address; give the domain name of the brand to protect.")
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", text):
        raise DemistoException(f"{original!r} is not a domain name.")
    labels = [_decode_label(label) for label in text.split(".")]
    if not all(HOSTNAME_LABEL.match(label) and "_" not in label for label in labels):
        raise DemistoException(f"{original!r} is not a valid domain name (letters, digits and hyphens only).")
    text = ".".join(labels)
    if len(labels) == 1:
        return text, text
    registrable = public_suffix_list().privatesuffix(text)
    if not registrable:
        raise DemistoException(f"{original!r} is a public suffix (like co.uk), not a domain an organisation owns.")
    return registrable, registrable.split(".")[0]


def parse_domains(value) -> list:
    """Unique (asset, label) pairs in the order given."""
    seen, result = set(), []
    for item in argToList(value, separator=","):
        for part in re.split(r"[\s;]+", str(item)):
            if not part.strip():
                continue
            asset, label = parse_domain(part)
            if asset not in seen:
                seen.add(asset)
                result.append((asset, label))
    return result


def _label_of(name: str) -> str:
    """The registrable label of a domain (`paypa1.com` -> `paypa1`); a bare label unchanged."""
    try:
        return parse_domain(name)[1]
    except DemistoException:
        return _clean(name)


def asset_label(asset: str) -> str:
    return _label_of(asset) if "." in asset else _clean(asset)


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def _distance(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


MIN_ASCII_VARIANT_LENGTH = 4  # shorter ASCII permutations of short brands are everyday labels


def generate_variants(label: str, kinds: list) -> list:
    """[(kind, ascii_or_punycode_label)] from dnstwist, ranked: closest first, then by kind."""
    ascii_label = idna.encode(label).decode() if not label.isascii() else label
    words = PHISHING_WORDS if "dictionary" in kinds else []
    fuzzer = dnstwist.Fuzzer(f"{ascii_label}.com", dictionary=words)
    fuzzer.generate(fuzzers=kinds)
    rank = {kind: index for index, kind in enumerate(LABEL_KINDS)}
    variants = {}
    for permutation in fuzzer.domains:
        domain = permutation["domain"]
        if not domain.endswith(".com"):
            continue
        variant = domain[:-len(".com")]
        if not variant or "." in variant or variant == ascii_label:
            continue
        if "xn--" not in variant and len(variant) < MIN_ASCII_VARIANT_LENGTH:
            continue  # `hq`, `ibn`: ordinary words and abbreviations, not lookalikes to alert on
        kind = permutation["fuzzer"]
        if variant not in variants or rank.get(kind, 99) < rank.get(variants[variant], 99):
            variants[variant] = kind
    unicode_label = label
    return sorted(((kind, variant) for variant, kind in variants.items()),
                  key=lambda item: (_distance(_decode_label(item[1]), unicode_label), rank.get(item[0], 99), item[1]))


def variant_forms(variant: str, include_idn: bool) -> list:
    """The list entries for one variant: an ASCII label as is; an IDN in both forms (Unicode first)
    when include_idn, else nothing."""
    if "xn--" not in variant:
        return [variant]
    if not include_idn:
        return []
    try:
        unicode_form = idna.decode(variant)
    except Exception:
        return [variant]
    return [unicode_form, variant]


class TermSet:
    """The entries of one asset, keyed by the detector's normalize_term."""

    def __init__(self, asset: str, entries=(), blocked_keys=()):
        self.asset = asset
        self.entries = []
        self.asset_keys = {normalize_term(asset), normalize_term(asset_label(asset))}
        self.blocked = set(self.asset_keys) | set(blocked_keys)
        self.keys = set(self.blocked)
        self.kept_keys = {}  # key of an entry the list already had -> still to be counted this run
        for entry in entries:  # existing entries are kept as they are (user-added ones included)
            self.entries.append(entry)
            key = normalize_term(entry)
            self.keys.add(key)
            if key not in self.blocked:
                self.kept_keys[key] = True

    def add(self, forms: list) -> tuple:
        """Adds the forms of one variant unless the detector already has its key.

        Returns (entries added, size): size is how many list entries the variant stands for in
        this run (its forms, whether added now or already in the list; 0 when it is the asset, an
        allowlisted name, or a duplicate of a variant of this run), so that a limit counts the same
        variants on every run and merging twice adds nothing."""
        forms = [form for form in forms if form]
        if not forms:
            return 0, 0
        key = normalize_term(forms[0])
        if not key or key in self.blocked:
            return 0, 0
        if key in self.keys:
            if self.kept_keys.pop(key, False):
                return 0, len(forms)
            return 0, 0
        added = 0
        for form in forms:
            if form not in self.entries:
                self.entries.append(form)
                added += 1
        self.keys |= {normalize_term(form) for form in forms}
        return added, len(forms)


def allowlist_keys(values) -> set:
    keys = set()
    for value in argToList(values):
        value = _clean(value)
        if not value:
            continue
        keys.add(normalize_term(value))
        keys.add(normalize_term(_label_of(value)))
    return keys


def same_asset(a: str, b: str) -> bool:
    """`paypal` and `paypal.com` name the same asset (a bare label owns <label>.com)."""
    a, b = a.strip().lower().rstrip("."), b.strip().lower().rstrip(".")
    return a == b or (a + ".com") == b or a == (b + ".com")


def find_asset(watch_list: dict, asset: str):
    for key in watch_list:
        if same_asset(key, asset):
            return key
    return None


def extract_suggestions(value) -> dict:
    """A watch list from free text (an LLM answer): the JSON object inside it, or {}."""
    texts = value if isinstance(value, list) else [value]
    found = {}
    for text in texts:
        if isinstance(text, dict):
            text = json.dumps(text)
        text = str(text or "").strip()
        if not text:
            continue
        candidates = [text]
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            candidates.append(text[start:end + 1])
        for candidate in candidates:
            try:
                parsed = parse_watch_list(candidate)
            except (WatchListError, ValueError, TypeError):
                continue
            for asset, terms in parsed.items():
                found.setdefault(asset, []).extend(terms)
            break
    return found


def clean_suggestion(term: str):
    """An LLM-suggested term as a label (`paypa1.com` -> `paypa1`), or None when it is not one."""
    term = _clean(term)
    if not term or " " in term:
        return None
    if "." in term:  # a whole domain: keep its label only when nothing is nested in front of it
        try:
            registrable, label = parse_domain(term)
        except DemistoException:
            return None
        if registrable != ".".join(_decode_label(part) for part in term.strip(".").split(".")):
            return None
        term = label
    term = _decode_label(term)
    return term if HOSTNAME_LABEL.match(term) and "_" not in term else None


# ---------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------
def read_list(name: str):
    """The list's text, or None when the list does not exist."""
    entries = demisto.executeCommand("getList", {"listName": name})
    entry = entries[0] if isinstance(entries, list) and entries else {}
    contents = entry.get("Contents") if isinstance(entry, dict) else None
    if isinstance(contents, str) and contents.strip() == LIST_NOT_FOUND:
        return None
    if isError(entry):
        raise DemistoException(f"Could not read the list '{name}': {contents}")
    if contents is None:
        return ""
    return contents if isinstance(contents, str) else json.dumps(contents)


def existing_watch_list(name: str) -> dict:
    text = read_list(name)
    if text is None or text.strip() in ("", "{}", "[]"):
        return {}
    try:
        return parse_watch_list(text)
    except WatchListError as error:
        raise DemistoException(f"The list '{name}' holds no valid watch list ({error}). Fix it, or run again "
                               f"with mode=replace to overwrite it.")


def write_list(name: str, text: str) -> None:
    entries = demisto.executeCommand("setList", {"listName": name, "listData": text})
    if not isinstance(entries, list) or not entries:
        raise DemistoException(f"Writing the list '{name}' failed: the server gave no answer to setList.")
    if isError(entries):
        raise DemistoException(f"Writing the list '{name}' failed: {get_error(entries)}")


# ---------------------------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------------------------
def build_watch_list(args: dict) -> tuple:
    """Returns (watch_list, rows, options) without writing anything."""
    domains = parse_domains(args.get("domains"))
    kinds = parse_kinds(args.get("permutation_kinds"))
    include_idn = parse_bool(args.get("include_idn"), "include_idn", True)
    max_per_domain = parse_max(args.get("max_per_domain"))
    mode = str(args.get("mode") or "merge").strip().lower()
    if mode not in MODES:
        raise DemistoException(f"'mode' must be merge or replace, got {args.get('mode')!r}.")
    list_name = str(args.get("list_name") or "").strip()
    blocked = allowlist_keys(args.get("allowlist"))

    extra = {}
    extra_text = args.get("extra_list")
    if isinstance(extra_text, (dict, list)):
        extra_text = json.dumps(extra_text)
    if extra_text and str(extra_text).strip():
        try:
            extra = parse_watch_list(str(extra_text))
        except WatchListError as error:
            raise DemistoException(f"'extra_list' is not a valid watch list: {error}")
    suggestions = extract_suggestions(args.get("suggestions"))

    if not domains and not extra:
        raise DemistoException("Give one or more domains in 'domains' (for example paypal.com, examplebank), "
                               "or a watch list in 'extra_list'.")

    base = existing_watch_list(list_name) if list_name and mode == "merge" else {}
    watch = {}  # asset -> TermSet, in order: existing assets first
    for asset, terms in base.items():
        watch[asset] = TermSet(asset, terms, blocked)

    def term_set(asset: str) -> TermSet:
        key = find_asset({name: None for name in watch}, asset)
        if key is None:
            watch[asset] = TermSet(asset, (), blocked)
            key = asset
        return watch[key]

    generated = {}
    for asset, label in domains:
        terms = term_set(asset)
        added = taken = 0
        for _kind, variant in generate_variants(label, kinds):
            if max_per_domain and taken >= max_per_domain:
                break
            forms = variant_forms(variant, include_idn)
            if not forms or (max_per_domain and taken + len(forms) > max_per_domain):
                continue
            new, size = terms.add(forms)
            added += new
            taken += size
        generated[terms.asset] = generated.get(terms.asset, 0) + added
    for asset, entries in extra.items():
        terms = term_set(_clean(asset) or asset)
        count = sum(terms.add([_clean(entry)])[0] for entry in entries if _clean(entry))
        generated[terms.asset] = generated.get(terms.asset, 0) + count
    suggested_total = 0
    for asset, entries in suggestions.items():
        key = find_asset({name: None for name in watch}, _clean(asset))
        if key is None:  # only assets being built: an LLM does not get to add brands
            continue
        for entry in entries:
            term = clean_suggestion(entry)
            if term:
                count = watch[key].add([term])[0]
                suggested_total += count
                generated[key] = generated.get(key, 0) + count

    watch_list = {asset: terms.entries for asset, terms in watch.items()}
    rows = [{"Asset": asset, "Count": len(entries), "Added": generated.get(asset, 0), "ListName": list_name,
             "Sample": ", ".join(entries[:8]) + (" ..." if len(entries) > 8 else "")}
            for asset, entries in watch_list.items()]
    options = {"list_name": list_name, "mode": mode, "kinds": kinds, "include_idn": include_idn,
               "max_per_domain": max_per_domain, "suggested": suggested_total,
               "dry_run": parse_bool(args.get("dry_run"), "dry_run", False),
               "create_file": parse_bool(args.get("create_file"), "create_file", False)}
    return watch_list, rows, options


def generate_domain_homographs(args: dict) -> list:
    watch_list, rows, options = build_watch_list(args)
    text = json.dumps(watch_list, ensure_ascii=False, indent=2)
    try:  # the detector must accept what is written
        parse_watch_list(text)
    except WatchListError as error:
        raise DemistoException(f"The generated watch list was rejected by the detector: {error}")
    list_name = options["list_name"]
    written = bool(list_name) and not options["dry_run"]
    if written:
        write_list(list_name, text)

    terms = sum(len(entries) for entries in watch_list.values())
    if written:
        status = f"Wrote {terms} terms for {len(watch_list)} assets to the list '{list_name}' ({options['mode']})."
    elif list_name:
        status = (f"Dry run: {terms} terms for {len(watch_list)} assets would be written to the list "
                  f"'{list_name}' ({options['mode']}).")
    else:
        status = f"Generated {terms} terms for {len(watch_list)} assets (no list_name given: nothing written)."
    if options["suggested"]:
        status += f" {options['suggested']} came from the suggestions."
    readable = tableToMarkdown("CertStream watch-list homographs", rows,
                               headers=["Asset", "Count", "Added", "Sample"]) + "\n" + status
    outputs = {
        "CertStream.Homographs(val.Asset && val.Asset == obj.Asset)": [
            {"Asset": row["Asset"], "Count": row["Count"], "Added": row["Added"], "ListName": list_name}
            for row in rows],
        "CertStream.WatchList(val.ListName == obj.ListName)": {
            "ListName": list_name, "Mode": options["mode"], "Written": written, "Assets": len(watch_list),
            "Terms": terms, "JSON": text},
    }
    results = [CommandResults(outputs=outputs, readable_output=readable, raw_response=watch_list)]
    if options["create_file"]:
        results.append(fileResult(f"{list_name or 'certstream_watch_list'}.json", text))
    return results


def main():  # pragma: no cover - dispatch only
    try:
        return_results(generate_domain_homographs(demisto.args()))
    except Exception as error:
        return_error(f"Failed to execute GenerateDomainHomographs. Error: {error}")


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
