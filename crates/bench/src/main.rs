//! `clerk-sync-bench`: loads the real clerk-sync binary on SQLite and on PostgreSQL and puts
//! each figure next to what the database alone achieves for the same work (see the README).

mod limits;
mod load;
mod naive;
mod procfs;
mod report;
mod server;
mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, ValueEnum};
use clerk_sync_persistence::{
    ConnectionManager, DatabaseUrl, DbConnection, PostgresOptions, SqliteOptions, SqliteSynchronous,
};
use diesel::connection::SimpleConnection;

use crate::load::{RunResult, Stop, Workload};
use crate::report::{Row, Startup};
use crate::server::{Server, ServerConfig};
use crate::workload::{ClerkReads, Deliveries, Health, Me, email};

/// Loads clerk-sync and its database and prints one results table (markdown).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Which backends to load.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendChoice,
    /// Users seeded through the webhook (one session token each).
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Seconds each measured run lasts.
    #[arg(long, default_value_t = 3)]
    duration: u64,
    /// Runs per figure; the table shows the best and the median.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Concurrency levels (open connections; pgbench clients).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    concurrency: Vec<usize>,
    /// The clerk-sync binary (default: the one next to this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// A PostgreSQL database whose user may create databases; the benchmark creates its own.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// The pgbench binary.
    #[arg(long, default_value = "pgbench")]
    pgbench: PathBuf,
    /// The server's `[database] sqlite_synchronous` (and the bare loop's); `full` is the
    /// server's default.
    #[arg(long, value_enum, default_value = "full")]
    sqlite_synchronous: Synchronous,
    /// The server's `[database] pool_size` (default: the server's own default).
    #[arg(long)]
    pool_size: Option<u32>,
    /// The server's `[webhooks] postgres_writers` (default: the server's own default).
    #[arg(long)]
    postgres_writers: Option<usize>,
    /// The most pgbench clients (PostgreSQL's `max_connections` is shared).
    #[arg(long, default_value_t = 64)]
    pgbench_max_clients: usize,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Which workloads to run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "health,me,verify,delivery,clerk-user,clerk-users-by-email"
    )]
    workloads: Vec<report::Endpoint>,
    /// Times the server is started on a fresh SQLite file to measure start-up.
    #[arg(long, default_value_t = 5)]
    startup_runs: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    fn sqlite(self) -> SqliteSynchronous {
        match self {
            Self::Full => SqliteSynchronous::Full,
            Self::Normal => SqliteSynchronous::Normal,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }
}

/// What every phase needs.
struct Bench {
    args: Args,
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
    binary: PathBuf,
    public_key: String,
    me: Arc<Me>,
    verify: Arc<Me>,
    clerk_user: Arc<ClerkReads>,
    clerk_users_by_email: Arc<ClerkReads>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.users > 0 && args.repeat > 0,
        "--users and --repeat must be positive"
    );
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => server::sibling_binary()?,
    };
    let (private_key, public_key) = server::test_keys(&repository)?;
    let dir = std::env::temp_dir().join(format!("clerk-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    eprintln!("minting {} session tokens…", args.users);
    let me = Arc::new(Me::new(&private_key, args.users)?);
    let verify = Arc::new(me.to_verify());
    let clerk_user = Arc::new(ClerkReads::user(args.users));
    let clerk_users_by_email = Arc::new(ClerkReads::users_by_email(args.users));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    let bench = Bench {
        args,
        runtime,
        dir,
        binary,
        public_key,
        me,
        verify,
        clerk_user,
        clerk_users_by_email,
    };
    let result = bench.run_all();
    drop(std::fs::remove_dir_all(&bench.dir));
    result
}

impl Bench {
    fn run_all(&self) -> anyhow::Result<()> {
        let startup = self.startup()?;
        let mut rows = Vec::new();
        if self.args.backend != BackendChoice::Postgres {
            rows.extend(self.sqlite()?);
        }
        if self.args.backend != BackendChoice::Sqlite {
            rows.extend(self.postgres()?);
        }
        println!(
            "{}",
            report::markdown(&rows, &startup, self.args.duration, self.args.repeat)
        );
        Ok(())
    }

    fn server_config(&self, database_url: String) -> ServerConfig {
        let mut database_settings = vec![format!(
            "sqlite_synchronous = \"{}\"",
            self.args.sqlite_synchronous.name()
        )];
        if let Some(size) = self.args.pool_size {
            database_settings.push(format!("pool_size = {size}"));
        }
        let webhooks_settings = self
            .args
            .postgres_writers
            .iter()
            .map(|writers| format!("postgres_writers = {writers}"))
            .collect();
        ServerConfig {
            binary: self.binary.clone(),
            dir: self.dir.clone(),
            database_url,
            public_key: self.public_key.clone(),
            database_settings,
            webhooks_settings,
        }
    }

    /// Start-up to ready and idle memory, on fresh SQLite files.
    fn startup(&self) -> anyhow::Result<Startup> {
        let mut ready = Vec::new();
        let mut idle_rss = Vec::new();
        for run in 0..self.args.startup_runs {
            let file = self.dir.join(format!("startup-{run}.sqlite3"));
            let server = Server::start(&self.server_config(sqlite_url(&file)))?;
            ready.push(server.ready_after);
            std::thread::sleep(Duration::from_millis(500));
            idle_rss.push(procfs::memory(server.pid())?.rss_kib);
        }
        Ok(Startup { ready, idle_rss })
    }

    fn sqlite(&self) -> anyhow::Result<Vec<Row>> {
        let file = self.dir.join("bench.sqlite3");
        let deliveries = Arc::new(Deliveries::new(self.args.users)?);
        let mut rows = self.load_server("SQLite", &sqlite_url(&file), &deliveries)?;
        let synchronous = self.args.sqlite_synchronous.sqlite();
        let duration = Duration::from_secs(self.args.duration);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let ids = limits::seeded_ids(self.args.users)?;
        let addresses: Vec<String> = (0..self.args.users).map(email).collect();
        let me = |conn: &mut _, i: usize| limits::me(conn, &ids[i]);
        let clerk_user = |conn: &mut _, i: usize| limits::clerk_user(conn, &ids[i]);
        let by_email = |conn: &mut _, i: usize| limits::clerk_users_by_email(conn, &addresses[i]);
        for row in rows
            .iter_mut()
            .filter(|row| row.endpoint != report::Endpoint::Health)
        {
            let threads = row.concurrency.min(cores);
            let read: Option<&limits::Read<'_>> = match row.endpoint {
                report::Endpoint::Me | report::Endpoint::Verify => Some(&me),
                report::Endpoint::ClerkUser => Some(&clerk_user),
                report::Endpoint::ClerkUsersByEmail => Some(&by_email),
                report::Endpoint::Delivery | report::Endpoint::Health => None,
            };
            for _ in 0..self.args.repeat {
                let loadavg = procfs::loadavg();
                let limit = match read {
                    Some(read) => {
                        let users = self.args.users;
                        limits::sqlite_reads(&file, synchronous, users, threads, duration, read)?
                    }
                    None => limits::sqlite_deliveries(&file, synchronous, &deliveries, duration)?,
                };
                row.limit_loadavg.push(loadavg);
                row.limits.push(limit);
            }
            row.limit_label = match row.endpoint {
                report::Endpoint::Delivery => "bare loop, 1 writer".to_owned(),
                _ => format!("bare loop, {threads} thread(s)"),
            };
        }
        self.sqlite_naive(&file, &deliveries, &mut rows)?;
        Ok(rows)
    }

    /// The naive sync's upserts next to each delivery row: a bare loop on one writer.
    fn sqlite_naive(
        &self,
        file: &Path,
        deliveries: &Deliveries,
        rows: &mut [Row],
    ) -> anyhow::Result<()> {
        let mut delivery_rows = rows
            .iter_mut()
            .filter(|row| row.endpoint == report::Endpoint::Delivery)
            .peekable();
        if delivery_rows.peek().is_none() {
            return Ok(());
        }
        let synchronous = self.args.sqlite_synchronous.sqlite();
        let image = image_url(deliveries)?;
        let mut conn = limits::sqlite_connection(file, synchronous)?;
        naive::create_and_seed(&mut conn, self.args.users, &image)?;
        drop(conn);
        let duration = Duration::from_secs(self.args.duration);
        for row in delivery_rows {
            for _ in 0..self.args.repeat {
                row.naive_loadavg.push(procfs::loadavg());
                let naive =
                    naive::sqlite_upserts(file, synchronous, self.args.users, &image, duration)?;
                row.naive.push(naive);
            }
        }
        Ok(())
    }

    fn postgres(&self) -> anyhow::Result<Vec<Row>> {
        let name = format!("clerk_sync_bench_{}", std::process::id());
        let admin = ConnectionManager::new(
            DatabaseUrl::parse(&self.args.postgres_url)?,
            SqliteOptions::default(),
            PostgresOptions::default(),
        );
        admin
            .open()?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .context("cannot create the benchmark's database")?;
        let url = database_in(&self.args.postgres_url, &name);
        let result = self.postgres_in(&url);
        if let Err(err) = admin
            .open()
            .and_then(|mut conn| Ok(conn.batch_execute(&format!("DROP DATABASE {name}"))?))
        {
            eprintln!("could not drop the database {name}: {err}");
        }
        result
    }

    fn postgres_in(&self, url: &str) -> anyhow::Result<Vec<Row>> {
        let deliveries = Arc::new(Deliveries::new(self.args.users)?);
        let mut rows = self.load_server(POSTGRES, url, &deliveries)?;
        let scripts = limits::write_scripts(&self.dir)?;
        let naive_script = naive::write_script(&self.dir)?;
        let (_, _, payload) = deliveries.next();
        let image = image_url(&deliveries)?;
        if rows
            .iter()
            .any(|row| row.endpoint == report::Endpoint::Delivery)
        {
            naive::create_and_seed(&mut open_postgres(url)?, self.args.users, &image)?;
        }
        // The user as the delivery carries it: what the server stores as its `clerk_object`.
        let object = serde_json::from_str::<serde_json::Value>(&payload)?["data"].to_string();
        let variables = [
            ("users", self.args.users.to_string()),
            ("payload", payload),
            ("image", image),
            ("object", object),
        ];
        let duration = Duration::from_secs(self.args.duration);
        for row in &mut rows {
            let script = match row.endpoint {
                report::Endpoint::Me | report::Endpoint::Verify => &scripts.me,
                report::Endpoint::Delivery => &scripts.delivery,
                report::Endpoint::ClerkUser => &scripts.clerk_user,
                report::Endpoint::ClerkUsersByEmail => &scripts.clerk_users_by_email,
                report::Endpoint::Health => continue,
            };
            // PostgreSQL's connection limit (100 by default, shared with everything else on
            // the server) caps the clients; the server itself holds at most its pool's size.
            let clients = row.concurrency.min(self.args.pgbench_max_clients);
            for _ in 0..self.args.repeat {
                let loadavg = procfs::loadavg();
                match limits::pgbench(
                    &self.args.pgbench,
                    url,
                    script,
                    &variables,
                    clients,
                    duration,
                ) {
                    Ok(limit) => {
                        row.limit_loadavg.push(loadavg);
                        row.limits.push(limit);
                    }
                    Err(err) => eprintln!("pgbench at {clients} clients failed: {err}"),
                }
            }
            row.limit_label = format!("pgbench, same SQL, {clients} clients, {}", script.protocol);
            if row.endpoint != report::Endpoint::Delivery {
                continue;
            }
            for _ in 0..self.args.repeat {
                let loadavg = procfs::loadavg();
                match limits::pgbench(
                    &self.args.pgbench,
                    url,
                    &naive_script,
                    &variables,
                    clients,
                    duration,
                ) {
                    Ok(naive) => {
                        row.naive_loadavg.push(loadavg);
                        row.naive.push(naive);
                    }
                    Err(err) => eprintln!("naive pgbench at {clients} clients failed: {err}"),
                }
            }
        }
        Ok(rows)
    }

    /// Starts the server on `url`, seeds the users, and measures every phase at every level.
    fn load_server(
        &self,
        backend: &'static str,
        url: &str,
        deliveries: &Arc<Deliveries>,
    ) -> anyhow::Result<Vec<Row>> {
        let server = Server::start(&self.server_config(url.to_owned()))?;
        eprintln!("{backend}: seeding {} users…", self.args.users);
        let seeding = self.measure(
            &server,
            32,
            Stop::Count(self.args.users as u64),
            Arc::clone(deliveries) as Arc<dyn Workload>,
        )?;
        ensure!(
            seeding.errors == 0,
            "seeding failed: {}",
            seeding.first_error.unwrap_or_default()
        );
        eprintln!(
            "{backend}: seeded at {:.0} users/s (32 connections)",
            seeding.rate()
        );
        if backend == POSTGRES {
            // As autovacuum would soon after a bulk load (this machine's PostgreSQL runs
            // without it), and as pgbench does after its own: without statistics the planner
            // takes the freshly filled tables for empty and scans them whole.
            open_postgres(url)?
                .batch_execute("VACUUM ANALYZE")
                .context("VACUUM ANALYZE after seeding")?;
        }
        deliveries.switch_to_updates();
        deliveries.check()?;
        let duration = Stop::After(Duration::from_secs(self.args.duration));
        let mut rows = Vec::new();
        for &endpoint in &self.args.workloads {
            for &concurrency in &self.args.concurrency {
                let workload: Arc<dyn Workload> = match endpoint {
                    report::Endpoint::Health => Arc::new(Health),
                    report::Endpoint::Me => Arc::clone(&self.me) as Arc<dyn Workload>,
                    report::Endpoint::Verify => Arc::clone(&self.verify) as Arc<dyn Workload>,
                    report::Endpoint::Delivery => Arc::clone(deliveries) as Arc<dyn Workload>,
                    report::Endpoint::ClerkUser => {
                        Arc::clone(&self.clerk_user) as Arc<dyn Workload>
                    }
                    report::Endpoint::ClerkUsersByEmail => {
                        Arc::clone(&self.clerk_users_by_email) as Arc<dyn Workload>
                    }
                };
                let mut row = Row::new(backend, endpoint, concurrency);
                let repeat = if endpoint == report::Endpoint::Health {
                    1
                } else {
                    self.args.repeat
                };
                for _ in 0..repeat {
                    let loadavg = procfs::loadavg();
                    let run =
                        self.measure(&server, concurrency, duration, Arc::clone(&workload))?;
                    eprintln!(
                        "{backend} {} c={concurrency}: {:.0}/s p99 {:.2} ms, errors {}{}",
                        endpoint.name(),
                        run.rate(),
                        run.percentile_ms(99),
                        run.errors,
                        run.first_error
                            .as_deref()
                            .map(|err| format!(" ({err})"))
                            .unwrap_or_default()
                    );
                    row.loadavg.push(loadavg);
                    row.runs.push(run);
                }
                row.peak_rss_kib = procfs::memory(server.pid())?.peak_kib;
                rows.push(row);
            }
        }
        Ok(rows)
    }

    fn measure(
        &self,
        server: &Server,
        concurrency: usize,
        stop: Stop,
        workload: Arc<dyn Workload>,
    ) -> anyhow::Result<RunResult> {
        load::run(
            &self.runtime,
            server.addr,
            concurrency,
            stop,
            workload,
            server.pid(),
        )
    }
}

/// The profile image URL of the deliveries' users.
fn image_url(deliveries: &Deliveries) -> anyhow::Result<String> {
    let (_, _, body) = deliveries.next();
    Ok(
        serde_json::from_str::<serde_json::Value>(&body)?["data"]["image_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The name `load_server` knows PostgreSQL by.
const POSTGRES: &str = "PostgreSQL";

/// A connection to the PostgreSQL database at `url`.
fn open_postgres(url: &str) -> anyhow::Result<DbConnection> {
    Ok(ConnectionManager::new(
        DatabaseUrl::parse(url)?,
        SqliteOptions::default(),
        PostgresOptions::default(),
    )
    .open()?)
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// `url` with its database name replaced by `name`.
fn database_in(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            database_in("postgres://postgres@127.0.0.1:5432/postgres", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            database_in("postgres://u@h/db?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(database_in("postgres://u@h", "b"), "postgres://u@h/b");
    }
}
