"""Writes the demo sample for `xsoar-local demo` (deterministic: same output on every run).

    python scripts/make_demo_sample.py [--out xsoar_local/samples]

- demo_stream.txt: ~3,000 made-up but realistic domain names (businesses, blogs, shops, SaaS
  tenants, cloud/CDN hosts, country TLDs, IDNs, wildcards) with a handful of planted lookalikes of
  the watched brands, a few of the brands' own names and innocent names sharing substrings.
- demo_watchlist.json: the watched brands with short homograph lists that deliberately do NOT
  contain the planted strings, so the demo shows the detector generalising.
- demo_expected.json: which stream lines must create incidents (lookalikes, with their asset) and
  which must not (own, innocent).

Generated names that resemble a brand (containment, or a similar label by a conservative measure)
are discarded, so the only incidents the demo should create are the planted ones.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import unicodedata

import idna
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "xsoar_local", "samples")
TOTAL = 3000
SEED = 20260301

WATCHLIST = {
    "paypal": ["paypai", "pay-pal", "paypall"],
    "examplebank.com": ["exarnplebank", "examplebnak"],
    "wellpoint": ["wel1point", "wellpoimt"],
    "globex": ["gl0bex", "globexx"],
    "acmecorp": ["acnecorp", "acme-corp"],
}

# Planted lookalike -> the asset it imitates. None of these strings is in WATCHLIST.
LOOKALIKES = {
    "paypa1-login.com": "paypal",
    idna.encode("p\u0430ypal.com").decode(): "paypal",  # Cyrillic a: xn--pypal-4ve.com
    "paypal.com-account-verify.info": "paypal",
    "secure-examp1ebank.com": "examplebank.com",
    "we11point-benefits.com": "wellpoint",
    "globex-support-verify.top": "globex",
    "g1obex-billing.com": "globex",
    "*.acme-c0rp.net": "acmecorp",
}
OWN = ["www.paypal.com", "login.examplebank.com", "examplebank.com"]
# Share substrings with the brands (pal, bank, point, acme, corp, box) but are not lookalikes.
INNOCENT = ["xboxfans.net", "acmeplumbing.com.au", "bankside-bakery.co.uk", "pointwell-physio.de",
            "bookpal-reviews.com", "corporatewellness.org", "acmeanvils.shop", "appointment-reminders.io"]

# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------
ADJECTIVES = """blue green silver golden quiet bright happy little north south east west urban rustic
modern clever swift bold fresh wild sunny cosy lucky prime true open rapid smart simple noble royal
humble coastal alpine misty copper amber crimson ivory velvet cedar maple pine river stone iron
hidden friendly tiny grand red black white purple orange lemon mint salty sweet honest daily
first local central harbour highland lakeside riverside seaside sunset sunrise midnight""".split()
NOUNS = """bakery garden studio kitchen harbor valley meadow forge lantern compass anchor canvas pixel
orbit summit bridge market atelier workshop clinic dental tailor bistro cafe brewery roastery
bookshop florist vineyard farm cabin lodge motel yoga fitness dojo academy tutors legal accounting
plumbing roofing electric motors cycles pets vet salon barber photo films records games toys crafts
pottery candles soap tea coffee chocolate cheese bagels pizza tacos sushi ramen noodles dumplings
kayaks tents ski surf dive travel tours rentals homes realty builders design media print signs
solar energy water logistics freight couriers cleaning movers landscaping architects interiors
jewelry watches optics shoes denim knits quilts fabrics frames guitars pianos drums""".split()
SUFFIXES = ["", "", "", "", "co", "hq", "group", "labs", "works", "shop", "store", "online", "hub",
            "house", "studio", "collective", "and-sons", "direct", "express", "pro"]
FIRST_NAMES = """anna ben carla david elena felix greta hiro ines jonas kofi lena marco nadia oscar priya
quentin rosa sven tara ulla viktor wen ximena yusuf zoe amir bianca chloe dmitri emil fatima gustav
hana ivan julia kai lucia mateo nora omar pablo rania sofia tomas vera will yara""".split()
LAST_NAMES = """schmidt novak garcia tanaka okafor silva larsen dubois rossi kowalski nguyen murphy
jensen moreau costa fischer haddad ivanova keller lindqvist mendes ortega petrov quinn romero sato
turner varga weber young zeller brennan castillo dalton eriksen fontaine gallo horvat ibrahim""".split()
BLOG_WORDS = ["blog", "writes", "journal", "notes", "diary", "cooks", "travels", "photography",
              "portfolio", "dev", "codes", "makes", "reads", "runs", "bakes"]
SERVICES = ["mail", "api", "vpn", "git", "shop", "blog", "app", "portal", "staging", "dev", "status",
            "docs", "cdn", "autodiscover", "webmail", "remote", "cloud", "crm", "intranet", "grafana",
            "jenkins", "auth", "sso", "m", "beta", "admin", "support", "help", "kb", "files"]
TLDS = (["com"] * 30 + ["net"] * 5 + ["org"] * 5 + ["io"] * 3 + ["co"] * 2 +
        """de de de fr fr nl nl co.uk co.uk es it pl se ch at be dk fi no pt cz com.au ca co.nz co.jp
        com.br com.mx in co.za ie app dev shop store online site xyz tech blog cafe studio design eu
        us me tv""".split())
SAAS = ["myshopify.com", "zendesk.com", "atlassian.net", "freshdesk.com", "herokuapp.com", "vercel.app",
        "netlify.app", "github.io", "pages.dev", "azurewebsites.net", "web.app", "firebaseapp.com",
        "wpengine.com", "onrender.com", "fly.dev", "squarespace.com", "wixsite.com", "webflow.io",
        "gitlab.io", "readthedocs.io", "substack.com", "ghost.io", "notion.site", "glitch.me"]
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1",
           "ap-northeast-1", "sa-east-1", "ca-central-1", "eu-north-1"]
IDN_WORDS = ["müller-bäckerei.de", "schöne-aussicht.at", "café-lumière.fr", "niño-feliz.es",
             "smörgåsbord.se", "øresund-kajak.dk", "jäätelö.fi", "blumenstraße.de", "crème-brûlée.fr",
             "pâtisserie-étoile.fr", "köln-fahrräder.de", "zürich-uhren.ch", "пример.рф", "книги.рф",
             "mañana-tacos.mx", "açaí-bowls.com.br", "žluťoučký-kůň.cz", "łódź-rowery.pl"]

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"


def pick(rng: random.Random, words: list[str]) -> str:
    return words[rng.randrange(len(words))]


def token(rng: random.Random, alphabet: str, size: int) -> str:
    return "".join(pick(rng, alphabet) for _ in range(size))


def business(rng: random.Random) -> str:
    name = pick(rng, ADJECTIVES) + rng.choice(["", "-"]) + pick(rng, NOUNS)
    suffix = pick(rng, SUFFIXES)
    if suffix:
        name += ("-" if "-" in suffix else rng.choice(["", "-"])) + suffix
    return f"{name}.{pick(rng, TLDS)}"


def service_host(rng: random.Random) -> str:
    return f"{pick(rng, SERVICES)}.{business(rng)}"


def blog(rng: random.Random) -> str:
    first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
    return rng.choice([f"{first}{last}.{pick(rng, TLDS)}", f"{first}-{last}.com",
                       f"{first}{pick(rng, BLOG_WORDS)}.{pick(rng, TLDS)}",
                       f"blog.{first}{last}.{rng.choice(['com', 'net', 'io', 'dev'])}",
                       f"{first}{last}.{rng.choice(['github.io', 'substack.com', 'wordpress.com'])}"])


def shop(rng: random.Random) -> str:
    noun = pick(rng, NOUNS)
    return rng.choice([f"shop.{pick(rng, ADJECTIVES)}{noun}.{pick(rng, TLDS)}",
                       f"{noun}{rng.choice(['store', 'shop', 'outlet', 'supply', 'depot'])}.{pick(rng, TLDS)}",
                       f"best-{noun}-deals.{rng.choice(['com', 'shop', 'store', 'online'])}",
                       f"{pick(rng, ADJECTIVES)}-{noun}.{rng.choice(['shop', 'store', 'boutique'])}"])


def saas_tenant(rng: random.Random) -> str:
    tenant = pick(rng, ADJECTIVES) + pick(rng, NOUNS) + rng.choice(["", "", str(rng.randrange(2, 99))])
    return f"{tenant}.{pick(rng, SAAS)}"


def cloud_host(rng: random.Random) -> str:
    region = pick(rng, REGIONS)
    ip = "-".join(str(rng.randrange(1, 255)) for _ in range(4))
    return rng.choice([
        f"d{token(rng, ALNUM, 13)}.cloudfront.net",
        f"d{token(rng, ALNUM, 13)}.cloudfront.net",
        f"ec2-{ip}.{region}.compute.amazonaws.com",
        f"{token(rng, ALNUM, 10)}.execute-api.{region}.amazonaws.com",
        f"main.d{token(rng, ALNUM, 13)}.amplifyapp.com",
        f"{pick(rng, NOUNS)}-{token(rng, HEX, 16)}.z01.azurefd.net",
        f"{pick(rng, NOUNS)}-{token(rng, ALNUM, 10)}-uc.a.run.app",
        f"{token(rng, HEX, 12)}.ngrok-free.app",
        f"k8s-{pick(rng, NOUNS)}-{token(rng, HEX, 10)}.elb.{region}.amazonaws.com",
        f"{pick(rng, NOUNS)}{rng.randrange(1, 40)}.{pick(rng, ADJECTIVES)}cloud.net",
    ])


def wildcard(rng: random.Random) -> str:
    return rng.choice([f"*.{business(rng)}", f"*.{saas_tenant(rng)}", f"*.apps.{business(rng)}"])


def idn(rng: random.Random) -> str:
    return idna.encode(pick(rng, IDN_WORDS), uts46=True).decode()


GENERATORS = [(business, 38), (service_host, 15), (blog, 11), (shop, 9), (saas_tenant, 11),
              (cloud_host, 11), (wildcard, 4), (idn, 1)]


# --------------------------------------------------------------------------------------------
# Screening out accidental brand resemblance
# --------------------------------------------------------------------------------------------
CONFUSABLE_DIGITS = str.maketrans("013457", "oleast")


def fold(text: str) -> str:
    """Lower case, Unicode (IDNs decoded, accents dropped), look-alike digits and letter pairs folded."""
    try:
        text = idna.decode(text.lstrip("*."))
    except UnicodeError:  # not a valid IDN: compare as written
        pass
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return text.translate(CONFUSABLE_DIGITS).replace("rn", "m").replace("vv", "w")


def brand_terms() -> list[str]:
    terms = set()
    for asset, homographs in WATCHLIST.items():
        for term in [asset.split(".")[0]] + homographs:
            terms.add(fold(term).replace("-", ""))
    return sorted(terms)


def similarity(a: str, b: str) -> float:
    return max(fuzz.ratio(a, b) / 100, JaroWinkler.similarity(a, b), Levenshtein.normalized_similarity(a, b))


def resembles_brand(domain: str, terms: list[str], limit: float = 0.72) -> bool:
    folded = fold(domain)
    if any(term in re.sub(r"[.\-]", "", folded) for term in terms):
        return True
    parts = set()
    for label in folded.split("."):
        pieces = label.split("-")
        parts.update(pieces)
        parts.update(a + b for a, b in zip(pieces, pieces[1:]))
        parts.add(label.replace("-", ""))
    return any(similarity(part, term) >= limit for part in parts if len(part) > 2 for term in terms)


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------
def generated_names(rng: random.Random, count: int, terms: list[str], taken: set[str]) -> list[str]:
    functions = [function for function, _ in GENERATORS]
    weights = [weight for _, weight in GENERATORS]
    names: list[str] = []
    while len(names) < count:
        name = rng.choices(functions, weights)[0](rng)
        if name not in taken and not resembles_brand(name, terms):
            taken.add(name)
            names.append(name)
    return names


def build_stream(rng: random.Random) -> list[str]:
    special = list(LOOKALIKES) + OWN + INNOCENT
    terms = brand_terms()
    for name in INNOCENT:
        assert not resembles_brand(name, terms), f"innocent name {name} resembles a brand"
    names = generated_names(rng, TOTAL - len(special), terms, taken=set(special))
    rng.shuffle(special)
    # Spread the special names over the stream, the first one early so a demo shows it quickly.
    slot = len(names) // len(special)
    for number, name in reversed(list(enumerate(special))):
        names.insert(number * slot + rng.randrange(40, slot), name)
    return names


def write_sample(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    names = build_stream(random.Random(SEED))
    header = ["# CertStream demo sample: one domain name per line, made by scripts/make_demo_sample.py.",
              "# The local server wraps each name into a precert and a final certificate_update message."]
    with open(os.path.join(out, "demo_stream.txt"), "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(header + names) + "\n")
    expected = {"lookalikes": list(LOOKALIKES), "assets": LOOKALIKES, "own": OWN, "innocent": INNOCENT}
    for file_name, content in (("demo_watchlist.json", WATCHLIST), ("demo_expected.json", expected)):
        with open(os.path.join(out, file_name), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(json.dumps(content, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder to write the three files to")
    args = parser.parse_args()
    write_sample(args.out)
    print(f"wrote demo_stream.txt, demo_watchlist.json, demo_expected.json to {args.out}")


if __name__ == "__main__":
    main()
