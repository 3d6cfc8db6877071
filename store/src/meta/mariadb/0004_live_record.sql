-- MyVid metadata on MariaDB, version 4: whether a live stream is recorded (NEWSTREAM's
-- `record`, on unless the broadcaster opts out). Only live streams can opt out. Every
-- statement is idempotent.

ALTER TABLE videos
    ADD COLUMN IF NOT EXISTS live_record BOOLEAN NOT NULL DEFAULT TRUE;

ALTER TABLE videos
    ADD CONSTRAINT IF NOT EXISTS videos_live_record CHECK (live_record OR source = 'LIVE');
