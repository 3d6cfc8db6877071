-- MyVid metadata on MariaDB, version 3: recordings of live streams. While a stream is
-- live its media server stores numbered segments (1, 2, 3…); `recording_segments` is
-- the highest index stored. Once the stream has ended, one finalizer at a time
-- (`recording_claim`, until `recording_claim_until`, unix seconds) joins them and
-- publishes the recording, which resets both. Only live streams have a recording; a
-- claim has an expiry. Every statement is idempotent.

ALTER TABLE videos
    ADD COLUMN IF NOT EXISTS recording_segments    INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS recording_claim       VARCHAR(255) NULL,
    ADD COLUMN IF NOT EXISTS recording_claim_until BIGINT       NULL,
    -- The recordings waiting to be finished (few rows: published ones are reset).
    ADD KEY IF NOT EXISTS videos_recordings (recording_segments, seq);

ALTER TABLE videos
    ADD CONSTRAINT IF NOT EXISTS videos_recording_live
        CHECK (source = 'LIVE' OR (recording_segments = 0 AND recording_claim IS NULL)),
    ADD CONSTRAINT IF NOT EXISTS videos_recording_claim
        CHECK ((recording_claim IS NULL) = (recording_claim_until IS NULL));
