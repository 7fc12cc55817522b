-- SQLite only: stock levels are stored in their primary key's order
-- (WITHOUT ROWID), so that reading or holding a level walks one b-tree
-- instead of the key's index and then the table. Routing reads levels
-- for every checkout and holding updates them; PostgreSQL keeps its heap.
CREATE TABLE stock_levels_clustered (
    sku_id        BIGINT NOT NULL REFERENCES skus (id),
    location_id   BIGINT NOT NULL REFERENCES locations (id),
    style_id      BIGINT NOT NULL REFERENCES styles (id),
    on_hand       BIGINT NOT NULL DEFAULT 0,
    reserved      BIGINT NOT NULL DEFAULT 0,
    in_transit    BIGINT NOT NULL DEFAULT 0,
    safety_stock  BIGINT NOT NULL DEFAULT 0,
    low_threshold BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CHECK (on_hand >= 0 AND reserved >= 0 AND in_transit >= 0 AND reserved <= on_hand),
    CHECK (safety_stock >= 0 AND low_threshold >= 0)
) WITHOUT ROWID;
INSERT INTO stock_levels_clustered (sku_id, location_id, style_id, on_hand, reserved, in_transit, safety_stock, low_threshold, updated_at)
    SELECT sku_id, location_id, style_id, on_hand, reserved, in_transit, safety_stock, low_threshold, updated_at FROM stock_levels;
DROP TABLE stock_levels;
ALTER TABLE stock_levels_clustered RENAME TO stock_levels;
CREATE INDEX stock_levels_location ON stock_levels (location_id);
CREATE INDEX stock_levels_style ON stock_levels (style_id, location_id);
