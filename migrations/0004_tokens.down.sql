DROP INDEX api_tokens_live_name;
UPDATE api_tokens SET revoked_at = replaced_at WHERE replaced_at IS NOT NULL AND revoked_at IS NULL;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
ALTER TABLE api_tokens DROP COLUMN expires_at, DROP COLUMN last_used_at, DROP COLUMN replaced_at;
