-- Refunds the PSP never answered within their retry budget park their order too: a fresh request could outlive
-- the PSP's idempotency window, so an operator decides, and a replay looks for the refund before asking again.
ALTER TABLE dead_letters
    DROP CONSTRAINT dead_letters_stage_check,
    ADD CONSTRAINT dead_letters_stage_check CHECK (stage IN ('psp_charge', 'psp_refund', 'effects'));
