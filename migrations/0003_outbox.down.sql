DROP TABLE IF EXISTS outbox_cursors;
DROP TABLE IF EXISTS outbox_messages;
