-- Reconciliation runs and their differences; reporting views analysts may query directly.

CREATE TABLE reconciliation_runs (
    run_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint          text NOT NULL,
    provider          text NOT NULL,
    report_format     text NOT NULL,
    report_name       text NOT NULL,
    report_sha256     text NOT NULL,
    window_from       timestamptz,
    window_to         timestamptz,
    report_rows       integer NOT NULL,
    report_payments   integer NOT NULL,
    paypipe_payments  integer NOT NULL,
    matched           integer NOT NULL,
    differences       integer NOT NULL,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_runs_endpoint ON reconciliation_runs (endpoint, started_at DESC);

CREATE TABLE reconciliation_items (
    run_id         bigint NOT NULL REFERENCES reconciliation_runs (run_id) ON DELETE CASCADE,
    item_no        integer NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('missing_in_paypipe', 'missing_in_report',
                       'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'refund_mismatch')),
    provider       text NOT NULL,
    payment_id     text NOT NULL,
    report_value   text,
    paypipe_value  text,
    detail         text NOT NULL,
    PRIMARY KEY (run_id, item_no)
);
CREATE INDEX reconciliation_items_kind ON reconciliation_items (run_id, kind);
CREATE INDEX reconciliation_items_payment ON reconciliation_items (provider, payment_id);

-- Reporting finds the events of a payment in time order.
CREATE INDEX payment_events_payment_time ON payment_events (provider, payment_id, occurred_at, event_id)
    WHERE payment_id IS NOT NULL;

-- One row per event that affects a payment, with what it adds to the report:
--   succeeded_amount: the amount of the payment's first payment.succeeded event only (Stripe sends
--     payment_intent.succeeded and charge.succeeded for one payment; the volume counts it once);
--   refunded_amount: how much this event raised the payment's refunded total, computed like
--     payments.amount_refunded (the larger of the greatest cumulative figure and the sum of
--     single refunds), so the refunded volume of a payment over all time equals amount_refunded.
CREATE VIEW report_payment_events AS
WITH running AS (
    SELECT e.event_id, e.provider, e.endpoint, e.type, e.payment_id, e.amount, e.currency,
           e.occurred_at,
           row_number() OVER (PARTITION BY e.provider, e.payment_id, e.type
                              ORDER BY e.occurred_at, e.event_id COLLATE "C") AS nth_of_type,
           GREATEST(
               COALESCE(max(e.amount_refunded) OVER w, 0),
               COALESCE(sum(e.amount) FILTER (WHERE e.type = 'refund.succeeded'
                                             AND e.amount_refunded IS NULL) OVER w, 0)
           ) AS refunded_so_far
    FROM payment_events e
    WHERE e.payment_id IS NOT NULL AND e.type <> 'other'
    WINDOW w AS (PARTITION BY e.provider, e.payment_id
                 ORDER BY e.occurred_at, e.event_id COLLATE "C" ROWS UNBOUNDED PRECEDING)
)
SELECT event_id, provider, endpoint, type, payment_id, amount, currency, occurred_at,
       (type = 'payment.succeeded' AND nth_of_type = 1) AS first_success,
       CASE WHEN type = 'payment.succeeded' AND nth_of_type = 1 THEN COALESCE(amount, 0) ELSE 0 END
           AS succeeded_amount,
       (refunded_so_far - COALESCE(lag(refunded_so_far) OVER (
           PARTITION BY provider, payment_id ORDER BY occurred_at, event_id COLLATE "C"), 0))::bigint
           AS refunded_amount
FROM running;

-- Totals per UTC hour, provider and currency. Volumes are integer minor units of `currency`.
-- failure_rate = failed payment attempts / (failed attempts + payments succeeded).
CREATE VIEW report_hourly AS
WITH totals AS (
    SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
           provider, currency,
           count(*) FILTER (WHERE first_success) AS payments_succeeded,
           sum(succeeded_amount)::bigint AS succeeded_volume,
           count(*) FILTER (WHERE refunded_amount > 0) AS refunds,
           sum(refunded_amount)::bigint AS refunded_volume,
           count(*) FILTER (WHERE type = 'payment.failed') AS failures,
           count(*) FILTER (WHERE type = 'dispute.opened') AS disputes_opened,
           count(*) FILTER (WHERE type = 'dispute.won') AS disputes_won,
           count(*) FILTER (WHERE type = 'dispute.lost') AS disputes_lost
    FROM report_payment_events
    GROUP BY 1, 2, 3
)
SELECT bucket, provider, currency, payments_succeeded, succeeded_volume, refunds, refunded_volume,
       failures,
       round(failures::numeric / NULLIF(failures + payments_succeeded, 0), 4) AS failure_rate,
       disputes_opened, disputes_won, disputes_lost
FROM totals;

-- The same per UTC day, summed from the hours.
CREATE VIEW report_daily AS
WITH totals AS (
    SELECT date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
           provider, currency,
           sum(payments_succeeded)::bigint AS payments_succeeded,
           sum(succeeded_volume)::bigint AS succeeded_volume,
           sum(refunds)::bigint AS refunds,
           sum(refunded_volume)::bigint AS refunded_volume,
           sum(failures)::bigint AS failures,
           sum(disputes_opened)::bigint AS disputes_opened,
           sum(disputes_won)::bigint AS disputes_won,
           sum(disputes_lost)::bigint AS disputes_lost
    FROM report_hourly
    GROUP BY 1, 2, 3
)
SELECT bucket, provider, currency, payments_succeeded, succeeded_volume, refunds, refunded_volume,
       failures,
       round(failures::numeric / NULLIF(failures + payments_succeeded, 0), 4) AS failure_rate,
       disputes_opened, disputes_won, disputes_lost
FROM totals;

-- Events and summed amounts per UTC day, provider, currency and normalized type.
CREATE VIEW report_events_daily AS
SELECT date_trunc('day', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
       provider, currency, type, count(*) AS events, sum(amount)::bigint AS amount
FROM payment_events
GROUP BY 1, 2, 3, 4;

-- The current state of payments per provider, currency and status.
CREATE VIEW payments_summary AS
SELECT provider, currency, status,
       count(*) AS payments,
       sum(amount)::bigint AS amount,
       sum(amount_refunded)::bigint AS amount_refunded,
       count(*) FILTER (WHERE dispute_status IS NOT NULL) AS disputed,
       count(*) FILTER (WHERE dispute_status = 'lost') AS disputes_lost
FROM payments
GROUP BY provider, currency, status;
