-- Identities: one row per Personio person. The served attributes, the
-- lifecycle decision, overrides and the minimized source record are flat
-- JSON objects, so that the mapping can grow without schema changes; columns
-- exist only for what is queried or constrained. They are json, not jsonb:
-- nothing queries inside them, and jsonb's input conversion was a third of a
-- full sync's time.
CREATE TABLE identities (
    id            text        PRIMARY KEY,
    personio_id   text        NOT NULL,
    user_name_key text        NOT NULL, -- lower(userName): userName is unique ignoring case
    attributes    json        NOT NULL,
    lifecycle     json        NOT NULL,
    overrides     json,
    source        json,
    source_hash   text        NOT NULL DEFAULT '',
    version       bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    modified_at   timestamptz NOT NULL,
    -- Deferred so that one change set may move a userName between two people.
    CONSTRAINT identities_user_name_unique UNIQUE (user_name_key) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE groups (
    id               text        PRIMARY KEY,
    key              text        NOT NULL,
    kind             text        NOT NULL,
    display_name     text        NOT NULL,
    display_name_key text        NOT NULL,
    members          text[]      NOT NULL DEFAULT '{}',
    version          bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    modified_at      timestamptz NOT NULL,
    CONSTRAINT groups_display_name_unique UNIQUE (display_name_key) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX groups_members ON groups USING gin (members);

-- The change log. seq is assigned under a transaction-level advisory lock,
-- so sequence order is commit order and a reader's cursor never skips a row.
CREATE TABLE change_log (
    seq             bigint      PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor           text        NOT NULL,
    cause           text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    kind            text        NOT NULL,
    resource_id     text        NOT NULL,
    op              text        NOT NULL,
    before          json,
    after           json,
    members_added   text[],
    members_removed text[]
);
CREATE INDEX change_log_resource ON change_log (resource_id, seq);
CREATE INDEX change_log_at ON change_log (at);
CREATE INDEX change_log_actor ON change_log (actor, seq);

CREATE TABLE sync_runs (
    id          text        PRIMARY KEY,
    trigger     text        NOT NULL,
    mode        text        NOT NULL,
    dry_run     boolean     NOT NULL DEFAULT false,
    status      text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    counts      jsonb,
    error       text        NOT NULL DEFAULT '',
    report      json, -- json, not jsonb: kept byte for byte as the engine wrote it
    approved_by text        NOT NULL DEFAULT '',
    approved_at timestamptz
);
CREATE INDEX sync_runs_started ON sync_runs (started_at DESC, id DESC);

-- API tokens: only a SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    scopes     text[]      NOT NULL,
    hash       bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
