//! What `/proc` says about a process: CPU time and memory, and the machine's load.

use std::time::Duration;

use anyhow::{Context, bail};

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`): 100 on every Linux that matters.
const TICKS_PER_SECOND: u64 = 100;

/// CPU time (user + system) the process has used so far; `pid` `None` is this process.
///
/// # Errors
/// When `/proc` cannot be read (not Linux, or the process is gone).
pub fn cpu_time(pid: Option<u32>) -> anyhow::Result<Duration> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |pid| format!("/proc/{pid}/stat"),
    );
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do
    // not. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = after_name.split_whitespace().skip(11);
    let mut next = || -> anyhow::Result<u64> {
        fields
            .next()
            .and_then(|field| field.parse().ok())
            .with_context(|| format!("unexpected format of {path}"))
    };
    let ticks = next()? + next()?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// Memory of a process, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most it was ever resident (`VmHWM`).
    pub peak_kib: u64,
}

/// The memory figures of `/proc/<pid>/status`.
///
/// # Errors
/// When `/proc` cannot be read or lacks the fields.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss_kib), Some(peak_kib)) => Ok(Memory { rss_kib, peak_kib }),
        _ => bail!("{path} has no VmRSS/VmHWM"),
    }
}

/// The 1-minute load average, as `/proc/loadavg` states it; "?" when unreadable.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
