-- 0007 coupons: coupon templates, the coupons issued from them to members,
-- and the points mall (积分商城). Times are BIGINT milliseconds (UTC);
-- money is BIGINT fen. Members come from 0006.

-- ── coupon templates ────────────────────────────────────────────────────────
-- The terms (kind … scope_values) never change once created.
CREATE TABLE coupon_templates (
    id {{ID}},
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('fixed', 'percent', 'threshold', 'free_shipping')),
    amount_off   BIGINT NOT NULL DEFAULT 0 CHECK (amount_off >= 0),                -- fen: fixed, threshold
    percent_off  INTEGER NOT NULL DEFAULT 0 CHECK (percent_off BETWEEN 0 AND 99), -- percent
    max_off      BIGINT NOT NULL DEFAULT 0 CHECK (max_off >= 0),                   -- percent: cap in fen, 0 = none
    min_spend    BIGINT NOT NULL DEFAULT 0 CHECK (min_spend >= 0),                 -- fen of eligible goods needed
    scope        TEXT NOT NULL CHECK (scope IN ('all', 'categories', 'styles')),
    scope_values TEXT NOT NULL DEFAULT '[]',     -- JSON array: category labels or style codes
    valid_from   BIGINT,                         -- coupons not usable before
    valid_until  BIGINT,                         -- coupons not usable from (exclusive)
    valid_days   INTEGER NOT NULL DEFAULT 0 CHECK (valid_days BETWEEN 0 AND 3650), -- business days from issue
    per_member   INTEGER NOT NULL DEFAULT 0 CHECK (per_member >= 0),  -- 0 = no limit
    total_limit  BIGINT NOT NULL DEFAULT 0 CHECK (total_limit >= 0),  -- 0 = no limit
    issued       BIGINT NOT NULL DEFAULT 0,
    claimable    BOOLEAN NOT NULL DEFAULT FALSE,
    min_tier     INTEGER NOT NULL DEFAULT 0 CHECK (min_tier BETWEEN 0 AND 4),
    stackable    BOOLEAN NOT NULL DEFAULT FALSE,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CHECK (issued >= 0 AND (total_limit = 0 OR issued <= total_limit)),
    CHECK (valid_until IS NOT NULL OR valid_days > 0)
);

-- Coupons of a template issued to a member (the per-member limit, taken by
-- one conditional upsert).
CREATE TABLE coupon_member_counts (
    template_id BIGINT NOT NULL REFERENCES coupon_templates (id),
    member_id   BIGINT NOT NULL REFERENCES members (id),
    issued      BIGINT NOT NULL CHECK (issued >= 0),
    PRIMARY KEY (template_id, member_id)
);

-- ── coupons ─────────────────────────────────────────────────────────────────
CREATE TABLE coupons (
    id {{ID}},
    code        TEXT NOT NULL UNIQUE,       -- random, given at checkout
    template_id BIGINT NOT NULL REFERENCES coupon_templates (id),
    member_id   BIGINT NOT NULL REFERENCES members (id),
    status      TEXT NOT NULL CHECK (status IN ('available', 'used', 'expired', 'revoked')),
    source      TEXT,                       -- NULL, or what issued it: unique per template and member (idempotency)
    valid_from  BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,            -- exclusive
    order_id    BIGINT REFERENCES orders (id), -- the order using it
    used_at     BIGINT,
    issued_at   BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (template_id, member_id, source),
    CHECK ((status = 'used') = (order_id IS NOT NULL)),
    CHECK (valid_from < valid_until)
);
CREATE INDEX coupons_member ON coupons (member_id, id);
CREATE INDEX coupons_order ON coupons (order_id) WHERE order_id IS NOT NULL;

-- ── points mall (积分商城) ──────────────────────────────────────────────────
-- An item costs points: a coupon of a template (stock NULL: the template's
-- limits apply) or a gift with its own stock, taken by one conditional UPDATE.
CREATE TABLE mall_items (
    id {{ID}},
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('coupon', 'gift')),
    points      BIGINT NOT NULL CHECK (points > 0),
    template_id BIGINT REFERENCES coupon_templates (id),
    stock       BIGINT CHECK (stock >= 0),  -- units left; NULL = unlimited (coupon items only)
    redeemed    BIGINT NOT NULL DEFAULT 0 CHECK (redeemed >= 0),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK ((kind = 'coupon') = (template_id IS NOT NULL)),
    CHECK (kind = 'coupon' OR stock IS NOT NULL)
);

CREATE TABLE mall_redemptions (
    id {{ID}},
    item_id     BIGINT NOT NULL REFERENCES mall_items (id),
    member_id   BIGINT NOT NULL REFERENCES members (id),
    qty         BIGINT NOT NULL CHECK (qty > 0),
    points      BIGINT NOT NULL CHECK (points > 0),   -- spent in all
    delivery    TEXT NOT NULL CHECK (delivery IN ('coupon', 'store', 'delivery')),
    store_id    BIGINT REFERENCES locations (id),     -- collection store
    address     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('issued', 'pending', 'ready', 'collected', 'shipped', 'delivered', 'cancelled')),
    coupon_codes TEXT NOT NULL DEFAULT '[]',          -- JSON: the coupons issued (coupon items)
    note        TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK ((delivery = 'store') = (store_id IS NOT NULL))
);
CREATE INDEX mall_redemptions_member ON mall_redemptions (member_id, id);
CREATE INDEX mall_redemptions_open ON mall_redemptions (status, id) WHERE status IN ('pending', 'ready', 'shipped');
