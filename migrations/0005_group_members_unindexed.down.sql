ALTER TABLE groups ALTER COLUMN members SET STORAGE EXTENDED;
CREATE INDEX groups_members ON groups USING gin (members);
