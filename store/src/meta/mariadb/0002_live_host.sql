-- MyVid metadata on MariaDB, version 2: the media server (registry id) broadcasting
-- each live stream, so that the streams of a server that died can be ended.
ALTER TABLE videos ADD COLUMN IF NOT EXISTS live_host VARCHAR(255) NULL;
