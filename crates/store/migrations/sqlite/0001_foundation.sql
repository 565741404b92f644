-- taizhang foundation schema (SQLite). Every table carries county_id, the distribution key.
CREATE TABLE counties (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    root_org_id INTEGER
);

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL REFERENCES counties(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    established_on TEXT NOT NULL,
    dissolved_on TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX orgs_code ON orgs(county_id, code) WHERE code IS NOT NULL;

-- Tree membership over time: a move closes one edge and opens another.
CREATE TABLE org_edges (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    child_id INTEGER NOT NULL REFERENCES orgs(id),
    parent_id INTEGER NOT NULL REFERENCES orgs(id),
    valid_from TEXT NOT NULL,
    valid_to TEXT
);
CREATE INDEX org_edges_child ON org_edges(child_id, valid_to);
CREATE INDEX org_edges_parent ON org_edges(parent_id, valid_to);

-- Closure of the tree over time: "is A an ancestor of D on date X" is one indexed lookup.
CREATE TABLE org_closure (
    county_id INTEGER NOT NULL,
    ancestor_id INTEGER NOT NULL,
    descendant_id INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT
);
CREATE INDEX org_closure_anc ON org_closure(ancestor_id, depth, descendant_id);
CREATE INDEX org_closure_desc ON org_closure(descendant_id, ancestor_id);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    gender TEXT,
    id_number TEXT,
    phone TEXT,
    birth_date TEXT,
    party_member INTEGER NOT NULL DEFAULT 0,
    retired INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX people_id_number ON people(county_id, id_number) WHERE id_number IS NOT NULL;
CREATE INDEX people_org ON people(org_id);
CREATE INDEX people_name ON people(county_id, name);

CREATE TABLE positions (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    title TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX positions_person ON positions(person_id);
CREATE INDEX positions_org ON positions(org_id, valid_to);

CREATE TABLE org_links (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    from_org_id INTEGER REFERENCES orgs(id),
    from_person_id INTEGER REFERENCES people(id),
    to_org_id INTEGER NOT NULL REFERENCES orgs(id),
    via_org_id INTEGER REFERENCES orgs(id),
    role TEXT,
    note TEXT NOT NULL DEFAULT '',
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX org_links_to ON org_links(to_org_id, kind);
CREATE INDEX org_links_from_org ON org_links(from_org_id, kind);
CREATE INDEX org_links_from_person ON org_links(from_person_id, kind);
CREATE INDEX org_links_kind ON org_links(county_id, kind);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    person_id INTEGER REFERENCES people(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE ledger_types (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (county_id, key)
);

CREATE TABLE ledger_type_versions (
    county_id INTEGER NOT NULL,
    ledger_type_id INTEGER NOT NULL REFERENCES ledger_types(id),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (ledger_type_id, version)
);

CREATE TABLE ledger_records (
    id INTEGER PRIMARY KEY,
    county_id INTEGER NOT NULL,
    ledger_type_id INTEGER NOT NULL REFERENCES ledger_types(id),
    type_version INTEGER NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    occurred_on TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    voided_at TEXT,
    void_reason TEXT
);
CREATE INDEX ledger_records_type_date ON ledger_records(county_id, ledger_type_id, occurred_on);
CREATE INDEX ledger_records_org_date ON ledger_records(org_id, occurred_on);

-- People named in a record's people fields: for distinct-people counts and people's pages.
CREATE TABLE record_people (
    county_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL REFERENCES ledger_records(id),
    field_key TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (record_id, field_key, person_id)
);
CREATE INDEX record_people_person ON record_people(person_id);

-- Numbers and chosen options of a record, so that bulletins sum and break down in SQL.
CREATE TABLE record_facts (
    county_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL REFERENCES ledger_records(id),
    field_key TEXT NOT NULL,
    num_value INTEGER,
    option_value TEXT
);
CREATE INDEX record_facts_record ON record_facts(record_id, field_key);

CREATE TABLE attachments (
    id TEXT NOT NULL,
    county_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (county_id, id)
);

CREATE TABLE record_attachments (
    county_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL REFERENCES ledger_records(id),
    attachment_id TEXT NOT NULL,
    PRIMARY KEY (record_id, attachment_id)
);

-- Append-only. The application never updates or deletes a row here.
CREATE TABLE audit_log (
    seq BIGINT NOT NULL,
    county_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor_user_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (county_id, seq)
);
CREATE INDEX audit_log_entity ON audit_log(county_id, entity, entity_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
