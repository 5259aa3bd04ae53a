"""CertStream: streams new TLS certificates from a CertStream server and raises incidents for
domain names that imitate the organisation's brands.

Flow: stream (connect, ping, reconnect) -> frame parsing -> detector (CertStreamDetectorApiModule)
-> incident and indicator building -> demisto. Each step has its own section below.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401
from CommonServerUserPython import *  # noqa: F401
from CertStreamDetectorApiModule import *  # noqa: F401
from CertStreamCertificateApiModule import *  # noqa: F401

import asyncio
import dataclasses
import random
import signal
import ssl
import urllib.parse
from dataclasses import dataclass, field

import websockets

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------
INTEGRATION_NAME = "CertStream"
DEFAULT_INCIDENT_TYPE = "CertStream Suspicious Certificate"
SEVERITY_NAMES = {1: "Low", 2: "Medium", 3: "High", 4: "Critical"}
TEST_MODULE_TIMEOUT = 10  # seconds to wait for the first message in test-module
PING_INTERVAL = 20  # websocket pings; servers drop clients silent for about a minute
RECONNECT_INITIAL_DELAY = 1.0
RECONNECT_MAX_DELAY = 300.0
HEALTHY_CONNECTION_SECONDS = 60  # a connection that lasted this long, or
HEALTHY_CONNECTION_FRAMES = 1000  # delivered this many frames, resets the backoff
QUIET_WARNING_SECONDS = 600  # connected but no certificate this long: said on the health
FLUSH_INTERVAL = 2.0  # seconds between createIncidents batches
CONTEXT_SAVE_INTERVAL = 5.0  # seconds between integration-context writes (status and de-duplication)
INCIDENT_BATCH_SIZE = 100
MAX_REPORTED_NAMES = 100  # matching names listed on one incident (and made indicators), strongest first
DEDUP_MAX_ENTRIES = 50000
REJECT_LOG_INTERVAL = 60.0  # log rejected frames at most once a minute per kind


class ConfigurationError(DemistoException):
    """A parameter a user must fix."""


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
@dataclass
class Settings:
    url: str
    list_name: str
    update_interval: float = 30.0  # minutes
    threshold: float = 0.85
    allowlist: list = field(default_factory=list)
    known_bad_list: str = ""
    incident_type: str = DEFAULT_INCIDENT_TYPE
    dedup_days: float = 7.0
    stall_timeout: float = 120.0
    reconnect_delay: float = RECONNECT_INITIAL_DELAY
    reconnect_max_delay: float = RECONNECT_MAX_DELAY
    insecure: bool = False
    proxy: bool = False
    exit_on_stream_end: bool = False  # local runtime only (xsoar-local --until-closed)
    fetch_duration: float = 50.0
    fetch_max_messages: int = 20000


def _number_param(params: dict, name: str, default: float, low: float, high: float, label: str) -> float:
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"{label} must be a number between {low:g} and {high:g}, got {raw!r}.")
    if not low <= value <= high:
        raise ConfigurationError(f"{label} must be between {low:g} and {high:g}, got {raw!r}.")
    return value


def _bool_param(params: dict, name: str) -> bool:
    value = params.get(name)
    return value is True or str(value).strip().lower() == "true"


def parse_allowlist(raw) -> list:
    if not raw:
        return []
    items = raw if isinstance(raw, list) else re.split(r"[\s,;]+", str(raw))
    return [item.strip().lower().rstrip(".") for item in items if item and item.strip()]


def parse_settings(params: dict) -> Settings:
    """Validates the instance parameters; raises ConfigurationError with a message a user can act on."""
    url = str(params.get("url") or "").strip()
    if not re.match(r"^wss?://[^/\s]+", url):
        raise ConfigurationError(f"CertStream server URL must start with ws:// or wss:// and name a host, got {url!r}.")
    try:
        urllib.parse.urlsplit(url).port  # raises for a port that is not a number in 0-65535
    except ValueError as error:
        raise ConfigurationError(f"CertStream server URL {url!r} is not valid: {error}.")
    return Settings(
        url=url,
        list_name=str(params.get("list_name") or "").strip(),
        update_interval=_number_param(params, "update_interval", 30, 1, 7 * 24 * 60,
                                      "Watch list refresh interval (minutes)"),
        threshold=_number_param(params, "levenshtein_distance_threshold", 0.85, 0, 1, "Similarity threshold"),
        allowlist=parse_allowlist(params.get("allowlist")),
        known_bad_list=str(params.get("known_bad_list") or "").strip(),
        incident_type=str(params.get("incidentType") or DEFAULT_INCIDENT_TYPE),
        dedup_days=_number_param(params, "dedup_days", 7, 0, 365, "De-duplication window (days)"),
        stall_timeout=_number_param(params, "stall_timeout", 120, 1, 3600, "Stall timeout (seconds)"),
        reconnect_delay=_number_param(params, "reconnect_delay", RECONNECT_INITIAL_DELAY, 0.1, 600,
                                      "Reconnect initial delay (seconds)"),
        reconnect_max_delay=_number_param(params, "reconnect_max_delay", RECONNECT_MAX_DELAY, 1, 3600,
                                          "Reconnect maximum delay (seconds)"),
        insecure=_bool_param(params, "insecure"),
        proxy=_bool_param(params, "proxy"),
        exit_on_stream_end=_bool_param(params, "exit_on_stream_end"),
        fetch_duration=_number_param(params, "fetch_duration", 50, 1, 3600, "Fetch duration (seconds)"),
        fetch_max_messages=int(_number_param(params, "fetch_max_messages", 20000, 1, 10 ** 7,
                                             "Fetch maximum messages")),
    )


# ---------------------------------------------------------------------------------------------
# Watch list access
# ---------------------------------------------------------------------------------------------
def read_list_text(name: str) -> str:
    """Returns the text of the XSOAR list `name`; raises WatchListError when it does not exist.

    Uses demisto.getList where the runtime has it; otherwise the server's /lists/ endpoint (what
    integrations can reach), and executeCommand("getList") as the last resort.
    """
    if not name:
        raise WatchListError("No watch list name is configured (parameter 'Watch list name').")
    get_list = getattr(demisto, "getList", None)
    if callable(get_list):
        text = get_list(name)
        if text is None or text == "Item not found (8)":
            raise WatchListError(f"The watch list '{name}' does not exist. Create it under Settings > Lists.")
        return text
    if callable(getattr(demisto, "internalHttpRequest", None)):
        return _read_list_over_http(name)
    return _read_list_with_command(name)


def _read_list_over_http(name: str) -> str:
    response = demisto.internalHttpRequest("GET", "/lists/")
    status = response.get("statusCode") if isinstance(response, dict) else None
    if status != 200:
        raise WatchListError(f"Could not read the XSOAR lists (HTTP {status}): {response}")
    for item in json.loads(response.get("body") or "[]"):
        if item.get("id") == name or item.get("name") == name:
            return item.get("data") or ""
    raise WatchListError(f"The watch list '{name}' does not exist. Create it under Settings > Lists.")


def _read_list_with_command(name: str) -> str:
    entries = demisto.executeCommand("getList", {"listName": name})
    if not entries or isError(entries[0]) or entries[0].get("Contents") == "Item not found (8)":
        raise WatchListError(f"The watch list '{name}' does not exist. Create it under Settings > Lists.")
    return entries[0].get("Contents") or ""


def load_detector(settings: Settings) -> "Detector":
    """Reads, validates and indexes the watch list once; the index is reused for every message."""
    watch_list = parse_watch_list(read_list_text(settings.list_name))
    return Detector(watch_list, threshold=settings.threshold, allowlist=settings.allowlist)


# ---------------------------------------------------------------------------------------------
# Threat-intel verdicts: what the organisation already knows about a matched name
# ---------------------------------------------------------------------------------------------
def parse_known_bad(text: str) -> list:
    """Known-bad keywords or domains: a JSON array, or one per line / comma separated."""
    text = (text or "").strip()
    try:
        items = json.loads(text) if text.startswith("[") else None
    except ValueError:
        items = None
    if not isinstance(items, list):
        items = re.split(r"[\n,]+", text)
    return sorted({str(item).strip().lower().rstrip(".") for item in items if str(item).strip()})


class ThreatIntel:
    """Reviews matches against existing indicators (a Good verdict suppresses, a Bad one makes the
    match critical) and an optional list of known-bad keywords or domains (raises the severity)."""

    def __init__(self, known_bad: list = (), list_name: str = ""):
        self.known_bad = list(known_bad)
        self.list_name = list_name

    def review(self, matches: list) -> list:
        reviewed = []
        for match in matches:
            score = existing_verdict(match.domain.lower().lstrip("*.").rstrip("."), match.registrable)
            if score != Common.DBotScore.GOOD:
                reviewed.append(self._raise(match, score))
        return reviewed

    def _raise(self, match, score):
        notes, severity = [], match.severity
        if score == Common.DBotScore.BAD:
            severity = IncidentSeverity.CRITICAL
            notes.append("already scored malicious in XSOAR")
        hit = next((term for term in self.known_bad if term in match.domain.lower()), None)
        if hit:
            severity = max(severity, min(IncidentSeverity.CRITICAL, match.severity + 1))
            notes.append(f"known-bad entry `{hit}` from list '{self.list_name}'")
        if not notes:
            return match
        return dataclasses.replace(match, severity=severity, explanation=f"{match.explanation}; {'; '.join(notes)}")


def existing_verdict(*values) -> int | None:
    """The verdict of existing indicators with one of these values: GOOD when one is good and none
    bad, else the highest DBot score, None when unknown. The real mock answers {} and real servers
    may omit keys, so every key is optional."""
    scores = []
    for value in {(v or "").lower() for v in values if v}:
        try:
            answer = demisto.searchIndicators(value=value, size=5) or {}
        except Exception as error:  # a lookup failure must not stop the incident
            demisto.debug(f"CertStream: indicator lookup for {value} failed: {error}")
            continue
        for ioc in answer.get("iocs") or []:
            if isinstance(ioc, dict) and str(ioc.get("value", "")).lower() == value and \
                    isinstance(ioc.get("score"), int):
                scores.append(ioc["score"])
    if Common.DBotScore.GOOD in scores and Common.DBotScore.BAD not in scores:
        return Common.DBotScore.GOOD
    return max(scores) if scores else None


def load_threat_intel(settings: Settings) -> ThreatIntel:
    if not settings.known_bad_list:
        return ThreatIntel()
    return ThreatIntel(parse_known_bad(read_list_text(settings.known_bad_list)), settings.known_bad_list)


# ---------------------------------------------------------------------------------------------
# Incident and indicator building
# ---------------------------------------------------------------------------------------------
def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strength(match) -> tuple:
    return match.severity, match.score, match.similarity


def group_lookalikes(matches: list) -> list:
    """Matches grouped by (asset, registrable domain), strongest group first; each group is
    (names shortest first, strongest match): `x.com` and `www.x.com` are one lookalike."""
    groups: dict = {}
    for match in matches:
        groups.setdefault((match.asset, (match.registrable or match.domain).lower()), []).append(match)
    result = [(sorted((m.domain for m in group), key=lambda name: (len(name), name)), max(group, key=_strength))
              for group in groups.values()]
    return sorted(result, key=lambda item: _strength(item[1]), reverse=True)


def _names(names: list) -> str:
    return names[0] + (f" (and {', '.join(names[1:])})" if len(names) > 1 else "")


def build_incident(cert: Certificate, matches: list, incident_type: str) -> dict:
    """One incident for one certificate, listing every matching SAN and asset."""
    matches = sorted(matches, key=_strength, reverse=True)[:MAX_REPORTED_NAMES]
    lookalikes = group_lookalikes(matches)
    names, best = lookalikes[0]
    others = len(lookalikes) - 1
    return {
        "name": f"Lookalike of {best.asset}: {names[0]}" + (f" (+{others} more)" if others else ""),
        "type": incident_type,
        "occurred": epoch_to_iso(cert.seen) or _now_iso(),
        "severity": best.severity,
        "details": incident_details(cert, lookalikes),
        "rawJSON": json.dumps(cert.raw),
        "labels": [{"type": "Domain", "value": m.domain} for m in matches],
        "CustomFields": {
            "certstreammatcheddomain": names[0],
            "certstreammatcheddomains": [m.domain for m in matches],
            "certstreamasset": best.asset,
            "certstreammatchedassets": sorted({m.asset for m in matches}),
            "certstreamhomograph": best.term,
            "certstreamsimilarity": round(best.similarity, 4),
            "certstreamscore": best.score,
            "certstreamexplanation": "\n".join(f"{_names(group)}: {match.explanation}" for group, match in lookalikes),
            "certstreamfingerprint": cert.fingerprint,
            "certstreamserialnumber": cert.serial_number,
            "certstreamissuer": cert.issuer,
            "certstreamnotbefore": cert.not_before,
            "certstreamnotafter": cert.not_after,
            "certstreamsourcelog": cert.source_name or cert.source_url,
            "certstreamcertindex": cert.cert_index,
            "certstreamcertlink": cert.cert_link,
            "certstreamupdatetype": cert.update_type,
            "certstreamsans": cert.sans,
        },
    }


def incident_details(cert: Certificate, lookalikes: list) -> str:
    """A short readable summary: what matched and why, who issued the certificate and when, and
    which other names it covers."""
    lines = [f"{_names(names)} imitates {match.asset} ({SEVERITY_NAMES.get(match.severity, match.severity)}, "
             f"similarity {match.similarity:.2f}): {match.explanation}." for names, match in lookalikes]
    issued = f"Certificate issued {cert.not_before or 'at an unknown time'}"
    if cert.issuer:
        issued += f" by {cert.issuer}"
    if cert.not_after:
        issued += f", valid until {cert.not_after}"
    if cert.source_name:
        issued += f"; seen in {cert.source_name}"
    lines.append(issued + ".")
    shown = ", ".join(cert.sans[:10]) + (f" and {len(cert.sans) - 10} more" if len(cert.sans) > 10 else "")
    lines.append(f"It covers {len(cert.sans)} name(s): {shown}.")
    return "\n".join(lines)


def asset_domain(asset: str) -> str:
    """The domain a watched asset stands for: as written when it has a TLD, else <asset>.com."""
    return asset if "." in asset else f"{asset}.com"


def build_indicators(cert: Certificate, matches: list) -> list:
    """A Domain indicator per matched name (and its registrable domain), each similar-to the watched
    asset's domain, and one X509 Certificate indicator related-to every one of them."""
    domains = {}
    for match in sorted(matches, key=_strength, reverse=True)[:MAX_REPORTED_NAMES]:
        for name in (match.domain.lower().lstrip("*.").rstrip("."), (match.registrable or "").lower()):
            if name:
                domains.setdefault(name, match)
    indicators = [{
        "value": name,
        "type": FeedIndicatorType.Domain,
        "rawJSON": {"value": name, "type": FeedIndicatorType.Domain, "asset": match.asset},
        "fields": {"tags": ["CertStream", "lookalike"], "description": match.explanation},
        "relationships": [EntityRelationship(
            name=EntityRelationship.Relationships.SIMILAR_TO,
            entity_a=name, entity_a_type=FeedIndicatorType.Domain,
            entity_b=asset_domain(match.asset), entity_b_type=FeedIndicatorType.Domain,
        ).to_indicator()] if name != asset_domain(match.asset) else [],
    } for name, match in domains.items()]
    if cert.fingerprint:
        indicators.append({
            "value": cert.fingerprint,
            "type": FeedIndicatorType.X509,
            "rawJSON": cert.raw,
            "fields": certificate_fields(cert),
            "relationships": [EntityRelationship(
                name=EntityRelationship.Relationships.RELATED_TO,
                entity_a=cert.fingerprint, entity_a_type=FeedIndicatorType.X509,
                entity_b=name, entity_b_type=FeedIndicatorType.Domain,
            ).to_indicator() for name in domains],
        })
    return indicators


# ---------------------------------------------------------------------------------------------
# De-duplication: one incident per (registrable domain, asset) within the window
# ---------------------------------------------------------------------------------------------
class DedupCache:
    def __init__(self, window_seconds: float, entries: dict | None = None):
        self.window = window_seconds
        self.entries = {k: v for k, v in (entries or {}).items() if isinstance(v, (int, float))}

    @staticmethod
    def key(match) -> str:
        return f"{(match.registrable or match.domain).lower()}|{match.asset}"

    def is_new(self, match, now: float) -> bool:
        reported = self.entries.get(self.key(match))
        return reported is None or now - reported > self.window

    def remember(self, matches: list, now: float) -> None:
        for match in matches:
            self.entries[self.key(match)] = now

    def expire(self, now: float) -> None:
        self.entries = {k: t for k, t in self.entries.items() if now - t <= self.window}
        if len(self.entries) > DEDUP_MAX_ENTRIES:  # keep the newest
            newest = sorted(self.entries.items(), key=lambda item: item[1])[-DEDUP_MAX_ENTRIES:]
            self.entries = dict(newest)


# ---------------------------------------------------------------------------------------------
# Certificate processing: shared by long-running-execution and fetch-incidents
# ---------------------------------------------------------------------------------------------
class CertificateProcessor:
    """Turns frames into pending incidents and indicators; counts everything it sees."""

    def __init__(self, detector, settings: Settings, dedup: DedupCache, intel: ThreatIntel | None = None):
        self.detector = detector
        self.intel = intel or ThreatIntel()
        self.settings = settings
        self.dedup = dedup
        self.pending_incidents: list = []
        self.pending_indicators: list = []
        self.stats = {"messages": 0, "certificates": 0, "heartbeats": 0, "sans": 0, "sans_rejected": 0, "matches": 0,
                      "incidents_created": 0, "duplicates_suppressed": 0,
                      "suppressed_by_verdict": 0, "rejected": {}}
        self._last_reject_log: dict = {}
        self.last_seen: float | None = None  # the CT log's timestamp of the newest certificate read

    def process_frame(self, text) -> None:
        self.stats["messages"] += 1
        try:
            kind, sans, rejected_sans, seen = parse_frame(text)
        except RejectedFrame as rejected:
            self._count_rejected(rejected)
            return
        if kind == "heartbeat":
            self.stats["heartbeats"] += 1
            return
        self.stats["certificates"] += 1
        self.stats["sans"] += len(sans)
        if seen:
            self.last_seen = seen
        self.stats["sans_rejected"] += rejected_sans
        matches = self.detector.match_domains(sans)
        if matches:
            self.report(certificate_from_message(json.loads(text), sans), matches)

    def report(self, cert: Certificate, matches: list) -> None:
        """Queues one incident for the certificate unless every lookalike in it was reported
        within the de-duplication window."""
        self.stats["matches"] += len(matches)
        now = time.time()
        if not any(self.dedup.is_new(m, now) for m in matches):
            self.stats["duplicates_suppressed"] += 1
            return
        self.dedup.remember(matches, now)
        matches = self.intel.review(matches)
        if not matches:  # every name already has a Good verdict in XSOAR
            self.stats["suppressed_by_verdict"] += 1
            return
        self.pending_incidents.append(build_incident(cert, matches, self.settings.incident_type))
        self.pending_indicators.extend(build_indicators(cert, matches))

    def _count_rejected(self, rejected: RejectedFrame) -> None:
        counts = self.stats["rejected"]
        counts[rejected.kind] = counts.get(rejected.kind, 0) + 1
        now = time.time()
        if now - self._last_reject_log.get(rejected.kind, 0) >= REJECT_LOG_INTERVAL:
            self._last_reject_log[rejected.kind] = now
            demisto.info(f"CertStream: skipped a frame ({rejected}); {counts[rejected.kind]} of this kind so far")

    def take_pending(self) -> tuple:
        incidents, indicators = self.pending_incidents, self.pending_indicators
        self.pending_incidents, self.pending_indicators = [], []
        return incidents, indicators

    def flush(self) -> int:
        """Creates the pending incidents and indicators in batches; returns how many incidents."""
        incidents, indicators = self.take_pending()
        for start in range(0, len(incidents), INCIDENT_BATCH_SIZE):
            demisto.createIncidents(incidents[start:start + INCIDENT_BATCH_SIZE])
        if indicators:
            demisto.createIndicators(indicators)
        self.stats["incidents_created"] += len(incidents)
        return len(incidents)


# ---------------------------------------------------------------------------------------------
# Stream client: connection, pings, stall watchdog, reconnect with backoff
# ---------------------------------------------------------------------------------------------
class Backoff:
    """Exponential reconnect delay with jitter, capped, reset after a healthy connection."""

    def __init__(self, initial: float = RECONNECT_INITIAL_DELAY, cap: float = RECONNECT_MAX_DELAY,
                 rng: random.Random | None = None):
        self.initial, self.cap, self.rng = initial, cap, rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        base = min(self.cap, self.initial * (2 ** self.attempt))
        self.attempt += 1
        return base * self.rng.uniform(0.8, 1.2) if base < self.cap else self.cap * self.rng.uniform(0.9, 1.0)

    def reset(self) -> None:
        self.attempt = 0


def connect_options(settings: Settings) -> dict:
    options = {"ping_interval": PING_INTERVAL, "ping_timeout": PING_INTERVAL, "max_size": 2 ** 24,
               "open_timeout": 20, "close_timeout": 5, "proxy": None}
    if settings.url.startswith("wss://") and settings.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        options["ssl"] = context
    if settings.proxy:
        proxies, _ = handle_proxy_for_long_running()
        proxy_url = (proxies or {}).get("https") or (proxies or {}).get("http")
        options["proxy"] = proxy_url or True
    return options


def describe_connection_error(url: str, error: BaseException) -> str:
    """Words a user can act on for any failure to connect or stay connected."""
    if isinstance(error, websockets.exceptions.InvalidStatus):
        return f"{url} refused the websocket handshake with HTTP {error.response.status_code}"
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        if error.rcvd is None:
            return f"connection to {url} was dropped without a close frame"
        return f"{url} closed the connection (code {error.rcvd.code})"
    if isinstance(error, ssl.SSLError):
        return f"TLS error with {url}: {error.reason or error} (enable 'Trust any certificate' for self-signed servers)"
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return f"timed out connecting to {url}"
    if isinstance(error, OSError):
        reason = error.strerror or str(error) or type(error).__name__
        return f"cannot reach {url}: {reason}"
    return f"error on the connection to {url}: {type(error).__name__}: {error}"


class StreamStalled(Exception):
    pass


async def read_stream(settings: Settings, on_frame, stop: asyncio.Event, on_connected=None) -> None:
    """One connection: calls on_frame(text) for every frame until the server closes the stream
    (returns), stop is set (returns), no frame arrives within the stall timeout (StreamStalled), or
    the connection fails (the websockets or OS error)."""
    async with websockets.connect(settings.url, **connect_options(settings)) as connection:
        if on_connected:
            on_connected()
        clock = {"last_frame": time.monotonic(), "stalled": False}
        watchdog = asyncio.create_task(_watch_connection(connection, clock, settings.stall_timeout, stop))
        try:
            async for frame in connection:
                clock["last_frame"] = time.monotonic()
                on_frame(frame)
                if stop.is_set():
                    break
        except websockets.exceptions.ConnectionClosed:
            if not clock["stalled"] and not stop.is_set():
                raise
        finally:
            watchdog.cancel()
        if clock["stalled"]:
            raise StreamStalled(f"no data from {settings.url} for {settings.stall_timeout:g} s")


async def _watch_connection(connection, clock: dict, stall_timeout: float, stop: asyncio.Event) -> None:
    """Closes the connection when stop is set, and drops it when the server goes silent."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
            await connection.close()
            return
        except (asyncio.TimeoutError, TimeoutError):
            pass
        if time.monotonic() - clock["last_frame"] >= stall_timeout:
            clock["stalled"] = True
            connection.transport.abort()
            return


# ---------------------------------------------------------------------------------------------
# Long-running execution
# ---------------------------------------------------------------------------------------------
class StreamingLoop:
    """Owns the connection lifecycle, list refresh, batching and published status."""

    def __init__(self, settings: Settings, detector, context: dict | None = None, intel: ThreatIntel | None = None):
        context = context or {}
        self.settings = settings
        self.dedup = DedupCache(settings.dedup_days * 86400, as_dict(context.get("dedup")))
        self.processor = CertificateProcessor(detector, settings, self.dedup, intel)
        self.backoff = Backoff(settings.reconnect_delay, max(settings.reconnect_delay, settings.reconnect_max_delay))
        self.stop = asyncio.Event()
        self.status = {"server": settings.url, "connected_since": None, "reconnects": 0, "last_error": "",
                       "list_name": settings.list_name, "list_terms": getattr(detector, "size", 0),
                       "list_loaded_at": _now_iso(), "list_error": ""}
        self.list_loaded = time.monotonic()
        self.rate_window: list = []  # (monotonic time, messages) samples over the last minute
        self.connected_at = None
        self.certificates_seen, self.certificates_since, self.quiet_warned = 0, time.monotonic(), False
        self.started = time.monotonic()

    # -- status and persistence ------------------------------------------------------------
    def publish(self) -> None:
        now = time.monotonic()
        messages = self.processor.stats["messages"]
        self.rate_window = [(t, m) for t, m in self.rate_window if now - t <= 60] + [(now, messages)]
        first_time, first_count = self.rate_window[0]
        rate = (messages - first_count) / (now - first_time) if now > first_time else 0.0
        self.dedup.expire(time.time())
        last_seen = self.processor.last_seen
        status = dict(self.status, **self.processor.stats, messages_per_second=round(rate, 1),
                      elapsed_seconds=round(now - self.started, 3), updated_at=_now_iso(),
                      # how far behind the CT logs the loop reads: grows when it cannot keep up
                      lag_seconds=round(time.time() - last_seen, 1) if last_seen else None)
        demisto.setIntegrationContext({"status": status, "dedup": self.dedup.entries})

    def flush(self) -> None:
        try:
            self.processor.flush()
        except Exception as error:  # keep the loop alive; the batch is retried on the next flush
            demisto.error(f"CertStream: creating incidents failed: {error}")

    def set_health(self, message: str = "", is_error: bool = False) -> None:
        self.status["last_error"] = message or self.status["last_error"]
        demisto.updateModuleHealth(message, is_error=is_error)

    # -- watch list refresh ----------------------------------------------------------------
    def refresh_list_if_due(self) -> None:
        if time.monotonic() - self.list_loaded < self.settings.update_interval * 60:
            return
        self.list_loaded = time.monotonic()
        try:
            self.processor.detector = load_detector(self.settings)
            self.processor.intel = load_threat_intel(self.settings)
        except Exception as error:
            self.status["list_error"] = f"watch list '{self.settings.list_name}' rejected, still using the previous one: {error}"
            self.set_health(self.status["list_error"], is_error=True)
            demisto.error(f"CertStream: {self.status['list_error']}")
            return
        self.status.update(list_terms=getattr(self.processor.detector, "size", 0), list_loaded_at=_now_iso(),
                           list_error="")
        demisto.info(f"CertStream: reloaded watch list '{self.settings.list_name}'")

    # -- main loop -------------------------------------------------------------------------
    async def housekeeping(self) -> None:
        last_save = 0.0
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=FLUSH_INTERVAL)
            except (asyncio.TimeoutError, TimeoutError):
                pass
            self.flush()
            self.refresh_list_if_due()
            self.check_certificates_flow()
            if time.monotonic() - last_save >= CONTEXT_SAVE_INTERVAL:
                last_save = time.monotonic()
                self.publish()

    def check_certificates_flow(self) -> None:
        """A server can stay connected and send only heartbeats (the public one does when it is
        overloaded): say so on the health after a while, and clear it when certificates return."""
        certificates = self.processor.stats["certificates"]
        if certificates != self.certificates_seen or not self.connected_at:
            self.certificates_seen, self.certificates_since = certificates, time.monotonic()
            if self.quiet_warned:
                self.quiet_warned = False
                self.set_health("")
            return
        quiet = time.monotonic() - self.certificates_since
        if quiet >= QUIET_WARNING_SECONDS and not self.quiet_warned:
            self.quiet_warned = True
            self.set_health(f"connected to {self.settings.url}, but no certificate for {quiet / 60:.0f} min "
                            f"({self.processor.stats['heartbeats']} heartbeats so far): the server may be "
                            f"overloaded, or the URL's endpoint sends no certificates", is_error=True)

    def on_connected(self) -> None:
        self.status["connected_since"] = _now_iso()
        self.connected_at = time.monotonic()
        self.frames_at_connect = self.processor.stats["messages"]
        if self.status["last_error"] and not self.status["list_error"]:
            self.set_health("")

    async def run(self) -> None:
        keeper = asyncio.create_task(self.housekeeping())
        try:
            while not self.stop.is_set():
                self.connected_at = None
                try:
                    await read_stream(self.settings, self.processor.process_frame, self.stop, self.on_connected)
                    problem = f"{self.settings.url} closed the stream"
                except StreamStalled as error:
                    problem = str(error)
                except Exception as error:  # any connection failure leads to a reconnect
                    problem = describe_connection_error(self.settings.url, error)
                if self.stop.is_set():
                    break
                if self.settings.exit_on_stream_end:  # local runtime: the stream ended or failed
                    if problem != f"{self.settings.url} closed the stream":
                        self.set_health(problem, is_error=True)
                    break
                await self.wait_before_reconnect(problem)
        finally:
            self.stop.set()
            await keeper
            self.flush()
            self.status["connected_since"] = None
            self.publish()

    async def wait_before_reconnect(self, problem: str) -> None:
        if self.connected_at and (time.monotonic() - self.connected_at >= HEALTHY_CONNECTION_SECONDS or
                                  self.processor.stats["messages"] - self.frames_at_connect >= HEALTHY_CONNECTION_FRAMES):
            self.backoff.reset()
        delay = self.backoff.next_delay()
        self.status["reconnects"] += 1
        self.flush()
        self.set_health(f"{problem}; retrying in {delay:.0f} s" if delay >= 10 else
                        f"{problem}; retrying in {delay:.1f} s", is_error=True)
        demisto.info(f"CertStream: {problem}; reconnecting in {delay:.1f} s")
        self.publish()
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=delay)
        except (asyncio.TimeoutError, TimeoutError):
            pass


def _install_stop_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """XSOAR stops a long-running container with SIGTERM; flush what was found before exiting."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests): the caller sets stop itself


def long_running_execution(settings: Settings) -> None:
    detector = load_detector(settings)
    streaming = StreamingLoop(settings, detector, demisto.getIntegrationContext() or {}, load_threat_intel(settings))

    async def main_loop():
        streaming.stop = asyncio.Event()
        _install_stop_handlers(asyncio.get_running_loop(), streaming.stop)
        await streaming.run()

    demisto.info(f"CertStream: streaming from {settings.url} with {streaming.status['list_terms']} watch-list terms")
    asyncio.run(main_loop())


# ---------------------------------------------------------------------------------------------
# fetch-incidents: the same processing, for a bounded time per run
# ---------------------------------------------------------------------------------------------
def fetch_incidents(settings: Settings, last_run: dict) -> tuple:
    """Reads the stream for up to fetch_duration seconds or fetch_max_messages; returns
    (next_run, incidents). De-duplication state lives in last-run."""
    detector = load_detector(settings)
    dedup = DedupCache(settings.dedup_days * 86400, as_dict(last_run.get("certstream_dedup")))
    processor = CertificateProcessor(detector, settings, dedup, load_threat_intel(settings))

    async def read_for_a_while():
        stop = asyncio.Event()

        def on_frame(frame):
            processor.process_frame(frame)
            if processor.stats["messages"] >= settings.fetch_max_messages:
                stop.set()

        try:
            await asyncio.wait_for(read_stream(settings, on_frame, stop), timeout=settings.fetch_duration)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        except Exception as error:
            demisto.info(f"CertStream fetch: {describe_connection_error(settings.url, error)}")

    asyncio.run(read_for_a_while())
    incidents, indicators = processor.take_pending()
    if indicators:
        demisto.createIndicators(indicators)
    dedup.expire(time.time())
    return {"certstream_dedup": dedup.entries}, incidents


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
async def _first_message(settings: Settings) -> None:
    async with websockets.connect(settings.url, **connect_options(settings)) as connection:
        await asyncio.wait_for(connection.recv(), timeout=TEST_MODULE_TIMEOUT)


def test_module(settings: Settings) -> str:
    detector = load_detector(settings)
    load_threat_intel(settings)
    try:
        asyncio.run(_first_message(settings))
    except (asyncio.TimeoutError, TimeoutError):
        raise DemistoException(f"Connected to {settings.url} but no message arrived within "
                               f"{TEST_MODULE_TIMEOUT} s; check the URL's endpoint path.")
    except Exception as error:
        raise DemistoException(describe_connection_error(settings.url, error))
    demisto.debug(f"CertStream test: watch list holds {getattr(detector, 'size', 0)} terms")
    return "ok"


def domain_from_input(value: str) -> str:
    """The host name in what a user typed: a domain, a URL, host:port or user@host."""
    value = value.strip()
    host = urllib.parse.urlsplit(value if "://" in value else f"//{value}").hostname if value else ""
    return (host or value).rstrip(".")


def check_domain_command(detector, args: dict) -> CommandResults:
    domains = [domain_from_input(value) for value in argToList(args.get("domain")) if value.strip()]
    if not domains:
        raise DemistoException("Give one or more domain names in the 'domain' argument.")
    rows = []
    for domain in domains:
        match = detector.match(domain)
        rows.append({
            "Name": domain,
            "Match": bool(match),
            "Asset": match.asset if match else None,
            "Term": match.term if match else None,
            "Similarity": round(match.similarity, 4) if match else None,
            "Score": match.score if match else None,
            "Severity": SEVERITY_NAMES.get(match.severity) if match else None,
            "Explanation": match.explanation if match else detector.not_watched_reason(domain),
        })
    return CommandResults(
        outputs_prefix="CertStream.Domain",
        outputs_key_field="Name",
        outputs=rows,
        readable_output=tableToMarkdown("CertStream domain check", rows,
                                        headers=["Name", "Match", "Asset", "Term", "Similarity", "Score",
                                                 "Severity", "Explanation"], removeNull=True),
    )


def get_status_command(context: dict) -> CommandResults:
    status = as_dict(context.get("status"))
    if not status:
        return CommandResults(readable_output="The streaming loop of this instance has not published a status yet.")
    outputs = {
        "Server": status.get("server"),
        "ConnectedSince": status.get("connected_since"),
        "Messages": status.get("messages"),
        "Certificates": status.get("certificates"),
        "SANs": status.get("sans"),
        "Matches": status.get("matches"),
        "IncidentsCreated": status.get("incidents_created"),
        "DuplicatesSuppressed": status.get("duplicates_suppressed"),
        "Rejected": status.get("rejected"),
        "Reconnects": status.get("reconnects"),
        "MessagesPerSecond": status.get("messages_per_second"),
        "LagSeconds": status.get("lag_seconds"),
        "ListName": status.get("list_name"),
        "ListTerms": status.get("list_terms"),
        "ListLoadedAt": status.get("list_loaded_at"),
        "LastError": status.get("last_error"),
        "UpdatedAt": status.get("updated_at"),
    }
    return CommandResults(outputs_prefix="CertStream.Status", outputs=outputs,
                          readable_output=tableToMarkdown("CertStream status", outputs, headers=list(outputs),
                                                          removeNull=True))


def main() -> None:  # pragma: no cover - dispatch only
    command = demisto.command()
    try:
        settings = parse_settings(demisto.params())
        if command == "test-module":
            return_results(test_module(settings))
        elif command == "long-running-execution":
            long_running_execution(settings)
        elif command == "fetch-incidents":
            next_run, incidents = fetch_incidents(settings, demisto.getLastRun() or {})
            demisto.setLastRun(next_run)
            demisto.incidents(incidents)
        elif command == "certstream-check-domain":
            return_results(check_domain_command(load_detector(settings), demisto.args()))
        elif command == "certstream-get-status":
            return_results(get_status_command(demisto.getIntegrationContext() or {}))
        else:
            raise NotImplementedError(f"Command {command} is not implemented.")
    except Exception as error:
        if command == "long-running-execution":
            demisto.updateModuleHealth(f"CertStream stopped: {error}", is_error=True)
        return_error(f"Failed to execute {command} command.\nError:\n{error}")


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
