-- Work that runs later (audit-chain checks; deadlines, reminders, webhooks, escalations next):
-- durable rows that the server's worker claims with a lease (`locked_until`), runs at least once
-- and retries with back-off until `max_attempts`; then the job is dead until an administrator
-- retries it. A dedupe key names one logical job per county and kind, so enqueuing it twice
-- keeps one row.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL REFERENCES counties(id),
    kind TEXT NOT NULL,
    dedupe_key TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TEXT NOT NULL,
    locked_until TEXT,
    last_error TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs(county_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- The worker's question: which jobs are due (or whose lease has run out)?
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_county ON jobs(county_id, id);
