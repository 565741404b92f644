-- Spreadsheet imports (导入): the uploaded file, what it is imported into and how, and how far
-- the jobs worker has got. The upload returns at once and a job (`import.run`) does the work;
-- the page follows the row's counts. The rows that failed their checks come back as a workbook
-- (the original sheet's columns and an added 错误 column) kept on the row. Working files, not
-- records: not carried by copy and backup; the audit log keeps each import's history.
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL REFERENCES counties(id),
    -- The account that uploaded it (none for the command line); the job acts as it.
    user_id INTEGER,
    username TEXT NOT NULL,
    target TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('all', 'valid')),
    file_name TEXT NOT NULL,
    file_bytes BLOB NOT NULL,
    mapping TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'checking', 'writing', 'done', 'refused', 'failed')),
    rows_read INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    rejected_file BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX imports_user ON imports(county_id, username, id);
