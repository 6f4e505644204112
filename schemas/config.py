"""Configuration shared by every service: endpoints and their secrets, and the common knobs.

Read once at start-up from `PAYPIPE_CONFIG` (default `config/dev.toml`) and the environment.
Secrets are `Secret` values that print masked; in production (`PAYPIPE_ENV=prod`) a secret may
be a reference `env:NAME` to an environment variable, and dev or empty secrets refuse to start.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "config/dev.toml"
DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/paypipe"

# A secret containing one of these markers was written for development and never belongs in prod.
DEV_MARKERS = ("dev", "test", "example", "changeme")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Secret:
    """A secret string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One configured webhook receiver."""

    name: str
    provider: str
    secrets: tuple[Secret, ...] = ()
    tolerance_seconds: int = 300
    webhook_id: str | None = None
    cert_hosts: tuple[str, ...] = ("api.paypal.com", "api.sandbox.paypal.com")
    notification_url: str | None = None
    api_key: Secret | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Common:
    """The knobs every service shares, under the same names everywhere."""

    env: str
    kafka_bootstrap_servers: str
    database_url: str
    topic_prefix: str
    log_level: str
    # One INFO line per event in every service, carrying its request id (on in dev).
    log_events: bool
    config_path: Path
    endpoints: Mapping[str, Endpoint]
    raw: Mapping[str, Any]

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def dev_dir(self) -> Path:
        """Where `make up` writes dev-only material (the PayPal dev certificate)."""
        return Path(os.environ.get("PAYPIPE_DEV_DIR", ".local/dev")).resolve()

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}


def load_common(environ: Mapping[str, str] | None = None) -> Common:
    """Build the shared settings from the config file and the environment."""
    env = os.environ if environ is None else environ
    path = Path(env.get("PAYPIPE_CONFIG", DEFAULT_CONFIG))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    mode = env.get("PAYPIPE_ENV", str(raw.get("env", "dev")))
    if mode not in ("dev", "test", "prod"):
        raise ConfigError(f"PAYPIPE_ENV must be dev, test or prod, not {mode!r}")
    endpoints = {
        name: _endpoint(name, body, mode == "prod", env)
        for name, body in raw.get("endpoints", {}).items()
    }
    return Common(
        env=mode,
        kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA),
        database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        topic_prefix=env.get("PAYPIPE_TOPIC_PREFIX", "payments"),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        log_events=_flag(
            env.get("PAYPIPE_LOG_EVENTS", raw.get("logging", {}).get("events", False))
        ),
        config_path=path,
        endpoints=endpoints,
        raw=raw,
    )


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


_PROVIDERS = ("stripe", "paypal", "adyen", "square", "standard-webhooks")
_SECRET_KEYS = {
    "stripe": "secrets",
    "adyen": "hmac_keys",
    "square": "secrets",
    "standard-webhooks": "secrets",
    "paypal": None,
}


def _endpoint(name: str, body: Mapping[str, Any], prod: bool, env: Mapping[str, str]) -> Endpoint:
    provider = body.get("provider")
    if provider not in _PROVIDERS:
        raise ConfigError(f"endpoint {name!r}: provider must be one of {', '.join(_PROVIDERS)}")
    key = _SECRET_KEYS[provider]
    values = body.get(key, []) if key else []
    if not isinstance(values, list):
        raise ConfigError(f"endpoint {name!r}: {key} must be a list")
    secrets = tuple(_secret(name, key or "secrets", v, prod, env) for v in values)
    if key and not secrets:
        raise ConfigError(f"endpoint {name!r}: {key} must hold at least one secret")
    if provider == "paypal" and not body.get("webhook_id"):
        raise ConfigError(f"endpoint {name!r}: paypal endpoints need webhook_id")
    if provider == "square" and not body.get("notification_url"):
        raise ConfigError(f"endpoint {name!r}: square endpoints need notification_url")
    api_key = body.get("api_key")
    known = {
        "provider",
        "secrets",
        "hmac_keys",
        "tolerance_seconds",
        "webhook_id",
        "cert_hosts",
        "notification_url",
        "api_key",
    }
    return Endpoint(
        name=name,
        provider=provider,
        secrets=secrets,
        tolerance_seconds=int(body.get("tolerance_seconds", 300)),
        webhook_id=body.get("webhook_id"),
        cert_hosts=tuple(body.get("cert_hosts", ("api.paypal.com", "api.sandbox.paypal.com"))),
        notification_url=body.get("notification_url"),
        api_key=_secret(name, "api_key", api_key, prod, env) if api_key else None,
        options={k: v for k, v in body.items() if k not in known},
    )


def _dev_secrets() -> frozenset[str]:
    """Every secret in the committed dev config: public, so never acceptable in production."""
    path = Path(__file__).resolve().parent.parent / DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()
    found: set[str] = set()
    for body in raw.get("endpoints", {}).values():
        for key in ("secrets", "hmac_keys"):
            found.update(v for v in body.get(key, []) if isinstance(v, str))
    return frozenset(found)


def _secret(endpoint: str, key: str, value: object, prod: bool, env: Mapping[str, str]) -> Secret:
    if not isinstance(value, str):
        raise ConfigError(f"endpoint {endpoint!r}: every entry of {key} must be a string")
    if value.startswith("env:"):
        var = value[4:]
        if var not in env:
            raise ConfigError(f"endpoint {endpoint!r}: {key} names ${var}, which is not set")
        value = env[var]
    if not value.strip():
        raise ConfigError(f"endpoint {endpoint!r}: {key} holds an empty secret")
    if prod and (value in _dev_secrets() or any(m in value.lower() for m in DEV_MARKERS)):
        raise ConfigError(
            f"endpoint {endpoint!r}: {key} holds a development secret; "
            "production needs real secrets (literal or env:NAME)"
        )
    return Secret(value)
