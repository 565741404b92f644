-- 双人复核 of privileged accounts: creating, resetting (password or second factor) or granting an
-- account that holds an administrator role, or reads whole personal numbers county-wide, is a
-- request of the security administrator that takes effect only when an administrator of another
-- duty confirms it. The account's owner then combines the two halves of an activation code (one
-- given to each administrator) to choose a password; the code is kept only as a keyed hash.
CREATE TABLE account_requests (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL REFERENCES counties(id),
    kind TEXT NOT NULL CHECK (kind IN ('create', 'reset_password', 'reset_totp', 'grant')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'refused', 'cancelled', 'activated', 'voided')),
    user_id INTEGER REFERENCES users(id),
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    person_id INTEGER,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_at INTEGER NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at INTEGER,
    expires_at INTEGER NOT NULL,
    first_half_hash TEXT,
    code_hash TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_requests_county ON account_requests(county_id, state);
CREATE INDEX account_requests_username ON account_requests(username, state);
