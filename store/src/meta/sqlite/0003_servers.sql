-- Server registry: endpoints and SFUs announce themselves with a heartbeat and a load
-- figure; readers only trust entries whose heartbeat is recent.
CREATE TABLE servers (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('endpoint', 'sfu')),
    url          TEXT NOT NULL,
    load         INTEGER NOT NULL DEFAULT 0,
    turn         TEXT,
    heartbeat_at INTEGER NOT NULL
);
CREATE INDEX servers_by_kind ON servers (kind, heartbeat_at);
