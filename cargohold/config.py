"""Settings: command-line flags over environment variables (``CARGOHOLD_*``) over a YAML
config file over defaults.

With nothing set, cargohold runs the embedded default: it listens on 127.0.0.1:5000 and
keeps everything under one data directory, metadata in ``cargohold.db`` (SQLite, WAL) and
blobs in ``blobs/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cargohold.errors import ConfigError

# The public feeds' addresses (plain strings, so settings import no scanner code).
DEBIAN_TRACKER_URL = "https://security-tracker.debian.org/tracker/data/json"
ALPINE_SECDB_URL = "https://secdb.alpinelinux.org/{release}/{repository}.json"
OSV_ZIP_URL = "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip"

DEFAULT_DATA_DIR = Path("./cargohold-data")


class LdapSettings(BaseModel):
    """An LDAP directory to log in against (search, then bind as the entry found)."""

    model_config = {"extra": "forbid"}

    url: str = Field(description="ldap://HOST:PORT or ldaps://HOST:PORT")
    bind_dn: str | None = Field(default=None, description="the service account that searches")
    bind_password: SecretStr | None = None
    user_base: str = Field(description="where users are searched, e.g. ou=people,dc=example,dc=org")
    user_filter: str = Field(
        default="(uid={username})",
        description="LDAP filter finding one user; {username} is escaped and substituted",
    )
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    group_base: str | None = Field(default=None, description="where groups are searched")
    group_filter: str = Field(
        default="(|(member={dn})(uniqueMember={dn})(memberUid={username}))",
        description="LDAP filter finding a user's groups; {dn} and {username} are escaped",
    )
    group_name_attribute: str = "cn"
    start_tls: bool = False
    tls_ca_file: Path | None = None
    tls_verify: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0)


class OidcSettings(BaseModel):
    """An OpenID Connect provider to log in with (authorization code + PKCE)."""

    model_config = {"extra": "forbid"}

    issuer: str = Field(description="the provider's issuer URL (discovery document under it)")
    client_id: str
    client_secret: SecretStr | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    username_claim: str = "preferred_username"
    email_claim: str = "email"
    groups_claim: str | None = "groups"
    display_name: str = "Single sign-on"
    redirect_uri: str | None = Field(
        default=None,
        description="the callback URL registered with the provider; default: the "
        "registry's address + /api/v1/auth/oidc/callback",
    )
    tls_verify: bool = True
    tls_ca_file: Path | None = None


class Settings(BaseSettings):
    """Everything an operator can set. Each field is also ``CARGOHOLD_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="CARGOHOLD_", extra="forbid", env_nested_delimiter="__"
    )

    listen: str = "127.0.0.1:5000"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None,
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB; "
        "default: SQLite in the data directory",
    )
    workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 8),
        ge=1,
        le=64,
        description="server worker processes; default: one per core, at most 8",
    )
    log_level: str = "info"
    access_log: bool = True
    uploaded_blob_protection_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        description="how long a blob uploaded but not yet referenced by a manifest stays "
        "available in its repository",
    )
    upload_abandon_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="uploads without a new chunk for this long are removed with their bytes",
    )
    gc_interval_seconds: float = Field(
        default=60.0, ge=0.05, description="time between two sweeps of garbage collection"
    )
    gc_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="garbage collection's margin past every expiry, and the delay between "
        "removing a blob's row and its bytes",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="PostgreSQL connections each process keeps for transactions (and as "
        "many for its hot reads); a transaction beyond them waits for one",
    )
    background_workers: bool = Field(
        default=True,
        description="run the background workers (scans, collection, updaters): `serve` "
        "runs them in one process of their own beside its HTTP workers",
    )
    worker_concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="background jobs run at once per process (`serve`'s worker process: "
        "this many per HTTP worker)",
    )
    worker_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="how much lower the background workers' CPU priority is than the "
        "HTTP workers' (nice value added)",
    )
    worker_poll_seconds: float = Field(
        default=2.0, ge=0.05, le=300, description="how often an idle worker looks for jobs"
    )
    vulndb_update: bool = Field(default=False, description="fetch the advisory feeds on a schedule")
    vulndb_update_interval_seconds: int = Field(default=6 * 3600, ge=60)
    vulndb_debian_url: str = DEBIAN_TRACKER_URL
    vulndb_alpine_url: str = ALPINE_SECDB_URL
    vulndb_alpine_releases: list[str] = Field(default_factory=lambda: ["v3.19", "v3.20", "v3.21"])
    vulndb_alpine_repositories: list[str] = Field(default_factory=lambda: ["main", "community"])
    vulndb_osv_url: str = OSV_ZIP_URL
    vulndb_osv_ecosystems: list[str] = Field(default_factory=lambda: ["PyPI", "npm", "Go", "Maven"])

    public_url: str | None = Field(
        default=None,
        description="the address clients reach the registry at (token realm, login "
        "redirects); default: taken from each request's Host",
    )
    token_service: str = Field(
        default="cargohold", description="the service name (JWT audience) of the token auth"
    )
    token_lifetime_seconds: int = Field(default=300, ge=30, le=24 * 3600)
    secret_key: SecretStr | None = Field(
        default=None,
        description="encrypts the token signing keys and signs sessions; default: a key "
        "generated once in the data directory (set it when several nodes share a database)",
    )
    ldap: LdapSettings | None = None
    oidc: OidcSettings | None = None
    audit_retention_days: int = Field(
        default=365, ge=0, description="audit log entries older than this are removed; 0 keeps all"
    )

    @field_validator("listen")
    @classmethod
    def _listen_has_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"listen address {value!r} must look like HOST:PORT")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL with its async driver: aiosqlite or asyncpg."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'cargohold.db').resolve()}"
        return async_database_url(url)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def async_database_url(url: str) -> str:
    """Give a plain ``sqlite://`` or ``postgresql://`` URL the async driver cargohold uses."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: ``overrides`` (flags) win over the environment, which wins over
    ``config_file`` (YAML mapping of field names), which wins over defaults."""
    file_values: dict[str, Any] = {}
    path = config_file or _env_config_file()
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of settings")
        file_values = {k.replace("-", "_"): v for k, v in (loaded or {}).items()}
    env_names = {
        name for name in Settings.model_fields if f"CARGOHOLD_{name.upper()}" in os.environ
    }
    values = {k: v for k, v in file_values.items() if k not in env_names}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _env_config_file() -> Path | None:
    value = os.environ.get("CARGOHOLD_CONFIG")
    return Path(value) if value else None
