-- Lars schema, SQLite dialect for the embedded store (docs/storage.md). Same tables and columns
-- as sql/mysql/schema.sql. Idempotent; never drops a table.
-- AUTOINCREMENT keeps RouteChange ids from ever being reused after rows are pruned, so a DNS
-- instance that remembers the last id it handled can never mistake a new row for an old one.

CREATE TABLE IF NOT EXISTS RouteData (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  modid      INTEGER NOT NULL,
  cmdid      INTEGER NOT NULL,
  serverip   INTEGER NOT NULL,
  serverport INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_route_module ON RouteData (modid, cmdid);

CREATE TABLE IF NOT EXISTS RouteVersion (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL
);
INSERT OR IGNORE INTO RouteVersion (id, version) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS RouteChange (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  modid   INTEGER NOT NULL,
  cmdid   INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_change_version ON RouteChange (version);

CREATE TABLE IF NOT EXISTS ServerCallStatus (
  modid    INTEGER NOT NULL,
  cmdid    INTEGER NOT NULL,
  ip       INTEGER NOT NULL,
  port     INTEGER NOT NULL,
  caller   INTEGER NOT NULL,
  succ_cnt INTEGER NOT NULL,
  err_cnt  INTEGER NOT NULL,
  ts       INTEGER NOT NULL,
  overload CHAR(1) NOT NULL,
  PRIMARY KEY (modid, cmdid, ip, port, caller)
);

-- Call time of the ServerCallStatus row with the same key and ts (EXTENSIONS.md §2): a side
-- table, so ServerCallStatus keeps the reference's columns. Written only for windows with timed calls.
CREATE TABLE IF NOT EXISTS ServerCallTime (
  modid          INTEGER NOT NULL,
  cmdid          INTEGER NOT NULL,
  ip             INTEGER NOT NULL,
  port           INTEGER NOT NULL,
  caller         INTEGER NOT NULL,
  usetime_sum_us INTEGER NOT NULL,
  usetime_max_us INTEGER NOT NULL,
  timed_calls    INTEGER NOT NULL,
  ts             INTEGER NOT NULL,
  PRIMARY KEY (modid, cmdid, ip, port, caller)
);

CREATE TABLE IF NOT EXISTS ModIDConfig (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  modid   INTEGER NOT NULL UNIQUE,
  content TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS CmdIDConfig (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  cmdid   INTEGER NOT NULL UNIQUE,
  content TEXT NOT NULL DEFAULT ''
);

-- Beyond the reference (docs/spec/EXTENSIONS.md §2). No row means the reference behaviour:
-- weight 100 and no zone; policy lars; a static node.
CREATE TABLE IF NOT EXISTS RouteNodeAttr (
  modid      INTEGER NOT NULL,
  cmdid      INTEGER NOT NULL,
  serverip   INTEGER NOT NULL,
  serverport INTEGER NOT NULL,
  weight     INTEGER NOT NULL DEFAULT 100,
  zone       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (modid, cmdid, serverip, serverport)
);

CREATE TABLE IF NOT EXISTS ModulePolicy (
  modid                   INTEGER NOT NULL,
  cmdid                   INTEGER NOT NULL,
  policy                  TEXT NOT NULL DEFAULT 'lars',
  max_ejection_percent    INTEGER NOT NULL DEFAULT 0,
  panic_threshold         INTEGER NOT NULL DEFAULT 0,
  ejection_backoff_max_ms INTEGER NOT NULL DEFAULT 0,
  zone_overprovision      INTEGER NOT NULL DEFAULT 0,
  ring_size               INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (modid, cmdid)
);

CREATE TABLE IF NOT EXISTS RouteLease (
  modid         INTEGER NOT NULL,
  cmdid         INTEGER NOT NULL,
  serverip      INTEGER NOT NULL,
  serverport    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  ttl_ms        INTEGER NOT NULL,
  PRIMARY KEY (modid, cmdid, serverip, serverport)
);
CREATE INDEX IF NOT EXISTS idx_lease_expiry ON RouteLease (expires_at);

-- Side tables of this implementation (the reference tables above stay as they are).

CREATE TABLE IF NOT EXISTS RouteAudit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL,
  modid   INTEGER NOT NULL,
  cmdid   INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  at_ms   INTEGER NOT NULL,
  what    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_module ON RouteAudit (modid, cmdid, version);

CREATE TABLE IF NOT EXISTS ModuleAlarm (
  modid            INTEGER NOT NULL,
  cmdid            INTEGER NOT NULL,
  error_ratio      REAL NOT NULL,
  overloaded_share REAL NOT NULL,
  PRIMARY KEY (modid, cmdid)
);
