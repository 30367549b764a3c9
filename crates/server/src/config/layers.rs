//! The layers settings come from: the built-in `config/default.toml`, an optional overlay file
//! chosen by `CLERK_SYNC_ENV`, then environment variables, merged into one TOML table.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{ConfigError, DEFAULT_TOML, invalid};

/// How an environment variable's text becomes a setting's value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Port,
    Count,
    OneOf(&'static [&'static str]),
}

/// Environment variables that override a setting of the file, with the setting they set.
/// Secrets are not here: they never enter the table (see `Secrets`).
const ENV_OVERRIDES: &[(&str, &str, &str, Kind)] = &[
    ("HOST", "server", "host", Kind::Text),
    ("PORT", "server", "port", Kind::Port),
    ("DATABASE_URL", "database", "url", Kind::Text),
    ("DATABASE_POOL_SIZE", "database", "pool_size", Kind::Count),
    ("RUST_LOG", "log", "level", Kind::Text),
    ("CLERK_API_URL", "resync", "api_url", Kind::Text),
    ("METRICS_LISTEN", "metrics", "listen", Kind::Text),
    (
        "LOG_FORMAT",
        "log",
        "format",
        Kind::OneOf(&["text", "json"]),
    ),
];

/// The merged settings table and the files it came from (the caller names the variables).
pub(super) struct Merged {
    pub table: Table,
    pub sources: Vec<String>,
}

/// Reads the defaults, the overlay named by `CLERK_SYNC_ENV` and the environment overrides.
pub(super) fn merge(
    env: &dyn Fn(&str) -> Option<String>,
    config_dir: &Path,
) -> Result<Merged, ConfigError> {
    let mut table: Table =
        DEFAULT_TOML
            .parse()
            .map_err(|err: toml::de::Error| ConfigError::File {
                file: "config/default.toml".to_owned(),
                problem: err.to_string(),
            })?;
    let mut sources = vec!["config/default.toml (built in)".to_owned()];
    if let Some(name) = env("CLERK_SYNC_ENV") {
        let path = overlay_path(config_dir, &name)?;
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|err| {
            invalid(
                "CLERK_SYNC_ENV",
                format!("cannot read the overlay {file}: {err}"),
            )
        })?;
        let overlay: Table = text
            .parse()
            .map_err(|err: toml::de::Error| ConfigError::File {
                file: file.clone(),
                problem: err.to_string(),
            })?;
        check_known_keys(&overlay, &table, "", &file)?;
        merge_into(&mut table, overlay);
        sources.push(file);
    }
    for (variable, section, key, kind) in ENV_OVERRIDES {
        let Some(text) = env(variable) else { continue };
        let value = match kind {
            Kind::Text => Value::String(text),
            Kind::Port => Value::Integer(
                text.parse::<u16>()
                    .map_err(|_| invalid(variable, "expected a port number from 0 to 65535"))?
                    .into(),
            ),
            Kind::Count => Value::Integer(
                text.parse::<u32>()
                    .map_err(|_| invalid(variable, "expected a whole number"))?
                    .into(),
            ),
            Kind::OneOf(choices) if choices.contains(&text.as_str()) => Value::String(text),
            Kind::OneOf(choices) => {
                let choices: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
                return Err(invalid(
                    variable,
                    format!("expected {}", choices.join(" or ")),
                ));
            }
        };
        if let Some(Value::Table(section)) = table.get_mut(*section) {
            section.insert((*key).to_owned(), value);
        }
    }
    Ok(Merged { table, sources })
}

/// `config/<name>.toml`, for a name of letters, digits, `-` and `_` only.
fn overlay_path(config_dir: &Path, name: &str) -> Result<PathBuf, ConfigError> {
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(invalid(
            "CLERK_SYNC_ENV",
            "expected a name such as `production` (letters, digits, - and _), naming config/<name>.toml",
        ));
    }
    Ok(config_dir.join(format!("{name}.toml")))
}

fn article(type_name: &str) -> &'static str {
    if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Settings that are unset by default, so `config/default.toml` only shows them commented out.
const OPTIONAL_KEYS: &[&str] = &[
    "auth.jwks_url",
    "auth.issuer",
    "auth.authorized_parties",
    "metrics.listen",
];

/// Refuses keys the defaults do not have and values of another type than the default's: a typo must not be silently ignored.
fn check_known_keys(
    overlay: &Table,
    known: &Table,
    prefix: &str,
    file: &str,
) -> Result<(), ConfigError> {
    for (key, value) in overlay {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (known.get(key), value) {
            (None, _) if OPTIONAL_KEYS.contains(&path.as_str()) => {}
            (None, _) => {
                return Err(ConfigError::File {
                    file: file.to_owned(),
                    problem: format!("unknown setting `{path}`"),
                });
            }
            (Some(Value::Table(known)), Value::Table(overlay)) => {
                check_known_keys(overlay, known, &path, file)?
            }
            (Some(Value::Table(_)), _) => {
                return Err(ConfigError::File {
                    file: file.to_owned(),
                    problem: format!("`{path}` must be a table ([{path}])"),
                });
            }
            (Some(known), value) if known.type_str() != value.type_str() => {
                let expected = known.type_str();
                return Err(ConfigError::File {
                    file: file.to_owned(),
                    problem: format!(
                        "`{path}` must be {} {expected}, like its default",
                        article(expected)
                    ),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn merge_into(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base)), Value::Table(overlay)) => merge_into(base, overlay),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
