-- One outbox row may carry a whole batch's lead events (`records` of them, a JSON array of
-- [key, event] pairs): a 5,000-row batch then writes, locks and deletes one outbox tuple instead
-- of ~5,000. Stored out of line uncompressed: the payload is deleted within a second of being
-- written, compressing it would only cost CPU.
ALTER TABLE outbox ADD COLUMN records integer NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN batched boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL;
