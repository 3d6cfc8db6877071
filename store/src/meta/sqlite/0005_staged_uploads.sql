-- MyVid metadata, version 5: staged uploads. An upload's files first land under
-- staging keys that nobody serves (`media_staged = 1`); publishing validates them,
-- copies them to final keys chosen by the server and clears the flag in the same
-- update that makes the video public. Existing stored videos were published with
-- their final keys (0). A column CHECK may name other columns of the row in SQLite.
ALTER TABLE videos ADD COLUMN media_staged INTEGER NOT NULL DEFAULT 0
    CHECK (media_staged IN (0, 1) AND (media_staged = 0 OR (source = 'MYVID' AND visibility = 'private')));
