-- MyVid metadata, version 9: the job queue (transcoding stored videos into HLS) and
-- each stored video's view of it. See store/src/meta/jobs.rs for a job's life.
CREATE TABLE jobs (
    id                TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    kind              TEXT    NOT NULL CHECK (kind IN ('transcode')),
    video_id          TEXT    NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    input_key         TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    run_after         INTEGER NOT NULL,
    -- Written by each claim; kept once done, so that a repeated completion knows itself.
    claim_token       TEXT    NULL,
    claimed_by        TEXT    NULL,
    lease_until       INTEGER NULL,
    progress_permille INTEGER NULL CHECK (progress_permille BETWEEN 0 AND 1000),
    last_error        TEXT    NULL CHECK (last_error IS NULL OR length(last_error) <= 1000),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    finished_at       INTEGER NULL,
    UNIQUE (video_id, kind),
    CHECK ((state = 'running') = (lease_until IS NOT NULL)),
    CHECK (state <> 'running' OR claim_token IS NOT NULL),
    CHECK (state <> 'dead' OR last_error IS NOT NULL),
    CHECK (attempts <= max_attempts)
);
-- Claims look for runnable queued jobs and for running ones whose lease ran out.
CREATE INDEX jobs_runnable ON jobs (state, run_after);
CREATE INDEX jobs_leases ON jobs (state, lease_until);
-- Only stored videos are transcoded; only a ready one has a ladder (a prefix in the
-- videos bucket and its rungs, a JSON list).
ALTER TABLE videos ADD COLUMN transcode_state TEXT NULL
    CHECK (transcode_state IS NULL OR (transcode_state IN ('processing', 'ready', 'failed') AND source = 'MYVID'));
ALTER TABLE videos ADD COLUMN hls_key TEXT NULL
    CHECK ((hls_key IS NOT NULL) = (transcode_state IS 'ready'));
ALTER TABLE videos ADD COLUMN hls_renditions TEXT NULL
    CHECK ((hls_renditions IS NOT NULL) = (hls_key IS NOT NULL));
-- Published stored videos without a job yet (videos_without_transcode).
CREATE INDEX videos_untranscoded ON videos (seq)
    WHERE source = 'MYVID' AND media_staged = 0 AND transcode_state IS NULL;
