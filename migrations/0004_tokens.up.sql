-- Tokens can expire, remember when they were last used (written at most once
-- a minute per token), and be rotated under the same name: the replaced
-- token stays valid until its expiry, the name stays unique among current ones.
ALTER TABLE api_tokens
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN replaced_at  timestamptz;
DROP INDEX api_tokens_live_name;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL AND replaced_at IS NULL;
