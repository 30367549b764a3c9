//! Reading the `svix-signature` list and comparing signatures in constant time.

use std::hint::black_box;

/// The values of the `v1` entries of a signature header, in order.
///
/// The header is a space-separated list of `version,value` entries. Entries of any other version
/// (`v1a` ed25519 signatures, `v2`, a differently cased `V1`), entries without a comma and the empty
/// entries left by repeated spaces are skipped rather than refused, as the Rust, Go and JavaScript
/// Svix libraries do.
pub(crate) fn v1_signatures(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|&(version, _)| version == "v1")
        .map(|(_, value)| value)
}

/// Whether `a` and `b` are equal, taking the same time whatever their contents.
///
/// Every byte pair is XOR-ed and the differences OR-ed together, with no early exit, so the time
/// does not reveal how long a matching prefix a forged signature has. Lengths are compared first
/// and may leak: a signature's length is public.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold back into a short-circuiting comparison.
    black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(header: &str) -> Vec<&str> {
        v1_signatures(header).collect()
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
        // Differences in every bit position are caught, not only in some.
        for bit in 0..8 {
            assert!(!constant_time_eq(&[0], &[1 << bit]));
        }
    }

    #[test]
    fn keeps_v1_entries_in_order() {
        assert_eq!(v1("v1,a v2,b v1,c"), ["a", "c"]);
    }

    #[test]
    fn skips_other_versions_including_other_case() {
        assert_eq!(v1("v1a,a v2,b V1,c v10,d"), Vec::<&str>::new());
    }

    #[test]
    fn skips_entries_without_a_comma_and_empty_entries() {
        assert_eq!(v1("bare  v1,a "), ["a"]);
        assert_eq!(v1(""), Vec::<&str>::new());
        assert_eq!(v1("   "), Vec::<&str>::new());
    }

    #[test]
    fn keeps_empty_and_comma_containing_values_for_comparison() {
        // They can never equal a real signature, so they fail the comparison, not the parse.
        assert_eq!(v1("v1,"), [""]);
        assert_eq!(v1("v1,a,b"), ["a,b"]);
    }
}
