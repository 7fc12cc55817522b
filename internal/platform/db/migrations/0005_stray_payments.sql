-- 0005 stray payments: a provider may report a payment after its order was
-- cancelled or already paid by another tender. Such a payment is recorded,
-- not counted towards the order (counted = FALSE), and refunded in full.
ALTER TABLE payments ADD COLUMN counted BOOLEAN NOT NULL DEFAULT TRUE;
