-- PostgreSQL only: a stored idempotent answer (an order is about 2 KB of
-- JSON) stays in its row uncompressed. By default PostgreSQL compresses
-- rows over about 2 KB with pglz on every write, which cost more CPU than
-- the bytes it saved; Omni already deflates answers over 8 KiB itself.
ALTER TABLE idempotency_keys SET (toast_tuple_target = 8160);
