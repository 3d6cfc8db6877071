-- MyVid metadata, version 7: recordings of live streams. While a stream is live its
-- media server stores numbered segments (1, 2, 3…); `recording_segments` is the highest
-- index stored. Once the stream has ended, one finalizer at a time (`recording_claim`,
-- until `recording_claim_until`, unix seconds) joins them and publishes the recording,
-- which resets both. Only live streams have a recording; a claim has an expiry. A
-- column CHECK may name other columns of the row in SQLite (checked on existing rows).
ALTER TABLE videos ADD COLUMN recording_segments INTEGER NOT NULL DEFAULT 0
    CHECK (recording_segments >= 0 AND (recording_segments = 0 OR source = 'LIVE'));
ALTER TABLE videos ADD COLUMN recording_claim TEXT NULL
    CHECK (recording_claim IS NULL OR source = 'LIVE');
ALTER TABLE videos ADD COLUMN recording_claim_until INTEGER NULL
    CHECK ((recording_claim_until IS NULL) = (recording_claim IS NULL));
-- The recordings waiting to be finished, oldest first (few rows: published ones are reset).
CREATE INDEX videos_recordings ON videos (seq) WHERE recording_segments > 0;
