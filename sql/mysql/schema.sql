-- Lars schema, MySQL / MariaDB dialect (docs/spec/STORAGE.md, docs/storage.md).
-- Idempotent: every statement can run against an existing lars_dns database, including one
-- created by the reference Lars. Tables are never dropped or altered here; the extra indexes
-- below only apply to tables this file creates, so existing deployments are left as they are.
-- Statements are separated by a semicolon at the end of a line (the store splits on that).

CREATE TABLE IF NOT EXISTS RouteData (
  id         int(10) unsigned NOT NULL AUTO_INCREMENT,
  modid      int(10) unsigned NOT NULL,
  cmdid      int(10) unsigned NOT NULL,
  serverip   int(10) unsigned NOT NULL,
  serverport int(10) unsigned NOT NULL,
  PRIMARY KEY (id),
  KEY idx_route_module (modid, cmdid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS RouteVersion (
  id      int(10) unsigned NOT NULL AUTO_INCREMENT,
  version int(10) unsigned NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The version lives in row id = 1; a reference database already has it.
INSERT IGNORE INTO RouteVersion (id, version) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS RouteChange (
  id      int(10) unsigned NOT NULL AUTO_INCREMENT,
  modid   int(10) unsigned NOT NULL,
  cmdid   int(10) unsigned NOT NULL,
  version bigint(20) unsigned NOT NULL,
  PRIMARY KEY (id),
  KEY idx_change_version (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS ServerCallStatus (
  modid    int(10) unsigned NOT NULL,
  cmdid    int(10) unsigned NOT NULL,
  ip       int(10) unsigned NOT NULL,
  port     int(10) unsigned NOT NULL,
  caller   int(10) unsigned NOT NULL,
  succ_cnt int(10) unsigned NOT NULL,
  err_cnt  int(10) unsigned NOT NULL,
  ts       bigint(20) unsigned NOT NULL,
  overload char(1) NOT NULL,
  PRIMARY KEY (modid, cmdid, ip, port, caller)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Call time of the ServerCallStatus row with the same key and ts (EXTENSIONS.md §2): a side
-- table, so ServerCallStatus keeps the reference's columns. Written only for windows with timed calls.
CREATE TABLE IF NOT EXISTS ServerCallTime (
  modid          int(10) unsigned NOT NULL,
  cmdid          int(10) unsigned NOT NULL,
  ip             int(10) unsigned NOT NULL,
  port           int(10) unsigned NOT NULL,
  caller         int(10) unsigned NOT NULL,
  usetime_sum_us bigint(20) unsigned NOT NULL,
  usetime_max_us int(10) unsigned NOT NULL,
  timed_calls    int(10) unsigned NOT NULL,
  ts             bigint(20) unsigned NOT NULL,
  PRIMARY KEY (modid, cmdid, ip, port, caller)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS ModIDConfig (
  id      int(10) unsigned NOT NULL AUTO_INCREMENT,
  modid   int(10) unsigned NOT NULL,
  content varchar(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uniq_modid (modid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS CmdIDConfig (
  id      int(10) unsigned NOT NULL AUTO_INCREMENT,
  cmdid   int(10) unsigned NOT NULL,
  content varchar(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uniq_cmdid (cmdid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Beyond the reference (docs/spec/EXTENSIONS.md §2): new tables only, never an ALTER of a reference
-- table. No row means the reference behaviour: weight 100 and no zone; policy lars; a static node.
CREATE TABLE IF NOT EXISTS RouteNodeAttr (
  modid      int(10) unsigned NOT NULL,
  cmdid      int(10) unsigned NOT NULL,
  serverip   int(10) unsigned NOT NULL,
  serverport int(10) unsigned NOT NULL,
  weight     int(10) unsigned NOT NULL DEFAULT 100,
  zone       varchar(64) NOT NULL DEFAULT '',
  PRIMARY KEY (modid, cmdid, serverip, serverport)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS ModulePolicy (
  modid                   int(10) unsigned NOT NULL,
  cmdid                   int(10) unsigned NOT NULL,
  policy                  varchar(32) NOT NULL DEFAULT 'lars',
  max_ejection_percent    int(10) unsigned NOT NULL DEFAULT 0,
  panic_threshold         int(10) unsigned NOT NULL DEFAULT 0,
  ejection_backoff_max_ms int(10) unsigned NOT NULL DEFAULT 0,
  zone_overprovision      int(10) unsigned NOT NULL DEFAULT 0,
  ring_size               int(10) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (modid, cmdid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS RouteLease (
  modid         int(10) unsigned NOT NULL,
  cmdid         int(10) unsigned NOT NULL,
  serverip      int(10) unsigned NOT NULL,
  serverport    int(10) unsigned NOT NULL,
  expires_at    bigint(20) unsigned NOT NULL,
  registered_at bigint(20) unsigned NOT NULL,
  ttl_ms        int(10) unsigned NOT NULL,
  PRIMARY KEY (modid, cmdid, serverip, serverport),
  KEY idx_lease_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Side tables of this implementation (the reference tables above stay as they are).

-- Who changed which module's route, when, and what changed: one row per module per route-change
-- transaction, written inside that transaction (docs/storage.md, "Audit"). `what` is JSON.
CREATE TABLE IF NOT EXISTS RouteAudit (
  id      int(10) unsigned NOT NULL AUTO_INCREMENT,
  version bigint(20) unsigned NOT NULL,
  modid   int(10) unsigned NOT NULL,
  cmdid   int(10) unsigned NOT NULL,
  actor   varchar(128) NOT NULL,
  at_ms   bigint(20) unsigned NOT NULL,
  what    mediumtext NOT NULL,
  PRIMARY KEY (id),
  KEY idx_audit_module (modid, cmdid, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per-module alarm thresholds of the web admin; modules without a row use [web] alarm_* defaults.
CREATE TABLE IF NOT EXISTS ModuleAlarm (
  modid            int(10) unsigned NOT NULL,
  cmdid            int(10) unsigned NOT NULL,
  error_ratio      double NOT NULL,
  overloaded_share double NOT NULL,
  PRIMARY KEY (modid, cmdid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
