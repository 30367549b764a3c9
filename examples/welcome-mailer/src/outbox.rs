//! The outbox file: welcome mails appended durably, one JSON line each, and the record of which
//! Svix messages and users were already mailed.
//!
//! Durability, in three rules:
//! - a line is written with one append and `fdatasync`-ed before the delivery is answered 2xx,
//!   so an acknowledged mail survives a crash or power loss;
//! - the line carries its message id, so the mail and the "message handled" record are one write
//!   and cannot disagree after a crash;
//! - a crash during a write leaves at most an incomplete last line (never acknowledged, so Svix
//!   retries it); it is cut off when the outbox is opened again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::welcome::WelcomeMail;

/// Why the outbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Opening, reading, locking or repairing the file failed.
    #[error(
        "cannot use the outbox file {path}: {source}; check that its folder exists and is \
         writable, or set WELCOME_MAILER_OUTBOX to another file"
    )]
    Open {
        /// The outbox file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Another process holds the outbox.
    #[error(
        "another welcome-mailer already uses the outbox file {path}; stop it first, or set \
         WELCOME_MAILER_OUTBOX to another file (two writers would mail twice)"
    )]
    InUse {
        /// The outbox file.
        path: PathBuf,
    },
    /// A complete line is not a mail this program wrote.
    #[error(
        "line {line} of the outbox file {path} is not a welcome mail written by welcome-mailer; \
         repair or remove that line, then start again"
    )]
    Corrupt {
        /// The outbox file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// Appending failed; the line was taken back, so nothing was recorded.
    #[error("writing to the outbox failed, nothing was recorded: {0}")]
    Write(#[source] io::Error),
    /// Appending failed and the file could not be restored; it is repaired on the next start.
    #[error(
        "writing to the outbox failed and the file could not be restored; restart welcome-mailer \
         to repair it: {0}"
    )]
    Broken(#[source] io::Error),
}

/// What is read back of each line: the keys of the deduplication.
#[derive(Deserialize)]
struct Recorded {
    message_id: String,
    user_id: String,
}

/// The outbox, open and locked for this process.
#[derive(Debug)]
pub struct Outbox {
    file: File,
    /// Length of the file up to its last complete line.
    len: u64,
    message_ids: HashSet<String>,
    user_ids: HashSet<String>,
    /// Set when a failed append could not be undone: no more writes until a restart repairs it.
    broken: bool,
}

impl Outbox {
    /// Opens (creating it if needed) and locks the outbox, cuts off an incomplete last line and
    /// reads which messages and users were mailed.
    ///
    /// # Errors
    /// [`OutboxError::InUse`] when another process holds it, [`OutboxError::Corrupt`] when a
    /// complete line is not a mail, [`OutboxError::Open`] for I/O errors.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let open_error = |source| OutboxError::Open {
            path: path.to_owned(),
            source,
        };
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(open_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(OutboxError::InUse {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(err)) => return Err(open_error(err)),
        }
        if !existed {
            // The new file's directory entry must be durable too, or a crash could lose the file
            // with every line in it.
            sync_parent_dir(path).map_err(open_error)?;
        }
        let mut content = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(open_error)?;
        file.read_to_end(&mut content).map_err(open_error)?;
        let complete = content
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        if complete < content.len() {
            eprintln!(
                "welcome-mailer: cut off an incomplete last outbox line ({} bytes) left by a \
                 crash; its delivery was never acknowledged, so Svix sends it again",
                content.len() - complete
            );
            file.set_len(len_u64(complete)).map_err(open_error)?;
            file.sync_data().map_err(open_error)?;
        }
        let mut outbox = Self {
            file,
            len: len_u64(complete),
            message_ids: HashSet::new(),
            user_ids: HashSet::new(),
            broken: false,
        };
        for (index, line) in content[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let recorded: Recorded =
                serde_json::from_slice(line).map_err(|_| OutboxError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                })?;
            outbox.message_ids.insert(recorded.message_id);
            outbox.user_ids.insert(recorded.user_id);
        }
        Ok(outbox)
    }

    /// Whether a mail was already queued for this message or this user.
    pub fn already_mailed(&self, message_id: &str, user_id: &str) -> bool {
        self.message_ids.contains(message_id) || self.user_ids.contains(user_id)
    }

    /// How many mails the outbox holds.
    pub fn len(&self) -> usize {
        self.message_ids.len()
    }

    /// Appends a mail and waits until it is on disk.
    ///
    /// # Errors
    /// [`OutboxError::Write`] when it failed and was undone (nothing recorded; the sender's retry
    /// may succeed), [`OutboxError::Broken`] when it could not be undone (every later append
    /// fails until a restart cuts the incomplete line off).
    pub fn append(&mut self, mail: &WelcomeMail) -> Result<(), OutboxError> {
        if self.broken {
            return Err(OutboxError::Broken(io::Error::other(
                "an earlier write could not be undone",
            )));
        }
        let mut line = serde_json::to_vec(mail).map_err(|err| OutboxError::Write(err.into()))?;
        line.push(b'\n');
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        if let Err(err) = written {
            // Whatever reached the file must go, or the next line would be glued to a torn one.
            let undone = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data());
            return Err(match undone {
                Ok(()) => OutboxError::Write(err),
                Err(_) => {
                    self.broken = true;
                    OutboxError::Broken(err)
                }
            });
        }
        self.len += len_u64(line.len());
        self.message_ids.insert(mail.message_id.clone());
        self.user_ids.insert(mail.user_id.clone());
        Ok(())
    }
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}
