-- Durable wake-ups beside the grain state (src/Payments.Grains/Storage/DurableWakeUp.cs). A payment order used to keep
-- two Orleans reminders: "drive" while it owed work and "auto_fulfill" while it was paid and not fulfilled. Each was a
-- row of its own, written in a commit of its own before or after the state, and the reminder service held every one in
-- memory with a timer (a paid order's for 14 days). Now the order's wake-up is two columns of its state row, written by
-- the same statement as the state, so "the stored state owes work" and "it will be woken" can never disagree; a few
-- sweeper grains (one reminder each) read the due ones from the index below and wake them.
ALTER TABLE orleans_grain_state
    ADD COLUMN wake_at     timestamptz NULL,   -- when the sweep wakes the grain, if nothing else does first
    ADD COLUMN wake_reason text        NULL,   -- what for: 'drive' (owes work) or 'auto_fulfill' (paid, not fulfilled)
    -- The grain's key as the grain has it. Not grain_id_ext: a key Orleans reads as a number or a Guid ('12345',
    -- 'deadbeef', a uuid without dashes) is stored in grain_id_n0/n1 instead, and could not be rebuilt from them.
    ADD COLUMN wake_key    text        NULL;

-- What the sweep reads (the due rows of one reason, oldest first, keyset on time and key; the shard's hash included so
-- the index answers alone) and the operations' "owes work" listings (wake_reason = 'drive'). Rows without a wake-up,
-- every finished grain, are not in it. Built inside the migration's transaction: grain writes wait while it scans the
-- table, once, at the upgrade.
CREATE INDEX orleans_grain_state_wake ON orleans_grain_state (service_id, grain_type, wake_reason, wake_at, wake_key COLLATE "C")
    INCLUDE (grain_id_hash) WHERE wake_at IS NOT NULL;

-- The write of sql/0001 with the wake-up: set (or cleared, both NULL) by the same statement as the payload.
CREATE FUNCTION orleans_grain_state_write(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text,
    p_expected_version integer, p_payload bytea, p_wake_at timestamptz, p_wake_reason text, p_wake_key text)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    IF p_expected_version IS NULL THEN
        INSERT INTO orleans_grain_state (service_id, grain_type, grain_type_hash, grain_id_hash,
                                         grain_id_n0, grain_id_n1, grain_id_ext, payload, version, wake_at, wake_reason, wake_key)
        VALUES (p_service_id, p_grain_type, p_grain_type_hash, p_grain_id_hash,
                p_grain_id_n0, p_grain_id_n1, p_grain_id_ext, p_payload, 1, p_wake_at, p_wake_reason, p_wake_key)
        ON CONFLICT DO NOTHING
        RETURNING version INTO v_new;
    ELSE
        UPDATE orleans_grain_state
           SET payload = p_payload, version = version + 1, modified_at = now(),
               wake_at = p_wake_at, wake_reason = p_wake_reason, wake_key = p_wake_key
         WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
           AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
           AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext
           AND version = p_expected_version
        RETURNING version INTO v_new;
    END IF;
    RETURN v_new;
END
$fn$;

-- A cleared grain owes nothing: its wake-up goes with its payload.
CREATE OR REPLACE FUNCTION orleans_grain_state_clear(
    p_service_id text, p_grain_type text, p_grain_type_hash integer, p_grain_id_hash integer,
    p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_id_ext text, p_expected_version integer)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    v_new integer;
BEGIN
    UPDATE orleans_grain_state
       SET payload = NULL, version = version + 1, modified_at = now(), wake_at = NULL, wake_reason = NULL, wake_key = NULL
     WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
       AND service_id = p_service_id AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
       AND grain_type = p_grain_type AND grain_id_ext IS NOT DISTINCT FROM p_grain_id_ext
       AND version = p_expected_version
    RETURNING version INTO v_new;
    RETURN v_new;
END
$fn$;

-- The payment orders' reminders of an earlier build become their wake-ups, in this same transaction: an order that
-- owed work is due at once ('drive' wins over 'auto_fulfill'), a paid one when its reminder was due. Only those found by
-- their key extension are moved; any other (an order with a numeric or Guid id, a cleared one) keeps its reminder, whose
-- next tick does what the sweep would, stores the wake-up and removes the reminder (PaymentOrderGrain.ReceiveReminder).
UPDATE orleans_grain_state AS s
   SET wake_at = r.start_time, wake_reason = 'auto_fulfill', wake_key = s.grain_id_ext
  FROM orleans_reminder AS r
 WHERE r.reminder_name = 'auto_fulfill' AND r.service_id = s.service_id
   AND s.grain_type = 'paymentOrder' AND s.payload IS NOT NULL AND r.grain_id = 'paymentorder/' || s.grain_id_ext;
UPDATE orleans_grain_state AS s
   SET wake_at = now(), wake_reason = 'drive', wake_key = s.grain_id_ext
  FROM orleans_reminder AS r
 WHERE r.reminder_name = 'drive' AND r.service_id = s.service_id
   AND s.grain_type = 'paymentOrder' AND s.payload IS NOT NULL AND r.grain_id = 'paymentorder/' || s.grain_id_ext;
DELETE FROM orleans_reminder AS r
 USING orleans_grain_state AS s
 WHERE r.reminder_name IN ('drive', 'auto_fulfill') AND r.service_id = s.service_id
   AND s.grain_type = 'paymentOrder' AND s.payload IS NOT NULL AND r.grain_id = 'paymentorder/' || s.grain_id_ext;
