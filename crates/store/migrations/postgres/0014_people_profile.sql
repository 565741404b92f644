-- A Party member's profile as the national member information system keeps it (民族, 学历,
-- 人员类别, 入党日期, 转正日期), so that the member sheets counties hold import and export whole.
-- Values are the domain's: 民族 by its full name (GB/T 3304), 学历 and 人员类别 by their keys.
ALTER TABLE people ADD COLUMN ethnicity TEXT;
ALTER TABLE people ADD COLUMN education TEXT;
ALTER TABLE people ADD COLUMN member_category TEXT;
ALTER TABLE people ADD COLUMN joined_on DATE;
ALTER TABLE people ADD COLUMN confirmed_on DATE;
