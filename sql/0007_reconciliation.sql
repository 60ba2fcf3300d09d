-- Reconciliation: runs, the files they read (staged with COPY), what has been seen of the PSP and the bank across
-- runs, and the breaks found. Staged lines are kept: a break's "theirs" comes from them, and a later report that
-- repeats a balance transaction must know it was seen.

CREATE TABLE reconciliation_runs (
    run_id       text        PRIMARY KEY,
    source       text        NOT NULL CHECK (source IN ('psp', 'bank')),
    run_date     date        NOT NULL,
    -- scheduled (the daily reminder), operator (a date asked for), upload (the file came with the request)
    origin       text        NOT NULL CHECK (origin IN ('scheduled', 'operator', 'upload')),
    status       text        NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    -- fetching: the file is being read into staging (an upload is staged before its run is visible);
    -- matching: staged, not yet compared; fixing: breaks filed, auto-fixes owed; done.
    stage        text        NOT NULL CHECK (stage IN ('fetching', 'matching', 'fixing', 'done')),
    lines        bigint      NOT NULL DEFAULT 0,
    matched      bigint      NOT NULL DEFAULT 0,
    attempts     integer     NOT NULL DEFAULT 0,
    failure      text        NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NULL
);

CREATE INDEX reconciliation_runs_unfinished ON reconciliation_runs (source, started_at) WHERE status = 'RUNNING';

-- One row per data row of a settlement report (CSV), amounts in minor units. Kept: they are what the PSP has shown us
-- (a balance transaction seen in an earlier report is no duplicate; a booking no report shows is missing), and a
-- break's "theirs". No foreign key to the run: the run row is written in the same transaction, and checking a million
-- rows against it costs seconds.
CREATE TABLE settlement_lines (
    run_id                 text        NOT NULL,
    line_no                integer     NOT NULL,
    balance_transaction_id text        NOT NULL,
    created_utc            timestamptz NOT NULL,
    available_on_utc       timestamptz NULL,
    currency               char(3)     NOT NULL,
    gross                  bigint      NOT NULL,
    fee                    bigint      NOT NULL,
    net                    bigint      NOT NULL,
    reporting_category     text        NOT NULL,
    source_id              text        NULL,
    payment_intent_id      text        NULL,
    automatic_payout_id    text        NULL,
    payment_order_id       text        NULL,
    PRIMARY KEY (run_id, line_no)
);

CREATE INDEX settlement_lines_charges ON settlement_lines (payment_order_id) WHERE reporting_category = 'charge';
CREATE INDEX settlement_lines_refunds ON settlement_lines (source_id) WHERE reporting_category IN ('refund', 'refund_failure');

-- One row per entry (Ntry) of a camt.053 file, signed minor units (negative: money out).
CREATE TABLE bank_statement_entries (
    run_id              text        NOT NULL REFERENCES reconciliation_runs (run_id),
    entry_no            integer     NOT NULL,
    statement_id        text        NOT NULL,
    account             text        NOT NULL,
    own_account         boolean     NOT NULL,
    currency            char(3)     NOT NULL,
    amount              bigint      NOT NULL,
    status              text        NULL,
    booking_date        date        NULL,
    account_reference   text        NULL,
    end_to_end_id       text        NULL,
    remittance          text        NULL,
    PRIMARY KEY (run_id, entry_no)
);

-- Every bank entry any statement has shown, once, by the bank's own reference (or its place in its statement).
CREATE TABLE bank_entries_seen (
    entry_key         text PRIMARY KEY,
    first_run_id      text NOT NULL,
    account_reference text NULL,
    end_to_end_id     text NULL
);

CREATE INDEX bank_entries_seen_reference ON bank_entries_seen (account_reference);
CREATE INDEX bank_entries_seen_end_to_end ON bank_entries_seen (end_to_end_id);

-- A difference between our books and theirs. Filed once per (source, kind, record): the id is derived from them,
-- so a rerun, or a run resumed after a crash, finds the break it filed before.
CREATE TABLE reconciliation_breaks (
    seq              bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    break_id         text        PRIMARY KEY,
    source           text        NOT NULL CHECK (source IN ('psp', 'bank')),
    kind             text        NOT NULL,
    record_key       text        NOT NULL,
    class            text        NOT NULL CHECK (class IN ('AUTO_FIXED', 'MANUAL_REVIEW', 'INVESTIGATE')),
    status           text        NOT NULL CHECK (status IN ('open', 'resolved')),
    run_id           text        NOT NULL REFERENCES reconciliation_runs (run_id),
    payment_order_id text        NULL,
    payout_id        text        NULL,
    ours             jsonb       NULL,
    theirs           jsonb       NULL,
    -- An auto-fix owed (true until the order has asked the PSP and booked), and what it did.
    fix_due          boolean     NOT NULL DEFAULT false,
    fix_attempts     integer     NOT NULL DEFAULT 0,
    fix              jsonb       NULL,
    -- auto_fixed: the order's own check booked it; matched_later: the other side showed the record in a later file;
    -- the others are a person's.
    resolution       text        NULL CHECK (resolution IN ('auto_fixed', 'matched_later', 'written_off', 'corrected', 'accepted')),
    note             text        NULL,
    created_at       timestamptz NOT NULL,
    resolved_at      timestamptz NULL,
    UNIQUE (source, kind, record_key)
);

CREATE INDEX reconciliation_breaks_queue ON reconciliation_breaks (class, status, seq);
CREATE INDEX reconciliation_breaks_payment_order ON reconciliation_breaks (payment_order_id) WHERE payment_order_id IS NOT NULL;
CREATE INDEX reconciliation_breaks_fix_due ON reconciliation_breaks (source, fix_attempts, seq) WHERE fix_due;
CREATE INDEX reconciliation_breaks_run ON reconciliation_breaks (run_id);

-- Which breaks each run found: a rerun lists the breaks it found again, with their first run's id.
CREATE TABLE reconciliation_run_breaks (
    run_id   text NOT NULL REFERENCES reconciliation_runs (run_id),
    break_id text NOT NULL REFERENCES reconciliation_breaks (break_id),
    PRIMARY KEY (run_id, break_id)
);
