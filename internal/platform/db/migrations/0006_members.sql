-- 0006 members: one member across channels (identities, profile, consent),
-- five tiers with growth (成长值), the points ledger with expiring lots,
-- check-ins, share rewards, birthday gifts, merges, the personal-data audit
-- log, member-only sales and the loyalty settings. Owned by internal/members.
-- Times are BIGINT milliseconds (UTC); business days are TEXT 'YYYY-MM-DD'
-- in Asia/Shanghai; points and growth are BIGINT.

-- ── tiers and settings ──────────────────────────────────────────────────────
-- The five tiers, by level 0..4. A member is at the highest level whose
-- growth threshold their qualifying growth reaches (upgrades at once;
-- downgrades only at the periodic re-evaluation).
CREATE TABLE member_tiers (
    level              INTEGER PRIMARY KEY CHECK (level BETWEEN 0 AND 4),
    code               TEXT NOT NULL UNIQUE,              -- regular, silver, gold, platinum, diamond
    name               TEXT NOT NULL,                     -- 普通, 银卡, 金卡, 白金, 钻石
    growth_threshold   BIGINT NOT NULL CHECK (growth_threshold >= 0),
    discount_pct       INTEGER NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 50), -- off goods at checkout
    points_multiplier  INTEGER NOT NULL DEFAULT 100 CHECK (points_multiplier BETWEEN 100 AND 1000), -- percent: 200 = double points
    birthday_points    BIGINT NOT NULL DEFAULT 0 CHECK (birthday_points >= 0),
    birthday_coupon    TEXT NOT NULL DEFAULT '',          -- coupon template code ('' = none)
    free_shipping      BOOLEAN NOT NULL DEFAULT FALSE,
    priority_shipping  BOOLEAN NOT NULL DEFAULT FALSE,
    member_sales       BOOLEAN NOT NULL DEFAULT FALSE,    -- may buy on member-only sales
    updated_at         BIGINT NOT NULL DEFAULT 0
);
INSERT INTO member_tiers (level, code, name, growth_threshold, discount_pct, points_multiplier, birthday_points, birthday_coupon, free_shipping, priority_shipping, member_sales) VALUES
    (0, 'regular',  '普通', 0,      0,  100, 0,    '',                FALSE, FALSE, FALSE),
    (1, 'silver',   '银卡', 1000,   2,  120, 100,  '',                FALSE, FALSE, TRUE),
    (2, 'gold',     '金卡', 5000,   5,  150, 300,  'BIRTHDAY-GOLD',    TRUE,  FALSE, TRUE),
    (3, 'platinum', '白金', 20000,  8,  200, 800,  'BIRTHDAY-PLATINUM', TRUE,  TRUE,  TRUE),
    (4, 'diamond',  '钻石', 50000,  12, 300, 2000, 'BIRTHDAY-DIAMOND', TRUE,  TRUE,  TRUE);

-- The programme's rules: one row.
CREATE TABLE loyalty_settings (
    id                     INTEGER PRIMARY KEY CHECK (id = 1),
    earn_points_per_yuan   INTEGER NOT NULL CHECK (earn_points_per_yuan BETWEEN 0 AND 100), -- × the tier multiplier
    growth_per_yuan        INTEGER NOT NULL CHECK (growth_per_yuan BETWEEN 0 AND 100),
    redeem_points_per_yuan INTEGER NOT NULL CHECK (redeem_points_per_yuan BETWEEN 1 AND 100000), -- 100 points = 1 CNY
    redeem_cap_pct         INTEGER NOT NULL CHECK (redeem_cap_pct BETWEEN 0 AND 100),          -- of the goods, per order
    checkin_points         INTEGER NOT NULL CHECK (checkin_points BETWEEN 0 AND 10000),
    checkin_growth         INTEGER NOT NULL CHECK (checkin_growth BETWEEN 0 AND 10000),
    streak_bonuses         TEXT NOT NULL,  -- JSON [{"days":3,"points":2},…]: extra points a day from the nth consecutive day
    share_points           INTEGER NOT NULL CHECK (share_points BETWEEN 0 AND 10000),
    share_growth           INTEGER NOT NULL CHECK (share_growth BETWEEN 0 AND 10000),
    share_daily_cap        INTEGER NOT NULL CHECK (share_daily_cap BETWEEN 0 AND 100),     -- rewarded shares a day
    expiry                 TEXT NOT NULL CHECK (expiry IN ('end_of_following_year', 'days', 'never')),
    expiry_days            INTEGER NOT NULL CHECK (expiry_days BETWEEN 1 AND 3650),
    reevaluate_days        INTEGER NOT NULL CHECK (reevaluate_days BETWEEN 1 AND 3650),     -- downgrade check period
    growth_window_days     INTEGER NOT NULL CHECK (growth_window_days BETWEEN 1 AND 3650),  -- growth that counts for the tier
    last_reevaluated_at    BIGINT,
    updated_at             BIGINT NOT NULL DEFAULT 0
);
INSERT INTO loyalty_settings (id, earn_points_per_yuan, growth_per_yuan, redeem_points_per_yuan, redeem_cap_pct,
    checkin_points, checkin_growth, streak_bonuses, share_points, share_growth, share_daily_cap,
    expiry, expiry_days, reevaluate_days, growth_window_days)
VALUES (1, 1, 1, 100, 50, 5, 1, '[{"days":3,"points":2},{"days":7,"points":5}]', 10, 1, 3,
    'end_of_following_year', 730, 90, 365);

-- ── members ─────────────────────────────────────────────────────────────────
CREATE TABLE members (
    id {{ID}},
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged')),
    merged_into      BIGINT REFERENCES members (id),     -- the survivor, for merged members
    name             TEXT NOT NULL DEFAULT '',
    tier             INTEGER NOT NULL DEFAULT 0 CHECK (tier BETWEEN 0 AND 4),
    tier_before      INTEGER NOT NULL DEFAULT 0,  -- the tier before the last points/growth change (upgrade detection)
    tier_since       BIGINT NOT NULL,
    points           BIGINT NOT NULL DEFAULT 0 CHECK (points >= 0), -- = Σ points_lots.remaining = Σ points_ledger.points
    growth           BIGINT NOT NULL DEFAULT 0 CHECK (growth >= 0), -- lifetime growth
    growth_base      BIGINT NOT NULL DEFAULT 0,   -- growth before the current qualifying window (set by re-evaluation)
    birthday         TEXT NOT NULL DEFAULT '',    -- 'YYYY-MM-DD'
    birth_md         TEXT NOT NULL DEFAULT '',    -- 'MM-DD', for the birthday worker
    gender           TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male', 'other')),
    city             TEXT NOT NULL DEFAULT '',
    preferred_store_id BIGINT REFERENCES locations (id),
    tags             TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    consent_sms      BOOLEAN NOT NULL DEFAULT FALSE,
    consent_sms_at   BIGINT,
    consent_email    BOOLEAN NOT NULL DEFAULT FALSE,
    consent_email_at BIGINT,
    consent_wechat   BOOLEAN NOT NULL DEFAULT FALSE,
    consent_wechat_at BIGINT,
    channel          TEXT NOT NULL DEFAULT '',    -- the channel of registration
    store_id         BIGINT REFERENCES locations (id), -- the store of registration
    checkin_day      TEXT NOT NULL DEFAULT '',    -- the last check-in day ('YYYY-MM-DD', Asia/Shanghai)
    checkin_streak   INTEGER NOT NULL DEFAULT 0,  -- consecutive days up to checkin_day
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CHECK ((status = 'merged') = (merged_into IS NOT NULL))
);
CREATE INDEX members_birthday ON members (birth_md) WHERE status = 'active' AND birth_md <> '';
CREATE INDEX members_merged ON members (merged_into) WHERE merged_into IS NOT NULL;

-- How a member is recognised: a mobile number, a WeChat unionid, an openid
-- of one app, an email address, a store card number. Each identity belongs
-- to one member.
CREATE TABLE member_identities (
    id {{ID}},
    member_id  BIGINT NOT NULL REFERENCES members (id),
    kind       TEXT NOT NULL CHECK (kind IN ('mobile', 'unionid', 'openid', 'email', 'card')),
    app_id     TEXT NOT NULL DEFAULT '',  -- openid: the WeChat app it belongs to
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, app_id, value)
);
CREATE INDEX member_identities_member ON member_identities (member_id);

-- Every tier change.
CREATE TABLE member_tier_changes (
    id {{ID}},
    member_id  BIGINT NOT NULL REFERENCES members (id),
    from_tier  INTEGER NOT NULL,
    to_tier    INTEGER NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('growth', 'reevaluation', 'merge')),
    growth     BIGINT NOT NULL,  -- qualifying growth at the change
    created_at BIGINT NOT NULL
);
CREATE INDEX member_tier_changes_member ON member_tier_changes (member_id, id);

-- ── points and growth ───────────────────────────────────────────────────────
-- The append-only ledger of points and growth: every change of a member's
-- points or growth is one row, with the balances after it. The growth
-- ledger is the rows with growth <> 0. A source names what caused the row
-- (order:12:earn, checkin:2026-03-10, …) and is unique per member, so every
-- award happens once.
CREATE TABLE points_ledger (
    id {{ID}},
    member_id     BIGINT NOT NULL REFERENCES members (id),
    kind          TEXT NOT NULL,
    points        BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    growth        BIGINT NOT NULL DEFAULT 0,
    growth_after  BIGINT NOT NULL DEFAULT 0,
    source        TEXT NOT NULL,
    order_id      BIGINT,
    operator      TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (member_id, source)
);

-- Earned points by expiry: one lot per member and expiry instant (all the
-- points a member earns in a year expire together at the end of the
-- following year), so a member has a few lots, not one per award.
-- Spends consume the lots that expire first; the expiry worker zeroes
-- lots past expires_at. (Indexes without a WHERE on remaining: spends
-- change remaining on every call and would rewrite partial indexes.)
CREATE TABLE points_lots (
    id {{ID}},
    member_id  BIGINT NOT NULL REFERENCES members (id),
    ledger_id  BIGINT NOT NULL,                   -- the row that opened it
    earned     BIGINT NOT NULL CHECK (earned > 0),
    remaining  BIGINT NOT NULL CHECK (remaining >= 0),
    expired    BIGINT NOT NULL DEFAULT 0 CHECK (expired >= 0),
    expires_at BIGINT NOT NULL,                   -- 9223372036854775807 for points that never expire
    created_at BIGINT NOT NULL,
    UNIQUE (member_id, expires_at)
);
CREATE INDEX points_lots_due ON points_lots (expires_at);

-- Which lots each debit (spend, reversal) took its points from.
CREATE TABLE points_debits (
    ledger_id BIGINT NOT NULL,
    lot_id    BIGINT NOT NULL,
    points    BIGINT NOT NULL CHECK (points > 0),
    returned  BIGINT NOT NULL DEFAULT 0,  -- given back to the lot since (refunds, cancellations)
    PRIMARY KEY (ledger_id, lot_id),
    CHECK (returned >= 0 AND returned <= points)
);

-- What each member order took and earned, for the order hooks: points
-- spent and given back, points and growth earned and taken back, the money
-- base of earning and the money refunded so far.
CREATE TABLE member_orders (
    order_id        BIGINT PRIMARY KEY,
    member_id       BIGINT NOT NULL REFERENCES members (id), -- the member who placed it (maybe merged since)
    points_spent    BIGINT NOT NULL DEFAULT 0,
    spend_ledger_id BIGINT,
    points_returned BIGINT NOT NULL DEFAULT 0,
    points_earned   BIGINT NOT NULL DEFAULT 0,
    points_reversed BIGINT NOT NULL DEFAULT 0,
    points_shortfall BIGINT NOT NULL DEFAULT 0,  -- reversals not taken because the balance was too low
    growth_earned   BIGINT NOT NULL DEFAULT 0,
    growth_reversed BIGINT NOT NULL DEFAULT 0,
    base            BIGINT NOT NULL DEFAULT 0,   -- money paid when earned (fen)
    refunded        BIGINT NOT NULL DEFAULT 0,   -- money refunded since (fen)
    paid_at         BIGINT,
    cancelled_at    BIGINT,
    updated_at      BIGINT NOT NULL,
    CHECK (points_returned <= points_spent AND points_reversed + points_shortfall <= points_earned AND growth_reversed <= growth_earned)
);

-- ── engagement ──────────────────────────────────────────────────────────────
-- The check-in history: one row per day and member (day first: a day's
-- check-ins share pages). The day is claimed on the member's row
-- (members.checkin_day) in the UPDATE that adds the points.
CREATE TABLE member_checkins (
    day        TEXT NOT NULL,     -- 'YYYY-MM-DD', Asia/Shanghai
    member_id  BIGINT NOT NULL REFERENCES members (id),
    streak     INTEGER NOT NULL,  -- consecutive days up to this one
    points     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (day, member_id)
);

CREATE TABLE member_shares (
    member_id BIGINT NOT NULL REFERENCES members (id),
    day       TEXT NOT NULL,
    shares    INTEGER NOT NULL,
    rewarded  INTEGER NOT NULL,
    last_rewarded BOOLEAN NOT NULL,  -- whether the latest share was rewarded
    PRIMARY KEY (member_id, day)
);

CREATE TABLE member_birthday_gifts (
    member_id  BIGINT NOT NULL REFERENCES members (id),
    year       INTEGER NOT NULL,
    points     BIGINT NOT NULL,
    coupon     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, year)
);

-- ── merges, audit, member-only sales ────────────────────────────────────────
CREATE TABLE member_merges (
    id {{ID}},
    survivor_id BIGINT NOT NULL REFERENCES members (id),
    merged_id   BIGINT NOT NULL UNIQUE REFERENCES members (id),
    points      BIGINT NOT NULL,
    growth      BIGINT NOT NULL,
    tier_before INTEGER NOT NULL,  -- the survivor's
    tier_after  INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX member_merges_survivor ON member_merges (survivor_id);

-- Reads and changes of personal data (profile, identities), with the actor.
CREATE TABLE member_audit (
    id {{ID}},
    member_id  BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,  -- read, register, update, bind, find, merge
    fields     TEXT NOT NULL DEFAULT '',
    masked     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX member_audit_member ON member_audit (member_id, id);

-- Styles on member-only sale: only members of min_tier or above whose tier
-- grants member sales may buy them between starts_at and ends_at.
CREATE TABLE member_sales (
    id {{ID}},
    style_code TEXT NOT NULL,
    min_tier   INTEGER NOT NULL CHECK (min_tier BETWEEN 0 AND 4),
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX member_sales_ends ON member_sales (ends_at);
