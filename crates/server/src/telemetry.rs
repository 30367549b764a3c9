//! Logging: `tracing` with structured fields, as text or JSON, written to stderr a few lines at
//! a time by a thread of its own.
//!
//! Every request logs a line, a delivery two. Written one `write` each from the request's
//! thread, they cost about a tenth of the server's time under load (a system call per line, and
//! a wake-up of whoever reads the pipe). Lines are still formatted where they are logged, but
//! gathered in memory and written together: at most [`GATHER`] after the first of them, a few
//! kilobytes per system call. Memory stays bounded: a thread that finds [`MAX_HELD`] bytes
//! waiting for the writer waits for it, as it waited for stderr before. Nothing is dropped; a
//! process killed outright loses the lines of its last few milliseconds.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// How long the writer lets lines gather after the first of them arrives.
const GATHER: Duration = Duration::from_millis(5);

/// The most bytes of log lines held in memory; a thread that finds that much waiting for the
/// writer waits for it.
const MAX_HELD: usize = 256 * 1024;

/// Installs the global subscriber. Later calls (tests building several servers) are no-ops.
///
/// Keep the returned guard until the process ends: dropping it writes the lines still held.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(settings: &LogSettings) -> LogGuard {
    let guard = LogGuard::start(Box::new(io::stderr()));
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a terminal only, not for a file or a log collector.
        .with_ansi(io::stderr().is_terminal())
        .with_writer(guard.writer());
    let result = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if result.is_err() {
        tracing::debug!("a tracing subscriber is already installed");
    }
    guard
}

/// The thread that writes the log to stderr; dropping it writes what is held, then stops it.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Where logging threads leave their lines for the writer.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

struct Shared {
    held: Mutex<Held>,
    /// Where the lines go (stderr).
    output: Mutex<Box<dyn Write + Send>>,
    /// Signalled when lines arrive for an idle writer, and when the guard is dropped.
    arrived: Condvar,
    /// Signalled when the writer takes the lines held.
    taken: Condvar,
}

#[derive(Default)]
struct Held {
    lines: Vec<u8>,
    /// The guard was dropped: the writer writes what is held and stops.
    closing: bool,
    /// The writer has stopped: lines go straight to stderr.
    stopped: bool,
}

impl Shared {
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `lines` out. A failed write has nowhere to be reported: the lines are dropped,
    /// as a direct write's to stderr would be.
    fn output(&self, lines: &[u8]) {
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = output.write_all(lines).and_then(|()| output.flush());
    }
}

impl LogGuard {
    fn start(output: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Shared {
            held: Mutex::new(Held::default()),
            output: Mutex::new(output),
            arrived: Condvar::new(),
            taken: Condvar::new(),
        });
        let writer = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_out(&writer))
            .ok();
        if thread.is_none() {
            // Without its thread, lines go out as they come.
            shared.held().stopped = true;
        }
        Self { shared, thread }
    }

    fn writer(&self) -> LogWriter {
        LogWriter {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.held().closing = true;
        self.shared.arrived.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer's loop: waits for lines, lets more gather, writes them together.
fn write_out(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        let mut held = shared.held();
        while held.lines.is_empty() && !held.closing {
            held = shared
                .arrived
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if held.closing {
            // The last lines, and any logged while they are written, under the lock, so that
            // lines logged after the writer stops (written straight) come after them.
            shared.output(&held.lines);
            held.lines.clear();
            held.stopped = true;
            shared.taken.notify_all();
            return;
        }
        drop(held);
        std::thread::sleep(GATHER);
        std::mem::swap(&mut shared.held().lines, &mut batch);
        shared.taken.notify_all();
        shared.output(&batch);
        batch.clear();
    }
}

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut held = self.shared.held();
        while held.lines.len() >= MAX_HELD && !held.closing {
            held = self
                .shared
                .taken
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if held.stopped {
            self.shared.output(bytes);
            return Ok(bytes.len());
        }
        let was_idle = held.lines.is_empty();
        held.lines.extend_from_slice(bytes);
        drop(held);
        if was_idle {
            self.shared.arrived.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the tests can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("captured").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().expect("captured").clone();
            String::from_utf8(bytes)
                .expect("whole lines")
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// Lines logged from several threads at once, more than the writer may hold, all come out
    /// whole and, for each thread, in order; the last of them once the guard is dropped.
    #[test]
    fn every_line_comes_out_whole_and_in_order() {
        let captured = Captured::default();
        let guard = LogGuard::start(Box::new(captured.clone()));
        let line = |thread: usize, n: usize| format!("thread {thread} line {n} {}", "x".repeat(60));
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let mut writer = guard.writer();
                std::thread::spawn(move || {
                    for n in 0..10_000 {
                        writer
                            .write_all(format!("{}\n", line(thread, n)).as_bytes())
                            .expect("held");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a logging thread");
        }
        drop(guard);
        let lines = captured.lines();
        assert_eq!(lines.len(), 40_000);
        for thread in 0..4 {
            let prefix = format!("thread {thread} ");
            let mine: Vec<&String> = lines.iter().filter(|l| l.starts_with(&prefix)).collect();
            let expected: Vec<String> = (0..10_000).map(|n| line(thread, n)).collect();
            assert!(mine.iter().zip(&expected).all(|(got, want)| *got == want));
            assert_eq!(mine.len(), expected.len());
        }
    }

    /// A line logged while the writer is idle comes out without waiting for company, and one
    /// logged after the guard is gone comes out at once.
    #[test]
    fn a_lone_line_comes_out_and_a_late_one_too() {
        let captured = Captured::default();
        let guard = LogGuard::start(Box::new(captured.clone()));
        let mut writer = guard.writer();
        writer.write_all(b"alone\n").expect("held");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while captured.lines().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(captured.lines(), ["alone"]);
        drop(guard);
        writer.write_all(b"late\n").expect("written");
        assert_eq!(captured.lines(), ["alone", "late"]);
    }
}
