//! The real `clerk-sync` binary, as a user runs it: a clean environment, a working directory
//! of its own, servers started on a free port and stopped with SIGTERM by their pid.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `clerk-sync` binary, with a clean environment and a working directory of its own.
pub struct Binary {
    pub dir: PathBuf,
}

impl Binary {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("clerk-sync-ops-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a working directory");
        Self { dir }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-sync"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        command
    }

    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        command.output().expect("the binary runs")
    }

    /// As [`Binary::run`], in `dir` (a folder under this one) as the working directory.
    pub fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.current_dir(dir).envs(env.iter().copied());
        command.output().expect("the binary runs")
    }

    pub fn spawn_server(&self, port: u16, env: &[(&str, &str)]) -> Child {
        let port = port.to_string();
        let mut env = env.to_vec();
        env.push(("PORT", &port));
        self.spawn(&["serve"], &env)
    }

    /// Starts the binary with `args` (none: the default command, `serve`), logs on a pipe.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut command = self.command(args);
        command
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().expect("the server starts")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn http_get(port: u16, path: &str, token: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    response
}

pub fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http_get(port, "/api/v1/ready", None).starts_with("HTTP/1.1 200")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server on port {port} did not become ready");
}

pub fn stop(child: Child) -> String {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let output = child.wait_with_output().expect("the server exits");
    String::from_utf8_lossy(&output.stderr).into_owned()
}
