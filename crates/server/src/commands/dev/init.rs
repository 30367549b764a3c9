//! `clerk-sync dev init`: a development signing secret and RSA key pair, written into `.env`.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::PRIVATE_KEY_VARIABLE;

const VARIABLES: [&str; 3] = [
    "CLERK_WEBHOOK_SIGNING_SECRET",
    "CLERK_JWT_PUBLIC_KEY",
    PRIVATE_KEY_VARIABLE,
];

/// Writes the development secrets into the `.env` file at `path`, keeping its other lines.
/// Returns the names written (never the values).
///
/// # Errors
/// When the file already sets one of them and `force` is false, or it cannot be written.
pub fn run(path: &Path, force: bool) -> anyhow::Result<Vec<&'static str>> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let defines = |line: &str, name: &str| {
        line.trim_start()
            .strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let clashes: Vec<&str> = VARIABLES
        .into_iter()
        .filter(|name| existing.lines().any(|line| defines(line, name)))
        .collect();
    if !clashes.is_empty() && !force {
        bail!(
            "{} already sets {}; pass --force to replace them",
            path.display(),
            clashes.join(", ")
        );
    }
    let mut secret = [0_u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    let private =
        RsaPrivateKey::new(&mut rand::thread_rng(), 2048).context("cannot generate an RSA key")?;
    let public_pem = RsaPublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .context("cannot encode the public key")?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .context("cannot encode the private key")?;
    let one_line = |pem: &str| pem.trim().replace('\n', "\\n");
    let mut text: String = existing
        .lines()
        .filter(|line| !VARIABLES.iter().any(|name| defines(line, name)))
        .map(|line| format!("{line}\n"))
        .collect();
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(
        "# Written by `clerk-sync dev init`: for local development only, never for production.\n",
    );
    text.push_str(&format!(
        "CLERK_WEBHOOK_SIGNING_SECRET=whsec_{}\n",
        STANDARD.encode(secret)
    ));
    text.push_str(&format!(
        "CLERK_JWT_PUBLIC_KEY=\"{}\"\n",
        one_line(&public_pem)
    ));
    text.push_str(&format!(
        "{PRIVATE_KEY_VARIABLE}=\"{}\"\n",
        one_line(&private_pem)
    ));
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(VARIABLES.to_vec())
}
