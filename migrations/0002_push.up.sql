-- The push ledger. One cursor row per push target: a save moves it with a
-- conditional UPDATE (or the first INSERT), so two replicas saving from the
-- same cursor cannot both succeed.
CREATE TABLE push_cursors (
    target text   PRIMARY KEY,
    seq    bigint NOT NULL CHECK (seq >= 0)
);

-- One record per target and resource: what the target last acknowledged and
-- how the last attempts went. state and detail are the target's opaque
-- bytes, kept byte for byte.
CREATE TABLE push_records (
    target        text        NOT NULL,
    resource_id   text        NOT NULL,
    kind          text        NOT NULL,
    target_id     text        NOT NULL DEFAULT '',
    fingerprint   text        NOT NULL DEFAULT '',
    state         bytea,
    status        text        NOT NULL,
    attempts      bigint      NOT NULL DEFAULT 0,
    last_error    text        NOT NULL DEFAULT '',
    last_attempt  timestamptz,
    last_success  timestamptz,
    pending_since timestamptz,
    detail        bytea,
    PRIMARY KEY (target, resource_id)
);
-- The API lists a target's records by status (quarantined, failed) in id order.
CREATE INDEX push_records_status ON push_records (target, status, resource_id);
