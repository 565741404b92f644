-- Each organisation's and person's name with its pinyin and initials (`鸡黍镇` → `jishuzhen jsz`),
-- so that pickers and searches find it by what a phone keyboard types. Written with the name by
-- every insert and rename; rows that exist when this runs are filled from their names in the
-- same transaction (see `search::fill_keys`).
ALTER TABLE orgs ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
