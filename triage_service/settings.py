"""Typed, immutable settings read once from ``TRIAGE_*`` environment variables.

Every variable is listed with a fake value in ``config/example.env``; a test
checks the two stay in step. Development and test get generated secrets kept in
the instance folder, so ``triage-service demo`` works on a fresh clone; in
production the service refuses to start without real ones (ARCHITECTURE.md,
principle 6).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from triage_service.errors import ConfigurationError

Environment = Literal["development", "test", "production"]
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    env: Environment = "development"
    #: Folder for the SQLite database, generated development keys and blobs.
    instance_path: Path = PROJECT_ROOT / "instance"
    #: SQLAlchemy URL; empty means SQLite in the instance folder.
    database_url: str = ""
    #: Signs session cookies; generated per instance outside production.
    secret_key: str = ""
    #: The externally visible base URL (scheme://host[:port]); used for the
    #: token endpoint audience and absolute links. Empty: taken from the request.
    public_base_url: str = ""
    #: Lifetime of a bearer token issued to a GP system (SMART recommends <= 5 min).
    access_token_lifetime_seconds: int = 300
    #: A client assertion may be valid for at most this long (SMART: 5 minutes).
    max_client_assertion_lifetime_seconds: int = 300
    #: Largest request body accepted on the FHIR API.
    max_request_bytes: int = 16 * 1024 * 1024
    #: Search paging.
    default_page_size: int = 20
    max_page_size: int = 100
    #: Folder with the collaboration agreements loaded by ``load-demo``.
    agreements_path: Path = PROJECT_ROOT / "config" / "agreements"
    log_level: str = "INFO"
    #: gunicorn workers for ``triage-service serve``.
    workers: int = 2
    #: Key-encryption keys for blobs (JSON key ring); generated in the instance folder outside production.
    keyring_path: Path = Path()
    #: Folder of the filesystem blob store (ciphertext only).
    blob_path: Path = Path()
    #: Largest photo or document accepted (bytes as sent).
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: Most photos and documents one consult may carry.
    max_attachments_per_consult: int = 10
    #: Largest image accepted, in pixels (a 40 MP phone photo fits; decompression bombs do not).
    max_image_pixels: int = 50_000_000
    #: An inbox session ends after this many minutes without activity.
    session_idle_minutes: int = 30
    #: ... and this many hours after its login however active it stays (a working day): a session cookie taken
    #: from a computer that is never left idle does not last for ever.
    session_max_hours: int = 12
    #: How long a worker reuses the "N of M similar consults became a referral" figure before counting
    #: again (0: count at every flagged intake). Counting reads every completed similar consult, which
    #: with a region's history took intake from 66 to 41 requests/s; a statistic over thousands of
    #: consults does not change in minutes.
    conversion_rate_cache_seconds: int = 300
    #: Failed logins before an account is locked, and for how long.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    #: Webhook notifications: failed deliveries in a row before a subscription is set to error,
    #: the first retry delay (doubling each time, at most an hour), and the POST timeout.
    notification_max_failures: int = 8
    notification_retry_seconds: int = 10
    notification_timeout_seconds: int = 10
    #: How long a worker's claim on a subscription holds without being renewed. The claim is renewed before
    #: every POST, so it only has to outlast one delivery (at least 3 timeouts: connect, send, answer), not
    #: a whole pass; when a worker dies, its subscriptions wait this long before another worker goes on.
    notification_claim_seconds: int = 300
    #: Requests per client address on the token endpoint and the inbox login (Flask-Limiter syntax),
    #: and where the counts are kept: memory:// counts per worker process, so production with more than
    #: one worker must use a store all workers and instances share (redis://host:6379/0).
    rate_limit_token: str = "30/minute"  # noqa: S105 - a rate, not a secret
    rate_limit_login: str = "10/minute"
    rate_limit_storage: str = "memory://"
    #: Retention (records/retention.py): medical records 20 years after the last change (WGBO),
    #: the audit trail at least 5 years (NEN 7513). Shorter periods are refused.
    retention_medical_years: int = 20
    retention_audit_years: int = 5
    #: Days an unsent portal draft is kept after its last change; then it goes with its photos, as does any
    #: uploaded file that no document or draft names by then (nothing else will ever name it).
    retention_draft_days: int = 90
    #: Keys of the field encryption and the blind index (JSON); generated in the instance folder outside production.
    field_keys_path: Path = Path()
    #: Where the audit chain's head is anchored (append-only file; ship it off the database server).
    audit_anchor_path: Path = Path()
    #: Seconds between anchors written by `serve` and `worker` (each also anchors when it stops): the most
    #: recent entries that someone with database access could remove unnoticed are at most this old.
    audit_anchor_seconds: int = 300
    #: Key of the audit trail's keyed hashes and signed anchors (JSON); generated in the instance folder
    #: outside production, never in the database.
    audit_key_path: Path = Path()
    #: Outgoing mail for assignment notices to specialists who ask for them; no host: no e-mail.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "triage-service@localhost"
    #: Web Push (VAPID, RFC 8292): the base64url P-256 private key the push messages are signed with (generated
    #: in the instance folder outside production), and the contact push services may write to (mailto: or https:).
    vapid_private_key: str = ""
    vapid_subject: str = ""
    #: Tests and development only: admit push endpoints at http://127.0.0.1:<port> (a local test push service).
    #: Production refuses it: an endpoint is a URL a user hands the server to POST to.
    push_allow_loopback: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.instance_path / 'triage.sqlite3'}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"


_ENV_PREFIX = "TRIAGE_"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{_ENV_PREFIX}{name.upper()} must be an integer") from exc
        if value <= 0:
            raise ConfigurationError(f"{_ENV_PREFIX}{name.upper()} must be positive")
        return value
    if isinstance(default, Path):
        return Path(raw).expanduser().resolve()
    return raw


def load_settings(environ: Mapping[str, str] | None = None, require_keys: bool = True,
                  **overrides: object) -> Settings:
    """Build settings from the environment (``TRIAGE_<FIELD>``), then ``overrides``.

    ``require_keys=False`` only for creating the keys on a new production installation."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        raw = environ.get(_ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            default = Settings.__dataclass_fields__[f.name].default
            if f.name == "env":
                if raw not in ("development", "test", "production"):
                    raise ConfigurationError("TRIAGE_ENV must be development, test or production")
                values[f.name] = raw
            else:
                values[f.name] = _coerce(f.name, raw, default)
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    return _with_secrets(settings, require_keys)


def _with_secrets(settings: Settings, require_keys: bool = True) -> Settings:
    settings = _with_vapid_key(_with_secret_key(_with_paths(settings)))
    if settings.retention_draft_days < 1:
        raise ConfigurationError("TRIAGE_RETENTION_DRAFT_DAYS must be at least 1")
    if settings.session_max_hours * 60 < settings.session_idle_minutes:
        raise ConfigurationError("TRIAGE_SESSION_MAX_HOURS must be at least as long as TRIAGE_SESSION_IDLE_MINUTES")
    if settings.retention_medical_years < 20 or settings.retention_audit_years < 5:
        raise ConfigurationError("Retention may not be shorter than 20 years for medical records (WGBO) and "
                                 "5 years for the audit trail (NEN 7513)")
    if settings.is_production and os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes", "on"):
        # The debugger runs code from the browser: never where patient data is.
        raise ConfigurationError("FLASK_DEBUG must be off in production")
    if settings.notification_claim_seconds < 3 * settings.notification_timeout_seconds:
        raise ConfigurationError("TRIAGE_NOTIFICATION_CLAIM_SECONDS must be at least three times "
                                 "TRIAGE_NOTIFICATION_TIMEOUT_SECONDS: a claim must outlast one delivery "
                                 "(connect, send, answer), or a second worker may send the same event")
    if not require_keys:
        return settings
    if settings.is_production and not settings.keyring_path.exists():
        raise ConfigurationError("TRIAGE_KEYRING_PATH must name an existing key ring in production "
                                 "(create one with `triage-service rotate-keys --new-keyring`)")
    if settings.is_production and not settings.field_keys_path.exists():
        raise ConfigurationError("TRIAGE_FIELD_KEYS_PATH must name existing field keys in production "
                                 "(created with the key ring by `triage-service rotate-keys --new-keyring`)")
    if settings.is_production:
        _refuse_development_keys(settings)
        _refuse_per_worker_rate_limits(settings)
        _refuse_missing_push_keys(settings)
    return settings


def _refuse_per_worker_rate_limits(settings: Settings) -> None:
    """Refused, not a warning: a warning in the log is what production had, and with 2 workers 59 of 80
    token requests a minute got through where 30 are allowed. The limits are a security control
    (password and client-assertion guessing), so they must hold as configured."""
    if settings.rate_limit_storage.startswith("memory") and settings.workers > 1:
        raise ConfigurationError(
            f"TRIAGE_RATE_LIMIT_STORAGE is {settings.rate_limit_storage} with {settings.workers} workers: each "
            "worker would count on its own, multiplying the rate limits. Point it at a store every worker and "
            "instance shares, e.g. redis://127.0.0.1:6379/0 (or run one worker: TRIAGE_WORKERS=1)")


def _refuse_development_keys(settings: Settings) -> None:
    """Keys generated by a development or test instance (``made_for`` in the file) may have been
    copied anywhere - a laptop, a CI artefact - so production does not accept them, nor files from
    before the stamp existed."""
    import json

    for variable, path in (("TRIAGE_KEYRING_PATH", settings.keyring_path),
                           ("TRIAGE_FIELD_KEYS_PATH", settings.field_keys_path),
                           ("TRIAGE_AUDIT_KEY_PATH", settings.audit_key_path)):
        if not path.exists():  # only the audit key can get here: the other two were checked above
            raise ConfigurationError(f"{variable} must name an existing key file in production (created with "
                                     "the key ring by `triage-service rotate-keys --new-keyring`)")
        try:
            made_for = json.loads(path.read_text(encoding="utf-8")).get("made_for", "unknown")
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"{variable} does not name a readable key file") from exc
        if made_for != "production":
            raise ConfigurationError(
                f"{variable} names keys generated for {made_for!r}, not for production; create production keys "
                "with `TRIAGE_ENV=production triage-service rotate-keys --new-keyring`")


def _with_paths(settings: Settings) -> Settings:
    """Paths left empty live in the instance folder."""
    changes: dict[str, object] = {}
    if settings.keyring_path == Path():
        changes["keyring_path"] = settings.instance_path / "keyring.json"
    if settings.blob_path == Path():
        changes["blob_path"] = settings.instance_path / "blobs"
    if settings.field_keys_path == Path():
        changes["field_keys_path"] = settings.instance_path / "field-keys.json"
    if settings.audit_anchor_path == Path():
        changes["audit_anchor_path"] = settings.instance_path / "audit-anchors.log"
    if settings.audit_key_path == Path():
        changes["audit_key_path"] = settings.instance_path / "audit-key.json"
    return _replace(settings, **changes) if changes else settings


def _with_secret_key(settings: Settings) -> Settings:
    if settings.secret_key:
        if settings.is_production:
            _refuse_weak_secret_key(settings.secret_key)
        return settings
    if settings.is_production:
        raise ConfigurationError("TRIAGE_SECRET_KEY is required in production")
    # Development/test: a per-instance generated key, kept so sessions survive restarts.
    ensure_private_dir(settings.instance_path)
    key_file = settings.instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return _replace(settings, secret_key=key_file.read_text().strip())


#: Marks the placeholder of config/example.env, which a hurried deployment might copy as is.
_EXAMPLE_SECRET_MARK = "replace-with"  # noqa: S105 - the placeholder we refuse, not a secret


#: The order of the P-256 group: a private key is a number from 1 to this minus 1 (SEC 2, section 2.4.2).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_VAPID_KEY_FILE = "vapid-private-key"


def new_vapid_private_key() -> str:
    """A fresh P-256 private key as VAPID tools write it: the 32-byte number in base64url without padding."""
    import base64

    number = secrets.randbelow(_P256_ORDER - 1) + 1
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


def _is_vapid_private_key(value: str) -> bool:
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and 0 < int.from_bytes(raw, "big") < _P256_ORDER


def _with_vapid_key(settings: Settings) -> Settings:
    """Development and test get a key of their own in the instance folder (so notifications work on a fresh
    clone) and the mail sender as contact; production must be given both (``_refuse_missing_push_keys``)."""
    changes: dict[str, object] = {}
    if settings.vapid_private_key:
        if not _is_vapid_private_key(settings.vapid_private_key):
            raise ConfigurationError("TRIAGE_VAPID_PRIVATE_KEY must be a P-256 private key: 32 bytes in base64url "
                                     "(make one with `triage-service push-keys`)")
    elif not settings.is_production:
        ensure_private_dir(settings.instance_path)
        key_file = settings.instance_path / _VAPID_KEY_FILE
        if not key_file.exists():
            key_file.write_text(new_vapid_private_key())
            key_file.chmod(0o600)
        changes["vapid_private_key"] = key_file.read_text().strip()
    subject = settings.vapid_subject
    if not subject and not settings.is_production:
        subject = changes["vapid_subject"] = f"mailto:{settings.mail_from}"
    # As py_vapid checks it when signing: an address at a dotted domain (or localhost), or a bare https: host.
    if subject and not re.fullmatch(
            r"mailto:[^@\s]+@(localhost|[\w-]+(\.[\w-]+)+)|https://(localhost|[\w-]+(\.[\w-]+)+)", subject):
        raise ConfigurationError("TRIAGE_VAPID_SUBJECT must be a mailto: address or an https: host without a path "
                                 "(e.g. mailto:beheer@zorggroep.example.nl or https://zorggroep.example.nl)")
    if settings.is_production and settings.push_allow_loopback:
        raise ConfigurationError("TRIAGE_PUSH_ALLOW_LOOPBACK is for tests and development only")
    return _replace(settings, **changes) if changes else settings


def _refuse_missing_push_keys(settings: Settings) -> None:
    if not settings.vapid_private_key:
        raise ConfigurationError("TRIAGE_VAPID_PRIVATE_KEY is required in production (make one with "
                                 "`triage-service push-keys`)")
    development_key = PROJECT_ROOT / "instance" / _VAPID_KEY_FILE
    if development_key.exists() and development_key.read_text().strip() == settings.vapid_private_key:
        raise ConfigurationError("TRIAGE_VAPID_PRIVATE_KEY is the development instance's generated key")
    if not settings.vapid_subject:
        raise ConfigurationError("TRIAGE_VAPID_SUBJECT is required in production: a mailto: address or https: "
                                 "host where push services can reach the operator")


def _refuse_weak_secret_key(key: str) -> None:
    if len(key) < 32:
        raise ConfigurationError("TRIAGE_SECRET_KEY must be at least 32 characters in production")
    if _EXAMPLE_SECRET_MARK in key or len(set(key)) < 16:
        raise ConfigurationError("TRIAGE_SECRET_KEY is the example's placeholder or too repetitive; "
                                 "use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    development_key = PROJECT_ROOT / "instance" / "secret_key"
    if development_key.exists() and development_key.read_text().strip() == key:
        raise ConfigurationError("TRIAGE_SECRET_KEY is the development instance's generated key")


def ensure_private_dir(path: Path) -> None:
    """Create a folder only its owner can enter (it holds keys and, with SQLite, patient data)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]
