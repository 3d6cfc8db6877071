-- Whether a live stream is recorded (NEWSTREAM's `record`, on unless the broadcaster
-- opts out). Only live streams can opt out.
ALTER TABLE videos ADD COLUMN live_record INTEGER NOT NULL DEFAULT 1
    CHECK (live_record IN (0, 1) AND (live_record = 1 OR source = 'LIVE'));
