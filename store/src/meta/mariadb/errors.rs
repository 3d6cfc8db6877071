//! What a failed attempt means: try another node, try again, or give the caller an answer.

use crate::error::StoreError;

/// MariaDB error numbers MyVid acts on.
mod code {
    /// `ER_DUP_ENTRY`: a unique key clash.
    pub const DUPLICATE: u16 = 1062;
    /// `ER_LOCK_DEADLOCK`: a deadlock, or (Galera) a certification conflict with a
    /// transaction committed on another node. The whole transaction may be retried.
    pub const DEADLOCK: u16 = 1213;
    /// `ER_LOCK_WAIT_TIMEOUT`: a row lock held too long, or (Galera) a read's causality
    /// wait (`wsrep_sync_wait`) on a node that has lost the primary component.
    pub const LOCK_WAIT_TIMEOUT: u16 = 1205;
    /// `ER_UNKNOWN_COM_ERROR`: Galera's "WSREP has not yet prepared node for
    /// application use" (the node is not in the primary component).
    pub const NOT_READY: u16 = 1047;
    /// `ER_ERROR_DURING_COMMIT`: the node lost the cluster while committing.
    pub const ERROR_DURING_COMMIT: u16 = 1180;
    /// `ER_QUERY_INTERRUPTED` / `ER_STATEMENT_TIMEOUT`: killed, or over `max_statement_time`.
    pub const INTERRUPTED: [u16; 2] = [1317, 1969];
    /// Server shutting down; connection killed.
    pub const GOING_AWAY: [u16; 3] = [1053, 1927, 1152];
    /// Out of connections on the server.
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
}

/// Why an attempt failed, and what to do about it.
#[derive(Debug)]
pub(super) enum Failure {
    /// The node is unusable now (connection lost or refused, not in the primary
    /// component, shutting down, timed out): mark it down and try another. Whether a
    /// write got committed is unknown, so operations retried after this are idempotent.
    Node(String),
    /// The transaction lost a conflict (deadlock, certification failure): run it again.
    Conflict(String),
    /// An answer for the caller (not found, a unique clash, a bug).
    Final(StoreError),
}

impl From<mysql_async::Error> for Failure {
    fn from(e: mysql_async::Error) -> Self {
        classify(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Final(e)
    }
}

/// Sorts a driver error into a [`Failure`].
pub(super) fn classify(e: mysql_async::Error) -> Failure {
    match e {
        mysql_async::Error::Server(server) => {
            let text = format!("{server}");
            match server.code {
                code::DUPLICATE => Failure::Final(StoreError::Conflict(duplicate_key(&server.message))),
                code::DEADLOCK => Failure::Conflict(text),
                // Another node may well answer (a minority node answers every read so).
                code::LOCK_WAIT_TIMEOUT => Failure::Node(text),
                _ if server.state == "40001" => Failure::Conflict(text),
                code::NOT_READY | code::ERROR_DURING_COMMIT | code::TOO_MANY_CONNECTIONS => Failure::Node(text),
                c if code::INTERRUPTED.contains(&c) || code::GOING_AWAY.contains(&c) => Failure::Node(text),
                _ => Failure::Final(StoreError::Internal(text)),
            }
        }
        mysql_async::Error::Io(io) => Failure::Node(format!("{io}")),
        mysql_async::Error::Driver(driver) => match driver {
            mysql_async::DriverError::ConnectionClosed
            | mysql_async::DriverError::PoolDisconnected
            | mysql_async::DriverError::UnexpectedPacket { .. }
            | mysql_async::DriverError::PacketOutOfOrder => Failure::Node(format!("{driver}")),
            other => Failure::Final(StoreError::Internal(format!("{other}"))),
        },
        other => Failure::Final(StoreError::Internal(format!("{other}"))),
    }
}

/// The key named by `Duplicate entry 'x' for key 'name'`: MyVid names its unique keys
/// after their column (`username`, `email`, `id`, `PRIMARY`).
pub(super) fn duplicate_key(message: &str) -> String {
    message
        .rsplit_once(" for key '")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .map(|key| key.rsplit_once('.').map_or(key, |(_, k)| k).to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, state: &str, message: &str) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            state: state.to_owned(),
            message: message.to_owned(),
        })
    }

    #[test]
    fn duplicate_keys_name_the_column() {
        assert_eq!(duplicate_key("Duplicate entry 'Alice' for key 'username'"), "username");
        assert_eq!(duplicate_key("Duplicate entry 'x' for key 'videos.id'"), "id");
        assert_eq!(duplicate_key("something else"), "unknown");
        assert!(matches!(
            classify(server(1062, "23000", "Duplicate entry 'a@b' for key 'email'")),
            Failure::Final(StoreError::Conflict(c)) if c == "email"
        ));
    }

    #[test]
    fn galera_errors_fail_over_or_retry() {
        assert!(matches!(classify(server(1047, "08S01", "WSREP has not yet prepared node")), Failure::Node(_)));
        assert!(matches!(classify(server(1180, "HY000", "Got error 6 during COMMIT")), Failure::Node(_)));
        assert!(matches!(classify(server(1213, "40001", "Deadlock found")), Failure::Conflict(_)));
        assert!(matches!(classify(server(1205, "HY000", "Lock wait timeout exceeded")), Failure::Node(_)));
        assert!(matches!(classify(server(9999, "40001", "serialization")), Failure::Conflict(_)));
        assert!(matches!(classify(server(1064, "42000", "syntax")), Failure::Final(StoreError::Internal(_))));
        assert!(matches!(classify(mysql_async::DriverError::ConnectionClosed.into()), Failure::Node(_)));
    }
}
