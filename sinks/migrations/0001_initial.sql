-- Every normalized event once, and the reconciled state of each payment.
CREATE TABLE payment_events (
    event_id            text PRIMARY KEY,
    provider            text NOT NULL,
    endpoint            text NOT NULL,
    provider_event_id   text NOT NULL,
    provider_event_type text NOT NULL,
    type                text NOT NULL,
    payment_id          text,
    amount              bigint,
    currency            char(3),
    amount_refunded     bigint,
    status              text,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    persisted_at        timestamptz NOT NULL DEFAULT now(),
    livemode            boolean,
    account             text,
    event               jsonb NOT NULL,
    raw_topic           text NOT NULL,
    raw_partition       integer NOT NULL,
    raw_offset          bigint NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (provider, payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX payment_events_occurred ON payment_events (occurred_at);

CREATE TABLE payments (
    provider        text NOT NULL,
    payment_id      text NOT NULL,
    status          text,
    amount          bigint,
    currency        char(3),
    amount_refunded bigint,
    dispute_status  text,
    first_event_at  timestamptz NOT NULL,
    last_event_at   timestamptz NOT NULL,
    last_event_id   text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, payment_id)
);
CREATE INDEX payments_last_event ON payments (last_event_at);
CREATE INDEX payments_status ON payments (provider, status);
