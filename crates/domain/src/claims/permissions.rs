//! Decoding version 2's feature-permission map into permission keys.

use crate::DomainError;

fn invalid(claim: &'static str, expected: &'static str) -> DomainError {
    DomainError::InvalidClaim { claim, expected }
}

/// The organization permissions a version 2 token grants, as `org:<feature>:<permission>`.
///
/// `fea` lists the enabled features as `scope:key`; those whose scope includes `o` are the
/// organization's, in order. `per` lists permission names. `fpm` holds one integer per
/// organization feature, in the same order: bit `i` (least significant first) set means the
/// feature's `i`-th permission of `per` is granted. With `fea = "o:dashboard,o:teams"`,
/// `per = "manage,read"` and `fpm = "3,2"`, the caller has `org:dashboard:manage`,
/// `org:dashboard:read` and `org:teams:read`.
///
/// # Errors
/// [`DomainError::InvalidClaim`] when a feature has no scope, an entry of `fpm` is not a whole
/// number, sets a bit past the end of `per`, or `fpm` does not have one entry per organization
/// feature: permissions that cannot be read with certainty are not guessed.
///
/// ```
/// use clerk_sync_domain::feature_permissions;
///
/// let granted = feature_permissions("o:dashboard,o:teams", "manage,read", "3,2")?;
/// assert_eq!(granted, ["org:dashboard:manage", "org:dashboard:read", "org:teams:read"]);
/// assert!(feature_permissions("o:dashboard", "read", "1,1").is_err());
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
pub fn feature_permissions(fea: &str, per: &str, fpm: &str) -> Result<Vec<String>, DomainError> {
    let features = organization_features(fea)?;
    let names: Vec<&str> = split(per).collect();
    let masks: Vec<&str> = split(fpm).collect();
    if masks.len() != features.len() {
        return Err(invalid(
            "o.fpm",
            "one bitmask per organization feature of `fea`",
        ));
    }
    let mut granted = Vec::new();
    for (feature, mask) in features.iter().zip(masks) {
        let mask: u64 = mask
            .parse()
            .map_err(|_| invalid("o.fpm", "comma-separated whole numbers"))?;
        let past_end = u32::try_from(names.len())
            .ok()
            .and_then(|len| mask.checked_shr(len))
            .unwrap_or(0);
        if past_end != 0 {
            return Err(invalid(
                "o.fpm",
                "bitmasks with no bit past the end of `o.per`",
            ));
        }
        for (bit, name) in names.iter().enumerate() {
            if (mask >> bit) & 1 == 1 {
                granted.push(format!("org:{feature}:{name}"));
            }
        }
    }
    Ok(granted)
}

/// The keys of the features whose scope includes the organization (`o`, `uo`, `ou`).
fn organization_features(fea: &str) -> Result<Vec<&str>, DomainError> {
    let mut features = Vec::new();
    for entry in split(fea) {
        let (scope, key) = entry
            .split_once(':')
            .filter(|(scope, key)| !scope.is_empty() && !key.is_empty())
            .ok_or_else(|| invalid("fea", "comma-separated `scope:feature` entries"))?;
        if scope.contains('o') {
            features.push(key);
        }
    }
    Ok(features)
}

/// The entries of a comma-separated list, trimmed; an empty list has none.
fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_example_of_clerks_documentation() {
        assert_eq!(
            feature_permissions("o:dashboard,o:teams", "manage,read", "3,2"),
            Ok(vec![
                "org:dashboard:manage".to_owned(),
                "org:dashboard:read".to_owned(),
                "org:teams:read".to_owned(),
            ])
        );
    }

    #[test]
    fn user_features_have_no_bitmask_and_shared_ones_do() {
        let granted = feature_permissions(
            "u:ai_assistant, uo:reports ,o:billing",
            "read,manage,export",
            "5,2",
        );
        assert_eq!(
            granted,
            Ok(vec![
                "org:reports:read".to_owned(),
                "org:reports:export".to_owned(),
                "org:billing:manage".to_owned(),
            ])
        );
    }

    #[test]
    fn a_zero_mask_grants_nothing_and_empty_lists_are_empty() {
        assert_eq!(feature_permissions("o:teams", "read", "0"), Ok(vec![]));
        assert_eq!(feature_permissions("", "", ""), Ok(vec![]));
    }

    #[test]
    fn what_cannot_be_read_with_certainty_is_refused() {
        let cases = [
            ("o:teams", "read", "2", "o.fpm"),
            ("o:teams,o:billing", "read", "1", "o.fpm"),
            ("o:teams", "read", "1,1", "o.fpm"),
            ("o:teams", "read", "-1", "o.fpm"),
            ("o:teams", "read", "one", "o.fpm"),
            ("teams", "read", "1", "fea"),
            ("o:", "read", "1", "fea"),
        ];
        for (fea, per, fpm, claim) in cases {
            let err = feature_permissions(fea, per, fpm);
            assert!(
                matches!(err, Err(DomainError::InvalidClaim { claim: c, .. }) if c == claim),
                "{fea} / {per} / {fpm}: {err:?}"
            );
        }
    }

    #[test]
    fn sixty_four_permissions_fit() {
        let per: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
        let granted = feature_permissions("o:all", &per.join(","), &u64::MAX.to_string());
        assert_eq!(granted.map(|g| g.len()), Ok(64));
    }
}
