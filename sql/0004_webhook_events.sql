-- Every PSP webhook event we handled, by its id: a redelivered event is recognised and changes nothing.
-- A row is written once the event has been applied, so an event whose handling died mid-way is applied
-- again when the PSP redelivers it (applying is idempotent in the payment order).
CREATE TABLE webhook_events (
    event_id         text        PRIMARY KEY,
    type             text        NOT NULL,
    payment_order_id text        NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    processed_at     timestamptz NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('applied', 'ignored', 'unknown_payment')),
    payload          text        NOT NULL
);

-- Events for payments we do not know: kept for investigation.
CREATE INDEX webhook_events_unknown_payment ON webhook_events (received_at) WHERE outcome = 'unknown_payment';
