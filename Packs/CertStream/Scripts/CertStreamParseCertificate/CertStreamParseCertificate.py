"""CertStreamParseCertificate: describes one certificate the way the CertStream integration
describes it on its X509 Certificate indicator.

Input: a CertStream certificate_update message (JSON text, e.g. a CertStream incident's rawJSON,
which is read by default), a PEM certificate, base64 DER, or a certificate file from the War Room.
A bare PEM/DER is wrapped in a minimal certificate_update message built from the DER, so the
fields come from the same code as the integration's (`certificate_from_message`,
`certificate_fields` of CertStreamCertificateApiModule). The registrable domain of each name is the
detector's (`split_domain` of CertStreamDetectorApiModule), the unit the integration's allowlist
takes.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401
from CommonServerUserPython import *  # noqa: F401
from CertStreamCertificateApiModule import *  # noqa: F401
from CertStreamDetectorApiModule import *  # noqa: F401

import base64
import binascii

OUTPUT_PREFIX = "CertStream.Certificate"
KEY_FIELD = "fingerprint"
MAX_NAMES_SHOWN = 20
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
PEM_CERTIFICATE_LABELS = ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
DN_KEYS = ("C", "CN", "L", "O", "OU", "ST")  # the keys (and order) CertStream servers publish
NAME_KEYS = {"1.2.840.113549.1.9.1": "emailAddress", "2.5.4.5": "serialNumber", "2.5.4.97": "organizationIdentifier",
             "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC", "2.5.4.15": "businessCategory"}
EXTENSION_NAMES = {  # OpenSSL's short names, as CertStream servers publish them
    "2.5.29.17": "subjectAltName", "2.5.29.19": "basicConstraints", "2.5.29.15": "keyUsage",
    "2.5.29.37": "extendedKeyUsage", "2.5.29.14": "subjectKeyIdentifier", "2.5.29.35": "authorityKeyIdentifier",
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess", "2.5.29.32": "certificatePolicies",
    "2.5.29.31": "crlDistributionPoints", "1.3.6.1.4.1.11129.2.4.3": "ctlPoisonByte",
    "1.3.6.1.4.1.11129.2.4.2": "ctlSignedCertificateTimestamps", "2.5.29.18": "issuerAltName",
    "2.5.29.30": "nameConstraints", "1.3.6.1.5.5.7.1.24": "tlsFeature",
}
KEY_USAGES = (  # attribute of cryptography's KeyUsage, OpenSSL's wording
    ("digital_signature", "Digital Signature"), ("content_commitment", "Non Repudiation"),
    ("key_encipherment", "Key Encipherment"), ("data_encipherment", "Data Encipherment"),
    ("key_agreement", "Key Agreement"), ("key_cert_sign", "Certificate Sign"), ("crl_sign", "CRL Sign"),
)
EXTENDED_KEY_USAGES = {
    "1.3.6.1.5.5.7.3.1": "TLS Web server authentication", "1.3.6.1.5.5.7.3.2": "TLS Web client authentication",
    "1.3.6.1.5.5.7.3.3": "Code signing", "1.3.6.1.5.5.7.3.4": "E-mail Protection",
    "1.3.6.1.5.5.7.3.8": "Time Stamping", "1.3.6.1.5.5.7.3.9": "OCSP Signing",
    "2.5.29.37.0": "Any Extended Key Usage",
}
ACCESS_METHODS = {"1.3.6.1.5.5.7.48.2": "CA Issuers", "1.3.6.1.5.5.7.48.1": "OCSP"}
USAGE = ("Give a certificate in 'certificate' (PEM, or base64 DER), a CertStream certificate_update message in "
         "'message' (JSON), or a certificate file in 'entry_id'; without any of them the script reads the "
         "rawJSON of the current incident (a CertStream Suspicious Certificate incident)")


class InputError(ValueError):
    """Input the script cannot read; the message says what was expected."""


# ---------------------------------------------------------------------------------------------
# Reading the input
# ---------------------------------------------------------------------------------------------
def read_input(value, what: str) -> tuple:
    """(certificate_update message, input type, notes) from any accepted form of `value`."""
    if isinstance(value, dict):
        return check_message(value, what), "message", []
    if isinstance(value, (bytes, bytearray)):
        if value[:1] == b"\x30":  # an ASN.1 SEQUENCE: binary DER, as in a .der / .cer file
            return der_message(bytes(value), what), "der", []
        try:
            value = bytes(value).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{what} is neither text (PEM, base64 DER, JSON) nor a binary DER certificate.")
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InputError(f"{what} is empty. {USAGE}.")
    if text.startswith(("{", "[")):
        return check_message(load_json_input(text, what), what), "message", []
    if "-----BEGIN" in text:
        der, notes = pem_to_der(text, what)
        return der_message(der, what), "pem", notes
    return der_message(base64_to_der(text, what), what), "der", []


def load_json_input(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError as error:
        raise InputError(f"{what} looks like JSON but cannot be parsed: {error}.")


def check_message(message, what: str) -> dict:
    """The message itself when it is a certificate_update with a leaf certificate."""
    if not isinstance(message, dict):
        raise InputError(f"{what} is JSON but not an object: a CertStream message is an object with "
                         f"message_type and data.")
    kind = message.get("message_type")
    if kind != "certificate_update":
        if kind in ("heartbeat", "dns_entries"):
            detail = f"a CertStream {kind} message, which describes no certificate"
        elif kind:
            detail = f"a message of type {str(kind)[:40]!r}"
        else:
            detail = "JSON without a message_type"
        raise InputError(f"{what} is {detail}; a certificate_update message is needed "
                         f"(the full or lite CertStream stream, or a CertStream incident's rawJSON).")
    if not isinstance(as_dict(message.get("data")).get("leaf_cert"), dict):
        raise InputError(f"{what} is a certificate_update message without data.leaf_cert.")
    return message


def pem_to_der(text: str, what: str) -> tuple:
    """DER bytes of the first certificate of a PEM text (newlines may have been turned into spaces
    on the way through a War Room argument), and notes about the rest."""
    blocks = PEM_BLOCK.findall(text)
    certificates = [body for label, body in blocks if label in PEM_CERTIFICATE_LABELS]
    if not certificates:
        found = sorted({label for label, _ in blocks})
        if found:
            raise InputError(f"{what} holds PEM {', '.join(found)} data, not a certificate "
                             f"(-----BEGIN CERTIFICATE-----).")
        raise InputError(f"{what} has a -----BEGIN line but no complete -----BEGIN CERTIFICATE----- ... "
                         f"-----END CERTIFICATE----- block.")
    try:
        der = base64.b64decode("".join(certificates[0].split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InputError(f"The PEM certificate in {what} is not valid base64: {error}.")
    notes = []
    if len(certificates) > 1:
        notes.append(f"The PEM holds {len(certificates)} certificates; the first one (the leaf of a chain) "
                     f"is described.")
    return der, notes


def base64_to_der(text: str, what: str) -> bytes:
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{what} is neither a PEM certificate (-----BEGIN CERTIFICATE-----), base64 DER, nor "
                         f"a JSON CertStream message.")
    if der[:1] != b"\x30":
        raise InputError(f"{what} is base64 but does not decode to a DER certificate (it does not start with an "
                         f"ASN.1 SEQUENCE); give a PEM certificate, base64 DER or a CertStream message.")
    return der


# ---------------------------------------------------------------------------------------------
# A minimal certificate_update message around a DER certificate
# ---------------------------------------------------------------------------------------------
def load_der(der: bytes, what: str):
    try:
        from cryptography import x509
    except ImportError:  # pragma: no cover - the Docker image must have cryptography
        raise InputError("Reading a PEM or DER certificate needs the cryptography library, which this Docker "
                         "image lacks (see the pack README); a CertStream message can still be read.")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as error:
        raise InputError(f"{what} decodes to {len(der)} bytes that are not a DER X.509 certificate: {error}.")


def der_message(der: bytes, what: str) -> dict:
    """The certificate_update message a CertStream server would publish for this certificate (its
    leaf_cert only), with the DER as as_der so that certificate_fields adds the key facts and PEM."""
    from cryptography.hazmat.primitives import hashes
    certificate = load_der(der, what)
    subject = dn_dict(certificate.subject)
    extensions, dns_names = extension_texts(certificate)
    names = ([subject["CN"]] if subject.get("CN") else []) + dns_names  # CertStream: CN first, then SANs
    all_domains = list(dict.fromkeys(names))
    sha1 = certificate.fingerprint(hashes.SHA1()).hex(":").upper()
    leaf = {
        "all_domains": all_domains,
        "as_der": base64.b64encode(der).decode(),
        "extensions": extensions,
        "fingerprint": sha1,
        "sha1": sha1,
        "sha256": certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
        "not_before": int(utc_time(certificate, "not_valid_before").timestamp()),
        "not_after": int(utc_time(certificate, "not_valid_after").timestamp()),
        "serial_number": f"{certificate.serial_number:X}",
        "signature_algorithm": signature_algorithm(certificate),
        "subject": subject,
        "issuer": dn_dict(certificate.issuer),
        "is_ca": str(extensions.get("basicConstraints", "")).startswith("CA:TRUE"),
    }
    update_type = "PrecertLogEntry" if "ctlPoisonByte" in extensions else ""
    return {"message_type": "certificate_update", "data": {"update_type": update_type, "leaf_cert": leaf}}


def utc_time(certificate, name: str):
    value = getattr(certificate, name + "_utc", None)  # cryptography >= 42
    return value if value is not None else getattr(certificate, name).replace(tzinfo=timezone.utc)


def dn_dict(name) -> dict:
    """A subject / issuer as CertStream publishes it: C, CN, L, O, OU, ST (others after them) and
    the aggregated /K=V string; repeated attributes are joined with ", "."""
    values = {key: None for key in DN_KEYS}
    for attribute in name:
        key = NAME_KEYS.get(attribute.oid.dotted_string) or attribute.rfc4514_attribute_name
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        values[key] = f"{values[key]}, {value}" if values.get(key) else value
    values["aggregated"] = "".join(f"/{key}={value}" for key, value in values.items() if value)
    return values


def signature_algorithm(certificate) -> str:
    """In CertStream's form: "sha256, rsa", "sha384, ecdsa", "ed25519"."""
    from cryptography.x509.oid import SignatureAlgorithmOID
    oid = certificate.signature_algorithm_oid
    constant = next((name for name in dir(SignatureAlgorithmOID)
                     if not name.startswith("_") and getattr(SignatureAlgorithmOID, name) == oid), "")
    kind = constant.split("_WITH_")[0].lower().replace("_", "-") if constant else oid.dotted_string
    try:
        digest = certificate.signature_hash_algorithm
    except Exception:  # an algorithm cryptography cannot name
        digest = None
    return f"{digest.name}, {kind}" if digest is not None else kind


def extension_texts(certificate) -> tuple:
    """({OpenSSL short name: text}, DNS names of the subjectAltName)."""
    from cryptography import x509
    texts, dns_names = {}, []
    try:
        extensions = list(certificate.extensions)
    except (ValueError, x509.DuplicateExtension) as error:
        return {"unreadable": f"{type(error).__name__}: {error}"[:200]}, []
    for extension in extensions:
        oid = extension.oid.dotted_string
        name = EXTENSION_NAMES.get(oid, oid)
        value = extension.value
        try:
            if isinstance(value, x509.SubjectAlternativeName):
                dns_names = [n for n in value.get_values_for_type(x509.DNSName) if isinstance(n, str)]
            texts[name] = extension_text(value)
        except Exception as error:  # one odd extension does not hide the others
            texts[name] = f"(unreadable: {type(error).__name__})"
    if "ctlPoisonByte" in texts:
        texts["ctlPoisonByte"] = True  # as CertStream publishes it (the indicator's grid leaves it out)
    return dict(sorted(texts.items())), dns_names


def _colon_hex(data) -> str:
    return data.hex(":").upper() if data else ""


def extension_text(value) -> str:
    from cryptography import x509
    if isinstance(value, (x509.SubjectAlternativeName, x509.IssuerAlternativeName)):
        return ", ".join(general_name(name) for name in value)
    if isinstance(value, x509.BasicConstraints):
        text = "CA:TRUE" if value.ca else "CA:FALSE"
        return text + (f", pathlen:{value.path_length}" if value.path_length is not None else "")
    if isinstance(value, x509.KeyUsage):
        usages = [label for attribute, label in KEY_USAGES if getattr(value, attribute)]
        if value.key_agreement:
            usages += [label for attribute, label in (("encipher_only", "Encipher Only"),
                                                      ("decipher_only", "Decipher Only")) if getattr(value, attribute)]
        return ", ".join(usages)
    if isinstance(value, x509.ExtendedKeyUsage):
        return ", ".join(EXTENDED_KEY_USAGES.get(oid.dotted_string, oid.dotted_string) for oid in value)
    if isinstance(value, x509.SubjectKeyIdentifier):
        return _colon_hex(value.digest)
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return f"keyid:{_colon_hex(value.key_identifier)}\n" if value.key_identifier else ""
    if isinstance(value, x509.AuthorityInformationAccess):
        return "".join(f"{ACCESS_METHODS.get(d.access_method.dotted_string, d.access_method.dotted_string)} - "
                       f"{general_name(d.access_location)}\n" for d in value)
    if isinstance(value, x509.CertificatePolicies):
        return "\n".join(f"Policy: {policy.policy_identifier.dotted_string}" for policy in value)
    if isinstance(value, x509.CRLDistributionPoints):
        return "\n".join(general_name(name) for point in value for name in (point.full_name or []))
    if isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
        return f"{len(value)} signed certificate timestamps"
    if isinstance(value, x509.UnrecognizedExtension):
        return value.value.hex(":").upper()[:300]
    return str(value)[:300]


def general_name(name) -> str:
    from cryptography import x509
    labels = {x509.DNSName: "DNS", x509.IPAddress: "IP Address", x509.RFC822Name: "email",
              x509.UniformResourceIdentifier: "URI", x509.DirectoryName: "DirName", x509.RegisteredID: "Registered ID"}
    label = labels.get(type(name), "othername")
    value = name.value
    if isinstance(name, x509.DirectoryName):
        value = value.rfc4514_string()
    elif isinstance(name, x509.RegisteredID):
        value = value.dotted_string
    elif not isinstance(value, str):
        value = str(value)
    return f"{label}:{value}"


# ---------------------------------------------------------------------------------------------
# Describing the certificate
# ---------------------------------------------------------------------------------------------
def name_parts(name: str) -> dict:
    """One certificate name for enrichment and allowlisting: the name as in the certificate, the
    host name to look up (lower case, without a wildcard), and its registrable domain as the
    detector splits it, in the same (ASCII / punycode) form as the name."""
    domain = name.strip().lower().rstrip(".")
    while domain.startswith("*."):
        domain = domain[2:]
    parts = split_domain(domain)
    registrable = ""
    if parts:
        labels, wanted = domain.split("."), parts["registrable"].count(".") + 1
        registrable = ".".join(labels[-wanted:]) if len(labels) >= wanted else parts["registrable"]
    return {"name": name, "domain": domain, "registrable": registrable}


def describe_certificate(message: dict, input_type: str) -> dict:
    """The X509 Certificate indicator fields of the integration, plus a few conveniences:
    fingerprint (the indicator's value: SHA-256 where known, else SHA-1), subjectdn, issuerdn,
    sans (the usable domain names), names (each with its host name and registrable domain),
    updatetype and inputtype."""
    leaf = as_dict(as_dict(message.get("data")).get("leaf_cert"))
    sans, _rejected = clean_sans(leaf.get("all_domains"))
    cert = certificate_from_message(message, sans)
    context = {
        KEY_FIELD: cert.fingerprint,
        "subjectdn": cert.subject,
        "issuerdn": cert.issuer,
        "sans": cert.sans,
        "names": [name_parts(name) for name in cert.sans],
        "updatetype": cert.update_type,
        "inputtype": input_type,
    }
    context.update(certificate_fields(cert))
    return {key: value for key, value in context.items() if value not in (None, "", [])}


def _one_line(value) -> str:
    if isinstance(value, list):
        return ", ".join(_one_line(item) for item in value)
    return "; ".join(part.strip() for part in str(value).strip().splitlines() if part.strip())


def certificate_markdown(context: dict, notes: list) -> str:
    names = context.get("sans") or []
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    if len(names) > MAX_NAMES_SHOWN:
        shown += f" and {len(names) - MAX_NAMES_SHOWN} more"
    key = context.get("publickeyalgorithm", "")
    if context.get("publickeysize"):
        key += f" {context['publickeysize']} bits"
    rows = [
        ("Subject", context.get("subjectdn")),
        ("Issuer", context.get("issuerdn")),
        ("Names", f"{len(names)}: {shown}" if names else ""),
        ("Registrable domains", ", ".join(dict.fromkeys(
            part["registrable"] for part in context.get("names") or [] if part["registrable"]))),
        ("Valid from (UTC)", context.get("validitynotbefore")),
        ("Valid until (UTC)", context.get("validitynotafter")),
        ("Serial number", context.get("serialnumber")),
        ("SHA-256", context.get("sha256")),
        ("SHA-1", context.get("sha1")),
        ("Signature algorithm", context.get("signaturealgorithm")),
        ("Public key", key),
        ("SPKI SHA-256", context.get("spkisha256")),
        ("Update type", context.get("updatetype")),
        ("CT log", context.get("source")),
        ("Log index", context.get("certificateindex")),
        ("Log entry", context.get("certificatelink")),
        ("STIX id", context.get("stixid")),
    ]
    table = [{"Field": field, "Value": _one_line(value)} for field, value in rows if value not in (None, "")]
    text = tableToMarkdown(f"CertStream certificate {context.get(KEY_FIELD, '')}".strip(), table,
                           headers=["Field", "Value"])
    extensions = [{"Extension": row["title"], "Value": _one_line(row["data"])}
                  for row in context.get("x.509v3extensions") or []]
    if extensions:
        text += "\n" + tableToMarkdown("Extensions", extensions, headers=["Extension", "Value"])
    notes = list(notes)
    if context.get("derdisagreement"):
        notes.append(f"The DER certificate disagrees with the message: {context['derdisagreement']}.")
    if context.get("derparseerror"):
        notes.append(f"The message's DER certificate (as_der) could not be read: {context['derparseerror']}.")
    if not names:
        notes.append("The certificate names no usable domain (only IP addresses, bare names or none).")
    return text + "".join(f"\n**Note:** {note}" for note in notes)


def incident_raw_json():
    """The rawJSON of the incident the script runs in, or None."""
    try:
        incident = demisto.incident() or {}
    except Exception:  # not run in an incident
        return None
    raw = incident.get("rawJSON") if isinstance(incident, dict) else None
    if isinstance(raw, dict):
        return raw or None
    return raw if isinstance(raw, str) and raw.strip() else None


def read_entry_file(entry_id: str) -> bytes:
    try:
        path = demisto.getFilePath(entry_id)["path"]
    except Exception as error:
        raise InputError(f"No file found for entry_id {entry_id!r}: {error}.")
    with open(path, "rb") as handle:
        return handle.read(1_000_000)


def is_given(value) -> bool:
    """Blank arguments (an empty context value in a playbook) count as not given."""
    return bool(value.strip()) if isinstance(value, str) else value not in (None, {}, [])


def parse_certificate(args: dict) -> CommandResults:
    given = {name: args[name] for name in ("certificate", "message", "entry_id")
             if is_given(args.get(name))}
    if len(given) > 1:
        raise InputError(f"Give only one of certificate, message and entry_id (got {', '.join(given)}).")
    if "certificate" in given:
        message, input_type, notes = read_input(given["certificate"], "The certificate argument")
    elif "message" in given:
        message, input_type, notes = read_input(given["message"], "The message argument")
    elif "entry_id" in given:
        message, input_type, notes = read_input(read_entry_file(str(given["entry_id"])), "The file")
        input_type = "file " + input_type
    else:
        raw = incident_raw_json()
        if raw is None:
            raise InputError(f"Nothing to parse. {USAGE}, and this incident has no rawJSON.")
        message, input_type, notes = read_input(raw, "The incident's rawJSON")
        input_type = "incident " + input_type
    context = describe_certificate(message, input_type)
    return CommandResults(
        outputs_prefix=OUTPUT_PREFIX,
        outputs_key_field=KEY_FIELD,
        outputs=context,
        readable_output=certificate_markdown(context, notes),
        raw_response=context,
    )


def main():  # pragma: no cover - dispatch only
    try:
        return_results(parse_certificate(demisto.args()))
    except Exception as error:
        return_error(f"Failed to execute CertStreamParseCertificate. Error: {error}")


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
