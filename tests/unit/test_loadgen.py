"""The load generator's pure parts: signed events verify, ratios hold, percentiles are right."""

from __future__ import annotations

import time
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from ingress.loadgen import Report, percentiles
from ingress.loadgen_events import Ratios, Traffic, default_mix, parse_mix
from ingress.loadgen_providers import Delivery, builders
from schemas.config import load_common
from schemas.errors import PermanentError, SignatureInvalid
from schemas.normalized import RawRef
from schemas.providers import get, paypal
from schemas.providers.base import RawMeta
from schemas.providers.paypal_certs import dev_trust, write_dev_certificate

NOW = time.time()  # the PayPal dev certificate is valid from yesterday
META = RawMeta(endpoint="x", received_at="2026-01-01T00:00:00.000000Z", raw=RawRef("t", 0, 0))


@pytest.fixture(scope="module")
def dev_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dev")
    write_dev_certificate(directory / "paypal")
    return directory


def traffic(dev_dir: Path, ratios: Ratios | None = None, seed: int = 7, **mix: float) -> Traffic:
    common = load_common({"PAYPIPE_CONFIG": "config/dev.toml"})
    table = builders(dev_dir / "paypal")
    return Traffic(
        endpoints=common.endpoints,
        builders=table,
        mix=mix or default_mix(common.endpoints, table),
        ratios=ratios or Ratios(),
        run="lgtest",
        seed=seed,
    )


def check(t: Traffic, delivery: Delivery, dev_dir: Path) -> None:
    """Verify the delivery with its provider module, as ingress and the processor would."""
    body, headers = t.sign(delivery, NOW)
    endpoint = t.endpoints[delivery.endpoint]
    lowered = {k.lower(): v for k, v in headers.items()}
    provider = get(endpoint.provider)
    if provider is paypal:
        paypal.verify(body, lowered, endpoint, NOW, trust=dev_trust(dev_dir))
    else:
        provider.verify(body, lowered, endpoint, NOW)


def test_every_provider_signs_events_its_module_verifies_and_normalizes(dev_dir: Path) -> None:
    t = traffic(dev_dir)
    seen = Counter()
    for delivery in islice(t, 400):
        check(t, delivery, dev_dir)
        body, _ = t.sign(delivery, NOW)
        events = get(delivery.provider).normalize(body, META)
        ids = {e.event_id for e in events}
        assert ids & set(delivery.persisted_ids), (delivery.provider, ids, delivery.persisted_ids)
        seen[delivery.provider] += 1
    assert set(seen) == {"stripe", "paypal", "adyen", "square", "standard-webhooks"}


def test_bad_signatures_fail_their_providers_verification(dev_dir: Path) -> None:
    t = traffic(dev_dir, Ratios(bad_signatures=0.5))
    bad = [d for d in islice(t, 600) if d.kind == "bad_signature"]
    assert {d.provider for d in bad} == {"stripe", "paypal", "adyen", "square", "standard-webhooks"}
    for delivery in bad:
        with pytest.raises(SignatureInvalid):
            check(t, delivery, dev_dir)


def test_poison_is_well_signed_but_cannot_be_normalized(dev_dir: Path) -> None:
    t = traffic(dev_dir, Ratios(poison=0.5))
    poison = [d for d in islice(t, 600) if d.kind == "poison"]
    assert {d.provider for d in poison} == {
        "stripe",
        "paypal",
        "adyen",
        "square",
        "standard-webhooks",
    }
    for delivery in poison:
        check(t, delivery, dev_dir)
        body, _ = t.sign(delivery, NOW)
        with pytest.raises(PermanentError):
            get(delivery.provider).normalize(body, META)


def test_ratios_hold_on_a_fixed_seed(dev_dir: Path) -> None:
    ratios = Ratios(duplicates=0.1, out_of_order=0.05, bad_signatures=0.02, poison=0.03)
    sample = list(islice(traffic(dev_dir, ratios, seed=11), 20_000))
    kinds = Counter(d.kind for d in sample)
    n = len(sample)
    assert kinds["duplicate"] / n == pytest.approx(0.1, abs=0.01)
    assert kinds["bad_signature"] / n == pytest.approx(0.02, abs=0.005)
    assert kinds["poison"] / n == pytest.approx(0.03, abs=0.005)
    assert sum(d.late for d in sample) / n == pytest.approx(0.05, abs=0.01)


def test_the_same_seed_gives_the_same_traffic(dev_dir: Path) -> None:
    ratios = Ratios(duplicates=0.1, out_of_order=0.1)
    first = [(d.key, d.kind, d.body) for d in islice(traffic(dev_dir, ratios, seed=3), 500)]
    again = [(d.key, d.kind, d.body) for d in islice(traffic(dev_dir, ratios, seed=3), 500)]
    assert first == again


def test_duplicates_repeat_an_earlier_event_byte_for_byte(dev_dir: Path) -> None:
    sample = list(islice(traffic(dev_dir, Ratios(duplicates=0.3)), 2000))
    originals = {d.key: d for d in sample if d.kind == "good"}
    duplicates = [d for d in sample if d.kind == "duplicate"]
    assert duplicates
    for d in duplicates:
        assert d.body == originals[d.key].body
        assert d.persisted_ids == originals[d.key].persisted_ids
        assert d.request_id != originals[d.key].request_id


def test_a_late_delivery_follows_a_later_step_of_its_payment(dev_dir: Path) -> None:
    sample = list(islice(traffic(dev_dir, Ratios(out_of_order=0.2)), 3000))
    late = [d for d in sample if d.late]
    assert late
    position = {d.key: i for i, d in enumerate(sample)}
    for d in late:
        newer = [
            o
            for o in sample
            if o.spec.payment.id == d.spec.payment.id and o.spec.occurred > d.spec.occurred
        ]
        assert any(position[o.key] < position[d.key] for o in newer)


def test_paypal_is_left_out_without_its_dev_key(tmp_path: Path) -> None:
    common = load_common({"PAYPIPE_CONFIG": "config/dev.toml"})
    table = builders(tmp_path / "paypal")
    assert "paypal" not in table
    assert "paypal" not in default_mix(common.endpoints, table)


def test_ratios_that_leave_no_room_are_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        Ratios(duplicates=0.5, out_of_order=0.3).check()
    with pytest.raises(ValueError, match="negative"):
        Ratios(poison=-0.1).check()


def test_mix_parses_weights() -> None:
    assert parse_mix("stripe=4, adyen=2,square") == {"stripe": 4.0, "adyen": 2.0, "square": 1.0}
    with pytest.raises(ValueError, match="name=weight"):
        parse_mix("stripe=lots")


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values, (50, 99, 100)) == {
        "p50": 50.0,
        "p99": 99.0,
        "p100": 100.0,
        "max": 100.0,
    }
    assert percentiles([3.0, 1.0, 2.0], (50,)) == {"p50": 2.0, "max": 3.0}
    assert percentiles([5.0], (1, 99.9)) == {"p1": 5.0, "p99.9": 5.0, "max": 5.0}
    assert percentiles([]) == {}


def test_report_counts_answers_per_logical_event(dev_dir: Path) -> None:
    t = traffic(dev_dir, Ratios(duplicates=0.5), stripe=1.0)
    report = Report(run="lgtest", target="http")
    sample = list(islice(t, 50))
    for d in sample:
        report.record(d, 202, 0.01)
    assert report.sent == 50 and report.accepted == 50
    assert len(report.ledger) == len({d.key for d in sample})
    assert all(e.accepted and e.expected == "persisted" for e in report.ledger.values())
