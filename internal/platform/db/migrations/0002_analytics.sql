-- 0002 analytics: imported transaction files, kept so that the analytics API
-- can recompute RFM, CLV, cohorts, ABC/XYZ, KPIs and personas over them.
-- created_at is BIGINT milliseconds like everywhere; a line's "at" is BIGINT
-- Unix SECONDS (UTC), the resolution of analytics.Dataset. Money is BIGINT in
-- minor units of the import's currency (pence, cents, fen).

-- ── analytics ───────────────────────────────────────────────────────────────
CREATE TABLE analytics_imports (
    id {{ID}},
    name       TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('online-retail', 'cdnow', 'csv')),
    currency   TEXT NOT NULL,
    summary    TEXT NOT NULL, -- analytics.ImportSummary as JSON
    lines      BIGINT NOT NULL CHECK (lines >= 0),
    created_at BIGINT NOT NULL
);

-- One row per Dataset line; seq is the line's index, so a load rebuilds the
-- dataset in its original order. The primary key serves lookups by import_id.
CREATE TABLE analytics_lines (
    import_id   BIGINT NOT NULL REFERENCES analytics_imports (id),
    seq         BIGINT NOT NULL,
    order_id    TEXT NOT NULL,
    customer_id TEXT,
    sku         TEXT NOT NULL,
    qty         INTEGER NOT NULL,
    price       BIGINT NOT NULL CHECK (price >= 0),
    value       BIGINT, -- the line total as the source states it (cdnow), else NULL
    at          BIGINT NOT NULL,
    channel     TEXT,
    region      TEXT,
    PRIMARY KEY (import_id, seq)
);
