-- An import of people (导入党员) may change people already on file (found by their 身份证号's
-- blind index) instead of adding them: how many rows did so, beside written, unchanged and
-- rejected. Rows in = written + updated + unchanged + rejected.
ALTER TABLE imports ADD COLUMN updated BIGINT NOT NULL DEFAULT 0;
