//! The layers settings come from: the built-in `config/default.toml`, an optional overlay file
//! chosen by `CLERK_SYNC_ENV`, then environment variables, merged into one TOML table.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{ConfigError, DEFAULT_TOML, invalid};

/// How an environment variable's text becomes a setting's value.
#[derive(Clone, Copy)]
enum EnvValueType {
    Text,
    Port,
    Count,
    Seconds,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, in any case).
    Flag,
    /// Comma-separated texts.
    List,
    OneOf(&'static [&'static str]),
}

/// Every environment variable that overrides a setting of the files, with the setting it
/// sets, in the order they are read (and named by `check-config`). Secrets are not here: they
/// never enter the table (see `Secrets`).
const ENV_OVERRIDES: &[(&str, &str, &str, EnvValueType)] = &[
    ("HOST", "server", "host", EnvValueType::Text),
    ("PORT", "server", "port", EnvValueType::Port),
    ("DATABASE_URL", "database", "url", EnvValueType::Text),
    ("DATABASE_SCHEMA", "database", "schema", EnvValueType::Text),
    (
        "WEBHOOK_MAX_BATCH_SIZE",
        "webhooks",
        "max_batch_size",
        EnvValueType::Count,
    ),
    (
        "DATABASE_POOL_SIZE",
        "database",
        "pool_size",
        EnvValueType::Count,
    ),
    ("RUST_LOG", "log", "level", EnvValueType::Text),
    ("CLERK_API_URL", "resync", "api_url", EnvValueType::Text),
    ("METRICS_LISTEN", "metrics", "listen", EnvValueType::Text),
    (
        "CLERK_READ_THROUGH",
        "read_through",
        "enabled",
        EnvValueType::Flag,
    ),
    (
        "CLERK_API_PASS_THROUGH",
        "clerk_api",
        "pass_through",
        EnvValueType::Flag,
    ),
    (
        "CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS",
        "read_through",
        "fetches_per_10_seconds",
        EnvValueType::Count,
    ),
    (
        "LOG_FORMAT",
        "log",
        "format",
        EnvValueType::OneOf(&["text", "json"]),
    ),
    (
        "CLERK_JWT_LEEWAY_SECONDS",
        "auth",
        "leeway_seconds",
        EnvValueType::Seconds,
    ),
    (
        "CLERK_JWKS_CACHE_TTL_SECONDS",
        "auth",
        "jwks_cache_ttl_seconds",
        EnvValueType::Seconds,
    ),
    (
        "CLERK_JWKS_REFETCH_INTERVAL_SECONDS",
        "auth",
        "jwks_refetch_interval_seconds",
        EnvValueType::Seconds,
    ),
    (
        "CLERK_JWKS_TIMEOUT_SECONDS",
        "auth",
        "jwks_timeout_seconds",
        EnvValueType::Seconds,
    ),
    ("CLERK_JWKS_URL", "auth", "jwks_url", EnvValueType::Text),
    ("CLERK_ISSUER", "auth", "issuer", EnvValueType::Text),
    (
        "CLERK_AUTHORIZED_PARTIES",
        "auth",
        "authorized_parties",
        EnvValueType::List,
    ),
    (
        "CLERK_ACCEPT_PENDING_SESSIONS",
        "auth",
        "accept_pending_sessions",
        EnvValueType::Flag,
    ),
    (
        "CLERK_TOKEN_CACHE_SIZE",
        "auth",
        "token_cache_size",
        EnvValueType::Count,
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
    for (variable, section, key, value_type) in ENV_OVERRIDES {
        let Some(text) = env(variable) else { continue };
        let value = env_value(variable, text, *value_type)?;
        if let Some(Value::Table(section)) = table.get_mut(*section) {
            section.insert((*key).to_owned(), value);
        }
    }
    Ok(Merged { table, sources })
}

/// The setting's value an environment variable's text gives, or an error naming the variable.
fn env_value(variable: &str, text: String, value_type: EnvValueType) -> Result<Value, ConfigError> {
    let number = |parsed: Option<i64>, expected: &str| {
        parsed
            .map(Value::Integer)
            .ok_or_else(|| invalid(variable, expected))
    };
    match value_type {
        EnvValueType::Text => Ok(Value::String(text)),
        EnvValueType::Port => number(
            text.parse::<u16>().ok().map(i64::from),
            "expected a port number from 0 to 65535",
        ),
        EnvValueType::Count => number(
            text.parse::<u32>().ok().map(i64::from),
            "expected a whole number",
        ),
        EnvValueType::Seconds => number(
            text.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok()),
            "expected a whole number of seconds",
        ),
        EnvValueType::Flag => match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" => Ok(Value::Boolean(false)),
            _ => Err(invalid(variable, "expected `true` or `false`")),
        },
        EnvValueType::List => Ok(Value::Array(
            text.split(',')
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        )),
        EnvValueType::OneOf(choices) if choices.contains(&text.as_str()) => Ok(Value::String(text)),
        EnvValueType::OneOf(choices) => {
            let choices: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
            Err(invalid(
                variable,
                format!("expected {}", choices.join(" or ")),
            ))
        }
    }
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
    "database.schema",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_override_sets_a_documented_setting_of_the_defaults() {
        let defaults: Table = DEFAULT_TOML.parse().expect("the defaults parse");
        for (variable, section, key, _) in ENV_OVERRIDES {
            let setting = format!("{section}.{key}");
            let Some(Value::Table(known)) = defaults.get(*section) else {
                panic!("{variable}: no section [{section}] in config/default.toml");
            };
            assert!(
                known.contains_key(*key) || OPTIONAL_KEYS.contains(&setting.as_str()),
                "{variable}: no setting {setting} in config/default.toml"
            );
            assert!(
                DEFAULT_TOML.contains(variable),
                "{variable} is not documented in config/default.toml"
            );
        }
    }
}
