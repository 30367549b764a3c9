//! The `.env` file: read from the working directory only. A `.env` in a parent folder (a home
//! directory, another checkout) is never read, so nothing configures the server unseen.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// The file name, in the working directory.
pub const DOTENV_FILE: &str = ".env";

/// A `.env` file read at start.
#[derive(Clone, Debug, Default)]
pub struct DotEnvFile {
    /// Where it is.
    pub path: PathBuf,
    /// The variables it set: those the environment did not set already (the environment wins).
    pub set: Vec<String>,
}

impl DotEnvFile {
    /// Reads `dir/.env`, when there is one, into the process environment, keeping the value of
    /// every variable the environment already sets. Parent folders are not searched.
    ///
    /// # Errors
    /// [`ConfigError::File`] when the file exists but cannot be read or has a line that is not
    /// `NAME=value`; the text names the file and the line number, never a value.
    pub fn load(dir: &Path) -> Result<Option<Self>, ConfigError> {
        let path = dir.join(DOTENV_FILE);
        let file = path.display().to_string();
        let problem = |problem: String| ConfigError::File {
            file: file.clone(),
            problem,
        };
        let entries = match dotenvy::from_path_iter(&path) {
            Ok(entries) => entries,
            Err(err) if err.not_found() => return Ok(None),
            Err(err) => return Err(problem(describe(&err, &path))),
        };
        let mut set = Vec::new();
        for entry in entries {
            let (name, _) = entry.map_err(|err| problem(describe(&err, &path)))?;
            if std::env::var_os(&name).is_none() && !set.contains(&name) {
                set.push(name);
            }
        }
        dotenvy::from_path(&path).map_err(|err| problem(describe(&err, &path)))?;
        Ok(Some(Self { path, set }))
    }
}

/// What is wrong, without the offending line: it may hold a secret.
fn describe(err: &dotenvy::Error, path: &Path) -> String {
    match err {
        dotenvy::Error::LineParse(line, _) => {
            let number = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().position(|l| l.contains(line.trim())))
                .map_or_else(String::new, |index| format!("line {}: ", index + 1));
            format!(
                "{number}expected NAME=value (quote a value that has spaces, # or quotes in it)"
            )
        }
        // Io and EnvVar errors carry no value from the file.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("clerk-sync-dotenv-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("child")).expect("dir");
        dir
    }

    #[test]
    fn only_the_given_folder_is_read() {
        let dir = folder("parent");
        std::fs::write(dir.join(DOTENV_FILE), "CLERK_SYNC_DOTENV_TEST_PARENT=1\n").expect("write");
        let loaded = DotEnvFile::load(&dir.join("child")).expect("no error");
        assert!(loaded.is_none(), "a parent's .env is not read");
        assert!(std::env::var_os("CLERK_SYNC_DOTENV_TEST_PARENT").is_none());
    }

    #[test]
    fn a_broken_line_is_named_by_number_without_its_text() {
        let dir = folder("broken");
        std::fs::write(
            dir.join(DOTENV_FILE),
            "CLERK_SYNC_DOTENV_TEST_OK=1\nwhsec_hunter2 pasted without a name\n",
        )
        .expect("write");
        let err = DotEnvFile::load(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(".env: line 2: expected NAME=value"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
