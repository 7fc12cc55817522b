-- 0004 orders: omnichannel orders with their fulfilment decision, presale,
-- payments and refunds, shipments with tracking, and after-sales requests.
-- Times are BIGINT milliseconds (UTC); money is BIGINT fen.

-- ── presale (预售) ──────────────────────────────────────────────────────────
-- A style sold against an expected receipt at one location, up to cap units.
CREATE TABLE presales (
    id {{ID}},
    style_id      BIGINT NOT NULL REFERENCES styles (id),
    location_id   BIGINT NOT NULL REFERENCES locations (id), -- where the stock is expected
    expected_date TEXT NOT NULL,                             -- 'YYYY-MM-DD' Asia/Shanghai
    cap           BIGINT NOT NULL CHECK (cap > 0),
    sold          BIGINT NOT NULL DEFAULT 0,
    status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CHECK (sold >= 0 AND sold <= cap)
);
CREATE INDEX presales_style ON presales (style_id) WHERE status = 'open';

-- ── orders ──────────────────────────────────────────────────────────────────
CREATE TABLE orders (
    id {{ID}},
    channel_id      BIGINT NOT NULL REFERENCES channels (id),
    mode            TEXT NOT NULL CHECK (mode IN ('pickup', 'instant', 'standard', 'pos')),
    status          TEXT NOT NULL CHECK (status IN ('created', 'paid', 'presale', 'allocated', 'picking',
                        'ready_for_pickup', 'partially_shipped', 'shipped', 'picked_up', 'delivered',
                        'completed', 'cancelled')),
    member_id       BIGINT,                    -- the member, once members exist
    customer_mobile TEXT NOT NULL DEFAULT '',  -- a guest's (or member's) mobile number
    customer_name   TEXT NOT NULL DEFAULT '',
    store_id        BIGINT REFERENCES locations (id), -- pickup or POS store
    -- delivery address (instant and standard)
    ship_province   TEXT NOT NULL DEFAULT '',
    ship_city       TEXT NOT NULL DEFAULT '',
    ship_address    TEXT NOT NULL DEFAULT '',
    ship_lat        DOUBLE PRECISION,
    ship_lng        DOUBLE PRECISION,
    region          TEXT NOT NULL DEFAULT '',  -- the sales region (of the store or the address)
    presale_id      BIGINT REFERENCES presales (id),
    exchange_of     BIGINT REFERENCES orders (id), -- an exchange's original order
    subtotal        BIGINT NOT NULL CHECK (subtotal >= 0),     -- Σ list price × qty
    discount        BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0),
    shipping_fee    BIGINT NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0),        -- subtotal − discount + shipping
    paid            BIGINT NOT NULL DEFAULT 0,
    refunded        BIGINT NOT NULL DEFAULT 0,
    pickup_code     TEXT NOT NULL DEFAULT '',  -- 核销码, pickup orders
    routing         TEXT NOT NULL DEFAULT '{}', -- the fulfilment decision record (JSON)
    pricing         TEXT NOT NULL DEFAULT '[]', -- order-level price adjustments (JSON)
    promised_at     BIGINT,                    -- promised delivery or pickup-ready time
    expires_at      BIGINT,                    -- unpaid orders are cancelled at this time
    note            TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    paid_at         BIGINT,
    completed_at    BIGINT,
    cancelled_at    BIGINT,
    updated_at      BIGINT NOT NULL,
    CHECK (paid >= 0 AND refunded >= 0 AND refunded <= paid AND paid <= total)
);
CREATE INDEX orders_unpaid ON orders (expires_at) WHERE status = 'created';
CREATE INDEX orders_presale ON orders (presale_id, id) WHERE status = 'presale';
-- (No index on status or created_at: every status change and insert would
-- pay for it on the checkout path; lists page by id and filter.)
CREATE INDEX orders_store ON orders (store_id, id);
CREATE INDEX orders_member ON orders (member_id, id);
CREATE INDEX orders_mobile ON orders (customer_mobile);

-- One SKU of an order. Each line is fulfilled whole from one location (a
-- standard order may split by line). The line's units are held at that
-- location (stock_levels.reserved) from checkout until they leave.
CREATE TABLE order_lines (
    order_id        BIGINT NOT NULL REFERENCES orders (id),
    line_no         INTEGER NOT NULL,
    sku_id          BIGINT NOT NULL REFERENCES skus (id),
    qty             BIGINT NOT NULL CHECK (qty > 0),
    unit_price      BIGINT NOT NULL CHECK (unit_price >= 0), -- the catalog's list price at checkout
    discount        BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0),
    amount          BIGINT NOT NULL CHECK (amount >= 0),     -- unit_price × qty − discount
    unit_cost       BIGINT NOT NULL DEFAULT 0,               -- the catalog's cost at checkout (margins)
    location_id     BIGINT REFERENCES locations (id),        -- NULL while a presale waits for stock
    capped_style_id BIGINT REFERENCES styles (id),           -- held against the channel's share cap
    held            BIGINT NOT NULL DEFAULT 0,               -- units still reserved at location_id
    shipped         BIGINT NOT NULL DEFAULT 0,               -- units handed over or shipped
    returned        BIGINT NOT NULL DEFAULT 0,               -- units received back
    adjustments     TEXT NOT NULL DEFAULT '[]',              -- price pipeline steps (JSON)
    PRIMARY KEY (order_id, line_no),
    CHECK (held >= 0 AND shipped >= 0 AND returned >= 0 AND held + shipped <= qty AND returned <= shipped)
);
CREATE INDEX order_lines_sku ON order_lines (sku_id);

-- Every status change of an order.
CREATE TABLE order_history (
    id {{ID}},
    order_id    BIGINT NOT NULL REFERENCES orders (id),
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX order_history_order ON order_history (order_id, id);

-- ── payments ────────────────────────────────────────────────────────────────
CREATE TABLE payments (
    id {{ID}},
    order_id     BIGINT NOT NULL REFERENCES orders (id),
    provider     TEXT NOT NULL CHECK (provider IN ('offline', 'test', 'wechat', 'alipay', 'points')),
    method       TEXT NOT NULL DEFAULT '',  -- cash, card, jsapi, native, app, …
    amount       BIGINT NOT NULL CHECK (amount > 0),
    refunded     BIGINT NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'captured', 'failed', 'cancelled')),
    out_trade_no TEXT NOT NULL UNIQUE,      -- our reference sent to the provider
    provider_ref TEXT NOT NULL DEFAULT '',  -- the provider's transaction id
    created_at   BIGINT NOT NULL,
    captured_at  BIGINT,
    updated_at   BIGINT NOT NULL,
    CHECK (refunded >= 0 AND refunded <= amount)
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id {{ID}},
    payment_id    BIGINT NOT NULL REFERENCES payments (id),
    order_id      BIGINT NOT NULL REFERENCES orders (id),
    after_sale_id BIGINT,
    amount        BIGINT NOT NULL CHECK (amount > 0),
    reason        TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    out_refund_no TEXT NOT NULL UNIQUE,
    provider_ref  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);

-- Provider notifications as received, once each (WeChat Pay, Alipay).
CREATE TABLE payment_notifications (
    id {{ID}},
    provider    TEXT NOT NULL,
    notify_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (provider, notify_id)
);

-- ── shipments and tracking (物流追踪) ───────────────────────────────────────
CREATE TABLE shipments (
    id {{ID}},
    order_id     BIGINT NOT NULL REFERENCES orders (id),
    location_id  BIGINT NOT NULL REFERENCES locations (id),
    carrier      TEXT NOT NULL,
    tracking_no  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('shipped', 'in_transit', 'out_for_delivery', 'delivered', 'exception')),
    promised_at  BIGINT,
    shipped_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    late         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (carrier, tracking_no)
);
CREATE INDEX shipments_order ON shipments (order_id);
CREATE INDEX shipments_open ON shipments (promised_at) WHERE status <> 'delivered';

CREATE TABLE shipment_lines (
    shipment_id BIGINT NOT NULL REFERENCES shipments (id),
    line_no     INTEGER NOT NULL, -- the order line
    qty         BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (shipment_id, line_no)
);

CREATE TABLE shipment_events (
    id {{ID}},
    shipment_id BIGINT NOT NULL REFERENCES shipments (id),
    status      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    place       TEXT NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX shipment_events_shipment ON shipment_events (shipment_id, occurred_at);

-- ── channel settings and after-sales (售后) ─────────────────────────────────
-- Per-channel order settings; a channel without a row uses the defaults.
CREATE TABLE channel_order_settings (
    channel_id         BIGINT PRIMARY KEY REFERENCES channels (id),
    routing            TEXT NOT NULL,            -- standard-delivery strategy: fewest_splits, nearest, warehouse_first
    unpaid_minutes     INTEGER NOT NULL CHECK (unpaid_minutes BETWEEN 1 AND 10080),
    return_window_days INTEGER NOT NULL CHECK (return_window_days BETWEEN 0 AND 365),
    no_reason          BOOLEAN NOT NULL,         -- 7天无理由: any reason accepted within the window
    conditions         TEXT NOT NULL,            -- accepted condition codes, comma-separated
    updated_at         BIGINT NOT NULL
);

CREATE TABLE after_sales (
    id {{ID}},
    order_id          BIGINT NOT NULL REFERENCES orders (id),
    kind              TEXT NOT NULL CHECK (kind IN ('return', 'exchange')),
    status            TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'received', 'completed', 'cancelled')),
    reason            TEXT NOT NULL,
    note              TEXT NOT NULL DEFAULT '',
    refund_amount     BIGINT NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    location_id       BIGINT REFERENCES locations (id), -- where the goods came back
    exchange_order_id BIGINT REFERENCES orders (id),
    due_at            BIGINT NOT NULL,                  -- SLA: handled (approved or rejected) by then
    handled_at        BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX after_sales_order ON after_sales (order_id);
CREATE INDEX after_sales_open ON after_sales (due_at) WHERE status = 'requested';

CREATE TABLE after_sale_lines (
    after_sale_id   BIGINT NOT NULL REFERENCES after_sales (id),
    line_no         INTEGER NOT NULL, -- the order line
    qty             BIGINT NOT NULL CHECK (qty > 0),
    condition       TEXT NOT NULL DEFAULT '',         -- as declared, then as received: sellable or damaged
    exchange_sku_id BIGINT REFERENCES skus (id),      -- exchanges: the SKU wanted instead
    PRIMARY KEY (after_sale_id, line_no)
);
