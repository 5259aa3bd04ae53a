import json
import os

import dnstwist
import idna
import pytest

import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException, entryTypes

import GenerateDomainHomographs
from GenerateDomainHomographs import (DEFAULT_KINDS, LABEL_KINDS, NOT_LABEL_KINDS, build_watch_list,
                                     clean_suggestion, generate_domain_homographs, main, normalize_term,
                                     parse_domain, parse_domains, parse_kinds, parse_watch_list)

TEST_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_data")
NOT_FOUND = "Item not found (8)"


def read_text(name):
    with open(os.path.join(TEST_DATA, name), encoding="utf-8") as handle:
        return handle.read()


def entry(contents, error=False):
    return {"Type": entryTypes["error"] if error else entryTypes["note"], "ContentsFormat": "text",
            "Contents": contents}


class FakeServer:
    """executeCommand for getList / setList with a dict of lists; records every call."""

    def __init__(self, lists=None, set_error=None):
        self.lists = dict(lists or {})
        self.set_error = set_error
        self.calls = []

    def __call__(self, command, args):
        self.calls.append((command, dict(args)))
        if command == "getList":
            name = args["listName"]
            return [entry(self.lists[name])] if name in self.lists else [entry(NOT_FOUND, error=True)]
        if command == "setList":
            if self.set_error:
                return [entry(self.set_error, error=True)]
            self.lists[args["listName"]] = args["listData"]
            return [entry("Done: list {} was updated".format(args["listName"]))]
        return ""

    def commands(self):
        return [command for command, _ in self.calls]


@pytest.fixture
def server(mocker):
    fake = FakeServer()
    mocker.patch.object(demisto, "executeCommand", side_effect=fake)
    return fake


def context(results):
    return results[0].outputs


def watch_list_of(results):
    outputs = context(results)
    return json.loads(outputs["CertStream.WatchList(val.ListName == obj.ListName)"]["JSON"])


def assert_no_duplicate_keys(asset, terms):
    """No two entries the detector treats as the same, except an IDN in its two forms; none equal
    to the asset."""
    asset_keys = {normalize_term(asset), normalize_term(asset.split(".")[0])}
    by_key = {}
    for term in terms:
        key = normalize_term(term)
        assert key not in asset_keys, f"{term!r} is the asset {asset!r} to the detector"
        by_key.setdefault(key, []).append(term)
    for key, group in by_key.items():
        if len(group) == 1:
            continue
        assert len(group) == 2, f"{group} share the key {key!r}"
        unicode_form, puny_form = sorted(group, key=lambda t: t.startswith("xn--"))
        assert puny_form.startswith("xn--") and idna.decode(puny_form) == unicode_form, group


# --- arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("paypal", ("paypal", "paypal")),
    ("PayPal.com.", ("paypal.com", "paypal")),
    ("www.paypal.co.uk", ("paypal.co.uk", "paypal")),
    ("https://login.examplebank.com:8443/path?q=1", ("examplebank.com", "examplebank")),
    ("login.examplebank.com/path", ("examplebank.com", "examplebank")),
    ("*.paypal.com", ("paypal.com", "paypal")),
    ("xn--bcher-kva.de", ("bücher.de", "bücher")),
    (" paypal\u200b.com ", ("paypal.com", "paypal")),
])
def test_parse_domain_accepts_domains_brands_and_urls(raw, expected):
    assert parse_domain(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("1.2.3.4", "is an IP address"),
    ("[2001:db8::1]", "is an IP address"),
    ("http://10.0.0.1/login", "is an IP address"),
    ("co.uk", "public suffix"),
    ("http://", "Could not find a host name"),
    ("pay_pal.com", "not a valid domain name"),
    ("pay pal!.com", "not a valid domain name"),
    ("-paypal.com", "not a valid domain name"),
])
def test_parse_domain_rejects_what_is_not_a_domain(raw, message):
    with pytest.raises(DemistoException, match=message):
        parse_domain(raw)


def test_parse_domains_splits_and_deduplicates():
    assert parse_domains("paypal.com, www.paypal.com\nexamplebank; paypal") == [
        ("paypal.com", "paypal"), ("examplebank", "examplebank"), ("paypal", "paypal")]
    assert parse_domains(["paypal.com", "examplebank"]) == [("paypal.com", "paypal"), ("examplebank", "examplebank")]
    assert parse_domains("") == []


def test_parse_kinds_default_all_and_errors():
    assert parse_kinds(None) == list(DEFAULT_KINDS)
    assert parse_kinds("all") == list(LABEL_KINDS)
    assert parse_kinds("Homoglyph, omission,homoglyph") == ["homoglyph", "omission"]
    with pytest.raises(DemistoException, match="Unknown permutation kind 'typo'. Valid kinds: addition,"):
        parse_kinds("homoglyph,typo")
    with pytest.raises(DemistoException, match="'tld-swap' is not supported: it only changes the TLD"):
        parse_kinds("tld-swap")


def test_every_kind_is_a_dnstwist_fuzzer():
    for kind in list(LABEL_KINDS) + list(NOT_LABEL_KINDS):
        method = "_" + kind.replace("-", "_")
        assert kind == "tld-swap" or kind == "various" or hasattr(dnstwist.Fuzzer, method), kind
    assert set(DEFAULT_KINDS) <= set(LABEL_KINDS)
    assert not {"tld-swap", "dictionary", "various", "subdomain"} & set(DEFAULT_KINDS)


# --- generation -------------------------------------------------------------------------------
def test_generates_labels_without_detector_duplicates(server):
    results = generate_domain_homographs({"domains": "paypal.com, examplebank", "max_per_domain": "0"})
    watch = watch_list_of(results)
    assert list(watch) == ["paypal.com", "examplebank"]
    for asset, terms in watch.items():
        assert terms, asset
        assert all("." not in term for term in terms), "homographs are labels, without TLD"
        assert_no_duplicate_keys(asset, terms)
    assert "paypai" in watch["paypal.com"]  # i for l: not folded by the detector, so listed
    assert "paypa1" not in watch["paypal.com"]  # the detector folds 1 -> l: the asset itself
    assert "pay-pal" not in watch["paypal.com"]  # separators are removed by the detector
    assert server.calls == []  # no list_name: nothing read or written


def test_include_idn_gives_both_forms_or_none(server):
    with_idn = watch_list_of(generate_domain_homographs({"domains": "paypal", "include_idn": "true",
                                                         "max_per_domain": "0"}))["paypal"]
    punycode = [term for term in with_idn if term.startswith("xn--")]
    assert punycode, "homoglyph and cyrillic kinds give IDN variants"
    for term in punycode:
        assert idna.decode(term) in with_idn
    for term in with_idn:
        if not term.isascii():
            assert idna.encode(term).decode() in with_idn
    without_idn = watch_list_of(generate_domain_homographs({"domains": "paypal", "include_idn": "false",
                                                            "max_per_domain": "0"}))["paypal"]
    assert without_idn and all(term.isascii() and "xn--" not in term for term in without_idn)


def test_max_per_domain_keeps_the_closest(server):
    watch = watch_list_of(generate_domain_homographs({"domains": "paypal", "max_per_domain": "10",
                                                      "include_idn": "false"}))
    terms = watch["paypal"]
    assert len(terms) == 10
    assert all(GenerateDomainHomographs._distance(term, "paypal") <= 1 for term in terms)


@pytest.mark.parametrize("value", ["-1", "many"])
def test_max_per_domain_must_be_a_count(server, value):
    with pytest.raises(DemistoException, match="max_per_domain"):
        generate_domain_homographs({"domains": "paypal", "max_per_domain": value})


def test_allowlist_leaves_names_out(server):
    full = watch_list_of(generate_domain_homographs({"domains": "paypal", "include_idn": "false"}))["paypal"]
    assert "paypai" in full and "paypl" in full
    reduced = watch_list_of(generate_domain_homographs({"domains": "paypal", "include_idn": "false",
                                                        "allowlist": "PAYPAI, paypl.com"}))["paypal"]
    assert "paypai" not in reduced and "paypl" not in reduced
    assert set(reduced) == set(full) - {"paypai", "paypl"}


def test_selected_kinds_only(server):
    terms = watch_list_of(generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission"}))["paypal"]
    assert sorted(terms) == sorted({"aypal", "pypal", "papal", "payal", "paypl", "paypa"})


def test_no_domains_is_an_error(server):
    with pytest.raises(DemistoException, match="Give one or more domains"):
        generate_domain_homographs({"domains": " , "})


# --- extra list and suggestions ----------------------------------------------------------------
def test_extra_list_is_added_and_deduplicated(server):
    extra = '```json\n{"paypal": ["my-brand-typo", "paypa1", "mybrandtypo"], "newbrand.com": "newbrnd"}\n```'
    watch = watch_list_of(generate_domain_homographs({"domains": "paypal.com", "extra_list": extra,
                                                      "permutation_kinds": "omission"}))
    assert list(watch) == ["paypal.com", "newbrand.com"]  # paypal and paypal.com are one asset
    assert "my-brand-typo" in watch["paypal.com"]
    assert "mybrandtypo" not in watch["paypal.com"]  # same key as my-brand-typo
    assert "paypa1" not in watch["paypal.com"]  # the asset itself to the detector
    assert watch["newbrand.com"] == ["newbrnd"]


def test_extra_list_alone_needs_no_domains(server):
    watch = watch_list_of(generate_domain_homographs({"extra_list": '["paypal", "examplebank"]'}))
    assert watch == {"paypal": [], "examplebank": []}


def test_invalid_extra_list_is_an_error(server):
    with pytest.raises(DemistoException, match="'extra_list' is not a valid watch list"):
        generate_domain_homographs({"domains": "paypal", "extra_list": "{not json"})


def test_llm_suggestions_only_for_requested_assets(server):
    results = generate_domain_homographs({"domains": "paypal.com", "permutation_kinds": "omission",
                                          "suggestions": read_text("llm_answer.txt")})
    watch = watch_list_of(results)
    assert list(watch) == ["paypal.com"]  # notrequested.com is not added
    terms = watch["paypal.com"]
    assert "paypall" in terms and "paypal-login" in terms and "ppaypal" in terms
    assert "paypa1" not in terms  # paypa1.com reduced to paypa1, the asset to the detector
    assert "evil" not in terms and "pay pal" not in terms and "" not in terms
    assert "3 came from the suggestions" in results[0].readable_output


@pytest.mark.parametrize("term, expected", [
    ("PayPall", "paypall"), ("paypa1.com", "paypa1"), ("xn--pypal-4ve", "pаypal"),
    ("paypal.com.evil.top", None), ("pay pal", None), ("pay_pal", None), ("", None),
])
def test_clean_suggestion(term, expected):
    assert clean_suggestion(term) == expected


def test_unreadable_suggestions_are_ignored(server):
    watch = watch_list_of(generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission",
                                                      "suggestions": "I cannot help with that."}))
    assert len(watch["paypal"]) == 6


# --- writing the list ---------------------------------------------------------------------------
def test_writes_a_new_list(server):
    results = generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission",
                                          "list_name": "WatchList"})
    assert server.commands() == ["getList", "setList"]
    written = parse_watch_list(server.lists["WatchList"])
    assert set(written) == {"paypal"} and len(written["paypal"]) == 6
    outputs = context(results)
    assert outputs["CertStream.WatchList(val.ListName == obj.ListName)"]["Written"] is True
    assert outputs["CertStream.Homographs(val.Asset && val.Asset == obj.Asset)"] == [
        {"Asset": "paypal", "Count": 6, "Added": 6, "ListName": "WatchList"}]
    assert "Wrote 6 terms for 1 assets to the list 'WatchList' (merge)." in results[0].readable_output


def test_merge_keeps_user_entries_and_other_assets(server):
    server.lists["WatchList"] = read_text("existing_list.json")
    generate_domain_homographs({"domains": "paypal.com", "permutation_kinds": "omission",
                                "list_name": "WatchList", "mode": "merge"})
    written = json.loads(server.lists["WatchList"])
    assert list(written) == ["paypal", "examplebank.co.uk"]  # paypal.com merged into paypal
    assert written["paypal"][:2] == ["paypa1-secure", "my-own-entry"]
    assert set(written["paypal"][2:]) == {"aypal", "pypal", "papal", "payal", "paypl", "paypa"}
    assert written["examplebank.co.uk"] == ["examp1ebank"]


@pytest.mark.parametrize("limit", ["0", "8", "25"])
def test_merge_twice_adds_nothing(server, limit):
    args = {"domains": "paypal", "list_name": "WatchList", "include_idn": "true", "max_per_domain": limit}
    generate_domain_homographs(args)
    first = server.lists["WatchList"]
    results = generate_domain_homographs(args)
    assert server.lists["WatchList"] == first
    row = context(results)["CertStream.Homographs(val.Asset && val.Asset == obj.Asset)"][0]
    assert row["Added"] == 0
    if limit != "0":
        assert row["Count"] <= int(limit)


def test_limit_counts_entries_the_list_already_has(server):
    server.lists["WatchList"] = json.dumps({"paypal": ["paypai", "my-own-entry"]})
    generate_domain_homographs({"domains": "paypal", "list_name": "WatchList", "include_idn": "false",
                                "max_per_domain": "5"})
    terms = json.loads(server.lists["WatchList"])["paypal"]
    assert terms[:2] == ["paypai", "my-own-entry"]
    assert len(terms) == 2 + 4  # paypai is one of the 5 closest: 4 new ones


def test_replace_overwrites_without_reading(server):
    server.lists["WatchList"] = read_text("existing_list.json")
    generate_domain_homographs({"domains": "paypal.com", "permutation_kinds": "omission",
                                "list_name": "WatchList", "mode": "replace"})
    assert server.commands() == ["setList"]
    assert list(json.loads(server.lists["WatchList"])) == ["paypal.com"]


def test_merge_into_a_broken_list_is_an_error(server):
    server.lists["WatchList"] = "paypal, paypa1"
    with pytest.raises(DemistoException, match="holds no valid watch list .* mode=replace"):
        generate_domain_homographs({"domains": "paypal", "list_name": "WatchList"})
    assert server.lists["WatchList"] == "paypal, paypa1"


@pytest.mark.parametrize("text", ["", "  ", "{}"])
def test_merge_into_an_empty_list(server, text):
    server.lists["WatchList"] = text
    generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission", "list_name": "WatchList"})
    assert list(json.loads(server.lists["WatchList"])) == ["paypal"]


def test_dry_run_reads_but_does_not_write(server):
    server.lists["WatchList"] = read_text("existing_list.json")
    results = generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission",
                                          "list_name": "WatchList", "dry_run": "true"})
    assert server.commands() == ["getList"]
    watch_list = context(results)["CertStream.WatchList(val.ListName == obj.ListName)"]
    assert watch_list["Written"] is False and watch_list["Assets"] == 2
    assert "Dry run" in results[0].readable_output


def test_write_failure_is_reported(mocker):
    fake = FakeServer(set_error="Insufficient permissions to edit the list")
    mocker.patch.object(demisto, "executeCommand", side_effect=fake)
    with pytest.raises(DemistoException, match="Writing the list 'WatchList' failed: Insufficient permissions"):
        generate_domain_homographs({"domains": "paypal", "list_name": "WatchList", "mode": "replace"})


def test_no_answer_to_set_list_is_a_failure(mocker):
    mocker.patch.object(demisto, "executeCommand", return_value="")
    with pytest.raises(DemistoException, match="gave no answer"):
        generate_domain_homographs({"domains": "paypal", "list_name": "WatchList", "mode": "replace"})


def test_read_failure_is_reported(mocker):
    mocker.patch.object(demisto, "executeCommand", return_value=[entry("Internal error", error=True)])
    with pytest.raises(DemistoException, match="Could not read the list 'WatchList': Internal error"):
        generate_domain_homographs({"domains": "paypal", "list_name": "WatchList"})


def test_bad_mode_is_an_error(server):
    with pytest.raises(DemistoException, match="'mode' must be merge or replace"):
        generate_domain_homographs({"domains": "paypal", "mode": "append"})


def test_create_file(server, mocker):
    file_result = mocker.patch.object(GenerateDomainHomographs, "fileResult",
                                      return_value={"Type": entryTypes["file"], "File": "WatchList.json"})
    results = generate_domain_homographs({"domains": "paypal", "permutation_kinds": "omission",
                                          "list_name": "WatchList", "create_file": "true"})
    assert len(results) == 2 and isinstance(results[0], CommandResults)
    name, data = file_result.call_args[0]
    assert name == "WatchList.json" and parse_watch_list(data) == json.loads(server.lists["WatchList"])


# --- main -------------------------------------------------------------------------------------
def test_main_returns_the_entry(mocker, server):
    mocker.patch.object(demisto, "args", return_value={"domains": "https://www.paypal.com/signin",
                                                       "permutation_kinds": "omission", "list_name": "L"})
    results = mocker.patch.object(demisto, "results")
    main()
    entry_ = results.call_args[0][0]
    assert "CertStream watch-list homographs" in entry_["HumanReadable"]
    assert entry_["EntryContext"]["CertStream.WatchList(val.ListName == obj.ListName)"]["ListName"] == "L"
    assert list(json.loads(server.lists["L"])) == ["paypal.com"]


def test_main_reports_bad_input_as_an_error(mocker, server):
    mocker.patch.object(demisto, "args", return_value={"domains": "8.8.8.8"})
    results = mocker.patch.object(demisto, "results")
    with pytest.raises(SystemExit):
        main()
    entry_ = results.call_args[0][0]
    assert entry_["Type"] == entryTypes["error"]
    assert "'8.8.8.8' is an IP address" in entry_["Contents"]


def test_build_watch_list_options(server):
    _watch, rows, options = build_watch_list({"domains": "paypal", "permutation_kinds": "omission"})
    assert options["mode"] == "merge" and options["kinds"] == ["omission"] and options["include_idn"] is True
    assert rows[0]["Sample"].startswith("aypal") or rows[0]["Count"] == 6


def test_short_brands_get_no_short_ascii_permutations():
    from GenerateDomainHomographs import MIN_ASCII_VARIANT_LENGTH, generate_variants
    variants = [variant for _, variant in generate_variants("hp", ["omission", "replacement", "homoglyph"])]
    assert all(len(v) >= MIN_ASCII_VARIANT_LENGTH for v in variants if "xn--" not in v)
    assert any(variant.startswith("xn--") for _, variant in generate_variants("ibm", ["homoglyph"]))
