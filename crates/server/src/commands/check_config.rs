//! `clerk-sync check-config`: the effective configuration, secrets redacted.

use std::fmt::Write;

use crate::Settings;

/// Renders the effective settings as TOML, preceded by where they came from; secrets appear
/// only as set or not set.
pub fn render(settings: &Settings) -> String {
    let mut out = String::from("# Effective configuration. Layers, later ones winning:\n");
    for source in &settings.sources {
        let _ = writeln!(out, "#   {source}");
    }
    out.push('\n');
    out.push_str(&toml::to_string(&settings.effective).unwrap_or_default());
    out.push_str("\n[secrets]\n");
    for (name, set) in settings.secrets.presence() {
        let _ = writeln!(
            out,
            "{name} = \"{}\"",
            if set { "<set, redacted>" } else { "<not set>" }
        );
    }
    out
}
