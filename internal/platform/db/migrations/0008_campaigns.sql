-- 0008 campaigns: group buys (拼团) and friend-help (好友助力).
-- Times are BIGINT milliseconds (UTC); money is BIGINT fen; business days
-- 'YYYY-MM-DD' Asia/Shanghai. Member ids are not foreign keys (as
-- orders.member_id is not): the members module is asked about them.

-- ── group buy (拼团) ────────────────────────────────────────────────────────
-- A deal sells one SKU, or any SKU of one style, at a group price to groups
-- of group_size members formed within window_minutes.
CREATE TABLE group_deals (
    id {{ID}},
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    sku_id         BIGINT REFERENCES skus (id),
    style_id       BIGINT REFERENCES styles (id),
    item_code      TEXT NOT NULL,                 -- the SKU's or the style's code
    group_price    BIGINT NOT NULL CHECK (group_price >= 0), -- fen per unit
    group_size     INTEGER NOT NULL CHECK (group_size >= 2 AND group_size <= 100),
    window_minutes INTEGER NOT NULL CHECK (window_minutes > 0),
    member_limit   BIGINT NOT NULL CHECK (member_limit > 0), -- units per member in live orders
    starts_at      BIGINT NOT NULL,
    ends_at        BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CHECK ((sku_id IS NULL) <> (style_id IS NULL)),
    CHECK (ends_at > starts_at)
);

-- A group (团). held: seats taken by placed, not cancelled orders (paid or
-- not); joined: seats paid. forming → formed (joined reached size within
-- the window) | failed (the window ran out). Counts change only while
-- forming, each with one conditional UPDATE.
CREATE TABLE group_buys (
    id {{ID}},
    deal_id    BIGINT NOT NULL REFERENCES group_deals (id),
    leader_id  BIGINT NOT NULL,                   -- the member who opened it
    size       INTEGER NOT NULL,
    held       INTEGER NOT NULL DEFAULT 0,
    joined     INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL CHECK (status IN ('forming', 'formed', 'failed')),
    opened_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,                   -- end of the join window
    formed_at  BIGINT,
    failed_at  BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK (joined >= 0 AND joined <= held AND held <= size)
);
CREATE INDEX group_buys_due ON group_buys (expires_at) WHERE status = 'forming';
CREATE INDEX group_buys_deal ON group_buys (deal_id, id);

-- One group order. pending (seat held, unpaid) → paid (counted) → confirmed
-- (the group formed); late (paid after the window: cancelled and
-- refunded); cancelled; stuck (the group failed but the order had left).
CREATE TABLE group_members (
    order_id   BIGINT PRIMARY KEY REFERENCES orders (id),
    group_id   BIGINT NOT NULL REFERENCES group_buys (id),
    deal_id    BIGINT NOT NULL REFERENCES group_deals (id),
    member_id  BIGINT NOT NULL,
    qty        BIGINT NOT NULL CHECK (qty > 0),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'confirmed', 'late', 'cancelled', 'stuck')),
    joined_at  BIGINT NOT NULL,
    paid_at    BIGINT,
    ended_at   BIGINT
);
-- A member is in a group once (a cancelled order frees the place).
CREATE UNIQUE INDEX group_members_once ON group_members (group_id, member_id) WHERE status <> 'cancelled';
-- The memberships the failure worker may still have to cancel.
CREATE INDEX group_members_live ON group_members (group_id) WHERE status IN ('pending', 'paid', 'late');

-- Units a member has in a deal's live group orders, against member_limit.
CREATE TABLE group_deal_members (
    deal_id   BIGINT NOT NULL REFERENCES group_deals (id),
    member_id BIGINT NOT NULL,
    units     BIGINT NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (deal_id, member_id)
);

-- ── friend-help (好友助力) ──────────────────────────────────────────────────
-- A campaign rewards a member with a coupon of reward_template once
-- helpers_needed distinct members have helped the member's request.
CREATE TABLE help_campaigns (
    id {{ID}},
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    reward_template  TEXT NOT NULL,               -- coupons: template code
    helpers_needed   INTEGER NOT NULL CHECK (helpers_needed >= 1 AND helpers_needed <= 100),
    window_minutes   INTEGER NOT NULL CHECK (window_minutes > 0),
    daily_help_limit INTEGER NOT NULL CHECK (daily_help_limit > 0), -- requests a member may help per day
    starts_at        BIGINT NOT NULL,
    ends_at          BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);

-- A member's request. open → completed (the needed-th helper; the reward is
-- issued in that transaction) | expired (recorded lazily).
CREATE TABLE help_requests (
    id {{ID}},
    campaign_id  BIGINT NOT NULL REFERENCES help_campaigns (id),
    member_id    BIGINT NOT NULL,
    needed       INTEGER NOT NULL,
    helpers      INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('open', 'completed', 'expired')),
    expires_at   BIGINT NOT NULL,
    completed_at BIGINT,
    reward_id    BIGINT,                          -- the issued coupon
    reward_code  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CHECK (helpers >= 0 AND helpers <= needed)
);
-- One open or completed request per member and campaign.
CREATE UNIQUE INDEX help_requests_one ON help_requests (campaign_id, member_id) WHERE status IN ('open', 'completed');

-- Who helped a request: once per helper.
CREATE TABLE help_helps (
    request_id BIGINT NOT NULL REFERENCES help_requests (id),
    helper_id  BIGINT NOT NULL,
    day        TEXT NOT NULL,                     -- 'YYYY-MM-DD' Asia/Shanghai
    created_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, helper_id)
);

-- Requests a member has helped per campaign and day, against daily_help_limit.
CREATE TABLE help_helper_days (
    campaign_id BIGINT NOT NULL REFERENCES help_campaigns (id),
    helper_id   BIGINT NOT NULL,
    day         TEXT NOT NULL,
    helps       INTEGER NOT NULL CHECK (helps > 0),
    PRIMARY KEY (campaign_id, helper_id, day)
);
