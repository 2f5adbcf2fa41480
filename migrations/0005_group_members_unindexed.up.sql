-- Group member lists are no longer indexed, nor compressed. The GIN index
-- served one query, the check that a deleted identity is in no group, which
-- runs only when identities are deleted and reads a few hundred group rows
-- at most; maintaining it cost most of a first sync's group writes (every
-- member of a 100,000-person company is an index entry) and re-inserts
-- every member of a group whose membership changes by one. Compressing lists
-- of random ids saves little and cost more than writing them.
DROP INDEX groups_members;
ALTER TABLE groups ALTER COLUMN members SET STORAGE EXTERNAL;
