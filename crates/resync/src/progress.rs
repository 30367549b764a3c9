//! Progress of a resync: a bar per kind (count, rate, ETA) on a terminal, plain lines every few
//! seconds otherwise (logs, CI), or nothing (tests).

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use clerk_sync_backend_api::ObjectKind;

/// How often a plain progress line is written.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Where progress goes. Cheap to clone; clones report to the same place.
#[derive(Clone)]
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    kinds: Arc<Mutex<HashMap<ObjectKind, State>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bars,
    Lines,
    Hidden,
}

struct State {
    bar: ProgressBar,
    started: Instant,
    last_line: Instant,
    done: u64,
    total: Option<u64>,
}

impl Progress {
    /// Bars when standard output is a terminal, plain lines when it is not.
    pub fn for_stdout() -> Self {
        if std::io::stdout().is_terminal() {
            Self::new(Mode::Bars)
        } else {
            Self::lines()
        }
    }

    /// Plain lines on standard output.
    pub fn lines() -> Self {
        Self::new(Mode::Lines)
    }

    /// Nothing at all.
    pub fn hidden() -> Self {
        Self::new(Mode::Hidden)
    }

    fn new(mode: Mode) -> Self {
        let target = match mode {
            Mode::Bars => ProgressDrawTarget::stdout(),
            Mode::Lines | Mode::Hidden => ProgressDrawTarget::hidden(),
        };
        Self {
            mode,
            multi: MultiProgress::with_draw_target(target),
            kinds: Arc::default(),
        }
    }

    fn with<T>(&self, kind: ObjectKind, f: impl FnOnce(&mut State) -> T) -> Option<T> {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds.get_mut(&kind).map(f)
    }

    /// A kind's listing begins; `total` is Clerk's count, when known.
    pub(crate) fn start(&self, kind: ObjectKind, total: Option<u64>) {
        let bar = ProgressBar::hidden()
            .with_style(style(total))
            .with_prefix(kind.label());
        if let Some(total) = total {
            bar.set_length(total);
        }
        let now = Instant::now();
        let state = State {
            bar: self.multi.add(bar),
            started: now,
            last_line: now,
            done: 0,
            total,
        };
        if self.mode == Mode::Lines {
            let of = total.map_or_else(String::new, |t| format!(" ({t} in Clerk)"));
            println!("{}: listing{of}", kind.label());
        }
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds.insert(kind, state);
    }

    /// Clerk told the total after the listing began.
    pub(crate) fn set_total(&self, kind: ObjectKind, total: u64) {
        self.with(kind, |state| state.set_total(Some(total)));
    }

    /// `count` more objects of a kind were written.
    pub(crate) fn advance(&self, kind: ObjectKind, count: u64) {
        let line = self.with(kind, |state| {
            state.done += count;
            state.bar.inc(count);
            let due = state.last_line.elapsed() >= PLAIN_EVERY;
            if due {
                state.last_line = Instant::now();
            }
            due.then(|| state.line(kind))
        });
        if self.mode == Mode::Lines
            && let Some(Some(line)) = line
        {
            println!("{line}");
        }
    }

    /// A kind's listing is done.
    pub(crate) fn finish(&self, kind: ObjectKind) {
        let line = self.with(kind, |state| {
            state.bar.finish();
            let seconds = state.started.elapsed().as_secs_f64();
            format!(
                "{}: {} processed in {seconds:.1} s ({:.0}/s)",
                kind.label(),
                state.done,
                rate(state.done, seconds)
            )
        });
        if self.mode == Mode::Lines
            && let Some(line) = line
        {
            println!("{line}");
        }
    }

    /// A line of its own (above the bars on a terminal).
    pub(crate) fn say(&self, line: &str) {
        match self.mode {
            Mode::Bars => {
                if self.multi.println(line).is_err() {
                    println!("{line}");
                }
            }
            Mode::Lines => println!("{line}"),
            Mode::Hidden => {}
        }
    }
}

impl State {
    fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
        if let Some(total) = total {
            self.bar.set_length(total);
        }
        self.bar.set_style(style(total));
    }

    fn line(&self, kind: ObjectKind) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let per_second = rate(self.done, seconds);
        match self.total {
            Some(total) if per_second > 0.0 => {
                let left = total.saturating_sub(self.done) as f64 / per_second;
                format!(
                    "{}: {}/{total} ({per_second:.0}/s, ETA {left:.0} s)",
                    kind.label(),
                    self.done
                )
            }
            _ => format!("{}: {} ({per_second:.0}/s)", kind.label(), self.done),
        }
    }
}

/// A bar with the count, rate and ETA when the total is known; a spinner otherwise.
fn style(total: Option<u64>) -> ProgressStyle {
    let template = match total {
        Some(_) => "{prefix:>13} [{bar:32}] {human_pos:>9}/{human_len:<9} {rate:>9}  ETA {eta}",
        None => "{prefix:>13} {spinner} {human_pos:>9} {rate:>9}",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", |state: &ProgressState, w: &mut dyn fmt::Write| {
            // Ignoring a formatter error: the worst case is a blank rate on the bar.
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ")
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}
