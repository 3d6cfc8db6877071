//! Finding the MariaDB and Galera programs this harness needs, with a clear message if absent.

use std::env;
use std::path::{Path, PathBuf};

/// What to do when something is missing.
const INSTALL_HINT: &str = "install mariadb-server galera-4 rsync (scripts/install-deps.sh test)";

/// Where Debian and others put the Galera 4 provider library.
const GALERA_LIBRARIES: [&str; 4] = [
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
    "/usr/lib64/galera/libgalera_smm.so",
];

/// Checks that the servers can be started and returns the path of the `mariadb` client.
///
/// Panics naming the missing piece and the packages to install.
pub(crate) fn require(galera: bool) -> PathBuf {
    for program in ["mariadbd", "mariadb-install-db"] {
        find(program).unwrap_or_else(|| missing(program));
    }
    if galera {
        find("rsync").unwrap_or_else(|| missing("rsync"));
        if !GALERA_LIBRARIES.iter().any(|library| Path::new(library).is_file()) {
            missing("the Galera library (libgalera_smm.so)");
        }
    }
    find("mariadb").unwrap_or_else(|| missing("mariadb (the client)"))
}

fn missing(what: &str) -> ! {
    panic!("galera-harness: {what} not found: {INSTALL_HINT}")
}

/// `program` in `PATH`, or in /usr/sbin and /sbin (where `mariadbd` is, and which are not on
/// every user's `PATH`).
fn find(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
