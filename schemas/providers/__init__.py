"""Provider modules, one per payment provider, each implementing `base.Provider`.

Adding a provider is adding a module here and naming it in `PROVIDERS`.
"""

from __future__ import annotations

from typing import cast

from schemas.providers import adyen, paypal, square, standard_webhooks, stripe
from schemas.providers.base import Provider, RawMeta

PROVIDERS: dict[str, Provider] = {
    stripe.name: cast(Provider, stripe),
    paypal.name: cast(Provider, paypal),
    adyen.name: cast(Provider, adyen),
    square.name: cast(Provider, square),
    standard_webhooks.name: cast(Provider, standard_webhooks),
}


def get(provider: str) -> Provider:
    """The module for `provider`; KeyError names an unknown one."""
    return PROVIDERS[provider]


__all__ = ["PROVIDERS", "Provider", "RawMeta", "get"]
