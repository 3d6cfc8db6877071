//! How a multipart upload is cut into parts, and whether the parts the store holds
//! make up the whole file. Pure functions of sizes: no store, no clock.
//!
//! ```text
//!  size ──plan──▶ PartPlan { part_size, part_count }      (same size, same plan: the server
//!                   part n: bytes (n-1)·part_size ..        stores nothing between calls)
//!  listed parts ──check_parts(plan)──▶ the parts to join, or what is wrong
//! ```
//!
//! The plan depends only on the file's size and `uploads.part_size`, so the server
//! keeps no record of an upload: the client sends the size again with each call, and
//! completion re-checks every part against the store, so a client that lies about the
//! size only spoils its own upload.

use myvid_store::objects::{MAX_PARTS, MIN_PART_BYTES, UploadedPart};

/// How a file of a given size is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// The file's size in bytes (1 or more).
    pub size: u64,
    /// Size of every part but the last, which holds the rest (1..=part_size bytes).
    pub part_size: u64,
    /// Number of parts, 1..=[`MAX_PARTS`].
    pub part_count: u32,
}

impl PartPlan {
    /// The plan for a file of `size` bytes (1 or more) with parts of `configured` bytes,
    /// raised to at least [`MIN_PART_BYTES`] (the store refuses smaller non-last parts)
    /// and so far that the file fits in [`MAX_PARTS`] parts.
    pub fn new(size: u64, configured: u64) -> PartPlan {
        let size = size.max(1);
        let part_size = configured.max(MIN_PART_BYTES).max(size.div_ceil(u64::from(MAX_PARTS)));
        let part_count = u32::try_from(size.div_ceil(part_size)).unwrap_or(MAX_PARTS);
        PartPlan { size, part_size, part_count }
    }

    /// The exact size part `number` (1-based) must have: `part_size`, or the rest for
    /// the last one; `None` outside 1..=part_count.
    pub fn expected_size(&self, number: u32) -> Option<u64> {
        if number == 0 || number > self.part_count {
            return None;
        }
        if number < self.part_count {
            Some(self.part_size)
        } else {
            Some(self.size - self.part_size * u64::from(self.part_count - 1))
        }
    }
}

/// Why the listed parts do not make up the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartsProblem {
    /// These parts are missing or hold fewer bytes than they must (they can be sent again).
    Incomplete {
        /// Parts not in the store at all, ascending.
        missing: Vec<u32>,
        /// Parts in the store with fewer bytes than the plan says, ascending.
        short: Vec<u32>,
    },
    /// The store holds parts numbered beyond the last: the client sent more than it
    /// announced. They cannot be left out of the completion (Ceph RGW refuses one that
    /// leaves a stored part out) nor joined (the file would not have its size).
    BeyondTheEnd {
        /// Their numbers, ascending.
        numbers: Vec<u32>,
    },
    /// A part holds more bytes than the plan allows: the client sent more than it
    /// announced, perhaps more than the size limit.
    Oversized {
        /// The first such part.
        number: u32,
        /// Its size.
        size: u64,
        /// What it may hold.
        allowed: u64,
    },
}

impl PartsProblem {
    /// The problem in plain words for the client.
    pub fn describe(&self) -> String {
        match self {
            PartsProblem::Incomplete { missing, short } => {
                let mut text = String::from("the upload is not complete:");
                if !missing.is_empty() {
                    text.push_str(&format!(" missing parts {}", number_list(missing)));
                }
                if !short.is_empty() {
                    if !missing.is_empty() {
                        text.push(';');
                    }
                    text.push_str(&format!(" parts {} are shorter than they must be", number_list(short)));
                }
                text.push_str("; send them (again) and complete once more");
                text
            }
            PartsProblem::BeyondTheEnd { numbers } => {
                format!(
                    "the upload holds parts beyond the file's end ({}); the upload was dropped",
                    number_list(numbers)
                )
            }
            PartsProblem::Oversized { number, size, allowed } => {
                format!("part {number} holds {size} bytes but may hold at most {allowed}; the upload was dropped")
            }
        }
    }
}

/// `1, 2, 5` (at most 20 numbers, then `and N more`).
fn number_list(numbers: &[u32]) -> String {
    const SHOWN: usize = 20;
    let mut text = numbers.iter().take(SHOWN).map(u32::to_string).collect::<Vec<_>>().join(", ");
    if numbers.len() > SHOWN {
        text.push_str(&format!(" and {} more", numbers.len() - SHOWN));
    }
    text
}

/// The parts to join (numbers 1..=part_count ascending, as listed) when `listed` holds
/// every part of `plan` at its exact size and nothing else.
pub fn check_parts(plan: &PartPlan, listed: &[UploadedPart]) -> Result<Vec<UploadedPart>, PartsProblem> {
    let mut beyond: Vec<u32> = listed.iter().map(|p| p.number).filter(|n| *n > plan.part_count).collect();
    if !beyond.is_empty() {
        beyond.sort_unstable();
        return Err(PartsProblem::BeyondTheEnd { numbers: beyond });
    }
    let mut by_number: Vec<Option<&UploadedPart>> = vec![None; plan.part_count as usize];
    for part in listed {
        if let Some(slot) = part.number.checked_sub(1).and_then(|i| by_number.get_mut(i as usize)) {
            *slot = Some(part);
        }
    }
    let (mut missing, mut short, mut joined) = (Vec::new(), Vec::new(), Vec::new());
    for (number, part) in (1..=plan.part_count).zip(by_number) {
        let expected = plan.expected_size(number).unwrap_or(0);
        match part {
            None => missing.push(number),
            Some(part) if part.size > expected => {
                return Err(PartsProblem::Oversized { number, size: part.size, allowed: expected });
            }
            Some(part) if part.size < expected => short.push(number),
            Some(part) => joined.push(part.clone()),
        }
    }
    if missing.is_empty() && short.is_empty() { Ok(joined) } else { Err(PartsProblem::Incomplete { missing, short }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn part(number: u32, size: u64) -> UploadedPart {
        UploadedPart { number, size, etag: format!("\"e{number}\"") }
    }

    fn parts_of(plan: &PartPlan) -> Vec<UploadedPart> {
        (1..=plan.part_count).map(|n| part(n, plan.expected_size(n).unwrap())).collect()
    }

    #[test]
    fn the_configured_part_size_is_used_and_the_last_part_holds_the_rest() {
        let plan = PartPlan::new(100 * MIB + 3, 16 * MIB);
        assert_eq!((plan.part_size, plan.part_count), (16 * MIB, 7));
        assert_eq!(plan.expected_size(1), Some(16 * MIB));
        assert_eq!(plan.expected_size(7), Some(4 * MIB + 3));
        assert_eq!(plan.expected_size(0), None);
        assert_eq!(plan.expected_size(8), None);
        let exact = PartPlan::new(32 * MIB, 16 * MIB);
        assert_eq!((exact.part_count, exact.expected_size(2)), (2, Some(16 * MIB)));
    }

    #[test]
    fn parts_are_never_below_the_store_minimum() {
        let plan = PartPlan::new(64 * MIB, MIB);
        assert_eq!(plan.part_size, MIN_PART_BYTES);
        assert_eq!(plan.part_count, 13);
        let tiny = PartPlan::new(1, 16 * MIB);
        assert_eq!((tiny.part_count, tiny.expected_size(1)), (1, Some(1)));
    }

    #[test]
    fn parts_grow_so_that_the_file_fits_in_max_parts() {
        let size = 100 * 1024 * MIB;
        let plan = PartPlan::new(size, 5 * MIB);
        assert!(plan.part_count <= MAX_PARTS, "{plan:?}");
        assert!(plan.part_size > 5 * MIB);
        assert_eq!(
            u64::from(plan.part_count - 1) * plan.part_size + plan.expected_size(plan.part_count).unwrap(),
            size
        );
        let plan = PartPlan::new(u64::from(MAX_PARTS) * MIN_PART_BYTES + 1, MIN_PART_BYTES);
        assert_eq!(plan.part_count, MAX_PARTS);
    }

    #[test]
    fn every_part_at_its_size_completes_and_parts_beyond_the_end_are_refused() {
        let plan = PartPlan::new(40 * MIB, 16 * MIB);
        let mut listed = parts_of(&plan);
        listed.reverse();
        let joined = check_parts(&plan, &listed).unwrap();
        assert_eq!(joined.iter().map(|p| p.number).collect::<Vec<_>>(), [1, 2, 3]);
        listed.push(part(5, MIB));
        listed.push(part(4, 16 * MIB));
        assert_eq!(check_parts(&plan, &listed), Err(PartsProblem::BeyondTheEnd { numbers: vec![4, 5] }));
    }

    #[test]
    fn missing_and_short_parts_are_named() {
        let plan = PartPlan::new(40 * MIB, 16 * MIB);
        let listed = vec![part(2, 16 * MIB - 1)];
        let problem = check_parts(&plan, &listed).unwrap_err();
        assert_eq!(problem, PartsProblem::Incomplete { missing: vec![1, 3], short: vec![2] });
        let text = problem.describe();
        assert!(text.contains("missing parts 1, 3") && text.contains("parts 2 are shorter"), "{text}");
        let short_last = vec![part(1, 16 * MIB), part(2, 16 * MIB), part(3, MIB)];
        assert_eq!(check_parts(&plan, &short_last), Err(PartsProblem::Incomplete { missing: vec![], short: vec![3] }));
    }

    #[test]
    fn a_part_over_its_size_is_refused_as_oversized() {
        let plan = PartPlan::new(40 * MIB, 16 * MIB);
        let mut listed = parts_of(&plan);
        listed[2].size += 1;
        assert_eq!(
            check_parts(&plan, &listed),
            Err(PartsProblem::Oversized { number: 3, size: 8 * MIB + 1, allowed: 8 * MIB })
        );
    }

    #[test]
    fn long_lists_of_numbers_are_cut() {
        let plan = PartPlan::new(200 * MIB, 5 * MIB);
        let text = check_parts(&plan, &[]).unwrap_err().describe();
        assert!(text.contains("and 20 more"), "{text}");
    }
}
