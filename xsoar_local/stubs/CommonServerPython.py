"""Stand-in for XSOAR's CommonServerPython: the part of it the CertStream pack uses.

Behaviour follows demisto/content's Packs/Base/Scripts/CommonServerPython/CommonServerPython.py
(checked against it): same names, same entry shapes, same error handling. Like the real module it
imports demistomock, touches demisto.callingContext and demisto.params() at import, has no
__all__ (so `from CommonServerPython import *` re-exports demisto, json, re, os, sys, time,
traceback, datetime, timedelta, timezone, the typing names, ...) and ends by importing
DemistoClassApiModule.
"""
from __future__ import print_function

# The real module imports these too; `from CommonServerPython import *` hands them on.
import base64
import binascii
import gc
import json
import logging
import os
import re
import socket
import ssl
import sys
import tempfile as _tempfile
import time
import traceback
import types
import urllib
from abc import abstractmethod
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from functools import wraps
from random import randint
from threading import Lock
from typing import Any, Dict, List, Optional, Set, Union, cast  # the typing names the real module exports

import demistomock as demisto

IS_PY3 = sys.version_info[0] == 3
STRING_TYPES = (str, bytes)
STRING_OBJ_TYPES = (str,)
MAX_ERROR_MESSAGE_LENGTH = 50000
MASK = "<XX_REPLACED>"

# Commands whose errors the server handles itself: return_error raises instead of exiting.
SERVER_HANDLED_COMMANDS = ("fetch-incidents", "fetch-credentials", "long-running-execution", "fetch-indicators")


# ---------------------------------------------------------------- enums
class EntryType(object):
    NOTE = 1
    DOWNLOAD_AGENT = 2
    FILE = 3
    ERROR = 4
    PINNED = 5
    USER_MANAGEMENT = 6
    IMAGE = 7
    PLAYGROUND_ERROR = 8
    ENTRY_INFO_FILE = 9
    VIDEO_FILE = 10
    WARNING = 11
    STATIC_VIDEO_FILE = 12
    MAP_ENTRY_TYPE = 15
    WIDGET = 17
    EXECUTION_METRICS = 19


# Deprecated spelling of EntryType, still used by content code.
entryTypes = {"note": 1, "downloadAgent": 2, "file": 3, "error": 4, "pinned": 5, "userManagement": 6,
              "image": 7, "playgroundError": 8, "entryInfoFile": 9, "warning": 11, "map": 15,
              "debug": 16, "widget": 17}


class EntryFormat(object):
    HTML = "html"
    TABLE = "table"
    JSON = "json"
    TEXT = "text"
    DBOT_RESPONSE = "dbotCommandResponse"
    MARKDOWN = "markdown"

    @classmethod
    def is_valid_type(cls, _type):
        return _type in (cls.HTML, cls.TABLE, cls.JSON, cls.TEXT, cls.MARKDOWN, cls.DBOT_RESPONSE)


formats = {"html": "html", "table": "table", "json": "json", "text": "text",
           "dbotResponse": "dbotCommandResponse", "markdown": "markdown"}


class IncidentStatus(object):
    PENDING = 0
    ACTIVE = 1
    DONE = 2
    ARCHIVE = 3


class IncidentSeverity(object):
    UNKNOWN = 0
    INFO = 0.5
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class DBotScoreType(object):
    IP = "ip"
    FILE = "file"
    DOMAIN = "domain"
    URL = "url"
    CVE = "cve"
    ACCOUNT = "account"
    CIDR = "cidr",  # a tuple in the real module too
    DOMAINGLOB = "domainglob"
    CERTIFICATE = "certificate"
    CRYPTOCURRENCY = "cryptocurrency"
    EMAIL = "email"
    ATTACKPATTERN = "attackpattern"
    CUSTOM = "custom"

    @classmethod
    def is_valid_type(cls, _type):
        return _type in (cls.IP, cls.FILE, cls.DOMAIN, cls.URL, cls.CVE, cls.ACCOUNT, cls.CIDR, cls.DOMAINGLOB,
                         cls.CERTIFICATE, cls.CRYPTOCURRENCY, cls.EMAIL, cls.ATTACKPATTERN, cls.CUSTOM)


class DBotScoreReliability(object):
    A_PLUS = "A+ - 3rd party enrichment"
    A = "A - Completely reliable"
    B = "B - Usually reliable"
    C = "C - Fairly reliable"
    D = "D - Not usually reliable"
    E = "E - Unreliable"
    F = "F - Reliability cannot be judged"

    @staticmethod
    def is_valid_type(_type):
        R = DBotScoreReliability
        return _type in (R.A_PLUS, R.A, R.B, R.C, R.D, R.E, R.F)


class FeedIndicatorType(object):
    """Indicator type names as the server knows them."""
    Account = "Account"
    CVE = "CVE"
    Domain = "Domain"
    DomainGlob = "DomainGlob"
    Email = "Email"
    File = "File"
    FQDN = "Domain"
    Host = "Host"
    IP = "IP"
    CIDR = "CIDR"
    IPv6 = "IPv6"
    IPv6CIDR = "IPv6CIDR"
    Registry = "Registry Key"
    SSDeep = "ssdeep"
    URL = "URL"
    AS = "ASN"
    MUTEX = "Mutex"
    Malware = "Malware"
    Identity = "Identity"
    Location = "Location"
    Software = "Software"
    X509 = "X509 Certificate"

    @staticmethod
    def list_all_supported_indicators():
        return [value for key, value in vars(FeedIndicatorType).items()
                if not key.startswith("__") and isinstance(value, str)]

    @staticmethod
    def is_valid_type(_type):
        return _type in FeedIndicatorType.list_all_supported_indicators()


class Common(object):
    class Indicator(object):
        @abstractmethod
        def to_context(self):
            pass

    class DBotScore(object):
        NONE = 0
        GOOD = 1
        SUSPICIOUS = 2
        BAD = 3
        CONTEXT_PATH = ("DBotScore(val.Indicator && val.Indicator == obj.Indicator && val.Vendor == obj.Vendor "
                        "&& val.Type == obj.Type)")
        CONTEXT_PATH_PRIOR_V5_5 = "DBotScore"

        def __init__(self, indicator, indicator_type, integration_name="", score=None, malicious_description=None,
                     reliability=None, message=None):
            if not DBotScoreType.is_valid_type(indicator_type):
                raise TypeError("indicator_type must be of type DBotScoreType enum")
            if not Common.DBotScore.is_valid_score(score):
                raise TypeError("indicator `score` must be of type DBotScore enum")
            if reliability and not DBotScoreReliability.is_valid_type(reliability):
                raise TypeError("reliability must be of type DBotScoreReliability enum")
            self.indicator = indicator
            self.indicator_type = indicator_type
            self.integration_name = integration_name
            if demisto.callingContext.get("integration"):
                self.integration_name = get_integration_name() or integration_name
            self.score = score
            self.malicious_description = malicious_description
            self.reliability = reliability
            self.message = message

        @staticmethod
        def is_valid_score(score):
            return score in (0, 1, 2, 3)

        @staticmethod
        def get_context_path():
            return Common.DBotScore.CONTEXT_PATH

        def to_context(self):
            dbot = {"Indicator": self.indicator, "Type": self.indicator_type, "Vendor": self.integration_name,
                    "Score": self.score}
            if self.reliability:
                dbot["Reliability"] = self.reliability
            if self.message:
                dbot["Message"] = self.message
            return {Common.DBotScore.get_context_path(): dbot}

        def to_readable(self):
            return {0: "Unknown", 1: "Good", 2: "Suspicious", 3: "Bad"}.get(self.score, "Undefined")


# ---------------------------------------------------------------- import-time touches of demisto
class SmartGetDict(dict):
    """dict whose get(key, default) returns default also when the stored value is None."""

    def get(self, key, default=None):
        value = dict.get(self, key)
        return default if value is None else value


if (not os.getenv("COMMON_SERVER_NO_AUTO_PARAMS_REMOVE_NULLS")) and hasattr(demisto, "params") and demisto.params():
    demisto.callingContext["params"] = SmartGetDict(demisto.params())


class IntegrationLogger(object):
    """LOG(msg) buffers a message (secrets from params masked); print_log() sends them to demisto.info."""
    SENSITIVE_PARAM_WORDS = ("key", "private", "password", "secret", "token", "credentials", "service_account")

    def __init__(self, debug_logging=False):
        self.messages = []
        self.replace_strs = []
        self.debug_logging = debug_logging
        if demisto.params():
            self._collect_secrets(demisto.params())

    def _collect_secrets(self, params):
        for key, value in params.items():
            if isinstance(value, dict):
                self._collect_secrets(value)
            elif isinstance(value, str) and any(word in key.lower() for word in self.SENSITIVE_PARAM_WORDS):
                self.add_replace_strs(value)

    def add_replace_strs(self, *values):
        self.replace_strs.extend(value for value in values if value)

    def encode(self, message):
        text = str(message)
        for secret in self.replace_strs:
            text = text.replace(secret, MASK)
        return text

    def __call__(self, message):
        text = self.encode(message)
        self.messages.append(text)
        if self.debug_logging:
            demisto.debug(text)
        return text

    def print_log(self, verbose=False):
        if self.messages:
            text = "Full Integration Log:\n" + "\n".join(self.messages)
            if verbose:
                demisto.log(text)
            if not self.debug_logging:
                demisto.info(text)
            self.messages = []


def is_debug_mode():
    return hasattr(demisto, "is_debug") and demisto.is_debug


LOG = IntegrationLogger(debug_logging=is_debug_mode())


# ---------------------------------------------------------------- errors
class DemistoException(Exception):
    def __init__(self, message, exception=None, res=None, error_type=None, *args):
        self.res = res
        self.message = message
        self.exception = exception
        self.error_type = error_type
        super(DemistoException, self).__init__(message, exception, error_type, *args)

    def __str__(self):
        return str(self.message)


def is_error(execute_command_result):
    """True when the entry, or any entry of the list, is an error entry (Type 4)."""
    if execute_command_result is None:
        return False
    if isinstance(execute_command_result, list):
        if any(type(entry) == dict and entry["Type"] == entryTypes["error"] for entry in execute_command_result):
            return True
    return type(execute_command_result) == dict and execute_command_result["Type"] == entryTypes["error"]


isError = is_error


def get_error(execute_command_result):
    if not is_error(execute_command_result):
        raise ValueError("execute_command_result has no error entry. before using get_error use is_error")
    if isinstance(execute_command_result, dict):
        return execute_command_result["Contents"]
    return "\n".join(entry["Contents"] for entry in execute_command_result
                     if type(entry) == dict and entry["Type"] == entryTypes["error"])


# ---------------------------------------------------------------- argument helpers
def argToList(arg, separator=",", transform=None):
    """A list from a list, a JSON array string, or a separated string (items stripped)."""
    if not arg:
        return []
    if isinstance(arg, list):
        result = arg
    elif isinstance(arg, STRING_TYPES):
        result = None
        if arg[0] == "[" and arg[-1] == "]":
            try:
                result = json.loads(arg)
            except Exception:
                demisto.debug("Failed to load {} as JSON, trying to split".format(arg))
        if result is None:
            result = [item.strip() for item in arg.split(separator)]
    else:
        result = [arg]
    return [transform(item) for item in result] if transform else result


def argToBoolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, STRING_OBJ_TYPES):
        if value.lower() in ("true", "yes"):
            return True
        if value.lower() in ("false", "no"):
            return False
        raise ValueError("Argument does not contain a valid boolean-like value")
    raise ValueError("Argument is neither a string nor a boolean")


def _invalid_number(arg, arg_name):
    if arg_name:
        return ValueError('Invalid number: "{}"="{}"'.format(arg_name, arg))
    return ValueError('"{}" is not a valid number'.format(arg))


def arg_to_number(arg, arg_name=None, required=False):
    """int from an argument: "5" -> 5, "5.7" -> 5; None/"" -> None (ValueError when required)."""
    if arg is None or arg == "":
        if required is True:
            raise ValueError('Missing "{}"'.format(arg_name) if arg_name else "Missing required argument")
        return None
    if isinstance(arg, str):
        if arg.isdigit():
            return int(arg)
        try:
            return int(float(arg))
        except Exception:
            raise _invalid_number(arg, arg_name)
    if isinstance(arg, int):
        return arg
    raise _invalid_number(arg, arg_name)


def assign_params(keys_to_ignore=None, values_to_ignore=None, **kwargs):
    if values_to_ignore is None:
        values_to_ignore = (None, "", [], {}, ())
    keys_to_ignore = keys_to_ignore or ()
    return {key: value for key, value in kwargs.items()
            if value not in values_to_ignore and key not in keys_to_ignore}


def remove_empty_elements(d):
    """Recursively drop None, {} and [] from dicts and lists."""
    def empty(x):
        return x is None or x == {} or x == []

    if isinstance(d, list):
        return [v for v in (remove_empty_elements(v) for v in d) if not empty(v)]
    if isinstance(d, dict):
        return {k: v for k, v in ((k, remove_empty_elements(v)) for k, v in d.items()) if not empty(v)}
    return d


def remove_nulls_from_dictionary(data):
    for key in list(data.keys()):
        if data[key] in ("", None, [], {}, ()):
            del data[key]


def dict_safe_get(dict_object, keys, default_return_value=None, return_type=None, raise_return_type=True):
    value = dict_object
    for key in keys:
        try:
            value = value[key]
        except (KeyError, TypeError, IndexError, AttributeError):
            value = default_return_value
            break
    if return_type and not isinstance(value, return_type):
        if raise_return_type:
            raise TypeError("Safe get Error: expected {}, got {}".format(return_type, type(value)))
        value = default_return_value
    return value


def batch(iterable, batch_size=1):
    current, rest = iterable[:batch_size], iterable[batch_size:]
    while current:
        yield current
        current, rest = rest[:batch_size], rest[batch_size:]


# ---------------------------------------------------------------- string helpers
pascalRegex = re.compile("([A-Z]?[a-z]+)")


def pascalToSpace(s):
    """"ThreatScore" -> "Threat Score", "thisIsIPAddressName" -> "This Is IP Address Name"."""
    if not isinstance(s, STRING_OBJ_TYPES):
        return s
    s = re.sub(pascalRegex, lambda match: " {} ".format(match.group(1).title()), s)
    return " ".join(s.split())


def string_to_table_header(string):
    """"one_two" -> "One Two"."""
    if isinstance(string, STRING_OBJ_TYPES):
        return " ".join(word.capitalize() for word in string.replace("_", " ").split())
    raise Exception("The key is not a string: {}".format(string))


def string_to_context_key(string):
    """"one_two" -> "OneTwo"."""
    if isinstance(string, STRING_OBJ_TYPES):
        return "".join(word.capitalize() for word in string.split("_"))
    raise Exception("The key is not a string: {}".format(string))


def underscoreToCamelCase(s, upper_camel=True):
    if not isinstance(s, STRING_OBJ_TYPES):
        return s
    components = s.split("_")
    first = components[0].title() if upper_camel else components[0].lower()
    return first + "".join(x.title() for x in components[1:])


def timestamp_to_datestring(timestamp, date_format="%Y-%m-%dT%H:%M:%S.000Z", is_utc=False):
    """Milliseconds since the epoch -> date string (UTC when asked or when the format ends with Z)."""
    seconds = int(timestamp) / 1000.0
    if is_utc or date_format.endswith("Z"):
        return datetime.fromtimestamp(seconds, timezone.utc).strftime(date_format)
    return datetime.fromtimestamp(seconds).strftime(date_format)


def date_to_timestamp(date_str_or_dt, date_format="%Y-%m-%dT%H:%M:%S"):
    if isinstance(date_str_or_dt, STRING_OBJ_TYPES):
        return int(time.mktime(time.strptime(date_str_or_dt, date_format)) * 1000)
    return int(time.mktime(date_str_or_dt.timetuple()) * 1000)


def encode_string_results(text):
    return text if not isinstance(text, STRING_OBJ_TYPES) else str(text)


def b64_encode(text):
    if not text:
        return ""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "ignore")
    return base64.b64encode(data).decode("utf-8")


# ---------------------------------------------------------------- markdown tables
MARKDOWN_CHARS = r"\`*_{}[]()#+-!|"


def stringEscapeMD(st, minimal_escaping=False, escape_multiline=False):
    if escape_multiline:
        st = st.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")
    if minimal_escaping:
        for char in ("|", "`"):
            st = st.replace(char, "\\" + char)
        return st
    return "".join("\\" + c if c in MARKDOWN_CHARS else c for c in st)


def flattenCell(data, is_pretty=True):
    if isinstance(data, STRING_TYPES):
        return data
    if isinstance(data, list):
        return ",\n".join(d.decode("utf-8") if isinstance(d, bytes) else str(d) for d in data)
    return json.dumps(data, indent=4 if is_pretty else None, ensure_ascii=False, default=str)


class JsonTransformer(object):
    """Turns a cell value into text. Only the flattening form (the default) is reproduced."""

    def __init__(self, flatten=False, keys=None, is_nested=False, func=None):
        self.flatten = flatten
        self.keys = set(keys or [])
        self.is_nested = is_nested
        self.func = func

    def json_to_str(self, json_input, is_pretty=True):
        if self.func:
            return self.func(json_input)
        if isinstance(json_input, STRING_TYPES):
            return json_input
        if not isinstance(json_input, dict):
            return flattenCell(json_input, is_pretty)
        return "\n".join(u"{}: {}".format(k, flattenCell(v, is_pretty)) for k, v in json_input.items())


def formatCell(data, is_pretty=True, json_transform=None):
    return (json_transform or JsonTransformer(flatten=True)).json_to_str(data, is_pretty)


def create_clickable_url(url, text=None):
    if not url:
        return None
    if isinstance(url, list):
        texts = text if isinstance(text, list) else url
        return ["[{}]({})".format(t, u) for t, u in zip(texts, url)]
    return "[{}]({})".format(text or url, url)


def url_to_clickable_markdown(data, url_keys):
    if isinstance(data, list):
        return [url_to_clickable_markdown(item, url_keys) for item in data]
    if isinstance(data, dict):
        return {key: create_clickable_url(value) if key in url_keys else url_to_clickable_markdown(value, url_keys)
                for key, value in data.items()}
    return data


def _table_rows(t, headers):
    """Rows as dicts and the header list, the way tableToMarkdown interprets its input."""
    if not headers and isinstance(t, dict) and len(t.keys()) == 1:
        # one key: a single column whose cells are that key's values
        headers = list(t.keys())
        t = list(t.values())[0]
    rows = t if isinstance(t, list) else [t]
    if headers and isinstance(headers, STRING_TYPES):
        headers = [headers]
    if not isinstance(rows[0], dict):
        if not headers:
            raise Exception("Missing headers param for tableToMarkdown. Example: headers=['Some Header']")
        rows = [{headers[0]: item} for item in rows]
    return rows, headers


def _format_date_fields(row, date_fields):
    row = row.copy()
    for field in date_fields or ():
        try:
            row[field] = datetime.fromtimestamp(int(row[field]) / 1000).strftime("%Y-%m-%d %H:%M:%S")
        except Exception:
            pass
    return row


def tableToMarkdown(name, t, headers=None, headerTransform=None, removeNull=False, metadata=None, url_keys=None,
                    date_fields=None, json_transform_mapping=None, is_auto_json_transform=False, sort_headers=True):
    """A markdown table: `### name`, then the rows; columns sorted alphabetically unless headers given."""
    if url_keys:
        t = url_to_clickable_markdown(t, url_keys)
    markdown = "### {}\n".format(name) if name else ""
    if metadata:
        markdown += metadata + "\n"
    if not t:
        return markdown + "**No entries.**\n"
    rows, headers = _table_rows(t, headers)
    if not headers:
        headers = list(rows[0].keys())
        if sort_headers:
            headers.sort()
    if removeNull:
        headers = [h for h in headers if not all(row.get(h) in ("", None, [], {}) for row in rows)]
    if not headers:
        return markdown + "**No entries.**\n"
    transformers = json_transform_mapping or {h: JsonTransformer(flatten=not is_auto_json_transform) for h in headers}
    transform_header = headerTransform or (lambda header: stringEscapeMD(header, True, True))
    markdown += "|" + "|".join(transform_header(h) for h in headers) + "|\n"
    markdown += "|" + "|".join(["---"] * len(headers)) + "|\n"
    for row in rows:
        row = _format_date_fields(row, date_fields)
        cells = [formatCell(row.get(h), False, transformers.get(h)) if row.get(h) is not None else "" for h in headers]
        markdown += "| " + " | ".join(stringEscapeMD(cell, True, True) for cell in cells) + " |\n"
    return markdown


tblToMd = tableToMarkdown


# ---------------------------------------------------------------- relationships
class EntityRelationship:
    """A relationship between two indicators (entity_a -name-> entity_b)."""

    class RelationshipsTypes(object):
        RELATIONSHIP_TYPES = ["IndicatorToIndicator"]

        @staticmethod
        def is_valid_type(_type):
            return _type in EntityRelationship.RelationshipsTypes.RELATIONSHIP_TYPES

    class RelationshipsFamily(object):
        INDICATOR = ["Indicator"]

        @staticmethod
        def is_valid_type(_type):
            return _type in EntityRelationship.RelationshipsFamily.INDICATOR

    class Relationships(object):
        """Relationship names (the ones a certificate / domain feed uses) and their reverse."""
        APPLIED = "applied"
        ATTRIBUTED_BY = "attributed-by"
        ATTRIBUTED_TO = "attributed-to"
        COMMUNICATES_WITH = "communicates-with"
        COMMUNICATED_BY = "communicated-by"
        CONTAINS = "contains"
        DUPLICATE_OF = "duplicate-of"
        HAS = "has"
        HOSTED_ON = "hosted-on"
        HOSTS = "hosts"
        IMPERSONATES = "impersonates"
        INDICATED_BY = "indicated-by"
        INDICATOR_OF = "indicator-of"
        IS_ALSO = "is-also"
        OWNED_BY = "owned-by"
        OWNS = "owns"
        PART_OF = "part-of"
        RELATED_TO = "related-to"
        RESOLVED_FROM = "resolved-from"
        RESOLVES_TO = "resolves-to"
        SEEN_ON = "seen-on"
        SIMILAR_TO = "similar-to"
        SUB_DOMAIN_OF = "sub-domain-of"
        SUPRA_DOMAIN_OF = "supra-domain-of"
        TARGETED_BY = "targeted-by"
        TARGETS = "targets"
        USED_BY = "used-by"
        USES = "uses"
        VARIANT_OF = "variant-of"

        RELATIONSHIPS_NAMES = {
            "applied": "applied-on", "attributed-by": "attributed-to", "attributed-to": "attributed-by",
            "communicates-with": "communicated-by", "communicated-by": "communicates-with",
            "contains": "part-of", "part-of": "contains", "duplicate-of": "duplicate-of", "has": "seen-on",
            "seen-on": "has", "hosted-on": "hosts", "hosts": "hosted-on", "impersonates": "impersonated-by",
            "indicated-by": "indicator-of", "indicator-of": "indicated-by", "is-also": "is-also",
            "owned-by": "owns", "owns": "owned-by", "related-to": "related-to", "resolved-from": "resolves-to",
            "resolves-to": "resolved-from", "similar-to": "similar-to", "sub-domain-of": "supra-domain-of",
            "supra-domain-of": "sub-domain-of", "targeted-by": "targets", "targets": "targeted-by",
            "used-by": "uses", "uses": "used-by", "variant-of": "variant-of",
        }

        @staticmethod
        def is_valid(_type):
            return _type in EntityRelationship.Relationships.RELATIONSHIPS_NAMES

        @staticmethod
        def get_reverse(name):
            try:
                return EntityRelationship.Relationships.RELATIONSHIPS_NAMES[name]
            except KeyError:
                demisto.debug('Cannot find a reverse name for relationship name, using "related-to" instead.')
                return EntityRelationship.Relationships.RELATED_TO

    def __init__(self, name, entity_a, entity_a_type, entity_b, entity_b_type, reverse_name="",
                 relationship_type="IndicatorToIndicator", entity_a_family="Indicator", entity_b_family="Indicator",
                 source_reliability="", fields=None, brand=""):
        if not EntityRelationship.Relationships.is_valid(name):
            demisto.debug("Unknown relationship name: " + name)
        if not EntityRelationship.RelationshipsTypes.is_valid_type(relationship_type):
            raise ValueError("Invalid relationship type: " + relationship_type)
        if not EntityRelationship.RelationshipsFamily.is_valid_type(entity_a_family):
            raise ValueError("Invalid entity A Family type: " + entity_a_family)
        if not EntityRelationship.RelationshipsFamily.is_valid_type(entity_b_family):
            raise ValueError("Invalid entity B Family type: " + entity_b_family)
        if source_reliability and not DBotScoreReliability.is_valid_type(source_reliability):
            raise ValueError("Invalid source reliability value", source_reliability)
        if not entity_b:
            demisto.info("WARNING: Invalid entity B - Relationships will not be created to entity A {} with "
                         "relationship name {}".format(entity_a, name))
        self._name = name
        self._reverse_name = reverse_name or EntityRelationship.Relationships.get_reverse(name)
        self._relationship_type = relationship_type
        self._entity_a = entity_a
        self._entity_a_type = entity_a_type
        self._entity_a_family = entity_a_family
        self._entity_b = entity_b
        self._entity_b_type = entity_b_type
        self._entity_b_family = entity_b_family
        self._fields = fields or {}
        self._brand = brand or ""
        self._source_reliability = source_reliability or ""

    def _as_dict(self):
        return {
            "name": self._name, "reverseName": self._reverse_name, "type": self._relationship_type,
            "entityA": self._entity_a, "entityAFamily": self._entity_a_family, "entityAType": self._entity_a_type,
            "entityB": self._entity_b, "entityBFamily": self._entity_b_family, "entityBType": self._entity_b_type,
            "fields": self._fields,
        }

    def to_entry(self):
        """For CommandResults(relationships=...); {} without entity B."""
        if not self._entity_b:
            return {}
        entry = self._as_dict()
        if self._source_reliability:
            entry["reliability"] = self._source_reliability
        if self._brand:
            entry["brand"] = self._brand
        return entry

    def to_indicator(self):
        """For an indicator's "relationships" list; {} without entity B."""
        return self._as_dict() if self._entity_b else {}

    def to_context(self):
        if not self._entity_b:
            return {}
        return {"Relationship": self._name, "EntityA": self._entity_a, "EntityAType": self._entity_a_type,
                "EntityB": self._entity_b, "EntityBType": self._entity_b_type}


# ---------------------------------------------------------------- results
class IndicatorsTimeline:
    def __init__(self, indicators=None, category=None, message=None):
        timeline = {}
        timelines = []
        for indicator in indicators or []:
            # the real module appends the same dict object for every indicator; kept as is
            timeline["Value"] = indicator
            timeline["Category"] = category or "Integration Update"
            if message:
                timeline["Message"] = message
            timelines.append(timeline)
        self.indicators_timeline = timelines


class CommandResults:
    """A war-room entry with context outputs; to_context() gives the entry dict."""

    def __init__(self, outputs_prefix=None, outputs_key_field=None, outputs=None, indicators=None,
                 readable_output=None, raw_response=None, indicators_timeline=None, indicator=None,
                 ignore_auto_extract=False, mark_as_note=False, tags=None, scheduled_command=None,
                 relationships=None, entry_type=None, content_format=None, execution_metrics=None,
                 replace_existing=False):
        if raw_response is None:
            raw_response = outputs
        if outputs is not None:
            if not isinstance(outputs, dict) and not outputs_prefix:
                raise ValueError("outputs_prefix is missing")
            if outputs_prefix == ".":
                raise ValueError("outputs_prefix cannot be a period.")
        if indicators and indicator:
            raise ValueError("indicators is DEPRECATED, use only indicator")
        if not outputs_key_field:
            self._outputs_key_field = None
        elif isinstance(outputs_key_field, STRING_TYPES):
            self._outputs_key_field = [outputs_key_field]
        elif isinstance(outputs_key_field, list):
            self._outputs_key_field = outputs_key_field
        else:
            raise TypeError("outputs_key_field must be of type str or list")
        if content_format is not None and not EntryFormat.is_valid_type(content_format):
            raise TypeError("content_format {} is invalid, see CommonServerPython.EntryFormat".format(content_format))
        self.outputs_prefix = outputs_prefix
        self.outputs_key_field = outputs_key_field
        self.outputs = outputs
        self.indicators = indicators
        self.indicator = indicator
        self.readable_output = readable_output
        self.raw_response = raw_response
        self.indicators_timeline = indicators_timeline
        self.ignore_auto_extract = ignore_auto_extract
        self.mark_as_note = mark_as_note
        self.tags = tags
        self.scheduled_command = scheduled_command
        self.relationships = relationships
        self.entry_type = EntryType.NOTE if entry_type is None else entry_type
        self.content_format = content_format
        self.execution_metrics = execution_metrics
        self.replace_existing = replace_existing

    def _context_key(self):
        if self._outputs_key_field:
            condition = " && ".join("val.{0} && val.{0} == obj.{0}".format(k) for k in self._outputs_key_field)
            return "{}({})".format(self.outputs_prefix, condition)
        return str(self.outputs_prefix)

    def _entry_context(self):
        outputs = {}
        for indicator in ([self.indicator] if self.indicator else self.indicators) or []:
            for key, value in indicator.to_context().items():
                outputs.setdefault(key, []).append(value)
        if self.outputs is None or self.outputs == []:
            return outputs
        if self.outputs_prefix and self.replace_existing:
            path, _, key = self.outputs_prefix.rpartition(".")
            if not path:
                raise DemistoException("outputs_prefix must be a nested path to replace an existing key.")
            outputs[path + "(true)"] = {key: self.outputs}
        elif self.outputs_prefix:
            outputs[self._context_key()] = self.outputs
        else:
            outputs.update(self.outputs)
        return outputs

    def _human_readable(self):
        if self.readable_output:
            return self.readable_output
        if self.outputs is not None and self.outputs != []:
            if isinstance(self.outputs, (dict, list)):
                return tableToMarkdown("Results", self.outputs)
            return self.outputs
        return None

    def to_context(self):
        raw_response = self.raw_response
        content_format = self.content_format
        if content_format is None:
            content_format = EntryFormat.TEXT if isinstance(raw_response, STRING_TYPES + (int,)) else EntryFormat.JSON
        entry_type = self.entry_type
        if self.execution_metrics:
            entry_type = self.entry_type = EntryType.EXECUTION_METRICS
            raw_response = "Metrics reported successfully."
            content_format = EntryFormat.TEXT
        relationships = [r.to_entry() for r in self.relationships or [] if r.to_entry()]
        entry = {
            "Type": entry_type,
            "ContentsFormat": content_format,
            "Contents": raw_response,
            "HumanReadable": self._human_readable(),
            "EntryContext": self._entry_context(),
            "IndicatorTimeline": self.indicators_timeline.indicators_timeline if self.indicators_timeline else [],
            "IgnoreAutoExtract": bool(self.ignore_auto_extract),
            "Note": bool(self.mark_as_note),
            "Relationships": relationships,
        }
        if self.tags:
            entry["Tags"] = self.tags
        if self.scheduled_command:
            entry.update(self.scheduled_command.to_results())
        if self.execution_metrics:
            entry["APIExecutionMetrics"] = self.execution_metrics
        return entry


def is_integration_command_execution():
    try:
        return demisto.callingContext["context"]["ExecutedCommands"][0]["moduleBrand"] != "Scripts"
    except (KeyError, IndexError, TypeError):
        try:
            return demisto.callingContext["context"]["ScriptName"] == ""
        except (KeyError, IndexError, TypeError):
            return True


def return_results(results):
    """CommandResults -> demisto.results(to_context()); a list: dict/str items in one demisto.results
    call, other items one by one; anything else unchanged."""
    if results is None:
        demisto.results(None)
        return
    is_integration = is_integration_command_execution()
    if results and isinstance(results, list):
        plain_entries = []
        for result in results:
            if isinstance(result, dict):
                if is_integration or result.get("Type") != EntryType.EXECUTION_METRICS:
                    plain_entries.append(result)
            elif isinstance(result, str):
                plain_entries.append(result)
            else:
                return_results(result)
        if plain_entries:
            demisto.results(plain_entries)
    elif isinstance(results, CommandResults):
        entry = results.to_context()
        if is_integration or entry.get("Type") != EntryType.EXECUTION_METRICS:
            demisto.results(entry)
    elif hasattr(results, "to_entry"):
        demisto.results(results.to_entry())
    elif hasattr(results, "to_display"):
        demisto.results(results.to_display())
    else:
        demisto.results(results)


def return_outputs(readable_output, outputs=None, raw_response=None, timeline=None, ignore_auto_extract=False):
    timeline_list = [timeline] if isinstance(timeline, dict) else timeline
    for item in timeline_list or []:
        item.setdefault("Category", "Integration Update")
    entry = {
        "Type": entryTypes["note"],
        "HumanReadable": readable_output,
        "ContentsFormat": formats["text"] if isinstance(raw_response, STRING_TYPES) else formats["json"],
        "Contents": raw_response,
        "EntryContext": outputs,
        "IgnoreAutoExtract": ignore_auto_extract,
        "IndicatorTimeline": timeline_list,
    }
    if readable_output and not outputs and not raw_response:
        entry["Contents"] = readable_output
        entry["ContentsFormat"] = formats["text"]
    elif outputs and raw_response is None:
        entry["Contents"] = outputs
    demisto.results(entry)


def _is_server_handled_command():
    try:
        return hasattr(demisto, "command") and demisto.command() in SERVER_HANDLED_COMMANDS
    except Exception:
        return False


def return_error(message, error="", outputs=None):
    """Fetch / long-running commands: raise Exception(message). Others: an error entry, then sys.exit(0)."""
    server_handled = _is_server_handled_command()
    message = LOG(message)
    if error:
        LOG(str(error))
    if any(sys.exc_info()):
        LOG("\n{}".format(traceback.format_exc()))
    LOG.print_log()
    if server_handled:
        raise Exception(message)
    if len(message) > MAX_ERROR_MESSAGE_LENGTH:
        half = MAX_ERROR_MESSAGE_LENGTH // 2
        message = message[:half] + "...This error body was truncated..." + message[-half:]
    demisto.results({"Type": entryTypes["error"], "ContentsFormat": formats["text"], "Contents": message,
                     "EntryContext": outputs})
    sys.exit(0)


def return_warning(message, exit=False, warning="", outputs=None, ignore_auto_extract=False):
    LOG(message)
    if warning:
        LOG(warning)
    LOG.print_log()
    demisto.results({"Type": entryTypes["warning"], "ContentsFormat": formats["text"],
                     "IgnoreAutoExtract": ignore_auto_extract, "Contents": str(message), "EntryContext": outputs})
    if exit:
        sys.exit(0)


def fileResult(filename, data, file_type=None):
    """Writes data to a file the war room can show; the state folder's files/ here (else a temp dir)."""
    if file_type is None:
        file_type = entryTypes["file"]
    file_id = demisto.uniqueFile()
    if isinstance(data, str):
        data = data.encode("utf-8")
    files_dir = getattr(demisto, "_xsoar_local_files_dir", lambda: None)() or _tempfile.gettempdir()
    with open(os.path.join(files_dir, demisto.investigation()["id"] + "_" + file_id), "wb") as handle:
        handle.write(data)
    if isinstance(filename, str):
        filename = filename.replace("../", "")
    return {"Contents": "", "ContentsFormat": formats["text"], "Type": file_type, "File": filename,
            "FileID": file_id}


# ---------------------------------------------------------------- proxy
def add_http_prefix_if_missing(address=""):
    if not address:
        return ""
    prefixes = ("http://", "https://", "socks5://", "socks5h://", "socks4://", "socks4a://")
    return address if address.startswith(prefixes) else "http://" + address


_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def skip_proxy():
    for name in _PROXY_VARS:
        os.environ.pop(name, None)


def ensure_proxy_has_http_prefix():
    for name in _PROXY_VARS:
        if os.environ.get(name):
            os.environ[name] = add_http_prefix_if_missing(os.environ[name])


def skip_cert_verification():
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)


def handle_proxy(proxy_param_name="proxy", checkbox_default_value=False, handle_insecure=True,
                 insecure_param_name=None):
    """Proxies dict from the environment when the proxy param is set (else clears the proxy env vars)."""
    proxies = {}
    if demisto.params().get(proxy_param_name, checkbox_default_value):
        ensure_proxy_has_http_prefix()
        proxies = {"http": os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy", ""),
                   "https": os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy", "")}
    else:
        skip_proxy()
    if handle_insecure:
        names = ("insecure", "unsecure") if insecure_param_name is None else (insecure_param_name,)
        if any(demisto.params().get(name, False) for name in names):
            skip_cert_verification()
    return proxies


def handle_proxy_for_long_running(proxy_param_name="proxy", checkbox_default_value=False, handle_insecure=True,
                                  insecure_param_name=None):
    """(proxies, use_ssl). As in the real module the second value is handle_insecure (True by default)."""
    crtx_http_proxy = os.environ.get("CRTX_HTTP_PROXY")
    if crtx_http_proxy:
        demisto.error("Setting proxies according to CRTX_HTTP_PROXY: {}".format(crtx_http_proxy))
        return {"http": crtx_http_proxy, "https": crtx_http_proxy}, True
    proxies = handle_proxy(proxy_param_name, checkbox_default_value, handle_insecure, insecure_param_name)
    return proxies, handle_insecure


# ---------------------------------------------------------------- integration context
CONTEXT_UPDATE_RETRY_TIMES = 3
MIN_VERSION_FOR_VERSIONED_CONTEXT = "6.0.0"


def get_demisto_version():
    return demisto.demistoVersion()


def get_demisto_version_as_str():
    version = get_demisto_version()
    return "{}-{}".format(version.get("version"), version.get("buildNumber"))


def _version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", str(version))[:3])


def is_demisto_version_ge(version, build_number=""):
    server = get_demisto_version()
    server_version = _version_tuple(server.get("version", "0"))
    if server_version != _version_tuple(version) or not build_number:
        return server_version >= _version_tuple(version)
    try:
        return int(server.get("buildNumber", 0)) >= int(build_number)
    except ValueError:
        return True  # a development build


def is_versioned_context_available():
    return is_demisto_version_ge(MIN_VERSION_FOR_VERSIONED_CONTEXT)


def get_integration_context(sync=True, with_version=False):
    if is_versioned_context_available():
        context = demisto.getIntegrationContextVersioned(sync)
        return context if with_version else context.get("context", {})
    return demisto.getIntegrationContext()


def set_integration_context(context, sync=True, version=-1):
    if is_versioned_context_available():
        return demisto.setIntegrationContextVersioned(context, version, sync)
    return demisto.setIntegrationContext(context)


def get_integration_context_with_version(sync=True):
    latest = get_integration_context(sync, with_version=True)
    if is_versioned_context_available():
        return latest.get("context", {}), latest.get("version", 0) if sync else -1
    return latest, -1


def merge_lists(original_list, updated_list, key):
    """Replace items of original_list by key with those of updated_list; drop items marked remove."""
    merged = {element[key]: element for element in original_list}
    merged.update({element[key]: element for element in updated_list})
    return [obj for obj in merged.values() if obj.get("remove", False) is False]


def update_integration_context(context, object_keys=None, sync=True):
    """The latest context with every key of `context` set as a JSON string (merged by object_keys)."""
    integration_context, version = get_integration_context_with_version(sync)
    object_keys = object_keys or {}
    for key, value in context.items():
        # like the real helper, this fails (TypeError) when the stored value is not a JSON string
        latest = json.loads(integration_context.get(key, "[]"))
        if key in object_keys:
            value = merge_lists(latest, value, object_keys[key])
        integration_context[key] = json.dumps(value)
    return integration_context, version


def set_to_integration_context_with_retries(context, object_keys=None, sync=True,
                                            max_retry_times=CONTEXT_UPDATE_RETRY_TIMES):
    """Stores each value of `context` in the integration context as a JSON string."""
    for attempt in range(max_retry_times):
        integration_context, version = update_integration_context(context, object_keys, sync)
        try:
            set_integration_context(integration_context, sync, version)
            return
        except ValueError as error:
            demisto.debug("Failed updating integration context with version {}: {}".format(version, error))
            time.sleep(randint(1, 100) / 1000)
    raise Exception("Failed updating integration context. Max retry attempts exceeded.")


def get_integration_name():
    return demisto.callingContext.get("context", {}).get("IntegrationBrand", "")


def get_integration_instance_name():
    return demisto.callingContext.get("context", {}).get("IntegrationInstance", "")


def get_script_name():
    return demisto.callingContext.get("context", {}).get("ScriptName", "")


from DemistoClassApiModule import *  # type:ignore [no-redef]  # noqa:E402,F401,F403
