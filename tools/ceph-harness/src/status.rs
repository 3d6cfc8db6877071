//! Reading the cluster's state from the plain-text output of `ceph osd dump` and
//! `ceph pg stat`.

/// Whether osd.`n` is up in the output of `ceph osd dump` (lines like
/// `osd.3 up   in  weight 1 ...`); `None` when the OSD is not listed.
pub(crate) fn osd_is_up(dump: &str, n: usize) -> Option<bool> {
    let name = format!("osd.{n}");
    dump.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(name.as_str())).then(|| words.next() == Some("up"))
    })
}

/// The OSDs that are down in the output of `ceph osd dump`.
pub(crate) fn osds_down(dump: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().filter(|name| name.starts_with("osd."))?;
            (words.next() == Some("down")).then(|| name.to_owned())
        })
        .collect()
}

/// Placement group counts from `ceph pg stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PgCounts {
    /// All placement groups.
    pub(crate) total: u32,
    /// Those serving I/O: "active" and not "stale" (degraded or undersized ones count).
    pub(crate) active: u32,
    /// Those exactly "active+clean": every chunk or copy where it belongs.
    pub(crate) clean: u32,
}

impl PgCounts {
    /// Every placement group serves I/O.
    pub(crate) fn all_active(self) -> bool {
        self.total > 0 && self.active == self.total
    }

    /// Every placement group is active+clean.
    pub(crate) fn all_clean(self) -> bool {
        self.total > 0 && self.clean == self.total
    }
}

/// Parses `ceph pg stat`: `65 pgs: 8 active+undersized, 11 down, 46 active+clean; 4.8 MiB
/// data, ...`. `None` when the text has another shape.
pub(crate) fn pg_counts(stat: &str) -> Option<PgCounts> {
    let (total, rest) = stat.trim().split_once(" pgs:")?;
    let total = total.trim().parse().ok()?;
    let states = rest.split(';').next()?;
    let mut counts = PgCounts { total, active: 0, clean: 0 };
    for entry in states.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (number, state) = entry.split_once(' ')?;
        let number: u32 = number.parse().ok()?;
        let flags: Vec<&str> = state.trim().split('+').collect();
        if flags.contains(&"active") && !flags.contains(&"stale") {
            counts.active += number;
        }
        if state.trim() == "active+clean" {
            counts.clean += number;
        }
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::{PgCounts, osd_is_up, osds_down, pg_counts};

    #[test]
    fn osd_states_come_from_the_osd_dump() {
        let dump = "epoch 52\nmax_osd 6\n\
            osd.0 up   in  weight 1 up_from 33 up_thru 40 down_at 0\n\
            osd.1 down in  weight 1 up_from 27 up_thru 39 down_at 45\n\
            osd.10 up   in  weight 1\n";
        assert_eq!(osd_is_up(dump, 0), Some(true));
        assert_eq!(osd_is_up(dump, 1), Some(false));
        assert_eq!(osd_is_up(dump, 10), Some(true));
        assert_eq!(osd_is_up(dump, 2), None);
        assert_eq!(osds_down(dump), ["osd.1"]);
    }

    #[test]
    fn pg_stat_is_summed_by_kind() {
        let clean = pg_counts("65 pgs: 65 active+clean; 5.3 KiB data, 1.7 GiB used, 10 GiB / 12 GiB avail").unwrap();
        assert_eq!(clean, PgCounts { total: 65, active: 65, clean: 65 });
        assert!(clean.all_active() && clean.all_clean());

        let degraded = pg_counts(
            "65 pgs: 8 active+undersized, 2 undersized+peered, 11 down, 8 stale+active+clean, \
             19 active+undersized+degraded, 17 active+clean; 4.8 MiB data, 1.7 GiB used",
        )
        .unwrap();
        assert_eq!(degraded, PgCounts { total: 65, active: 44, clean: 17 });
        assert!(!degraded.all_active());

        assert!(!pg_counts("0 pgs: ; 0 B data").unwrap().all_active());
        assert_eq!(pg_counts("no such thing"), None);
    }
}
