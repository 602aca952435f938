-- Leads, their channel identities, imports and the per-row ledger.
-- Every key and unique constraint leads with org_id, so the tables can be distributed by org
-- (Citus) without changing a constraint.

CREATE SEQUENCE leads_lead_id_seq AS bigint CACHE 1000;

CREATE TABLE leads (
    org_id            text        NOT NULL,
    lead_id           bigint      NOT NULL DEFAULT nextval('leads_lead_id_seq'),
    first_name        text,
    last_name         text,
    full_name         text,
    email             text,        -- profile data: NOT unique (families share addresses)
    phone             text,        -- profile data: NOT unique (families share phones)
    company           text,
    city              text,
    country           text,
    attributes        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    source            text        NOT NULL,
    delivery_count    integer     NOT NULL DEFAULT 0,
    last_delivered_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, lead_id)
);
ALTER SEQUENCE leads_lead_id_seq OWNED BY leads.lead_id;

-- The only uniqueness guarantee of the product: one lead per (org, channel, identifier).
CREATE TABLE channel_identities (
    org_id             text        NOT NULL,
    channel            text        NOT NULL,
    channel_identifier text        NOT NULL,
    lead_id            bigint      NOT NULL,
    opted_out          boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channel_identities_org_channel_identifier_key
        PRIMARY KEY (org_id, channel, channel_identifier),
    CONSTRAINT channel_identities_lead_fk
        FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, lead_id)
);
CREATE INDEX channel_identities_lead_idx ON channel_identities (org_id, lead_id);

CREATE TABLE imports (
    org_id           text        NOT NULL,
    import_id        text        NOT NULL,
    source_name      text,
    options          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status           text        NOT NULL DEFAULT 'publishing'
        CHECK (status IN ('publishing', 'processing', 'completed', 'failed', 'cancelled')),
    total_rows       bigint,
    processed        bigint      NOT NULL DEFAULT 0,
    created          bigint      NOT NULL DEFAULT 0,
    updated          bigint      NOT NULL DEFAULT 0,
    unchanged        bigint      NOT NULL DEFAULT 0,
    rejected         bigint      NOT NULL DEFAULT 0,
    skipped_existing bigint      NOT NULL DEFAULT 0,
    cancelled        bigint      NOT NULL DEFAULT 0,
    conflicts        bigint      NOT NULL DEFAULT 0,
    error            text,
    started_at       timestamptz,
    sealed_at        timestamptz,
    completed_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, import_id)
);
CREATE INDEX imports_import_id_idx ON imports (import_id);

-- The ledger: one row per processed import row, written in the batch's transaction, so a
-- redelivered row is recognised and counts never double.
CREATE TABLE import_row_results (
    org_id       text        NOT NULL,
    import_id    text        NOT NULL,
    row_number   bigint      NOT NULL,
    outcome      text        NOT NULL,
    lead_id      bigint,
    reason       text,
    conflicts    integer     NOT NULL DEFAULT 0,
    row_data     jsonb,       -- original values of rejected rows, for the error report
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, import_id, row_number)
);

CREATE TABLE identity_conflicts (
    org_id             text        NOT NULL,
    event_id           text        NOT NULL,
    import_id          text,
    row_number         bigint,
    channel            text        NOT NULL,
    channel_identifier text        NOT NULL,
    owner_lead_id      bigint      NOT NULL,
    row_lead_id        bigint      NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, event_id, channel, channel_identifier)
);
CREATE INDEX identity_conflicts_import_idx ON identity_conflicts (org_id, import_id);

-- The ledger of campaign deliveries (idempotency by the delivery's event_id).
CREATE TABLE processed_deliveries (
    org_id       text        NOT NULL,
    event_id     text        NOT NULL,
    campaign_id  text        NOT NULL,
    lead_id      bigint,
    outcome      text        NOT NULL,
    delivered_at timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, event_id)
);

-- Transactional outbox: lead events written with the batch, relayed to Kafka afterwards.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
