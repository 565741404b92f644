-- Levels above the county: a city (市委) or a province (省委) over its counties. A city may sit
-- under one province; a county under one city (or, 省直管县, one province). Each county keeps its
-- own key and audit chain; a region only groups them for reading.
CREATE TABLE regions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('city', 'province')),
    parent_id INTEGER REFERENCES regions(id),
    created_at TEXT NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_id);

ALTER TABLE counties ADD COLUMN region_id INTEGER REFERENCES regions(id);
CREATE INDEX counties_region ON counties(region_id);

-- A region user (role `region_viewer`) reads every county below its region; its row keeps a
-- home county (the first below the region when it was created) for its sessions and audit.
ALTER TABLE users ADD COLUMN region_id INTEGER REFERENCES regions(id);
