"""CertStream messages: reading frames and describing certificates (API module).

Shared by the CertStream integration and the CertStreamParseCertificate script; `demisto-sdk unify`
inlines it. Standard library plus `msgspec` (optional, for speed) and `cryptography` (optional, for
the DER certificate of the full stream). No `demisto`.

- `parse_frame(text)`: what matching needs from a websocket frame (kind, SANs), cheaply.
- `certificate_from_message(message, sans)`: the certificate's facts as a `Certificate`.
- `certificate_fields(cert)`: the `X509 Certificate` indicator fields (grids, STIX id, DER facts).
"""
import base64
import hashlib
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, Union

MAX_DOMAIN_LENGTH = 253
MAX_SANS_PER_CERTIFICATE = 10000  # far above what CAs issue; bounds the work per frame
STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 SCO namespace
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
MAYBE_IP = re.compile(r"^[\d.]+$|:")  # only these can be IP addresses; skips ipaddress for names


@dataclass
class Certificate:
    """What the integration uses of one certificate_update (or dns_entries) message."""
    sans: list
    raw: dict
    update_type: str = ""
    fingerprint: str = ""  # SHA-256 where the message has it, else the SHA-1 fingerprint
    sha1: str = ""
    serial_number: str = ""
    subject: str = ""
    issuer: str = ""
    not_before: str = ""
    not_after: str = ""
    signature_algorithm: str = ""
    cert_index: int | None = None
    cert_link: str = ""
    source_name: str = ""
    source_url: str = ""
    seen: float | None = None


class RejectedFrame(Exception):
    """A frame that is not a usable message; `kind` names why, for the counters."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def epoch_to_iso(value) -> str:
    """UTC ISO 8601 of epoch seconds; "" for anything that is not a plausible time (> 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return ""
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


def distinguished_name(name) -> str:
    name = as_dict(name)
    if as_text(name.get("aggregated")):
        return as_text(name["aggregated"])
    return "".join(f"/{key}={value}" for key, value in name.items() if isinstance(value, str) and value)


def clean_sans(values) -> tuple:
    """Returns (usable domain names, rejected count): strings only, no IPs, no bare names, no junk."""
    if not isinstance(values, list):
        return [], 0
    names, rejected, seen = [], 0, set()
    for value in values[:MAX_SANS_PER_CERTIFICATE]:
        name = value.strip() if isinstance(value, str) else ""
        if not _is_usable_domain(name):
            rejected += 1
            continue
        key = name.lower()
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names, rejected + max(0, len(values) - MAX_SANS_PER_CERTIFICATE)


def _is_usable_domain(name: str) -> bool:
    if not name or len(name) > MAX_DOMAIN_LENGTH or CONTROL_CHARACTERS.search(name):
        return False
    return "." in name.strip(".") and not (MAYBE_IP.search(name) and _is_ip(name))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def parse_frame(text) -> tuple:
    """Reads what matching needs from a frame: returns (kind, SANs, rejected SAN count, seen) with
    kind "certificate" or "heartbeat" and seen the log's timestamp (epoch seconds or None); raises
    RejectedFrame. The rest of the message is only read (certificate_from_message) when one of its
    names matches."""
    kind, domains, seen = _decode_frame_quickly(text) or _decode_frame(text)
    seen = seen if isinstance(seen, (int, float)) and not isinstance(seen, bool) and seen > 0 else None
    if kind == "heartbeat":
        return "heartbeat", [], 0, None
    if kind not in ("certificate_update", "dns_entries"):
        raise RejectedFrame("unknown_type", str(kind)[:40])
    sans, rejected = clean_sans(domains)
    if not sans:
        raise RejectedFrame("no_domains")
    return "certificate", sans, rejected, seen


def _decode_frame(text) -> tuple:
    """(message_type, domain list, seen) with the standard json module; RejectedFrame says what is wrong."""
    try:
        message = json.loads(text)
    except (TypeError, ValueError) as error:
        raise RejectedFrame("not_json", str(error)[:80])
    if not isinstance(message, dict):
        raise RejectedFrame("not_object")
    kind = message.get("message_type")
    if kind == "dns_entries":
        return kind, message.get("data"), None
    data = as_dict(message.get("data"))
    return kind, as_dict(data.get("leaf_cert")).get("all_domains"), data.get("seen")


try:  # msgspec decodes only the fields matching needs: ~6x faster on full-stream messages
    import msgspec

    class _LeafFields(msgspec.Struct):
        all_domains: Any = None

    class _DataFields(msgspec.Struct):
        leaf_cert: Optional[_LeafFields] = None
        seen: Any = None

    class _FrameFields(msgspec.Struct):
        message_type: Any = None
        data: Union[_DataFields, list, None] = None

    _FRAME_DECODER = msgspec.json.Decoder(_FrameFields)
except ImportError:  # pragma: no cover - the image without msgspec uses the json module
    _FRAME_DECODER = None


def _decode_frame_quickly(text):
    """(message_type, domain list, seen), or None when msgspec is absent or the frame is not of the
    usual shape (the json path then says what is wrong with it)."""
    if _FRAME_DECODER is None:
        return None
    try:
        frame = _FRAME_DECODER.decode(text)
    except (msgspec.DecodeError, TypeError):
        return None
    data = frame.data
    if isinstance(data, list):
        return frame.message_type, data, None
    if not data:
        return frame.message_type, None, None
    return frame.message_type, data.leaf_cert.all_domains if data.leaf_cert else None, data.seen


def certificate_from_message(message: dict, sans: list) -> Certificate:
    """The fields of a certificate_update (a dns_entries message has only its names)."""
    data = as_dict(message.get("data"))
    leaf = as_dict(data.get("leaf_cert"))
    source = as_dict(data.get("source"))
    index = data.get("cert_index")
    seen = data.get("seen")
    return Certificate(
        sans=sans,
        raw=message,
        update_type=as_text(data.get("update_type")),
        fingerprint=as_text(leaf.get("sha256")) or as_text(leaf.get("fingerprint")) or as_text(leaf.get("sha1")),
        sha1=as_text(leaf.get("fingerprint")) or as_text(leaf.get("sha1")),
        serial_number=as_text(leaf.get("serial_number")),
        subject=distinguished_name(leaf.get("subject")),
        issuer=(distinguished_name(leaf.get("issuer")) or _chain_issuer(data.get("chain"))
                or _der_issuer(leaf.get("as_der"))),
        not_before=epoch_to_iso(leaf.get("not_before")),
        not_after=epoch_to_iso(leaf.get("not_after")),
        signature_algorithm=as_text(leaf.get("signature_algorithm")),
        cert_index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        cert_link=as_text(data.get("cert_link")),
        source_name=as_text(source.get("name")),
        source_url=as_text(source.get("url")),
        seen=seen if isinstance(seen, (int, float)) and not isinstance(seen, bool) else None,
    )


def _load_der(as_der):
    """The full stream's leaf certificate, or None (lite stream, placeholders, no cryptography)."""
    if not isinstance(as_der, str) or len(as_der) < 100:
        return None
    try:
        from cryptography import x509
        return x509.load_der_x509_certificate(base64.b64decode(as_der, validate=True))
    except Exception:
        return None


def _der_issuer(as_der) -> str:
    """The issuer as CertStream writes it (/C=US/CN=R3/O=...), read from the DER certificate."""
    certificate = _load_der(as_der)
    if certificate is None:
        return ""
    return "".join(f"/{attribute.rfc4514_attribute_name}={attribute.value}" for attribute in certificate.issuer)


def _chain_issuer(chain) -> str:
    """Older servers have no leaf issuer; the first chain certificate's subject is the issuer."""
    if isinstance(chain, list) and chain and isinstance(chain[0], dict):
        return distinguished_name(chain[0].get("subject"))
    return ""



# ---------------------------------------------------------------------------------------------
# Certificate fields for the X509 Certificate indicator
# ---------------------------------------------------------------------------------------------
def stix_id(serial_number: str) -> str:
    """Deterministic STIX id of a certificate, derived from its serial number."""
    return f"x509-certificate--{uuid.uuid5(STIX_NAMESPACE, serial_number.upper())}"


def _grid(values: dict) -> list:
    return [{"title": key, "data": value} for key, value in values.items() if isinstance(value, str) and value]


def certificate_fields(cert: Certificate) -> dict:
    leaf = as_dict(as_dict(cert.raw.get("data")).get("leaf_cert"))
    fields = {
        "serialnumber": cert.serial_number,
        "stixid": stix_id(cert.serial_number) if cert.serial_number else "",
        "validitynotbefore": cert.not_before,
        "validitynotafter": cert.not_after,
        "signaturealgorithm": cert.signature_algorithm,
        "subject": _grid(as_dict(leaf.get("subject"))),
        "issuer": _grid(as_dict(leaf.get("issuer"))) or [{"title": "aggregated", "data": cert.issuer}],
        "x.509v3extensions": _grid(as_dict(leaf.get("extensions"))),
        "domains": [{"domain": name} for name in cert.sans],
        "sha1": cert.sha1,
        "sha256": as_text(leaf.get("sha256")),
        "source": cert.source_name,
        "certificateindex": cert.cert_index,
        "certificatelink": cert.cert_link,
        "tags": ["CertStream"],
    }
    fields.update(der_fields(cert, leaf.get("as_der")))
    return {key: value for key, value in fields.items() if value not in (None, "", [])}


def der_fields(cert: Certificate, as_der) -> dict:
    """Fills what the JSON lacks from the DER certificate of the full stream, and flags any
    disagreement between the two. Placeholders ("REDACT", "::BASE64_DER_CERT::") are ignored."""
    if not isinstance(as_der, str) or len(as_der) < 100:
        return {}
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        certificate = x509.load_der_x509_certificate(base64.b64decode(as_der, validate=True))
    except Exception as error:  # not a DER certificate, or cryptography missing from the image
        return {"derparseerror": f"{type(error).__name__}: {error}"[:200]}
    key = certificate.public_key()
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fields = {
        "publickeyalgorithm": _key_algorithm(key),
        "publickeysize": getattr(key, "key_size", None),
        "spkisha256": hashlib.sha256(spki).hexdigest(),
        "pem": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }
    der_serial = f"{certificate.serial_number:X}"
    disagreements = []
    if cert.serial_number and cert.serial_number.lstrip("0").upper() != der_serial:
        disagreements.append(f"serial number JSON {cert.serial_number} vs DER {der_serial}")
    der_sha1 = certificate.fingerprint(hashes.SHA1()).hex().upper()
    if cert.sha1 and cert.sha1.replace(":", "").upper() != der_sha1:
        disagreements.append(f"SHA-1 JSON {cert.sha1} vs DER {der_sha1}")
    if disagreements:
        fields["derdisagreement"] = "; ".join(disagreements)
    return fields


def _key_algorithm(key) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    return type(key).__name__.replace("PublicKey", "")
