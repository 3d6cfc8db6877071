-- Server registry, version 2: an SFU announces its media socket (`ip:port`, UDP), so
-- that the endpoints' TURN servers may relay to exactly that address.
ALTER TABLE servers ADD COLUMN media TEXT;
