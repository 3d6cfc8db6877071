-- MyVid metadata on MariaDB (Galera-ready), version 1: the same model as the embedded
-- SQLite schema at its version 5. Every table has a primary key (Galera replicates by
-- row). Listing order uses `seq`, which MyVid assigns (time-ordered), never
-- AUTO_INCREMENT order (Galera interleaves AUTO_INCREMENT values by node).
-- Every statement is idempotent: a migration cut short runs again from the top.

CREATE TABLE IF NOT EXISTS users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(64)  NOT NULL COLLATE utf8mb4_unicode_ci,
    email         VARCHAR(320) NOT NULL COLLATE utf8mb4_unicode_ci,
    password_hash VARCHAR(255) NOT NULL,
    created_at    BIGINT       NOT NULL,
    UNIQUE KEY username (username),
    UNIQUE KEY email (email),
    CONSTRAINT users_names_not_empty CHECK (username <> '' AND email <> '')
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sessions (
    token_hash CHAR(64) NOT NULL PRIMARY KEY,
    user_id    BIGINT   NOT NULL,
    expires_at BIGINT   NOT NULL,
    KEY sessions_user (user_id),
    CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = ascii COLLATE = ascii_bin;

CREATE TABLE IF NOT EXISTS videos (
    seq                  BIGINT        NOT NULL PRIMARY KEY,
    id                   VARCHAR(255)  NOT NULL,
    owner_id             BIGINT        NULL,
    title                TEXT          NOT NULL COLLATE utf8mb4_unicode_ci,
    description          MEDIUMTEXT    NOT NULL COLLATE utf8mb4_unicode_ci,
    source               VARCHAR(8)    NOT NULL,
    video_key            VARCHAR(1024) NULL,
    preview_key          VARCHAR(1024) NULL,
    external_url         TEXT          NULL,
    external_preview_url TEXT          NULL,
    visibility           VARCHAR(8)    NOT NULL,
    duration_ms          BIGINT        NULL,
    created_at           BIGINT        NOT NULL,
    published_at         BIGINT        NULL,
    live_state           VARCHAR(8)    NULL,
    media_staged         BOOLEAN       NOT NULL DEFAULT FALSE,
    UNIQUE KEY id (id),
    KEY videos_public (visibility, seq),
    KEY videos_owner (owner_id, seq),
    FULLTEXT KEY videos_text (title, description),
    FULLTEXT KEY videos_title (title),
    CONSTRAINT videos_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT videos_id_length CHECK (CHAR_LENGTH(id) BETWEEN 1 AND 255),
    CONSTRAINT videos_source CHECK (source IN ('MYVID', 'HTTP', 'LIVE')),
    CONSTRAINT videos_visibility CHECK (visibility IN ('private', 'public')),
    CONSTRAINT videos_duration CHECK (duration_ms IS NULL OR duration_ms >= 0),
    CONSTRAINT videos_live_state CHECK (live_state IS NULL OR live_state IN ('pending', 'live', 'ended')),
    -- Stored media has both keys; external media a URL; live streams a state and neither.
    CONSTRAINT videos_media CHECK (
        (source = 'MYVID' AND video_key IS NOT NULL AND preview_key IS NOT NULL
            AND external_url IS NULL AND external_preview_url IS NULL AND live_state IS NULL)
        OR (source = 'HTTP' AND external_url IS NOT NULL
            AND video_key IS NULL AND preview_key IS NULL AND live_state IS NULL)
        OR (source = 'LIVE' AND live_state IS NOT NULL AND video_key IS NULL AND preview_key IS NULL
            AND external_url IS NULL AND external_preview_url IS NULL)
    ),
    -- A public video has a publication time; a live stream is public exactly while live;
    -- staged media is never public.
    CONSTRAINT videos_published CHECK (visibility = 'private' OR published_at IS NOT NULL),
    CONSTRAINT videos_live_public CHECK (source <> 'LIVE' OR (visibility = 'public') = (live_state = 'live')),
    CONSTRAINT videos_staged CHECK (NOT media_staged OR (source = 'MYVID' AND visibility = 'private'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Server registry: endpoints and SFUs announce themselves with a heartbeat and a load
-- figure; readers only trust entries whose heartbeat is recent.
CREATE TABLE IF NOT EXISTS servers (
    id           VARCHAR(255) NOT NULL PRIMARY KEY,
    kind         VARCHAR(16)  NOT NULL,
    url          TEXT         NOT NULL,
    `load`       BIGINT       NOT NULL DEFAULT 0,
    turn         TEXT         NULL,
    media        TEXT         NULL,
    heartbeat_at BIGINT       NOT NULL,
    KEY servers_by_kind (kind, heartbeat_at),
    CONSTRAINT servers_kind CHECK (kind IN ('endpoint', 'sfu'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
