-- Idempotency keys: a create sent again with the key it was first sent with (a phone's offline
-- queue resending after a lost answer) is answered as the first time and writes nothing. A key
-- belongs to its user; a row is taken (status NULL) before the create runs and completed with
-- the answer after it, so two requests with one key cannot both create. Kept seven days.
CREATE TABLE idempotency_keys (
    user_id INTEGER NOT NULL,
    idem_key TEXT NOT NULL,
    -- SHA-256 of the request (method, path, query, content type and body, or a form's fields).
    fingerprint TEXT NOT NULL,
    -- The first answer; NULL while the request that took the key is still running.
    status INTEGER,
    content_type TEXT,
    body TEXT,
    location TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
