-- MyVid metadata, version 1: accounts, sessions, videos and their full-text index.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL COLLATE NOCASE CHECK (username <> ''),
    email         TEXT    NOT NULL COLLATE NOCASE CHECK (email <> ''),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
-- Case-insensitive uniqueness (the columns' NOCASE collation applies to the indexes).
CREATE UNIQUE INDEX users_username ON users (username COLLATE NOCASE);
CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE videos (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                   TEXT    NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 255),
    owner_id             INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
    title                TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    source               TEXT    NOT NULL CHECK (source IN ('MYVID', 'HTTP')),
    video_key            TEXT    NULL,
    preview_key          TEXT    NULL,
    external_url         TEXT    NULL,
    external_preview_url TEXT    NULL,
    visibility           TEXT    NOT NULL CHECK (visibility IN ('private', 'public')),
    duration_ms          INTEGER NULL CHECK (duration_ms IS NULL OR duration_ms >= 0),
    created_at           INTEGER NOT NULL,
    published_at         INTEGER NULL,
    -- Stored media has both keys and no URLs; external media has a URL and no keys.
    CHECK (
        (source = 'MYVID' AND video_key IS NOT NULL AND preview_key IS NOT NULL
            AND external_url IS NULL AND external_preview_url IS NULL)
        OR (source = 'HTTP' AND external_url IS NOT NULL
            AND video_key IS NULL AND preview_key IS NULL)
    ),
    -- A public video has a publication time.
    CHECK (visibility = 'private' OR published_at IS NOT NULL)
);
-- Public listing, newest first (keyset on seq).
CREATE INDEX videos_public ON videos (seq) WHERE visibility = 'public';
-- One owner's videos, newest first.
CREATE INDEX videos_owner ON videos (owner_id, seq);

-- Full-text index over title and description, stored in videos (external content)
-- and kept in sync by the triggers below.
CREATE VIRTUAL TABLE videos_fts USING fts5 (
    title,
    description,
    content = 'videos',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

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
