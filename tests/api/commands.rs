//! The command line: `check-config` and the sources it names, `.env` from the working
//! directory only, `dev send`'s event types, and README's table of the commands.

use clerk_sync_persistence::testing::TestDatabase;

use crate::binary::*;
use crate::common::free_port;
use crate::readme;

#[test]
fn check_config_prints_the_effective_settings_without_secrets() {
    let bin = Binary::new("check");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let output = bin.run(
        &["check-config"],
        &[
            ("CLERK_WEBHOOK_SIGNING_SECRET", secret),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/clerk"),
            ("PORT", "9001"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("port = 9001") && text.contains("url = \"postgres://app:***@db:5432/clerk\""),
        "{text}"
    );
    assert!(
        text.contains("CLERK_WEBHOOK_SIGNING_SECRET = \"<set, redacted>\"")
            && text.contains("CLERK_JWT_PUBLIC_KEY = \"<not set>\""),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "{text}"
    );
    let bad = bin.run(&["check-config"], &[("CLERK_JWT_PUBLIC_KEY", "not a key")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("CLERK_JWT_PUBLIC_KEY: not an RSA public key in PEM format"),
        "{}",
        stderr(&bad)
    );
}

/// The `# Effective configuration` header lines of `check-config`: the sources it names.
fn sources(check_config: &str) -> Vec<String> {
    check_config
        .lines()
        .take_while(|line| line.starts_with('#'))
        .skip(1)
        .map(|line| line.trim_start_matches('#').trim().to_owned())
        .collect()
}

#[test]
fn check_config_names_every_variable_it_read() {
    let bin = Binary::new("check-sources");
    let output = bin.run(
        &["check-config"],
        &[
            ("PORT", "9002"),
            ("CLERK_ISSUER", "https://clerk.example.test"),
            (
                "CLERK_JWKS_URL",
                "https://clerk.example.test/.well-known/jwks.json",
            ),
            ("CLERK_AUTHORIZED_PARTIES", "http://localhost:3000"),
            ("CLERK_JWT_LEEWAY_SECONDS", "7"),
            (
                "CLERK_WEBHOOK_SIGNING_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            ("CLERK_DEV_UNRELATED", "not a setting"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let sources = sources(&stdout(&output));
    let environment = sources
        .iter()
        .find_map(|s| s.strip_prefix("environment (")?.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no environment source in {sources:?}"));
    let mut named: Vec<&str> = environment.split(", ").collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "CLERK_AUTHORIZED_PARTIES",
            "CLERK_ISSUER",
            "CLERK_JWKS_URL",
            "CLERK_JWT_LEEWAY_SECONDS",
            "CLERK_WEBHOOK_SIGNING_SECRET",
            "PORT"
        ],
        "{sources:?}"
    );
    assert!(
        !sources.iter().any(|s| s.contains(".env")),
        "no .env was read: {sources:?}"
    );
}

/// `.env` is read from the working directory only: one in a parent folder (a home directory,
/// another checkout) must not configure the server behind the user's back.
#[test]
fn a_dotenv_file_is_read_only_from_the_working_directory() {
    let bin = Binary::new("dotenv");
    let project = bin.dir.join("project");
    std::fs::create_dir_all(&project).expect("a project folder");
    std::fs::write(
        bin.dir.join(".env"),
        "PORT=9311\nCLERK_WEBHOOK_SIGNING_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .expect("a parent's .env");
    let output = bin.run_in(&project, &["check-config"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("port = 8000")
            && text.contains("CLERK_WEBHOOK_SIGNING_SECRET = \"<not set>\""),
        "the parent folder's .env was read:\n{text}"
    );
    assert_eq!(sources(&text), ["config/default.toml (built in)"], "{text}");

    std::fs::write(project.join(".env"), "PORT=9312\nCLERK_DEV_UNRELATED=1\n").expect(".env");
    let output = bin.run_in(
        &project,
        &["check-config"],
        &[("CLERK_ISSUER", "https://clerk.example.test")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("port = 9312"), "{text}");
    let dotenv = project.join(".env");
    assert_eq!(
        sources(&text),
        [
            "config/default.toml (built in)".to_owned(),
            format!("{} (PORT)", dotenv.display()),
            "environment (CLERK_ISSUER)".to_owned(),
        ],
        "{text}"
    );
    let output = bin.run_in(&project, &["check-config"], &[("PORT", "9313")]);
    let text = stdout(&output);
    assert!(
        text.contains("port = 9313"),
        "the environment wins over .env:\n{text}"
    );
    assert_eq!(
        sources(&text)[1..],
        [
            format!("{} (read, but no setting came from it)", dotenv.display()),
            "environment (PORT)".to_owned(),
        ],
        "{text}"
    );
}

#[test]
fn dev_send_lists_the_event_types_and_refuses_others_unless_raw() {
    use clerk_sync_persistence::schema::webhook_events;
    use diesel::prelude::*;

    let bin = Binary::new("send-types");
    let help = bin.run(&["dev", "send", "--help"], &[]);
    let text = stdout(&help);
    for event_type in clerk_sync_domain::HANDLED_EVENT_TYPES {
        assert!(
            text.contains(event_type),
            "--help lacks {event_type}:\n{text}"
        );
    }
    assert!(
        text.contains("--raw-type") && text.contains("--print-id"),
        "{text}"
    );

    let db = TestDatabase::sqlite().expect("db");
    let url = db.url_string();
    assert!(bin.run(&["dev", "init"], &[]).status.success());
    let port = free_port();
    let port_text = port.to_string();
    let env = [("PORT", port_text.as_str()), ("DATABASE_URL", url.as_str())];
    let server = bin.spawn_server(port, &env);
    wait_until_ready(port);
    let refused = bin.run(&["dev", "send", "foo.bar"], &env);
    let recorded = |conn: &mut clerk_sync_persistence::DbConnection| -> Vec<(String, String)> {
        webhook_events::table
            .select((webhook_events::event_type, webhook_events::outcome))
            .load(conn)
            .expect("the webhook log")
    };
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("`foo.bar` is not one of the event types clerk-sync handles")
            && stderr(&refused).contains("--raw-type"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(recorded(&mut conn), [], "nothing was sent");

    let sent = bin.run(
        &["dev", "send", "foo.bar", "--raw-type", "--print-id"],
        &env,
    );
    stop(server);
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(
        stdout(&sent).trim().starts_with("msg_"),
        "{}",
        stdout(&sent)
    );
    assert_eq!(
        recorded(&mut conn),
        [("foo.bar".to_owned(), "ignored".to_owned())]
    );
}

/// The leaf commands of `clerk-sync … --help` (those without subcommands of their own).
fn leaf_commands(bin: &Binary, path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let help = stdout(&bin.run(&args, &[]));
    let Some(list) = help.split("Commands:\n").nth(1) else {
        return vec![path.join(" ")];
    };
    list.lines()
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .flat_map(|name| {
            let mut sub = path.to_vec();
            sub.push(name);
            leaf_commands(bin, &sub)
        })
        .collect()
}

#[test]
fn readmes_commands_table_lists_every_command() {
    let bin = Binary::new("commands");
    let commands = leaf_commands(&bin, &[]);
    assert!(commands.len() > 10, "{commands:?}");
    let table = readme::section("Commands");
    for command in commands {
        assert!(
            table.contains(&format!("| `clerk-sync {command}"))
                || table.contains(&format!(", `clerk-sync {command}")),
            "README's Commands table lacks `clerk-sync {command}`"
        );
    }
    assert!(table.contains("config/$CLERK_SYNC_ENV.toml"));
}

#[test]
fn dev_token_says_when_the_mirror_cannot_give_the_slug_and_takes_org_slug() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let bin = Binary::new("token-slug");
    assert!(bin.run(&["dev", "init"], &[]).status.success());
    let args = ["dev", "token", "--user", "user_2abc", "--org", "org_2def"];
    let unknown = bin.run(&args, &[]);
    assert!(unknown.status.success(), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("does not exist yet")
            && stderr(&unknown).contains("pass --org-slug"),
        "{}",
        stderr(&unknown)
    );
    let given = bin.run(&[&args[..], &["--org-slug", "acme"]].concat(), &[]);
    assert!(
        given.status.success() && stderr(&given).is_empty(),
        "{}",
        stderr(&given)
    );
    let payload = stdout(&given)
        .trim()
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    assert_eq!(claims["o"]["slg"], "acme", "{claims}");
}
