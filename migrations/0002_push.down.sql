DROP TABLE IF EXISTS push_records;
DROP TABLE IF EXISTS push_cursors;
