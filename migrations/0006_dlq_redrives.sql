-- Which dead letters `leadstream dlq redrive` re-published to their source topic, so a second
-- redrive skips them. A letter is identified by its place in the dead-letter topic and its
-- timestamp (a recreated topic restarts its offsets; the timestamp tells the letters apart).
-- Not org-scoped: an undecodable record has no org.

CREATE TABLE dlq_redrives (
    dlq_topic     text        NOT NULL,
    dlq_partition integer     NOT NULL,
    dlq_offset    bigint      NOT NULL,
    letter_ts     bigint      NOT NULL,   -- the dead letter's Kafka timestamp (ms)
    source_topic  text        NOT NULL,
    reason        text        NOT NULL,
    redriven_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset, letter_ts)
);
