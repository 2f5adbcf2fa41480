-- The notification outbox. A message is claimed with a lease (status
-- 'sending', lease_owner, lease_until), sent, and marked; a lease that runs
-- out makes it claimable again, a mark makes it final. dedupe_key is unique
-- so that one event is never enqueued twice.
CREATE TABLE outbox_messages (
    id           bigserial   PRIMARY KEY,
    dedupe_key   text        NOT NULL UNIQUE,
    event        text        NOT NULL,
    channel      text        NOT NULL,
    recipient    text        NOT NULL DEFAULT '',
    digest_key   text        NOT NULL DEFAULT '',
    digest       boolean     NOT NULL DEFAULT false,
    payload      bytea,
    status       text        NOT NULL,
    attempts     bigint      NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    lease_owner  text        NOT NULL DEFAULT '',
    lease_until  timestamptz,
    last_error   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz
);
-- Senders look for due messages: pending ones by next attempt, sending ones
-- by lease end. Finished messages stay out of the index.
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt, id) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_messages_digest ON outbox_messages (digest_key, id) WHERE status IN ('pending', 'sending');

-- How far each event feed (the change log follower) has read.
CREATE TABLE outbox_cursors (
    name text   PRIMARY KEY,
    seq  bigint NOT NULL CHECK (seq >= 0)
);
