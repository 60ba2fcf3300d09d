-- The operations a grain has applied, one row each, written by the statement that writes the state they changed
-- (src/Payments.Grains/Storage/AppliedOperations.cs). A seller's wallet used to keep these ids in its own state until
-- their senders said they would never send them again, and an hour after that: a busy wallet's row grew by every credit
-- of that hour and was rewritten whole with each one. Here the dedup never forgets and the state stays its balances.
-- Append-only, like the ledger: a row is never updated, and nothing deletes one.
CREATE TABLE grain_operations (
    service_id   text        NOT NULL,
    grain_type   text        NOT NULL,   -- the state's name, as orleans_grain_state.grain_type ('wallet')
    grain_key    text        NOT NULL,   -- the grain's own key (the seller account), as the grain has it
    operation_id text        NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, grain_key, operation_id)
);

-- The write of sql/0011 that applies an operation: nothing is written, and -1 answered, when the operation is recorded
-- already (NULL, the version check's answer, when the writer's version is stale); otherwise the state is written and,
-- only if its version check passed, the operation recorded with it. The ids a payload of an earlier build carried
-- (p_carried_over) are recorded first, whatever the outcome: they were applied.
-- A race on the same operation cannot record it twice: only one writer's version check passes, and the insert below has
-- no ON CONFLICT, so a duplicate would fail the whole write rather than pass unseen.
CREATE FUNCTION orleans_grain_state_write_applying(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text,
    p_expected_version integer, p_payload bytea, p_wake_at timestamptz, p_wake_reason text, p_wake_key text,
    p_grain_key text, p_operation_id text, p_carried_over text[])
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    IF cardinality(p_carried_over) > 0 THEN
        INSERT INTO grain_operations (service_id, grain_type, grain_key, operation_id)
        SELECT p_service_id, p_grain_type, p_grain_key, carried FROM unnest(p_carried_over) AS carried
        ON CONFLICT DO NOTHING;
    END IF;

    IF p_operation_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM grain_operations
         WHERE service_id = p_service_id AND grain_type = p_grain_type AND grain_key = p_grain_key AND operation_id = p_operation_id) THEN
        -- Applied before: -1 only to the writer whose version is current. A stale one (another activation has written
        -- since) gets the version check's NULL, as any write of its would, and so learns to read afresh.
        IF p_expected_version IS NOT DISTINCT FROM (
            SELECT version FROM orleans_grain_state
             WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
               AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
               AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext) THEN
            RETURN -1;
        END IF;
        RETURN NULL;
    END IF;

    v_new := orleans_grain_state_write(p_service_id, p_grain_type, p_grain_type_hash, p_grain_id_hash, p_grain_id_n0, p_grain_id_n1,
                                       p_grain_id_ext, p_expected_version, p_payload, p_wake_at, p_wake_reason, p_wake_key);
    IF v_new IS NOT NULL AND p_operation_id IS NOT NULL THEN
        INSERT INTO grain_operations (service_id, grain_type, grain_key, operation_id)
        VALUES (p_service_id, p_grain_type, p_grain_key, p_operation_id);
    END IF;

    RETURN v_new;
END
$fn$;
