-- The merchant's event log: every outcome a merchant cares about, written by the grain that caused it once its own state
-- holds the change (an outbox entry in grain state carries the event until it is here). The id is made with the change and
-- kept in state, so an entry written again is the same event: ON CONFLICT (event_id) DO NOTHING keeps the first.
CREATE TABLE events (
    seq          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    event_id     text        PRIMARY KEY,
    merchant_id  text        NOT NULL,
    type         text        NOT NULL CHECK (type IN ('payment_order.succeeded', 'payment_order.failed', 'payment_order.requires_action',
                                                      'checkout.completed', 'refund.succeeded', 'refund.failed', 'payout.paid', 'payout.failed')),
    -- Events of one key (a checkout: its orders, their refunds, its completion; a payout) are delivered in the order written.
    ordering_key text        NOT NULL,
    created_at   timestamptz NOT NULL,
    data         jsonb       NOT NULL
);

CREATE INDEX events_by_merchant ON events (merchant_id, seq);
CREATE INDEX events_by_merchant_type ON events (merchant_id, type, seq);

-- One webhook endpoint per merchant. A rotated secret keeps signing, beside the new one, until previous_secret_until.
CREATE TABLE webhook_endpoints (
    merchant_id           text        PRIMARY KEY,
    url                   text        NOT NULL,
    events                text[]      NOT NULL,
    secret                text        NOT NULL,
    previous_secret       text        NULL,
    previous_secret_until timestamptz NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- What each event owes the merchant's endpoint: made with the event (for an endpoint set before it), delivered at least
-- once, retried with backoff until it answers 2xx or gives up ('failed') after the retry period. 'canceled' when the
-- endpoint is deleted.
CREATE TABLE webhook_deliveries (
    event_id         text        PRIMARY KEY REFERENCES events (event_id),
    merchant_id      text        NOT NULL,
    seq              bigint      NOT NULL,
    ordering_key     text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'canceled')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    first_attempt_at timestamptz NULL,
    last_attempt_at  timestamptz NULL,
    last_status_code integer     NULL,
    last_error       text        NULL,
    delivered_at     timestamptz NULL
);

-- The deliveries still owed, per merchant and key in order: the head of each key is the next to send.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (merchant_id, ordering_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
