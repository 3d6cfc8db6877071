-- MyVid metadata on MariaDB, version 5: the job queue (transcoding stored videos into
-- HLS) and each stored video's view of it; see store/src/meta/jobs.rs for a job's life.
-- The id is random (never AUTO_INCREMENT: Galera). Claims are conditional updates
-- checked by their affected rows, never `SELECT … FOR UPDATE` (whose locks are local
-- to one Galera node). Every statement is idempotent.

CREATE TABLE IF NOT EXISTS jobs (
    id                CHAR(32)          NOT NULL PRIMARY KEY,
    kind              VARCHAR(16)       NOT NULL,
    video_id          VARCHAR(255)      NOT NULL,
    input_key         VARCHAR(1024)     NOT NULL,
    state             VARCHAR(8)        NOT NULL,
    attempts          INT UNSIGNED      NOT NULL DEFAULT 0,
    max_attempts      INT UNSIGNED      NOT NULL,
    run_after         BIGINT            NOT NULL,
    -- Written by each claim; kept afterwards, so that a repeated call knows itself.
    claim_token       VARCHAR(64)       NULL,
    claimed_by        VARCHAR(255)      NULL,
    lease_until       BIGINT            NULL,
    progress_permille SMALLINT UNSIGNED NULL,
    last_error        VARCHAR(1000)     NULL,
    created_at        BIGINT            NOT NULL,
    updated_at        BIGINT            NOT NULL,
    finished_at       BIGINT            NULL,
    UNIQUE KEY jobs_video (video_id, kind),
    KEY jobs_runnable (state, run_after),
    KEY jobs_leases (state, lease_until),
    KEY jobs_token (claim_token),
    CONSTRAINT jobs_video_fk FOREIGN KEY (video_id) REFERENCES videos (id) ON DELETE CASCADE,
    CONSTRAINT jobs_kind CHECK (kind IN ('transcode')),
    CONSTRAINT jobs_state CHECK (state IN ('queued', 'running', 'done', 'dead')),
    CONSTRAINT jobs_attempts CHECK (max_attempts BETWEEN 1 AND 100 AND attempts <= max_attempts),
    CONSTRAINT jobs_progress CHECK (progress_permille IS NULL OR progress_permille <= 1000),
    CONSTRAINT jobs_lease CHECK ((state = 'running') = (lease_until IS NOT NULL)),
    CONSTRAINT jobs_claimed CHECK (state <> 'running' OR claim_token IS NOT NULL),
    CONSTRAINT jobs_dead_reason CHECK (state <> 'dead' OR last_error IS NOT NULL)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only stored videos are transcoded; only a ready one has a ladder (a prefix in the
-- videos bucket and its rungs, a JSON list).
ALTER TABLE videos
    ADD COLUMN IF NOT EXISTS transcode_state VARCHAR(12)   NULL,
    ADD COLUMN IF NOT EXISTS hls_key         VARCHAR(1024) NULL,
    ADD COLUMN IF NOT EXISTS hls_renditions  TEXT          NULL,
    ADD KEY IF NOT EXISTS videos_untranscoded (source, media_staged, transcode_state, seq);

ALTER TABLE videos
    ADD CONSTRAINT IF NOT EXISTS videos_transcode
        CHECK (transcode_state IS NULL OR (transcode_state IN ('processing', 'ready', 'failed') AND source = 'MYVID')),
    ADD CONSTRAINT IF NOT EXISTS videos_hls
        CHECK ((hls_key IS NOT NULL) = (transcode_state <=> 'ready')
            AND (hls_renditions IS NOT NULL) = (hls_key IS NOT NULL));
