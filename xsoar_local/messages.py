"""CertStream messages for the local server: reading a source file, wrapping domain names into
realistic certificate_update messages, and rendering a message for each endpoint.

A source file is either
- `.jsonl`: one CertStream message per line, sent as stored (lines that are not JSON pass through
  untouched, which is useful for garbage tests), or
- `.txt`: one domain name per line (blank lines and `#` comments skipped); each name becomes two
  messages, a PrecertLogEntry and an X509LogEntry, as a CT log would publish them.
Either may be gzip-compressed (`.jsonl.gz`, `.txt.gz`). Everything is produced lazily, one line at a
time, so a stream of hundreds of thousands of messages never sits in memory.

The synthesized metadata (serial, fingerprints, issuer, logs, validity offset) is derived from the
domain name, so the same name always yields the same certificates. `as_der` (full stream only) is a
real DER certificate with the same names, serial, validity and issuer DN, signed by a throwaway EC
key; its hashes are not the message's `fingerprint`, which is seeded like the rest.
"""
from __future__ import annotations

import base64
import datetime
import functools
import gzip
import hashlib
import json
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

LITE, FULL, DOMAINS = "lite", "full", "domains"
ENDPOINTS = {"/": LITE, "/full-stream": FULL, "/domains-only": DOMAINS}

NINETY_DAYS = 90 * 86400


def endpoint_for(path: str) -> str | None:
    """The endpoint kind for a request path ("/full-stream?x=1" and "/full-stream/" included)."""
    path = path.split("?", 1)[0]
    return ENDPOINTS.get(path.rstrip("/") or "/")


# ---------------------------------------------------------------------------------------------
# Issuers and CT logs the synthesized certificates come from
# ---------------------------------------------------------------------------------------------
def distinguished_name(**parts) -> dict:
    """A subject/issuer dict as CertStream servers publish it (aggregated in key order)."""
    dn = {key: parts.get(key) for key in ("C", "CN", "L", "O", "OU", "ST")}
    dn["aggregated"] = "".join(f"/{key}={value}" for key, value in dn.items() if value)
    dn["emailAddress"] = None
    return dn


def colon_hex(data: bytes) -> str:
    return data.hex(":").upper()


@dataclass(frozen=True)
class Issuer:
    name: dict  # intermediate's subject
    root: dict  # intermediate's issuer
    aia: str
    policies: str
    signature_algorithm: str
    weight: int

    @property
    def cn(self) -> str:
        return self.name["CN"]

    @property
    def ca_issuers_url(self) -> str:
        return self.aia.split("CA Issuers - URI:", 1)[1].split("\n", 1)[0]

    def seeded(self, what: str, size: int) -> bytes:
        """Stable bytes for this intermediate's key id, serial and fingerprints."""
        return hashlib.sha256(f"{self.cn}|{what}".encode()).digest()[:size]


_LETS_ENCRYPT_POLICIES = "Policy: 2.23.140.1.2.1"
_ISRG_X1 = distinguished_name(C="US", O="Internet Security Research Group", CN="ISRG Root X1")
_ISRG_X2 = distinguished_name(C="US", O="Internet Security Research Group", CN="ISRG Root X2")
_GTS_R1 = distinguished_name(C="US", O="Google Trust Services LLC", CN="GTS Root R1")
_GTS_R4 = distinguished_name(C="US", O="Google Trust Services LLC", CN="GTS Root R4")
_USERTRUST = distinguished_name(C="US", ST="New Jersey", L="Jersey City", O="The USERTRUST Network",
                                CN="USERTrust RSA Certification Authority")


def _lets_encrypt(cn: str, root: dict, signature: str, weight: int) -> Issuer:
    lower = cn.lower()
    return Issuer(distinguished_name(C="US", O="Let's Encrypt", CN=cn), root,
                  f"CA Issuers - URI:http://{lower}.i.lencr.org/\nOCSP - URI:http://{lower}.o.lencr.org\n",
                  _LETS_ENCRYPT_POLICIES, signature, weight)


def _google(cn: str, root: dict, signature: str, weight: int) -> Issuer:
    lower = cn.lower()
    return Issuer(distinguished_name(C="US", O="Google Trust Services", CN=cn), root,
                  f"OCSP - URI:http://o.pki.goog/{lower}\nCA Issuers - URI:http://i.pki.goog/{lower}.crt\n",
                  "Policy: 2.23.140.1.2.1\nPolicy: 1.3.6.1.4.1.11129.2.5.3", signature, weight)


ISSUERS = (
    _lets_encrypt("R10", _ISRG_X1, "sha256, rsa", 30),
    _lets_encrypt("R11", _ISRG_X1, "sha256, rsa", 30),
    _lets_encrypt("E5", _ISRG_X2, "sha384, ecdsa", 7),
    _lets_encrypt("E6", _ISRG_X2, "sha384, ecdsa", 7),
    _google("WR1", _GTS_R1, "sha256, rsa", 8),
    _google("WE1", _GTS_R4, "sha256, ecdsa", 6),
    Issuer(distinguished_name(C="GB", ST="Greater Manchester", L="Salford", O="Sectigo Limited",
                              CN="Sectigo RSA Domain Validation Secure Server CA"), _USERTRUST,
           "CA Issuers - URI:http://crt.sectigo.com/SectigoRSADomainValidationSecureServerCA.crt\n"
           "OCSP - URI:http://ocsp.sectigo.com\n",
           "Policy: 1.3.6.1.4.1.6449.1.2.2.7\n  CPS: https://sectigo.com/CPS\nPolicy: 2.23.140.1.2.1",
           "sha256, rsa", 12),
)
_ISSUERS_BY_CN = {issuer.cn: issuer for issuer in ISSUERS}

LOGS = (
    {"name": "Google 'Argon2026h1' log", "url": "https://ct.googleapis.com/logs/us1/argon2026h1/"},
    {"name": "Google 'Xenon2026h1' log", "url": "https://ct.googleapis.com/logs/eu1/xenon2026h1/"},
    {"name": "Cloudflare 'Nimbus2026'", "url": "https://ct.cloudflare.com/logs/nimbus2026/"},
    {"name": "DigiCert 'Wyvern2026h1' Log", "url": "https://wyvern.ct.digicert.com/2026h1/"},
    {"name": "Sectigo 'Mammoth2026h1'", "url": "https://mammoth2026h1.ct.sectigo.com/"},
    {"name": "Let's Encrypt 'Oak2026h1' log", "url": "https://oak.ct.letsencrypt.org/2026h1/"},
    {"name": "TrustAsia Log2026a", "url": "https://ct2026-a.trustasia.com/log2026a/"},
)


# ---------------------------------------------------------------------------------------------
# Wrapping a domain name into certificate_update messages
# ---------------------------------------------------------------------------------------------
def certificate_names(domain: str, rng: random.Random) -> list[str]:
    """The SANs of the certificate for a listed name: the name plus its www. or wildcard twin."""
    if domain.startswith(("*.", "www.")):
        bare = domain.split(".", 1)[1]
        return [domain, bare]
    if rng.random() < 0.15:
        return [domain, "*." + domain]
    return [domain, "www." + domain]


class MessageFactory:
    """Turns domain names into certificate_update messages (a precert and a final cert each).

    cert_index counts up per CT log; `seen` comes from `clock`; validity starts a seeded few hours
    before `start_time` and lasts 90 days.
    """

    def __init__(self, start_time: float | None = None, clock: Callable[[], float] = time.time):
        self.start_time = int(time.time() if start_time is None else start_time)
        self.clock = clock
        self._next_index = {log["url"]: 300_000_000 + int.from_bytes(
            hashlib.sha256(log["url"].encode()).digest()[:3], "big") * 10 for log in LOGS}

    def messages_for(self, domain: str) -> list[dict]:
        domain = domain.strip().lower()
        rng = random.Random(domain)  # seeded by the name: same name, same certificates
        issuer = rng.choices(ISSUERS, weights=[i.weight for i in ISSUERS])[0]
        names = certificate_names(domain, rng)
        serial = f"{rng.getrandbits(140) | (3 << 140):X}"  # 36 hex digits, positive, like LE serials
        not_before = self.start_time - rng.randrange(300, 6 * 3600)
        key_id = colon_hex(rng.randbytes(20))
        precert_log, final_log = rng.sample(LOGS, 2)
        return [self._message(domain, names, issuer, serial, not_before, key_id, update_type, log)
                for update_type, log in (("PrecertLogEntry", precert_log), ("X509LogEntry", final_log))]

    def _message(self, domain, names, issuer, serial, not_before, key_id, update_type, log) -> dict:
        digest_seed = f"{domain}|{serial}|{update_type}".encode()  # precert and final cert differ
        sha1 = colon_hex(hashlib.sha1(digest_seed).digest())
        index = self._take_index(log["url"], domain)
        leaf = {
            "subject": distinguished_name(CN=domain),
            "issuer": dict(issuer.name),
            "extensions": leaf_extensions(names, issuer, key_id, precert=update_type == "PrecertLogEntry"),
            "not_before": not_before,
            "not_after": not_before + NINETY_DAYS,
            "serial_number": serial,
            "fingerprint": sha1,
            "sha1": sha1,
            "sha256": colon_hex(hashlib.sha256(digest_seed).digest()),
            "signature_algorithm": issuer.signature_algorithm,
            "is_ca": False,
            "all_domains": sorted(names),
        }
        return {"message_type": "certificate_update", "data": {
            "update_type": update_type,
            "leaf_cert": leaf,
            "chain": [intermediate_entry(issuer)],
            "cert_index": index,
            "cert_link": f"{log['url'].rstrip('/')}/ct/v1/get-entries?start={index}&end={index}",
            "seen": round(self.clock(), 6),
            "source": dict(log),
        }}

    def _take_index(self, log_url: str, domain: str) -> int:
        index = self._next_index[log_url]
        self._next_index[log_url] = index + 1 + len(domain) % 7  # other certificates in between
        return index


def leaf_extensions(names: list[str], issuer: Issuer, key_id: str, precert: bool) -> dict:
    extensions = {
        "authorityInfoAccess": issuer.aia,
        "authorityKeyIdentifier": f"keyid:{colon_hex(issuer.seeded('ski', 20))}\n",
        "basicConstraints": "CA:FALSE",
        "certificatePolicies": issuer.policies,
        "extendedKeyUsage": "TLS Web server authentication, TLS Web client authentication",
        "keyUsage": "Digital Signature" if "ecdsa" in issuer.signature_algorithm
        else "Digital Signature, Key Encipherment",
        "subjectAltName": ", ".join(f"DNS:{name}" for name in names),
        "subjectKeyIdentifier": key_id,
    }
    if precert:
        extensions["ctlPoisonByte"] = True
    return dict(sorted(extensions.items()))


def intermediate_entry(issuer: Issuer) -> dict:
    """The chain entry for an issuing intermediate (a fresh top-level dict: as_der may be added)."""
    return dict(_intermediate_template(issuer.cn))


@functools.lru_cache(maxsize=None)
def _intermediate_template(issuer_cn: str) -> dict:
    issuer = _ISSUERS_BY_CN[issuer_cn]
    not_before = 1709769600  # 2024-03-07, when LE's R10/R11 generation was issued
    return {
        "subject": dict(issuer.name),
        "issuer": dict(issuer.root),
        "extensions": {
            "authorityKeyIdentifier": f"keyid:{colon_hex(hashlib.sha1(issuer.root['CN'].encode()).digest())}\n",
            "basicConstraints": "CA:TRUE, pathlen:0",
            "certificatePolicies": "Policy: 2.23.140.1.2.1",
            "extendedKeyUsage": "TLS Web client authentication, TLS Web server authentication",
            "keyUsage": "Digital Signature, Certificate Sign, CRL Sign",
            "subjectKeyIdentifier": colon_hex(issuer.seeded("ski", 20)),
        },
        "not_before": not_before,
        "not_after": not_before + 3 * 365 * 86400,
        "serial_number": issuer.seeded("serial", 16).hex().upper(),
        "fingerprint": colon_hex(issuer.seeded("sha1", 20)),
        "sha1": colon_hex(issuer.seeded("sha1", 20)),
        "sha256": colon_hex(issuer.seeded("sha256", 32)),
        "signature_algorithm": "sha256, rsa",
        "is_ca": True,
    }


# ---------------------------------------------------------------------------------------------
# Real DER certificates for the full stream (built lazily, cached)
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _signing_key() -> ec.EllipticCurvePrivateKey:
    # A fixed scalar: the key (and with deterministic ECDSA, every certificate) is reproducible.
    return ec.derive_private_key(int.from_bytes(hashlib.sha256(b"xsoar-local certstream").digest(), "big"),
                                 ec.SECP256R1())


_NAME_OIDS = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME, "L": NameOID.LOCALITY_NAME,
              "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}


def _x509_name(dn: dict) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, dn[key]) for key, oid in _NAME_OIDS.items() if dn.get(key)])


def _utc(epoch: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def _sign(builder: x509.CertificateBuilder, signature_algorithm: str) -> str:
    digest = hashes.SHA384() if signature_algorithm.startswith("sha384") else hashes.SHA256()
    certificate = builder.sign(_signing_key(), digest, ecdsa_deterministic=True)
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


@functools.lru_cache(maxsize=None)
def _leaf_builder(issuer_cn: str) -> x509.CertificateBuilder:
    """What every leaf from this issuer shares (builders are immutable, so this one is reused)."""
    issuer = _ISSUERS_BY_CN[issuer_cn]
    key = _signing_key().public_key()
    return (x509.CertificateBuilder()
            .issuer_name(_x509_name(issuer.name))
            .public_key(key)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), False)
            .add_extension(x509.AuthorityKeyIdentifier(issuer.seeded("ski", 20), None, None), False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(issuer.ca_issuers_url))]), False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                x509.ObjectIdentifier("2.23.140.1.2.1"), None)]), False))


@functools.lru_cache(maxsize=8192)
def leaf_der(cn: str, names: tuple, serial: str, not_before: int, not_after: int, issuer_cn: str,
             precert: bool) -> str:
    builder = (_leaf_builder(issuer_cn)
               .subject_name(_x509_name({"CN": cn}))
               .serial_number(int(serial, 16))
               .not_valid_before(_utc(not_before))
               .not_valid_after(_utc(not_after))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), False))
    if precert:
        builder = builder.add_extension(x509.PrecertPoison(), True)
    return _sign(builder, _ISSUERS_BY_CN[issuer_cn].signature_algorithm)


@functools.lru_cache(maxsize=None)
def intermediate_der(issuer_cn: str) -> str:
    issuer = _ISSUERS_BY_CN[issuer_cn]
    entry = intermediate_entry(issuer)
    builder = (x509.CertificateBuilder()
               .subject_name(_x509_name(issuer.name))
               .issuer_name(_x509_name(issuer.root))
               .public_key(_signing_key().public_key())
               .serial_number(int(entry["serial_number"], 16))
               .not_valid_before(_utc(entry["not_before"]))
               .not_valid_after(_utc(entry["not_after"]))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
               .add_extension(x509.SubjectKeyIdentifier(issuer.seeded("ski", 20)), False))
    return _sign(builder, "sha256, ecdsa")


def attach_der(message: dict) -> dict:
    """Adds as_der to a synthesized message's leaf and chain (omitted when a name cannot be encoded)."""
    data = message["data"]
    leaf = data["leaf_cert"]
    issuer_cn = leaf["issuer"]["CN"]
    try:
        leaf["as_der"] = leaf_der(leaf["subject"]["CN"], tuple(leaf["all_domains"]), leaf["serial_number"],
                                  leaf["not_before"], leaf["not_after"], issuer_cn,
                                  data["update_type"] == "PrecertLogEntry")
    except ValueError:  # e.g. a non-ASCII name in the .txt file: DNSName needs A-labels
        return message
    for entry in data.get("chain") or []:
        entry["as_der"] = intermediate_der(issuer_cn)
    return message


# ---------------------------------------------------------------------------------------------
# Source files
# ---------------------------------------------------------------------------------------------
def source_kind(path: str) -> str:
    """"jsonl" or "domains", from the file name; ValueError for anything else."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".txt"):
        return "domains"
    raise ValueError(f"{path}: expected a .jsonl or .txt file (optionally .gz)")


def _lines(path: str) -> Iterator[str]:
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def read_domains(path: str) -> Iterator[str]:
    for line in _lines(path):
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def iter_items(path: str, factory: MessageFactory | None = None) -> Iterator[str | dict]:
    """The file's messages in order: raw text lines for .jsonl, message dicts for .txt."""
    if source_kind(path) == "jsonl":
        for line in _lines(path):
            if line.strip():
                yield line
        return
    factory = factory or MessageFactory()
    for domain in read_domains(path):
        yield from factory.messages_for(domain)


# ---------------------------------------------------------------------------------------------
# Rendering per endpoint
# ---------------------------------------------------------------------------------------------
def is_certificate_update(message) -> bool:
    return (isinstance(message, dict) and message.get("message_type") == "certificate_update"
            and isinstance(message.get("data"), dict))


def strip_der(message: dict) -> dict:
    """The lite form: no as_der on the leaf or on chain certificates."""
    data = message["data"]
    if isinstance(data.get("leaf_cert"), dict):
        data["leaf_cert"].pop("as_der", None)
    chain = data.get("chain")
    for entry in chain if isinstance(chain, list) else []:
        if isinstance(entry, dict):
            entry.pop("as_der", None)
    return message


def dns_entries(message: dict) -> dict:
    """The domains-only form; a stored message with a malformed all_domains gives an empty list."""
    leaf = message["data"].get("leaf_cert")
    names = leaf.get("all_domains") if isinstance(leaf, dict) else None
    return {"message_type": "dns_entries", "data": names if isinstance(names, list) else []}


def render(item: str | dict, endpoint: str) -> str:
    """The text frame for an item on an endpoint. Raw lines that are not certificate updates (or
    not JSON at all) are sent unchanged on every endpoint; synthesized dicts are modified in place."""
    if isinstance(item, str):
        if endpoint == FULL:
            return item
        try:
            message = json.loads(item)
        except ValueError:
            return item
        if not is_certificate_update(message):
            return item
    else:
        message = attach_der(item) if endpoint == FULL else item
    if endpoint == LITE:
        message = strip_der(message)
    elif endpoint == DOMAINS:
        message = dns_entries(message)
    return json.dumps(message)


def heartbeat() -> str:
    return json.dumps({"message_type": "heartbeat", "timestamp": time.time()})


# Frames a robust client must survive; the server rotates through them (garbage_every).
GARBAGE_FRAMES = (
    '{"message_type": "certificate_update", "data": {"update_type": "X509LogEntry", "leaf_cert": {',
    "502 Bad Gateway",
    '["certificate_update", {"all_domains": ["array.invalid"]}]',
    "null",
    '{"message_type": "ct_log_rotation", "data": {"log": "retired.invalid"}}',
    '{"data": {"leaf_cert": {"all_domains": ["no-type.invalid"]}}}',
    '{"message_type": "certificate_update", "data": {"update_type": null, "leaf_cert": null, "chain": null,'
    ' "cert_index": null, "cert_link": null, "seen": null, "source": null}}',
    '{"message_type": "certificate_update", "data": {"update_type": 42, "leaf_cert": {"all_domains":'
    ' "wrong-type.invalid", "subject": "CN=wrong-type.invalid", "extensions": [], "not_before": "yesterday",'
    ' "not_after": {}, "serial_number": 12345, "fingerprint": false}, "chain": "none", "cert_index": "12",'
    ' "seen": "now", "source": ["log"]}}',
    '{"message_type": "certificate_update", "data": {"update_type": "PrecertLogEntry", "leaf_cert":'
    ' {"all_domains": [null, 7, "", "*.", "UPPER.Odd-Names.INVALID.", "localhost", "192.0.2.1"],'
    ' "subject": {"CN": null}}, "cert_index": 1, "seen": 1.5, "source": {"url": null, "name": null}}}',
)
