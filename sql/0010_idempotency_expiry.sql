-- Idempotency-Key records expire (Idempotency:Retention, 24 h by default) and a sweep deletes them in batches
-- (src/Payments.Grains/Idempotency/IdempotencyExpiryStore.cs). This partial index is what the sweep reads: only the
-- idempotency rows, oldest first, so each batch finds its expired rows without scanning every grain's state. It costs
-- the idempotency writes one small index update each (modified_at changes on every write); other grains' writes none.
CREATE INDEX orleans_grain_state_idempotency_expiry ON orleans_grain_state (service_id, modified_at)
    WHERE grain_type = 'idempotencyKey';
