//! Durations written the way people write them on a command line: `90s`, `15m`, `1h30m`, `30d`.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` parts, units `s`, `m`, `h`, `d`.
///
/// # Errors
/// A message saying what form is expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || format!("`{text}` is not a duration: write e.g. 90s, 15m, 1h30m or 30d");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(expected()),
        };
        let value: u64 = number.parse().map_err(|_| expected())?;
        total = value
            .checked_mul(unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(expected)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 && text.trim().is_empty() {
        return Err(expected());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_combinations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
    }

    #[test]
    fn refuses_bare_numbers_unknown_units_and_empty_text() {
        for bad in ["", "30", "5w", "h", "1.5h", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
