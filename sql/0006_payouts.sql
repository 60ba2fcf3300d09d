-- Payouts park like payment orders: a dead letter now names what it is (a payment order or a payout) and its id.
ALTER TABLE dead_letters RENAME COLUMN payment_order_id TO subject_id;
ALTER TABLE dead_letters
    ADD COLUMN subject_kind text NOT NULL DEFAULT 'payment_order' CHECK (subject_kind IN ('payment_order', 'payout')),
    DROP CONSTRAINT dead_letters_pkey,
    ADD PRIMARY KEY (subject_kind, subject_id),
    DROP CONSTRAINT dead_letters_stage_check,
    ADD CONSTRAINT dead_letters_stage_check CHECK (stage IN ('psp_charge', 'psp_refund', 'psp_payout', 'effects'));

-- Every payout, by seller, newest first: what GET /v1/sellers/{seller}/payouts pages through. The payout grain holds the
-- payout itself; a row is written before the payout's state, and removed again if the wallet refuses the reservation.
CREATE TABLE payouts (
    payout_id      text        PRIMARY KEY CHECK (length(payout_id) BETWEEN 1 AND 120),
    merchant_id    text        NOT NULL,
    seller_account text        NOT NULL,
    currency       char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at     timestamptz NOT NULL
);

CREATE INDEX payouts_by_seller ON payouts (seller_account, created_at DESC, payout_id DESC);

-- Sellers paid on a schedule (daily, weekly): what an operator's payout run goes through. Their settings live in the
-- seller's payout schedule grain; a seller back on 'manual' leaves this table.
CREATE TABLE payout_schedules (
    seller_account text        PRIMARY KEY,
    merchant_id    text        NOT NULL,
    payout_interval text       NOT NULL CHECK (payout_interval IN ('daily', 'weekly')),
    weekly_anchor  text        NULL,
    updated_at     timestamptz NOT NULL
);
