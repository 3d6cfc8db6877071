-- MyVid metadata on MariaDB, version 6: the product around the video: unlisted
-- videos, follows, view counts and co-watch pairs, and purge jobs (deleting a video's
-- objects). The same model as the SQLite schema at its version 10. Every table has a
-- primary key (Galera replicates by row). Every statement is idempotent.

-- Unlisted = stored private with unlisted set: every listing and search asks for
-- visibility = 'public' and leaves it out; fetching it by id shows it to anyone.
ALTER TABLE videos
    ADD COLUMN IF NOT EXISTS unlisted BOOLEAN NOT NULL DEFAULT FALSE,
    ADD KEY IF NOT EXISTS videos_live (live_state, seq),
    ADD KEY IF NOT EXISTS videos_owner_public (owner_id, visibility, seq);

ALTER TABLE videos
    ADD CONSTRAINT IF NOT EXISTS videos_unlisted CHECK (NOT unlisted OR (visibility = 'private'
        AND published_at IS NOT NULL AND NOT media_staged AND source IN ('MYVID', 'HTTP')));

CREATE TABLE IF NOT EXISTS follows (
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    KEY follows_followee (followee_id, follower_id),
    CONSTRAINT follows_follower_fk FOREIGN KEY (follower_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_followee_fk FOREIGN KEY (followee_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
) ENGINE = InnoDB;

-- Counts apart from the videos row, so that a batch of views never rewrites it (nor
-- its FULLTEXT entry).
CREATE TABLE IF NOT EXISTS video_stats (
    video_id VARCHAR(255)    NOT NULL PRIMARY KEY,
    views    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    KEY video_stats_popular (views, video_id),
    CONSTRAINT video_stats_fk FOREIGN KEY (video_id) REFERENCES videos (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Who was counted for what, and when; the viewer is a keyed hash. No foreign key: a
-- flush racing a delete must not fail; pruned by age.
CREATE TABLE IF NOT EXISTS view_marks (
    video_id   VARCHAR(255) NOT NULL,
    viewer     BINARY(16)   NOT NULL,
    counted_at BIGINT       NOT NULL,
    PRIMARY KEY (video_id, viewer),
    KEY view_marks_viewer (viewer, counted_at),
    KEY view_marks_age (counted_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- "Viewers of video_id also watched other_id", n times (kept symmetric).
CREATE TABLE IF NOT EXISTS co_views (
    video_id   VARCHAR(255)    NOT NULL,
    other_id   VARCHAR(255)    NOT NULL,
    n          BIGINT UNSIGNED NOT NULL,
    updated_at BIGINT          NOT NULL,
    PRIMARY KEY (video_id, other_id),
    KEY co_views_top (video_id, n),
    CONSTRAINT co_views_video_fk FOREIGN KEY (video_id) REFERENCES videos (id) ON DELETE CASCADE,
    CONSTRAINT co_views_other_fk FOREIGN KEY (other_id) REFERENCES videos (id) ON DELETE CASCADE,
    CONSTRAINT co_views_pair CHECK (video_id <> other_id AND n > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Jobs gain the kind 'purge', which outlives its video's row: no foreign key any more.
ALTER TABLE jobs DROP FOREIGN KEY IF EXISTS jobs_video_fk;
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_kind;
ALTER TABLE jobs ADD CONSTRAINT IF NOT EXISTS jobs_kind CHECK (kind IN ('transcode', 'purge'));
