"""Settings, read once from the environment into a frozen object.

In production every secret must be given explicitly; development generates what it
needs (JWT keys) into the data directory so that `make serve` works on a fresh clone.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Environment = Literal["development", "test", "production"]


class SettingsError(RuntimeError):
    pass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc


def _list(name: str) -> tuple[str, ...]:
    """A comma-separated variable; empty entries are dropped."""
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


QUERY_PLAN_MODES = ("on", "off", "compare")


def query_plans_mode() -> str:
    """QUERY_PLANS: on (the default), off, or compare."""
    raw = os.environ.get("QUERY_PLANS", "on").strip().lower()
    if raw not in QUERY_PLAN_MODES:
        raise SettingsError(f"QUERY_PLANS must be on, off or compare, not {raw!r}")
    return raw


def query_plans_enabled() -> bool:
    """Whether plans answer (QUERY_PLANS=on)."""
    return query_plans_mode() == "on"


def query_plans_compared() -> bool:
    """Whether the executor's answers are compared with the plans' (QUERY_PLANS=compare)."""
    return query_plans_mode() == "compare"


@dataclass(frozen=True)
class Settings:
    environment: Environment = "development"
    database_url: str | None = None
    # A streaming replica of DATABASE_URL for queries (gql/http/reads.py), skipped
    # while it is down or more than `replica_max_lag_seconds` behind the primary.
    database_replica_url: str | None = None
    replica_max_lag_seconds: int = 5
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    jwt_issuer: str = "kundenportal"
    jwt_audience: str = "kundenportal-api"
    # JSON Web Key Set with the private keys; the first key signs, all of them verify.
    jwt_keys: str | None = None
    access_token_ttl_seconds: int = 600
    # A session lives while it is refreshed within the idle time, at most the max time
    # (Keycloak's SSO Session Idle 30 min and Max 10 h).
    session_idle_seconds: int = 1800
    session_max_seconds: int = 36000
    impersonation_ttl_seconds: int = 900
    mfa_token_ttl_seconds: int = 300
    # Brute-force detection: an account is locked for one client address after
    # `max_login_failures` failures in a row from there, and everywhere after
    # `max_account_failures` from anywhere; for `lockout_wait_seconds` x (failures
    # beyond the limit + 1), at most `lockout_max_wait_seconds`; counters forget failures
    # after `failure_reset_seconds`.
    max_login_failures: int = 5
    max_account_failures: int = 20
    lockout_wait_seconds: int = 60
    lockout_max_wait_seconds: int = 900
    failure_reset_seconds: int = 43200
    # A coarse flood guard: one client address failing this often (across all accounts)
    # within the window is refused until the window ends. High, because one office
    # behind one address must not lock itself out with its typos.
    address_flood_failures: int = 300
    address_flood_window_seconds: int = 3600
    # Reverse proxies (CIDRs) whose X-Forwarded-For is believed (gql/client_address.py).
    trusted_proxies: tuple[str, ...] = ()
    # Fernet keys (comma-separated, first encrypts) for secrets at rest such as TOTP
    # seeds; in development generated into the data directory.
    secret_keys: str | None = None
    # "low" is argon2-cffi's RFC 9106 low-memory profile; "test" is its cheapest one.
    password_profile: Literal["low", "test"] = "low"  # noqa: S105 - a profile name
    # How long a request waits for one of the process's admissions to the password hash
    # (gql/auth/passwords.py `Hashing`) before it is answered 503 SERVICE_UNAVAILABLE.
    password_admission_wait_seconds: int = 5
    managed_base_domain: str = "portale.example"
    # The portal the page at /portal/ shows on a host no portal has (127.0.0.1 under
    # `portal serve`, which sets the demo customer portal's domain); none: the host's.
    portal_local_domain: str | None = None
    # DNS servers ("host:port") for checking custom domains; empty: the system's.
    dns_nameservers: tuple[str, ...] = ()
    # Outgoing mail: the outbox worker delivers over SMTP (in development to the sink
    # that `portal serve` runs on port 1025); failed attempts are retried after
    # `mail_retry_seconds` x 2^(attempt - 1), at most an hour, `mail_max_attempts` times.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: int = 10
    mail_from: str = "Kundenportal <no-reply@portale.example>"
    mail_max_attempts: int = 8
    mail_retry_seconds: int = 30
    # Where staff accept an invitation (the staff app; the token is appended).
    staff_app_url: str = "http://localhost:8000/staff"
    staff_invitation_ttl_seconds: int = 7 * 24 * 3600
    # Links in portal users' mails: activation (registration), invitation, password reset.
    activation_ttl_seconds: int = 48 * 3600
    invitation_ttl_seconds: int = 7 * 24 * 3600
    password_reset_ttl_seconds: int = 3600
    # The link confirming a new login email (requestEmailChange).
    email_change_ttl_seconds: int = 24 * 3600
    # Mails of register / resendActivation / requestPasswordReset per hour.
    mail_requests_per_email: int = 3
    mail_requests_per_address: int = 20
    # One-time login codes by email (second factor without an authenticator app).
    email_code_ttl_seconds: int = 600
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_aliases: int = 30
    max_page_size: int = 100
    # Documents: uploads up to this size (the whole multipart request may be 1 MiB more);
    # download links are valid this long.
    document_max_bytes: int = 10 * 1024 * 1024
    document_url_ttl_seconds: int = 300
    # Where document files are kept (gql/domain/object_storage.py): `file:///path`, or
    # `s3://bucket/prefix?endpoint=https://...&region=...` (credentials from the AWS_*
    # variables or the machine's role); unset: files under `<data dir>/documents`.
    documents_url: str | None = None
    # `portal documents reconcile` removes a file without a row only when it is older
    # than this: an upload stores its file before its transaction commits.
    documents_orphan_grace_seconds: int = 3600
    # Who may scrape `/metrics` (addresses or CIDRs, as gql/client_address.py sees the
    # caller). Unset: everyone in development and test, nobody in production.
    metrics_allowed: tuple[str, ...] | None = None
    # Query plans (gql/query_plans.py): reads answered by one compiled SQL statement.
    # QUERY_PLANS=off answers everything with the executor - the fence of the fast
    # path: `make test` runs every test that sent the GraphQL view an operation both
    # ways (tests/fast_path.py; the second time with compare, below), and an answer
    # that differs between the two can be ruled out in production by switching plans
    # off.
    query_plans: bool = True
    # QUERY_PLANS=compare: the executor answers every request (as with off), and each
    # read a plan can answer is answered by its plan too; a difference is logged
    # (`query_plan.differs`, the operation and the paths that differ, no values) and
    # counted (portal_query_plan_differences_total). The executor's answer is the one
    # sent. `make test`'s second pass runs this way; an operator can run a process
    # this way to check the plans on real traffic (each such read costs both engines).
    compare_plans: bool = False

    @property
    def development(self) -> bool:
        return self.environment != "production"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        environment = os.environ.get("PORTAL_ENV", "development")
        if environment not in ("development", "test", "production"):
            raise SettingsError(
                f"PORTAL_ENV must be development, test or production: {environment}"
            )
        if "MAX_ADDRESS_FAILURES" in os.environ:
            # Its meaning changed (it locked every account behind an address after 20
            # failures); a deployment that set it must choose the flood guard anew.
            raise SettingsError(
                "MAX_ADDRESS_FAILURES is replaced by ADDRESS_FLOOD_FAILURES (failures of one"
                " address per ADDRESS_FLOOD_WINDOW_SECONDS) and MAX_ACCOUNT_FAILURES"
            )
        profile = os.environ.get("PASSWORD_PROFILE", "low")
        if profile not in ("low", "test"):
            raise SettingsError("PASSWORD_PROFILE must be 'low' or 'test'")
        settings = cls(
            environment=environment,  # type: ignore[arg-type]
            database_url=os.environ.get("DATABASE_URL") or None,
            database_replica_url=os.environ.get("DATABASE_REPLICA_URL") or None,
            replica_max_lag_seconds=_int("REPLICA_MAX_LAG_SECONDS", 5),
            data_dir=Path(os.environ.get("PORTAL_DATA_DIR", ".data")),
            jwt_issuer=os.environ.get("JWT_ISSUER", "kundenportal"),
            jwt_audience=os.environ.get("JWT_AUDIENCE", "kundenportal-api"),
            jwt_keys=os.environ.get("JWT_KEYS") or None,
            access_token_ttl_seconds=_int("ACCESS_TOKEN_TTL_SECONDS", 600),
            session_idle_seconds=_int("SESSION_IDLE_SECONDS", 1800),
            session_max_seconds=_int("SESSION_MAX_SECONDS", 36000),
            impersonation_ttl_seconds=_int("IMPERSONATION_TTL_SECONDS", 900),
            max_login_failures=_int("MAX_LOGIN_FAILURES", 5),
            max_account_failures=_int("MAX_ACCOUNT_FAILURES", 20),
            lockout_wait_seconds=_int("LOCKOUT_WAIT_SECONDS", 60),
            lockout_max_wait_seconds=_int("LOCKOUT_MAX_WAIT_SECONDS", 900),
            failure_reset_seconds=_int("FAILURE_RESET_SECONDS", 43200),
            address_flood_failures=_int("ADDRESS_FLOOD_FAILURES", 300),
            address_flood_window_seconds=_int("ADDRESS_FLOOD_WINDOW_SECONDS", 3600),
            trusted_proxies=_list("TRUSTED_PROXIES"),
            secret_keys=os.environ.get("SECRET_KEYS") or None,
            password_profile=profile,  # type: ignore[arg-type]
            password_admission_wait_seconds=_int("PASSWORD_ADMISSION_WAIT_SECONDS", 5),
            managed_base_domain=os.environ.get("MANAGED_BASE_DOMAIN", "portale.example"),
            portal_local_domain=os.environ.get("PORTAL_LOCAL_DOMAIN") or None,
            dns_nameservers=tuple(
                server.strip()
                for server in os.environ.get("DNS_NAMESERVERS", "").split(",")
                if server.strip()
            ),
            smtp_host=os.environ.get("SMTP_HOST", "127.0.0.1"),
            smtp_port=_int("SMTP_PORT", 1025),
            smtp_username=os.environ.get("SMTP_USERNAME") or None,
            smtp_password=os.environ.get("SMTP_PASSWORD") or None,
            smtp_starttls=os.environ.get("SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
            mail_from=os.environ.get("MAIL_FROM", "Kundenportal <no-reply@portale.example>"),
            mail_max_attempts=_int("MAIL_MAX_ATTEMPTS", 8),
            mail_retry_seconds=_int("MAIL_RETRY_SECONDS", 30),
            staff_app_url=os.environ.get("STAFF_APP_URL", "http://localhost:8000/staff"),
            activation_ttl_seconds=_int("ACTIVATION_TTL_SECONDS", 48 * 3600),
            invitation_ttl_seconds=_int("INVITATION_TTL_SECONDS", 7 * 24 * 3600),
            password_reset_ttl_seconds=_int("PASSWORD_RESET_TTL_SECONDS", 3600),
            email_change_ttl_seconds=_int("EMAIL_CHANGE_TTL_SECONDS", 24 * 3600),
            mail_requests_per_email=_int("MAIL_REQUESTS_PER_EMAIL", 3),
            mail_requests_per_address=_int("MAIL_REQUESTS_PER_ADDRESS", 20),
            document_max_bytes=_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024),
            document_url_ttl_seconds=_int("DOCUMENT_URL_TTL_SECONDS", 300),
            documents_url=os.environ.get("DOCUMENTS_URL") or None,
            documents_orphan_grace_seconds=_int("DOCUMENTS_ORPHAN_GRACE_SECONDS", 3600),
            metrics_allowed=_list("METRICS_ALLOWED") if "METRICS_ALLOWED" in os.environ else None,
            query_plans=query_plans_enabled(),
            compare_plans=query_plans_compared(),
        )
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe or can not work."""
        if not 60 <= self.access_token_ttl_seconds <= 900:
            raise SettingsError("ACCESS_TOKEN_TTL_SECONDS must be between 60 and 900")
        if not 60 <= self.impersonation_ttl_seconds <= 900:
            raise SettingsError("IMPERSONATION_TTL_SECONDS must be between 60 and 900")
        if self.session_idle_seconds > self.session_max_seconds:
            raise SettingsError("SESSION_IDLE_SECONDS must not exceed SESSION_MAX_SECONDS")
        self._check_lockout()
        if not 0 <= self.password_admission_wait_seconds <= 60:
            raise SettingsError("PASSWORD_ADMISSION_WAIT_SECONDS must be between 0 and 60")
        if self.mail_max_attempts < 1 or self.mail_retry_seconds < 1:
            raise SettingsError("MAIL_MAX_ATTEMPTS and MAIL_RETRY_SECONDS must be at least 1")
        if not 1 <= self.document_max_bytes <= 1024**3:
            raise SettingsError("DOCUMENT_MAX_BYTES must be between 1 and 1 GiB")
        if not 10 <= self.document_url_ttl_seconds <= 3600:
            raise SettingsError("DOCUMENT_URL_TTL_SECONDS must be between 10 and 3600")
        if self.documents_url is not None and not self.documents_url.startswith(
            ("file://", "s3://")
        ):
            raise SettingsError("DOCUMENTS_URL must be a file:// or s3:// URL")
        if self.documents_orphan_grace_seconds < 60:
            raise SettingsError("DOCUMENTS_ORPHAN_GRACE_SECONDS must be at least 60")
        for network in self.metrics_allowed or ():
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise SettingsError(
                    f"METRICS_ALLOWED must be comma-separated addresses or CIDRs: {network!r}"
                ) from exc
        if not 1 <= self.replica_max_lag_seconds <= 3600:
            raise SettingsError("REPLICA_MAX_LAG_SECONDS must be between 1 and 3600")
        if self.environment == "production":
            if not self.database_url:
                raise SettingsError("production needs DATABASE_URL")
            if not self.jwt_keys:
                raise SettingsError("production needs JWT_KEYS (a private JWK set)")
            if not self.secret_keys:
                raise SettingsError("production needs SECRET_KEYS (Fernet keys)")
            if self.password_profile != "low":  # noqa: S105
                raise SettingsError("production must hash passwords with the 'low' profile")

    def _check_lockout(self) -> None:
        # The pair locks before the account, the account before the flood guard; NIST SP
        # 800-63B (5.2.2) allows at most 100 failures in a row on one account.
        if not 1 <= self.max_login_failures <= self.max_account_failures <= 100:
            raise SettingsError("need 1 <= MAX_LOGIN_FAILURES <= MAX_ACCOUNT_FAILURES <= 100")
        if self.address_flood_failures < self.max_account_failures:
            raise SettingsError("ADDRESS_FLOOD_FAILURES must be at least MAX_ACCOUNT_FAILURES")
        if not 60 <= self.address_flood_window_seconds <= 86400:
            raise SettingsError("ADDRESS_FLOOD_WINDOW_SECONDS must be between 60 and 86400")
        if (
            self.lockout_wait_seconds < 1
            or self.lockout_max_wait_seconds < self.lockout_wait_seconds
        ):
            raise SettingsError("need 1 <= LOCKOUT_WAIT_SECONDS <= LOCKOUT_MAX_WAIT_SECONDS")
        if self.failure_reset_seconds < 1:
            raise SettingsError("FAILURE_RESET_SECONDS must be at least 1")
        for network in self.trusted_proxies:
            try:
                ipaddress.ip_network(network)  # strict: no host bits beside a prefix
            except ValueError as exc:
                raise SettingsError(
                    f"TRUSTED_PROXIES must be comma-separated addresses or CIDRs: {network!r}"
                ) from exc
