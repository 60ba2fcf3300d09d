-- The double-entry ledger: append-only, balanced per currency in every transaction.

CREATE TABLE ledger_transactions (
    transaction_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The business reference (e.g. 'payin:po_1'): booking the same movement twice is impossible.
    external_id      text        NOT NULL UNIQUE CHECK (length(external_id) BETWEEN 1 AND 200),
    kind             text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
    payment_order_id text        NULL,
    psp_reference    text        NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ledger_transactions_payment_order_id ON ledger_transactions (payment_order_id)
    WHERE payment_order_id IS NOT NULL;

CREATE TABLE ledger_entries (
    entry_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES ledger_transactions (transaction_id),
    account        text   NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    direction      text   NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount         bigint NOT NULL CHECK (amount > 0),
    currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$')
);

CREATE INDEX ledger_entries_transaction_id ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency);

-- Checked at commit (deferred), once all entries of a transaction are in: a transaction must have
-- entries, and in every currency its debits must equal its credits.
CREATE FUNCTION ledger_assert_transaction_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    checked_transaction bigint := NEW.transaction_id;
    unbalanced_currency text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_entries WHERE transaction_id = checked_transaction) THEN
        RAISE EXCEPTION 'ledger transaction % has no entries', checked_transaction
            USING ERRCODE = 'check_violation';
    END IF;

    SELECT currency INTO unbalanced_currency
    FROM ledger_entries
    WHERE transaction_id = checked_transaction
    GROUP BY currency
    HAVING sum(CASE WHEN direction = 'debit' THEN amount ELSE -amount END) <> 0
    LIMIT 1;

    IF unbalanced_currency IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', checked_transaction, unbalanced_currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
    AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_assert_transaction_balanced();

CREATE CONSTRAINT TRIGGER ledger_entries_balanced
    AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_assert_transaction_balanced();

-- Corrections are new, reversing transactions; history is never rewritten.
CREATE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_transactions_append_only
    BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

CREATE TRIGGER ledger_transactions_no_truncate
    BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
