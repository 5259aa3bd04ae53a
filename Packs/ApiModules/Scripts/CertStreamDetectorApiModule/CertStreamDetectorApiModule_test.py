import json

import pytest

from CertStreamDetectorApiModule import (
    Detector,
    Match,
    WatchListError,
    baseline_similarity_match,
    normalize_domain,
    normalize_term,
    parse_watch_list,
    split_domain,
)

# Homograph lists deliberately do NOT contain the strings the cases below look for.
WATCH_LIST = {
    "paypal": ["paypa1l", "pay-pall", "paypaI"],
    "wellpoint": ["wellpoimt"],
    "tesla": ["teslla"],
    "apple": ["appel"],
    "box": ["boxx"],
}


@pytest.fixture(scope="module")
def detector():
    return Detector(WATCH_LIST)


@pytest.fixture(scope="module")
def detector_08():
    return Detector(WATCH_LIST, threshold=0.8)


# --- the cases ------------------------------------------------------------------------

def test_idn_homograph_is_exact_after_skeleton_and_critical(detector):
    m = detector.match("xn--pypal-4ve.com")
    assert m is not None
    assert m.asset == "paypal"
    assert m.evidence == "skeleton"
    assert m.similarity == 1.0
    assert m.severity == 4
    assert m.registrable == "p\u0430ypal.com"
    assert "xn--pypal-4ve" in m.explanation and "Cyrillic" in m.explanation


def test_digits_for_letters(detector):
    m = detector.match("we11point.com")
    assert m is not None and m.asset == "wellpoint"
    assert "digit 1 read as l" in m.explanation


def test_tes1a_at_threshold_08(detector_08):
    m = detector_08.match("tes1a.com")
    assert m is not None and m.asset == "tesla"


@pytest.mark.parametrize("san", ["tesle.com", "tezla.com"])
def test_pure_levenshtein_exactly_at_threshold_is_inclusive(san):
    # one substitution on a 5-letter brand that no fold explains: similarity exactly 0.8
    m = Detector({"tesla": []}, threshold=0.8).match(san)
    assert m is not None and m.evidence == "similar" and m.similarity == pytest.approx(0.8)
    assert Detector({"tesla": []}, threshold=0.81).match(san) is None
    assert Detector({"tesla": []}).match(san) is None  # default 0.85


def test_similarity_on_a_longer_brand(detector):
    m = detector.match("wellpoimnt.com")  # one insertion, 9/10 = 0.9
    assert m is not None and m.evidence == "similar" and m.asset == "wellpoint"
    assert m.similarity == pytest.approx(0.9)


def test_wildcard_is_evaluated(detector):
    m = detector.match("*.paypa1-secure.com")
    assert m is not None and m.asset == "paypal"
    assert m.registrable == "paypa1-secure.com"
    assert m.words == ["secure"]
    assert "label `paypa1` folds to `paypal` (digit 1 read as l)" in m.explanation
    assert "registrable domain `paypa1-secure.com`" in m.explanation
    assert "brand asset `paypal`" in m.explanation


def test_multi_part_public_suffix(detector):
    m = detector.match("paypa1.co.uk")
    assert m is not None and m.asset == "paypal" and m.registrable == "paypa1.co.uk"
    assert detector.match("www.gov.uk") is None


def test_public_suffix_labels_are_never_tokens():
    d = Detector({"co": [], "gov": [], "couk": []})
    for san in ("paypa1.co.uk", "www.gov.uk", "shop.example.co.uk"):
        assert d.match(san) is None
    assert split_domain("a.b.paypa1.co.uk") == {
        "registrable": "paypa1.co.uk", "label": "paypa1", "subdomains": ["a", "b"], "suffix": "co.uk",
        "private_suffix": False}


def test_credential_words(detector):
    m = detector.match("paypal-login-secure.com")
    assert m is not None and m.asset == "paypal"
    assert m.words == ["login", "secure"]
    m2 = detector.match("secure-paypal.com.verify-account.top")
    assert m2 is not None and m2.asset == "paypal"
    assert set(m2.words) == {"secure", "verify", "account"}
    assert m2.registrable == "verify-account.top"
    assert "subdomain" in m2.explanation
    assert m2.severity == 4


def test_labels_joined():
    m = Detector({"myetherwallet": []}).match("myet.herwallet.com")
    assert m is not None and m.asset == "myetherwallet"
    assert "myet.herwallet" in m.explanation


@pytest.mark.parametrize("san", ["www.paypal.com", "paypal.com", "*.paypal.com", "PAYPAL.COM.", "a.b.paypal.com"])
def test_brand_own_domains_never_alert(detector, san):
    assert detector.match(san) is None


def test_asset_with_tld_owns_that_registrable_domain():
    d = Detector({"paypal.co.uk": []})
    assert d.match("www.paypal.co.uk") is None
    m = d.match("paypal.com")  # not owned by this asset: a TLD swap
    assert m is not None and m.asset == "paypal.co.uk"


@pytest.mark.parametrize("san", ["paypal.xyz", "paypal.uk.com", "paypal-login.github.io", "paypal.herokuapp.com"])
def test_brand_label_under_someone_elses_registrable_domain_alerts(detector, san):
    m = detector.match(san)
    assert m is not None and m.asset == "paypal"


def test_private_suffix_label_is_the_attackers_label(detector):
    m = detector.match("paypal-login.github.io")
    assert m.registrable == "paypal-login.github.io"
    assert "github.io" in m.explanation
    assert detector.match("docs.github.io") is None


@pytest.mark.parametrize("san", ["xbox.com", "boxing.com", "dropbox.com", "www.xbox.com", "box.example.com"])
def test_short_brand_guard(detector, san):
    assert detector.match(san) is None


def test_short_brand_exact_lookalike_still_matches(detector):
    m = detector.match("b0x-login.com")
    assert m is not None and m.asset == "box" and "login" in m.words


def test_allowlist_is_suffix_boundary_aware():
    d = Detector({"paypal": []}, allowlist=["paypal.de", "xn--pypal-4ve.com"])
    assert d.match("paypal.de") is None
    assert d.match("www.paypal.de") is None
    assert d.match("p\u0430ypal.com") is None  # allowlisted by its punycode form
    assert d.match("notpaypal.de") is None  # 'notpaypal' is not the brand anyway
    assert d.match("paypal.fr") is not None
    d2 = Detector({"paypal": []})
    assert d2.match("notpaypal.com") is None  # not under paypal.com, and not a lookalike
    d3 = Detector({"paypal": []}, allowlist=["pal.com"])
    assert d3.match("paypa1.com") is not None  # 'pal.com' does not cover 'paypa1.com'


def test_listed_homograph_is_exact_evidence(detector):
    m = detector.match("paypa1l.com")
    assert m is not None and m.evidence == "homograph" and m.term == "paypa1l"


def test_listed_homograph_with_separators():
    d = Detector({"paypal": ["pay-pal-secure"]})
    m = d.match("paypalsecure.net")
    assert m is not None and m.term == "pay-pal-secure" and m.evidence == "homograph"


def test_containment_needs_explained_rest_or_context(detector):
    m = detector.match("paypalsecurelogin.com")
    assert m is not None and m.evidence == "contains" and set(m.words) == {"secure", "login"}
    assert detector.match("appleinsider.com") is None
    assert detector.match("pineapple.com") is None
    m2 = detector.match("pineapple-login.top")
    assert m2 is not None and m2.asset == "apple"


def test_confusables_and_folds_general():
    d = Detector({"modern": [], "wells": [], "google": []})
    assert d.match("rnodern.com").asset == "modern"  # rn read as m
    assert d.match("\u0261oogle.com").asset == "google"  # Latin script g
    assert d.match("g\u043e\u043egle.com").asset == "google"  # Cyrillic o
    assert d.match("xn--ggle-0nda.com").asset == "google"  # punycode of Cyrillic o o
    assert d.match("ｇｏｏｇｌｅ.net").asset == "google"  # full-width
    assert d.match("g\u00f6\u00f6gle.com").asset == "google"  # accents dropped


# --- never raise --------------------------------------------------------------------------------

@pytest.mark.parametrize("san", [
    "xn--mn8ha4uc.com", "xn--.com", "xn--zz.com", "xn--pay-pal-zh0c.com", "pay\u200bpal.com",
    "\u200b\u200b.com", "pay\u0000pal.com", "\x7f\x01.com", "", ".", "..", "*", "*.", "*.*.com",
    "a" * 300 + ".com", ("ab-" * 100) + "x.com", "a." * 150 + "com", "192.168.0.1", "[::1]", "::1",
    "2001:db8::1", "paypal", "localhost", "com", "co.uk", "github.io", "\ud800.com", "😀.com",
    "-.com", "---.com", "_dmarc.example.com", "x" * 5000, "xn--" * 30,
])
def test_never_raises(detector, san):
    detector.match(san)
    normalize_term(san)
    normalize_domain(san)
    split_domain(san)


@pytest.mark.parametrize("value", [None, 5, 3.2, b"paypal.com", ["paypal.com"], {"a": 1}])
def test_non_strings_do_not_raise(detector, value):
    assert detector.match(value) is None


def test_zero_width_does_not_hide_the_brand(detector):
    m = detector.match("pay\u200bpal-login.com")
    assert m is not None and m.asset == "paypal"
    assert "invisible" in m.explanation


@pytest.mark.parametrize("san", ["1.2.3.4", "10.0.0.1", "2001:db8::1", "paypal", "paypa1"])
def test_ips_and_bare_names_never_match(detector, san):
    assert detector.match(san) is None


def test_emoji_punycode_does_not_match(detector):
    assert detector.match("xn--mn8ha4uc.com") is None


# --- API shape ----------------------------------------------------------------------------------

def test_match_domains_one_per_san_in_order(detector):
    found = detector.match_domains(["paypal.com", "paypa1.com", "www.paypa1.com", "paypa1.com", "x.org"])
    assert [m.domain for m in found] == ["paypa1.com", "www.paypa1.com"]
    assert all(isinstance(m, Match) for m in found)
    assert detector.match_domains([]) == []


def test_match_fields(detector):
    m = detector.match("*.PAYPA1-secure.com.")
    assert m.domain == "*.PAYPA1-secure.com."
    assert m.normalized == "paypa1-secure.com"
    assert 0 <= m.score <= 100 and m.severity in (1, 2, 3, 4)
    assert m.term == "paypal"
    assert json.loads(json.dumps(m.to_dict()))["asset"] == "paypal"


@pytest.mark.parametrize("threshold", [1.5, -0.1, "abc", float("nan"), None, True])
def test_threshold_outside_range_raises_value_error(threshold):
    with pytest.raises(ValueError):
        Detector({"paypal": []}, threshold=threshold)


@pytest.mark.parametrize("threshold", [0, 1, "0.9", 0.5])
def test_threshold_bounds_are_accepted(threshold):
    Detector({"paypal": []}, threshold=threshold).match("paypa1.com")


def test_threshold_one_still_finds_exact_lookalikes():
    d = Detector({"paypal": []}, threshold=1.0)
    assert d.match("paypa1.com") is not None
    assert d.match("paypall.com") is None


def test_size_counts_distinct_normalised_terms():
    d = Detector({"paypal": ["paypa1", "PAYPAL", "pay-pal", "paypall"], "tesla": []})
    assert d.size == 3  # paypal, paypall, tesla


def test_empty_watch_list_raises():
    with pytest.raises(WatchListError):
        Detector({})


def test_normalize_term():
    assert normalize_term("PayPa1") == "paypal"
    assert normalize_term("pay-pal") == "paypal"
    assert normalize_term("p\u0430ypal") == "paypal"
    assert normalize_term("xn--pypal-4ve") == "paypal"
    assert normalize_term("*.Paypal.") == "paypal"
    assert normalize_term("we11point") == normalize_term("wellpoint")
    assert normalize_term("") == ""
    assert normalize_term(None) == ""


def test_baseline_rule_is_faithful():
    wl = {"tesla": ["tesla"], "paypal": ["paypal"]}
    assert baseline_similarity_match("tes1a.com", wl, 0.8) is None  # strict >
    assert baseline_similarity_match("tes1a.com", wl, 0.79)["asset"] == "tesla"
    assert baseline_similarity_match("*.paypal.com", wl) is None  # wildcards skipped
    assert baseline_similarity_match("paypal.com", wl)["similarity"] == 1.0  # the brand's own
    assert baseline_similarity_match("xn--pypal-4ve.com", wl) is None  # punycode compared as ASCII
    assert baseline_similarity_match("paypal", wl) is None  # only the last label dropped
    assert baseline_similarity_match("paypal.x", {"paypal": []}) is None  # asset keys not compared


# --- parse_watch_list ---------------------------------------------------------------------------

def test_parse_valid():
    assert parse_watch_list('{"paypal": ["paypa1", "pay-pal"], "tesla": []}') == {
        "paypal": ["paypa1", "pay-pal"], "tesla": []}


def test_parse_markdown_fence():
    text = '```json\n{"paypal": ["paypa1"]}\n```'
    assert parse_watch_list(text) == {"paypal": ["paypa1"]}
    assert parse_watch_list('```\n["paypal"]\n```') == {"paypal": []}


def test_parse_string_value_becomes_one_element_list():
    assert parse_watch_list('{"paypal": "paypa1"}') == {"paypal": ["paypa1"]}


def test_parse_plain_array_of_assets():
    assert parse_watch_list('["paypal", "tesla.com"]') == {"paypal": [], "tesla.com": []}


def test_parse_drops_blank_and_duplicate_entries():
    assert parse_watch_list('{" paypal ": ["a1", "a1", " ", ""]}') == {"paypal": ["a1"]}


@pytest.mark.parametrize("text", ["{}", "[]", "", "   ", "```json\n\n```"])
def test_parse_empty_raises(text):
    with pytest.raises(WatchListError):
        parse_watch_list(text)


def test_parse_number_value_raises():
    with pytest.raises(WatchListError, match="paypal.com"):
        parse_watch_list('{"paypal.com": 5}')


def test_parse_invalid_json_reports_position():
    with pytest.raises(WatchListError, match=r"line 1, column \d+"):
        parse_watch_list('{"paypal": ["paypa1",]}')


@pytest.mark.parametrize("text", ['{"paypal": ["paypa1", 5]}', '{"paypal": [null]}', '{"paypal": [["x"]]}',
                                  '["paypal", 3]', '{"paypal": {"a": "b"}}', '{"": ["x"]}', '"paypal"', "42",
                                  "null"])
def test_parse_wrong_shapes_raise(text):
    with pytest.raises(WatchListError):
        parse_watch_list(text)


def test_parse_non_string_entry_message_names_asset():
    with pytest.raises(WatchListError, match="Entry 2 of asset 'paypal'"):
        parse_watch_list('{"paypal": ["paypa1", 5]}')


def test_parse_accepts_parsed_objects():
    assert parse_watch_list({"paypal": "paypa1"}) == {"paypal": ["paypa1"]}
    with pytest.raises(WatchListError):
        parse_watch_list(None)


def test_watch_list_error_is_value_error():
    assert issubclass(WatchListError, ValueError)


# --- guards for weak evidence ----------------------------------------------------------------------

def test_brand_in_someone_elses_subdomain():
    d = Detector({"paypal": [], "mail": []})
    m = d.match("paypal.example.com")  # the brand as a subdomain of another domain: alerts, lower
    assert m is not None and m.severity == 2 and "subdomain of `example.com`" in m.explanation
    assert d.match("mail.example.com") is None  # a short brand there needs context
    assert d.match("mail.login-example.com") is not None
    assert d.match("webmail.example.com") is None  # 'mail' inside a subdomain label
    m = d.match("paypal.com.example.com")  # a full host name imitated in the subdomain
    assert m is not None and "imitates a full host name" in m.explanation
    assert d.match("paypal.account-verify.com").words == ["account", "verify"]
    assert d.match("paypa1.example.com").asset == "paypal"  # disguised: no context needed


def test_listed_typo_glued_to_unknown_words_needs_context():
    d = Detector({"chase": ["case", "chasse"]})
    assert d.match("case-battle.com") is None
    assert d.match("case.com").evidence == "homograph"  # the whole label
    assert d.match("case-login.com") is not None  # credential word
    assert d.match("chasse-online.com") is not None  # the rest is a known word


def test_asset_digits_are_not_a_disguise():
    m = Detector({"office365": []}).match("office365-login.net")
    assert m is not None and "digit" not in m.explanation
    assert "label `office365` is the brand" in m.explanation


def test_domain_hack_reads_labels_with_the_suffix():
    m = Detector({"paypal": []}).match("payp.al")
    assert m is not None and m.asset == "paypal" and "payp.al" in m.explanation


def test_more_specific_asset_wins_a_tie():
    d = Detector({"alibaba": [], "alibaba-inc": []})
    assert d.match("xn--libba-inc-z1ad.com").asset == "alibaba-inc"  # álibába-inc
    assert d.match("xn--libba-wqad.com").asset == "alibaba"


def test_listing_the_brand_label_itself_watches_that_name_everywhere():
    watching = Detector({"fishpondcabins": ["fishpondcabins"]})
    assert watching.match("www.fishpondcabins.com").asset == "fishpondcabins"
    owning = Detector({"fishpondcabins.com": ["fishpondcabins"]})  # written with its TLD: owned
    assert owning.match("www.fishpondcabins.com") is None
    assert owning.match("fishpondcabins.de").asset == "fishpondcabins.com"
    default = Detector({"fishpondcabins": ["fishpondcabin5"]})  # the usual list: <label>.com is owned
    assert default.match("fishpondcabins.com") is None  # a homograph that merely folds to the label


def test_long_digit_runs_are_numbers_not_letters():
    d = Detector({"instagram": [], "office365": []})
    m = d.match("instagram5807.blogspot.com")
    assert m is not None and m.evidence == "contains" and "digit" not in m.explanation
    assert normalize_term("g00gle") == "google" and normalize_term("inst4gram2024") == "instagram2024"
    assert d.match("office365.evil.top").asset == "office365"


def test_distinctive_brand_with_stray_characters():
    d = Detector({"facebook": [], "outlook": []})
    assert d.match("facebookcu.com").asset == "facebook"
    assert d.match("theweatheroutlook.com") is None
    assert d.match("facebookcom-28974306.drwax.as").asset == "facebook"  # facebook.com imitated


def test_words_around_a_brand_are_read_before_and_after_folding():
    m = Detector({"apple": []}).match("applecloudsupport.com")  # 'cloud' folds to 'doud'
    assert m is not None and m.evidence == "contains" and "`cloud`" in m.explanation
    assert m.words == ["support"]


@pytest.mark.parametrize("threshold", [0.7, 0.8, 0.85, 0.9])
def test_similarity_index_finds_what_a_full_scan_finds(threshold):
    # the pigeonhole index must be complete: compare with a brute-force scan on random edits
    import random
    from Levenshtein import distance

    rnd = random.Random(threshold)
    letters = "abcdefghijklmnopqrstuvwxyz"
    brands = ["".join(rnd.choice("bdfghjkmpstvwxyz") for _ in range(rnd.randint(4, 16))) for _ in range(40)]
    d = Detector({b: [] for b in brands}, threshold=threshold)
    for _ in range(3000):
        tok = list(rnd.choice(brands))
        for _ in range(rnd.randint(1, 4)):
            pos = rnd.randint(0, len(tok))
            op = rnd.random()
            if op < 0.33 and pos < len(tok):
                tok[pos] = rnd.choice(letters)
            elif op < 0.66:
                tok.insert(pos, rnd.choice(letters))
            elif pos < len(tok) and len(tok) > 1:
                del tok[pos]
        tok = normalize_term("".join(tok))  # compare skeletons, as the detector does
        expected = {b for b in brands if len(normalize_term(b)) >= 4 and normalize_term(b) != tok and
                    1 - distance(tok, normalize_term(b)) / max(len(tok), len(normalize_term(b))) >= threshold - 1e-9}
        found = {d._assets[h[3]].name for h in d._find_hits([tok], [tok, "com"], 0, 1) if h[0] == "similar"}
        assert expected <= found, (tok, expected - found)


def test_dotless_vertical_strokes_read_as_l():
    d = Detector({"apple": [], "paypal": []})
    assert d.match("xn--80ak6aa92e.com").asset == "apple"  # аррӏе.com, Cyrillic with a palochka
    assert d.match("xn--paypa-iof.com").asset == "paypal"


def test_very_short_listed_homographs_are_ignored():
    d = Detector({"hp": ["p", "hq", "hpp"]})
    assert d.match("shop-p.net") is None and d.match("hq-login.com") is None
    assert d.match("hpp-login.com").asset == "hp"


@pytest.mark.parametrize("text", ['{"a": ["b"]}', '["x"]', '{"q.com": []}'])
def test_one_letter_assets_are_rejected(text):
    with pytest.raises(WatchListError, match="too short"):
        parse_watch_list(text)


def test_not_watched_reason_says_why_a_name_is_left_alone():
    d = Detector({"paypal": []}, allowlist=["paypal.de"])
    assert "belongs to a watched asset" in d.not_watched_reason("www.paypal.com")
    assert "allowlist" in d.not_watched_reason("shop.paypal.de")
    assert d.not_watched_reason("example.org") == "no watched asset is imitated"
    assert "not a domain name" in d.not_watched_reason("localhost")
