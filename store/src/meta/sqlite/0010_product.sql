-- MyVid metadata, version 10: the product around the video: unlisted videos, follows,
-- view counts and co-watch pairs, and purge jobs (deleting a video's objects).

-- Unlisted = stored private with unlisted = 1: every listing and search asks for
-- visibility = 'public' and leaves it out (a forgotten check fails closed); fetching it
-- by id shows it to anyone. Only published uploads and imported entries can be unlisted.
ALTER TABLE videos ADD COLUMN unlisted INTEGER NOT NULL DEFAULT 0
    CHECK (unlisted IN (0, 1) AND (unlisted = 0 OR (visibility = 'private' AND published_at IS NOT NULL
        AND media_staged = 0 AND source IN ('MYVID', 'HTTP'))));
-- Streams live now (the notification poller, "Live now"), and a channel's public videos.
CREATE INDEX videos_live ON videos (seq) WHERE live_state = 'live';
CREATE INDEX videos_owner_public ON videos (owner_id, seq) WHERE visibility = 'public';

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
) WITHOUT ROWID;
CREATE INDEX follows_followee ON follows (followee_id, follower_id);

-- Counts apart from the videos row, so that a batch of views never rewrites it (nor
-- its search entry).
CREATE TABLE video_stats (
    video_id TEXT    PRIMARY KEY NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    views    INTEGER NOT NULL DEFAULT 0 CHECK (views >= 0)
) WITHOUT ROWID;
CREATE INDEX video_stats_popular ON video_stats (views, video_id);

-- Who was counted for what, and when (a view counts once per viewer per video in a
-- sliding window). The viewer is a keyed hash, never a user id or address. No foreign
-- key: a flush racing a delete must not fail; pruned by age.
CREATE TABLE view_marks (
    video_id   TEXT    NOT NULL,
    viewer     BLOB    NOT NULL CHECK (length(viewer) = 16),
    counted_at INTEGER NOT NULL,
    PRIMARY KEY (video_id, viewer)
) WITHOUT ROWID;
CREATE INDEX view_marks_viewer ON view_marks (viewer, counted_at);
CREATE INDEX view_marks_age ON view_marks (counted_at);

-- "Viewers of video_id also watched other_id", n times (kept symmetric).
CREATE TABLE co_views (
    video_id   TEXT    NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    other_id   TEXT    NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    n          INTEGER NOT NULL CHECK (n > 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (video_id, other_id),
    CHECK (video_id <> other_id)
) WITHOUT ROWID;
CREATE INDEX co_views_top ON co_views (video_id, n);

-- Jobs gain the kind 'purge', which outlives its video's row: rebuilt without the
-- foreign key (nothing references jobs, so dropping the old table cascades nothing).
CREATE TABLE jobs_v10 (
    id                TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    kind              TEXT    NOT NULL CHECK (kind IN ('transcode', 'purge')),
    video_id          TEXT    NOT NULL,
    input_key         TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts      INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    run_after         INTEGER NOT NULL,
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
INSERT INTO jobs_v10 (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, claim_token,
                      claimed_by, lease_until, progress_permille, last_error, created_at, updated_at, finished_at)
SELECT id, kind, video_id, input_key, state, attempts, max_attempts, run_after, claim_token,
       claimed_by, lease_until, progress_permille, last_error, created_at, updated_at, finished_at
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v10 RENAME TO jobs;
CREATE INDEX jobs_runnable ON jobs (state, run_after);
CREATE INDEX jobs_leases ON jobs (state, lease_until);
