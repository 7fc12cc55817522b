-- 0001 foundation: catalog, store network, inventory, outbox, access.
-- Times are BIGINT milliseconds since the Unix epoch (UTC); money is BIGINT fen;
-- business dates are TEXT 'YYYY-MM-DD' in Asia/Shanghai.

-- ── catalog ─────────────────────────────────────────────────────────────────
CREATE TABLE styles (
    id {{ID}},
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    brand       TEXT NOT NULL DEFAULT '',
    season      TEXT NOT NULL DEFAULT '',
    lifecycle   TEXT NOT NULL CHECK (lifecycle IN ('fashion', 'seasonal', 'classic')),
    launch_date TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX styles_category ON styles (category);

CREATE TABLE skus (
    id {{ID}},
    code       TEXT NOT NULL UNIQUE,
    style_id   BIGINT NOT NULL REFERENCES styles (id),
    color      TEXT NOT NULL,
    size       TEXT NOT NULL,
    barcode    TEXT NOT NULL UNIQUE,
    list_price BIGINT NOT NULL CHECK (list_price >= 0),
    cost       BIGINT NOT NULL CHECK (cost >= 0),
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (style_id, color, size)
);
CREATE INDEX skus_style ON skus (style_id);

-- ── store network ───────────────────────────────────────────────────────────
CREATE TABLE locations (
    id {{ID}},
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('central_warehouse', 'regional_warehouse', 'front_warehouse', 'store')),
    region           TEXT NOT NULL DEFAULT '',
    province         TEXT NOT NULL,
    city             TEXT NOT NULL,
    address          TEXT NOT NULL DEFAULT '',
    lat              DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng              DOUBLE PRECISION NOT NULL CHECK (lng BETWEEN -180 AND 180),
    opening_hours    TEXT NOT NULL DEFAULT '',
    can_pos          BOOLEAN NOT NULL DEFAULT FALSE,
    can_pickup       BOOLEAN NOT NULL DEFAULT FALSE,
    can_ship         BOOLEAN NOT NULL DEFAULT FALSE,
    can_instant      BOOLEAN NOT NULL DEFAULT FALSE,
    instant_radius_m INTEGER NOT NULL DEFAULT 0 CHECK (instant_radius_m >= 0),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE channels (
    id {{ID}},
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('online_shop', 'mini_program', 'app', 'live_stream', 'pos')),
    -- units per SKU × location this channel never sells, on top of the level's own safety stock
    safety_stock BIGINT NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    -- most of a style's stock this channel may hold or sell, in basis points (10000 = no cap)
    max_share_bp INTEGER NOT NULL DEFAULT 10000 CHECK (max_share_bp BETWEEN 0 AND 10000),
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE channel_locations (
    channel_id  BIGINT NOT NULL REFERENCES channels (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    PRIMARY KEY (channel_id, location_id)
);
CREATE INDEX channel_locations_location ON channel_locations (location_id);

-- ── inventory ───────────────────────────────────────────────────────────────
-- One row per SKU × location. Every change is one stock_movements row written
-- in the same transaction, so each counter equals the sum of its deltas.
CREATE TABLE stock_levels (
    sku_id        BIGINT NOT NULL REFERENCES skus (id),
    location_id   BIGINT NOT NULL REFERENCES locations (id),
    style_id      BIGINT NOT NULL REFERENCES styles (id), -- the SKU's style, for channel share caps
    on_hand       BIGINT NOT NULL DEFAULT 0,
    reserved      BIGINT NOT NULL DEFAULT 0,
    in_transit    BIGINT NOT NULL DEFAULT 0,
    safety_stock  BIGINT NOT NULL DEFAULT 0,
    low_threshold BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CHECK (on_hand >= 0 AND reserved >= 0 AND in_transit >= 0 AND reserved <= on_hand),
    CHECK (safety_stock >= 0 AND low_threshold >= 0)
);
CREATE INDEX stock_levels_location ON stock_levels (location_id);
CREATE INDEX stock_levels_style ON stock_levels (style_id, location_id);

CREATE TABLE stock_movements (
    id {{ID}},
    sku_id           BIGINT NOT NULL REFERENCES skus (id),
    location_id      BIGINT NOT NULL REFERENCES locations (id),
    kind             TEXT NOT NULL CHECK (kind IN ('receipt', 'sale', 'return', 'transfer_out', 'transfer_in',
                         'transit', 'adjustment', 'count', 'reserve', 'release')),
    on_hand_delta    BIGINT NOT NULL DEFAULT 0,
    reserved_delta   BIGINT NOT NULL DEFAULT 0,
    in_transit_delta BIGINT NOT NULL DEFAULT 0,
    reason           TEXT NOT NULL DEFAULT '',
    ref_type         TEXT NOT NULL DEFAULT '',
    ref_id           TEXT NOT NULL DEFAULT '',
    actor            TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL
);
CREATE INDEX stock_movements_level ON stock_movements (sku_id, location_id, id);

CREATE TABLE reservations (
    id {{ID}},
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    reference  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('active', 'confirmed', 'released', 'expired')),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE status = 'active';

CREATE TABLE reservation_lines (
    reservation_id BIGINT NOT NULL REFERENCES reservations (id),
    line_no        INTEGER NOT NULL,
    sku_id         BIGINT NOT NULL REFERENCES skus (id),
    location_id    BIGINT NOT NULL REFERENCES locations (id),
    qty            BIGINT NOT NULL CHECK (qty > 0),
    -- the style whose channel share this line counts against, when capped
    capped_style_id BIGINT REFERENCES styles (id),
    PRIMARY KEY (reservation_id, line_no)
);

-- Units a share-capped channel holds (active reservations) and has sold of a
-- style since its allocation was last reset.
CREATE TABLE channel_style_usage (
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    style_id   BIGINT NOT NULL REFERENCES styles (id),
    held       BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold       BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
    PRIMARY KEY (channel_id, style_id)
);

CREATE TABLE transfers (
    id {{ID}},
    from_location_id BIGINT NOT NULL REFERENCES locations (id),
    to_location_id   BIGINT NOT NULL REFERENCES locations (id),
    status           TEXT NOT NULL CHECK (status IN ('requested', 'shipped', 'received', 'cancelled')),
    reason           TEXT NOT NULL DEFAULT '',
    requested_by     TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    shipped_at       BIGINT,
    received_at      BIGINT,
    updated_at       BIGINT NOT NULL,
    CHECK (from_location_id <> to_location_id)
);
CREATE INDEX transfers_status ON transfers (status);

CREATE TABLE transfer_lines (
    transfer_id  BIGINT NOT NULL REFERENCES transfers (id),
    line_no      INTEGER NOT NULL,
    sku_id       BIGINT NOT NULL REFERENCES skus (id),
    qty          BIGINT NOT NULL CHECK (qty > 0),
    received_qty BIGINT NOT NULL DEFAULT 0 CHECK (received_qty >= 0),
    PRIMARY KEY (transfer_id, line_no)
);

CREATE TABLE stock_counts (
    id {{ID}},
    location_id BIGINT NOT NULL REFERENCES locations (id),
    note        TEXT NOT NULL DEFAULT '',
    counted_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE stock_count_lines (
    count_id   BIGINT NOT NULL REFERENCES stock_counts (id),
    sku_id     BIGINT NOT NULL REFERENCES skus (id),
    expected   BIGINT NOT NULL,
    counted    BIGINT NOT NULL CHECK (counted >= 0),
    difference BIGINT NOT NULL,
    PRIMARY KEY (count_id, sku_id)
);

CREATE TABLE stock_alerts (
    id {{ID}},
    kind        TEXT NOT NULL CHECK (kind IN ('low_stock')),
    sku_id      BIGINT NOT NULL REFERENCES skus (id),
    location_id BIGINT NOT NULL REFERENCES locations (id),
    available   BIGINT NOT NULL,
    threshold   BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX stock_alerts_one_open ON stock_alerts (kind, sku_id, location_id) WHERE status <> 'resolved';

-- ── outbox and subscribers ──────────────────────────────────────────────────
CREATE TABLE events (
    id {{ID}},
    topic      TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhooks (
    id {{ID}},
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    topics      TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    cursor      BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id {{ID}},
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id),
    event_id        BIGINT NOT NULL REFERENCES events (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Each webhook's queue, oldest event first (deliveries go out in event order).
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, event_id) WHERE status = 'pending';

-- ── access ──────────────────────────────────────────────────────────────────
CREATE TABLE api_keys (
    id {{ID}},
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'ops', 'store', 'readonly')),
    location_id BIGINT REFERENCES locations (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    CHECK ((role = 'store') = (location_id IS NOT NULL))
);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT,
    response     {{BLOB}},
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
