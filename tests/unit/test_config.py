"""Config: endpoints, masked secrets, environment overrides, production refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import ConfigError, Secret, load_common

DEV = {"PAYPIPE_CONFIG": "config/dev.toml"}


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return {"PAYPIPE_CONFIG": str(path)}


def test_dev_config_has_the_five_contract_endpoints() -> None:
    common = load_common(DEV)
    assert {n: e.provider for n, e in common.endpoints.items()} == {
        "stripe": "stripe",
        "paypal": "paypal",
        "adyen": "adyen",
        "square": "square",
        "standard": "standard-webhooks",
    }


def test_defaults_and_environment_overrides() -> None:
    common = load_common(DEV)
    assert common.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert common.database_url == "postgresql://postgres@127.0.0.1:5432/paypipe"
    assert common.topic_prefix == "payments"
    other = load_common(
        {
            **DEV,
            "KAFKA_BOOTSTRAP_SERVERS": "k:1",
            "DATABASE_URL": "postgresql://x/y",
            "PAYPIPE_TOPIC_PREFIX": "pp",
        }
    )
    assert (other.kafka_bootstrap_servers, other.database_url, other.topic_prefix) == (
        "k:1",
        "postgresql://x/y",
        "pp",
    )


def test_secrets_print_masked() -> None:
    stripe = load_common(DEV).endpoints["stripe"]
    secret = stripe.secrets[0].reveal()
    assert secret not in repr(stripe) and secret not in str(stripe.secrets)
    assert repr(Secret("abc")) == "Secret('********')"


def test_prod_refuses_the_dev_config() -> None:
    with pytest.raises(ConfigError, match="development secret"):
        load_common({**DEV, "PAYPIPE_ENV": "prod"})


def test_prod_refuses_a_dev_secret_even_without_markers(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        '[endpoints.a]\nprovider = "adyen"\n'
        'hmac_keys = ["44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"]\n',
    )
    with pytest.raises(ConfigError, match="development secret"):
        load_common({**env, "PAYPIPE_ENV": "prod"})


def test_prod_takes_secrets_from_environment_references(tmp_path: Path) -> None:
    env = write(tmp_path, '[endpoints.s]\nprovider = "stripe"\nsecrets = ["env:STRIPE_WHSEC"]\n')
    common = load_common({**env, "PAYPIPE_ENV": "prod", "STRIPE_WHSEC": "whsec_Q9zr8PkLmN2"})
    assert common.endpoints["s"].secrets[0].reveal() == "whsec_Q9zr8PkLmN2"


def test_a_missing_environment_reference_is_named_without_value(tmp_path: Path) -> None:
    env = write(tmp_path, '[endpoints.s]\nprovider = "stripe"\nsecrets = ["env:NOPE"]\n')
    with pytest.raises(ConfigError, match=r"\$NOPE"):
        load_common(env)


@pytest.mark.parametrize("secrets", ['[""]', '["   "]', "[]"])
def test_empty_secrets_refuse_to_start(tmp_path: Path, secrets: str) -> None:
    env = write(tmp_path, f'[endpoints.s]\nprovider = "stripe"\nsecrets = {secrets}\n')
    with pytest.raises(ConfigError):
        load_common(env)


def test_unknown_provider_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="provider"):
        load_common(write(tmp_path, '[endpoints.s]\nprovider = "venmo"\n'))
    with pytest.raises(ConfigError, match="TOML"):
        load_common(write(tmp_path, "[endpoints\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_common({"PAYPIPE_CONFIG": str(tmp_path / "missing.toml")})
