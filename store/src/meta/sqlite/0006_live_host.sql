-- MyVid metadata, version 6: the media server (registry id) broadcasting each live
-- stream, so that the streams of a server that died can be ended.
ALTER TABLE videos ADD COLUMN live_host TEXT;
