-- 0003 churn: every CLV run keeps its customers' P(alive), so that the next
-- run can warn about the customers whose P(alive) fell fastest since.
-- created_at is BIGINT milliseconds like everywhere; calibration_end is the
-- run's 'YYYY-MM-DD' (UTC, the calendar of analytics.Dataset).

-- ── analytics ───────────────────────────────────────────────────────────────
CREATE TABLE analytics_clv_runs (
    id {{ID}},
    import_id       BIGINT NOT NULL REFERENCES analytics_imports (id),
    calibration_end TEXT NOT NULL,
    bgnbd           TEXT NOT NULL, -- analytics.BGNBD as JSON
    created_at      BIGINT NOT NULL
);

-- One row per customer of a run. The primary key serves lookups by run_id.
CREATE TABLE analytics_palive (
    run_id      BIGINT NOT NULL REFERENCES analytics_clv_runs (id),
    customer_id TEXT NOT NULL,
    p_alive     DOUBLE PRECISION NOT NULL CHECK (p_alive >= 0 AND p_alive <= 1),
    PRIMARY KEY (run_id, customer_id)
);
