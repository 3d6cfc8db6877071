-- MyVid metadata, version 2: live streams. A video may now be a `LIVE` stream with a
-- `live_state`: pending (created), live (being broadcast: public and listed), ended
-- (private again). SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt (the documented 12-step procedure; nothing references `videos`).

CREATE TABLE videos_v2 (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                   TEXT    NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 255),
    owner_id             INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
    title                TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    source               TEXT    NOT NULL CHECK (source IN ('MYVID', 'HTTP', 'LIVE')),
    video_key            TEXT    NULL,
    preview_key          TEXT    NULL,
    external_url         TEXT    NULL,
    external_preview_url TEXT    NULL,
    visibility           TEXT    NOT NULL CHECK (visibility IN ('private', 'public')),
    duration_ms          INTEGER NULL CHECK (duration_ms IS NULL OR duration_ms >= 0),
    created_at           INTEGER NOT NULL,
    published_at         INTEGER NULL,
    live_state           TEXT    NULL CHECK (live_state IS NULL OR live_state IN ('pending', 'live', 'ended')),
    -- Stored media has both keys; external media a URL; live streams a state and neither.
    CHECK (
        (source = 'MYVID' AND video_key IS NOT NULL AND preview_key IS NOT NULL
            AND external_url IS NULL AND external_preview_url IS NULL AND live_state IS NULL)
        OR (source = 'HTTP' AND external_url IS NOT NULL
            AND video_key IS NULL AND preview_key IS NULL AND live_state IS NULL)
        OR (source = 'LIVE' AND live_state IS NOT NULL AND video_key IS NULL AND preview_key IS NULL
            AND external_url IS NULL AND external_preview_url IS NULL)
    ),
    -- A public video has a publication time; a live stream is public exactly while live.
    CHECK (visibility = 'private' OR published_at IS NOT NULL),
    CHECK (source <> 'LIVE' OR (visibility = 'public') = (live_state = 'live'))
);

INSERT INTO videos_v2 (seq, id, owner_id, title, description, source, video_key, preview_key, external_url,
                       external_preview_url, visibility, duration_ms, created_at, published_at, live_state)
SELECT seq, id, owner_id, title, description, source, video_key, preview_key, external_url,
       external_preview_url, visibility, duration_ms, created_at, published_at, NULL
FROM videos;

DROP TABLE videos;
ALTER TABLE videos_v2 RENAME TO videos;

CREATE INDEX videos_public ON videos (seq) WHERE visibility = 'public';
CREATE INDEX videos_owner ON videos (owner_id, seq);

-- The full-text index (external content, keyed by seq) is unchanged; its triggers
-- went with the old table and are recreated as they were.
CREATE TRIGGER videos_fts_insert AFTER INSERT ON videos BEGIN
    INSERT INTO videos_fts (rowid, title, description)
    VALUES (new.seq, new.title, new.description);
END;

CREATE TRIGGER videos_fts_delete AFTER DELETE ON videos BEGIN
    INSERT INTO videos_fts (videos_fts, rowid, title, description)
    VALUES ('delete', old.seq, old.title, old.description);
END;

CREATE TRIGGER videos_fts_update AFTER UPDATE OF seq, title, description ON videos BEGIN
    INSERT INTO videos_fts (videos_fts, rowid, title, description)
    VALUES ('delete', old.seq, old.title, old.description);
    INSERT INTO videos_fts (rowid, title, description)
    VALUES (new.seq, new.title, new.description);
END;
