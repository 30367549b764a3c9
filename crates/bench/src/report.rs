//! The results table: every figure with its limit and the ratio, in markdown.

use std::fmt::Write;
use std::time::Duration;

use crate::limits::Limit;
use crate::load::RunResult;

/// The endpoint a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    /// `GET /api/v1/health`: the HTTP layer and the generator alone.
    Health,
    /// `GET /api/v1/auth/me/` with a distinct valid token per user.
    Me,
    /// `GET /api/v1/auth/verify` (forward auth) with the same tokens: the same token check
    /// and user lookup, answered in headers.
    Verify,
    /// Signed `user.updated` deliveries, each applied.
    Delivery,
    /// `GET /clerk/v1/users/{user_id}` (Clerk's Backend API read) of seeded users in a
    /// scattered order, with the secret key.
    ClerkUser,
    /// `GET /clerk/v1/users?email_address=…` of a seeded user's address: the filtered list.
    ClerkUsersByEmail,
}

impl Endpoint {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "GET /health",
            Self::Me => "GET /me",
            Self::Verify => "GET /verify",
            Self::Delivery => "POST webhook",
            Self::ClerkUser => "GET /clerk/v1/users/{id}",
            Self::ClerkUsersByEmail => "GET /clerk/v1/users?email_address=",
        }
    }
}

/// One backend, workload and concurrency level: its runs and its limit's runs.
pub struct Row {
    /// "SQLite" or "PostgreSQL".
    pub backend: &'static str,
    /// The workload.
    pub endpoint: Endpoint,
    /// Open connections.
    pub concurrency: usize,
    /// The server's runs.
    pub runs: Vec<RunResult>,
    /// The 1-minute load average before each run.
    pub loadavg: Vec<String>,
    /// The server's peak RSS after the runs, KiB.
    pub peak_rss_kib: u64,
    /// The limit's runs.
    pub limits: Vec<Limit>,
    /// The 1-minute load average before each limit run.
    pub limit_loadavg: Vec<String>,
    /// How the limit was measured.
    pub limit_label: String,
    /// The naive sync's runs (deliveries only: one upsert per transaction, `naive`).
    pub naive: Vec<Limit>,
    /// The 1-minute load average before each naive run.
    pub naive_loadavg: Vec<String>,
}

impl Row {
    /// A row without runs.
    pub fn new(backend: &'static str, endpoint: Endpoint, concurrency: usize) -> Self {
        Self {
            backend,
            endpoint,
            concurrency,
            runs: Vec::new(),
            loadavg: Vec::new(),
            peak_rss_kib: 0,
            limits: Vec::new(),
            limit_loadavg: Vec::new(),
            limit_label: String::new(),
            naive: Vec::new(),
            naive_loadavg: Vec::new(),
        }
    }

    /// The run with the median rate, and the best rate.
    fn median_and_best(&self) -> Option<(&RunResult, f64)> {
        let mut sorted: Vec<&RunResult> = self.runs.iter().collect();
        sorted.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        let median = sorted.get(sorted.len() / 2)?;
        let best = sorted.last()?.rate();
        Some((median, best))
    }
}

/// The median and the best of `limits`' rates.
fn median_and_best(limits: &[Limit]) -> Option<(f64, f64)> {
    let mut rates: Vec<f64> = limits.iter().map(|limit| limit.rate).collect();
    rates.sort_by(f64::total_cmp);
    Some((*rates.get(rates.len() / 2)?, *rates.last()?))
}

/// `median (best)` of `limits` and the ratio `rate / median`; dashes without limits.
fn against(limits: &[Limit], rate: f64) -> (String, String) {
    match median_and_best(limits) {
        Some((median, best)) => (
            format!("{median:.0} ({best:.0})"),
            format!("{:.0}%", 100.0 * rate / median.max(1e-9)),
        ),
        None => ("–".to_owned(), "–".to_owned()),
    }
}

/// Start-up measurements.
pub struct Startup {
    /// Spawn to the first 200 of `/api/v1/health`, per start.
    pub ready: Vec<Duration>,
    /// RSS half a second after ready, KiB, per start.
    pub idle_rss: Vec<u64>,
}

/// The whole report.
pub fn markdown(rows: &[Row], startup: &Startup, duration: u64, repeat: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Runs of {duration} s; figures are the median of {repeat} run(s) (best in parentheses); latency of the median run; the ratio is median / median of the limit; deliveries are also put next to the naive sync (one upsert per transaction), ratio to naive the same way.\n"
    );
    let _ = writeln!(
        out,
        "| backend | workload | conc. | req/s (best) | p50 ms | p99 ms | max ms | errors | server CPU | client CPU | peak RSS MiB | loadavg | limit | limit /s (best) | ratio | naive upsert /s (best) | ratio to naive |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|"
    );
    for row in rows {
        let Some((median, best)) = row.median_and_best() else {
            continue;
        };
        let seconds = median.elapsed.as_secs_f64().max(1e-9);
        let errors: u64 = row.runs.iter().map(|run| run.errors).sum();
        let (limit, ratio) = against(&row.limits, median.rate());
        let (naive, naive_ratio) = against(&row.naive, median.rate());
        let mut loadavg = row.loadavg.join("/");
        if !row.limit_loadavg.is_empty() {
            let _ = write!(loadavg, "; limit {}", row.limit_loadavg.join("/"));
        }
        if !row.naive_loadavg.is_empty() {
            let _ = write!(loadavg, "; naive {}", row.naive_loadavg.join("/"));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} ({:.0}) | {:.2} | {:.2} | {:.2} | {} | {:.0}% | {:.0}% | {:.1} | {} | {} | {} | {} | {} | {} |",
            row.backend,
            row.endpoint.name(),
            row.concurrency,
            median.rate(),
            best,
            median.percentile_ms(50),
            median.percentile_ms(99),
            median.max_ms(),
            errors,
            100.0 * median.server_cpu.as_secs_f64() / seconds,
            100.0 * median.client_cpu.as_secs_f64() / seconds,
            row.peak_rss_kib as f64 / 1024.0,
            loadavg,
            if row.limit_label.is_empty() {
                "–"
            } else {
                &row.limit_label
            },
            limit,
            ratio,
            naive,
            naive_ratio,
        );
    }
    let mut ready: Vec<f64> = startup
        .ready
        .iter()
        .map(|ready| ready.as_secs_f64() * 1000.0)
        .collect();
    ready.sort_by(f64::total_cmp);
    let mut idle: Vec<u64> = startup.idle_rss.clone();
    idle.sort_unstable();
    if let (Some(first), Some(median), Some(idle_median)) = (
        ready.first(),
        ready.get(ready.len() / 2),
        idle.get(idle.len() / 2),
    ) {
        let _ = writeln!(
            out,
            "\nStart-up on a fresh SQLite file (spawn → first 200 of /api/v1/health), {} starts: best {first:.1} ms, median {median:.1} ms; idle RSS {:.1} MiB (median).",
            ready.len(),
            *idle_median as f64 / 1024.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ok: u64) -> RunResult {
        RunResult {
            ok,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latencies_us: vec![1_000, 2_000],
            client_cpu: Duration::ZERO,
            server_cpu: Duration::ZERO,
            first_error: None,
        }
    }

    fn cells(line: &str) -> Vec<&str> {
        line.trim_matches('|').split('|').map(str::trim).collect()
    }

    #[test]
    fn deliveries_are_put_next_to_the_limit_and_to_the_naive_sync() {
        let mut delivery = Row::new("PostgreSQL", Endpoint::Delivery, 32);
        delivery.runs = vec![run(900), run(1_000), run(1_100)];
        delivery.limits = vec![Limit { rate: 2_000.0 }, Limit { rate: 2_500.0 }];
        delivery.naive = vec![
            Limit { rate: 3_000.0 },
            Limit { rate: 4_000.0 },
            Limit { rate: 5_000.0 },
        ];
        delivery.naive_loadavg = vec!["1.50".to_owned()];
        let mut health = Row::new("PostgreSQL", Endpoint::Health, 32);
        health.runs = vec![run(10_000)];
        let startup = Startup {
            ready: Vec::new(),
            idle_rss: Vec::new(),
        };
        let table = markdown(&[delivery, health], &startup, 1, 3);
        let lines: Vec<&str> = table.lines().filter(|line| line.starts_with('|')).collect();
        let header = cells(lines[0]);
        assert!(lines.iter().all(|line| cells(line).len() == header.len()));
        let column = |row: &str, name: &str| {
            let at = header.iter().position(|cell| *cell == name);
            at.map(|at| cells(row)[at].to_owned()).unwrap_or_default()
        };
        let delivery = lines[2];
        assert_eq!(column(delivery, "req/s (best)"), "1000 (1100)");
        assert_eq!(column(delivery, "limit /s (best)"), "2500 (2500)");
        assert_eq!(column(delivery, "ratio"), "40%");
        assert_eq!(column(delivery, "naive upsert /s (best)"), "4000 (5000)");
        assert_eq!(column(delivery, "ratio to naive"), "25%");
        assert!(column(delivery, "loadavg").ends_with("; naive 1.50"));
        let health = lines[3];
        assert_eq!(column(health, "naive upsert /s (best)"), "–");
        assert_eq!(column(health, "ratio to naive"), "–");
    }
}
