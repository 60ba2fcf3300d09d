-- Payment orders parked after their retry budget ran out with the outcome still unknown (or with their
-- wallet/ledger effects still failing). Not FAILED: the PSP may have charged. An operator inspects and
-- replays them; one row per order, updated when it is parked again.
CREATE TABLE dead_letters (
    payment_order_id text        PRIMARY KEY,
    merchant_id      text        NOT NULL,
    stage            text        NOT NULL CHECK (stage IN ('psp_charge', 'effects')),
    attempts         integer     NOT NULL CHECK (attempts >= 0),
    last_error       text        NOT NULL,
    parked_at        timestamptz NOT NULL,
    status           text        NOT NULL CHECK (status IN ('parked', 'replayed')),
    replayed_at      timestamptz NULL,
    replay_count     integer     NOT NULL DEFAULT 0
);

CREATE INDEX dead_letters_parked ON dead_letters (parked_at) WHERE status = 'parked';
