//! Black-box tests: the real `welcome-mailer` binary on a free port, real signed deliveries over
//! TCP, the real outbox file.

mod support;

use std::process::Command;

use support::{
    Mailer, SECRET, TempDir, TestResult, command, now, outbox_lines, user_created, user_event,
};

const ADA: &str = "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
const GRACE: &str = "user_2g7nqQx4B0qCXc5zZDn3rbkM6rd";

#[test]
fn a_signed_user_created_queues_one_welcome_mail() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;

    let answer = mailer.deliver("msg_1", &user_created(ADA, "Ada@Example.com", "Ada"))?;
    assert_eq!((answer.status, answer.text()), (200, "applied"));

    let lines = outbox_lines(&dir.outbox())?;
    assert_eq!(lines.len(), 1);
    let mail = &lines[0];
    assert_eq!(mail["message_id"], "msg_1");
    assert_eq!(mail["user_id"], ADA);
    assert_eq!(mail["to"], "ada@example.com");
    assert!(
        mail["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Hi Ada,"))
    );
    let raw = std::fs::read_to_string(dir.outbox())?;
    assert!(
        !raw.contains(&SECRET["whsec_".len()..]),
        "the mail holds no secret"
    );
    assert!(!raw.contains("v1,"), "the mail holds no signature");
    Ok(())
}

#[test]
fn a_retry_sends_nothing_twice_also_after_a_restart() -> TestResult {
    let dir = TempDir::new()?;
    let body = user_created(ADA, "ada@example.com", "Ada");
    let mailer = Mailer::start(&dir.outbox())?;
    assert_eq!(mailer.deliver("msg_ada", &body)?.text(), "applied");
    let retry = mailer.deliver("msg_ada", &body)?;
    assert_eq!((retry.status, retry.text()), (200, "duplicate"));
    assert_eq!(outbox_lines(&dir.outbox())?.len(), 1);

    // A crash-like stop: nothing but the file carries the record over.
    mailer.kill()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let retry = mailer.deliver("msg_ada", &body)?;
    assert_eq!((retry.status, retry.text()), (200, "duplicate"));
    // Another message about the same user (a replay from the dashboard) is no new welcome.
    assert_eq!(mailer.deliver("msg_ada_again", &body)?.text(), "duplicate");
    // A new user still gets one.
    let grace = user_created(GRACE, "grace@example.com", "Grace");
    assert_eq!(mailer.deliver("msg_grace", &grace)?.text(), "applied");

    let lines = outbox_lines(&dir.outbox())?;
    let ids: Vec<_> = lines.iter().map(|l| l["message_id"].clone()).collect();
    assert_eq!(ids, ["msg_ada", "msg_grace"]);
    Ok(())
}

#[test]
fn concurrent_retries_queue_one_mail() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let body = user_created(ADA, "ada@example.com", "Ada");
    let outcomes = std::thread::scope(|scope| {
        let sends: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let answer = mailer.deliver("msg_ada", &body);
                    answer
                        .map(|a| a.text().to_owned())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        sends
            .into_iter()
            .map(|send| send.join().map_err(|_| "a sender panicked".to_owned())?)
            .collect::<Result<Vec<_>, String>>()
    })?;
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        7,
        "{outcomes:?}"
    );
    assert_eq!(outbox_lines(&dir.outbox())?.len(), 1);
    Ok(())
}

/// What a refused delivery tries: a label, its headers, its body.
type Attempt<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);

#[test]
fn bad_signatures_are_refused_and_nothing_is_queued() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let body = user_created(ADA, "ada@example.com", "Ada");
    let now = now().to_string();

    let other_secret =
        clerk_sync_svix::WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
    let forged = other_secret.sign("msg_1", now.parse()?, body.as_bytes());
    let signed = clerk_sync_svix::WebhookSecret::parse(SECRET)?;
    let stale_at = now.parse::<u64>()? - 600;
    let stale = signed.sign("msg_1", stale_at, body.as_bytes());
    let good = signed.sign("msg_1", now.parse()?, body.as_bytes());
    let stale_at = stale_at.to_string();
    let attempts: [Attempt<'_>; 5] = [
        (
            "wrong secret",
            vec![
                ("svix-id", "msg_1"),
                ("svix-timestamp", &now),
                ("svix-signature", &forged),
            ],
            body.clone(),
        ),
        (
            "stale timestamp",
            vec![
                ("svix-id", "msg_1"),
                ("svix-timestamp", &stale_at),
                ("svix-signature", &stale),
            ],
            body.clone(),
        ),
        (
            "no signature",
            vec![("svix-id", "msg_1"), ("svix-timestamp", &now)],
            body.clone(),
        ),
        ("no headers", vec![], body.clone()),
        (
            "changed body",
            vec![
                ("svix-id", "msg_1"),
                ("svix-timestamp", &now),
                ("svix-signature", &good),
            ],
            body.replace("Ada", "Eve"),
        ),
    ];
    for (what, headers, body) in attempts {
        let answer = mailer.post("/webhooks/clerk", &headers, &body)?;
        assert_eq!(
            (answer.status, answer.text()),
            (400, "Invalid webhook signature"),
            "{what}"
        );
    }
    assert!(outbox_lines(&dir.outbox())?.is_empty());
    // The unbranded Standard Webhooks header names are accepted too.
    let unbranded = [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", now.as_str()),
        ("webhook-signature", good.as_str()),
    ];
    assert_eq!(
        mailer.post("/webhooks/clerk", &unbranded, &body)?.text(),
        "applied"
    );
    Ok(())
}

#[test]
fn a_signed_message_id_that_cannot_key_the_outbox_is_refused() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let body = user_created(ADA, "ada@example.com", "Ada");
    for id in [String::new(), format!("msg_{}", "x".repeat(253))] {
        let answer = mailer.deliver(&id, &body)?;
        assert_eq!(answer.status, 400, "{} characters", id.len());
        assert!(
            answer.text().contains("1 to 256 characters"),
            "{}",
            answer.text()
        );
    }
    assert!(outbox_lines(&dir.outbox())?.is_empty());
    // 256 characters is still a key.
    let longest = format!("msg_{}", "x".repeat(252));
    assert_eq!(mailer.deliver(&longest, &body)?.text(), "applied");
    Ok(())
}

#[test]
fn other_event_types_and_users_without_a_verified_address_are_acknowledged_without_mail()
-> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let session =
        r#"{"type":"session.created","object":"event","data":{"id":"sess_1","user_id":"x"}}"#;
    let future = r#"{"type":"billing.subscription.created","data":{}}"#;
    let updated = user_event("user.updated", ADA, Some("ada@example.com"), "Ada");
    let deleted = format!(r#"{{"type":"user.deleted","data":{{"id":"{ADA}","deleted":true}}}}"#);
    let phone_only = user_event("user.created", GRACE, None, "Grace");
    // Whoever typed in an unverified address has not shown that it is theirs: no mail to it.
    let unverified = user_created(GRACE, "grace@example.com", "Grace")
        .replace(r#""status":"verified""#, r#""status":"unverified""#);
    assert!(unverified.contains("unverified"));
    for (n, body) in [
        session,
        future,
        &updated,
        &deleted,
        &phone_only,
        &unverified,
    ]
    .into_iter()
    .enumerate()
    {
        let answer = mailer.deliver(&format!("msg_{n}"), body)?;
        assert_eq!((answer.status, answer.text()), (200, "ignored"), "{body}");
    }
    assert!(outbox_lines(&dir.outbox())?.is_empty());
    Ok(())
}

#[test]
fn a_signed_body_that_is_no_clerk_event_is_refused_with_the_reason() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    let body = user_created("usr_not_a_clerk_id", "ada@example.com", "Ada");
    for _ in 0..2 {
        let answer = mailer.deliver("msg_bad", &body)?;
        assert_eq!(answer.status, 400);
        assert!(answer.text().contains("`data.id`"), "{}", answer.text());
        assert!(
            !answer.text().contains("usr_not_a_clerk_id"),
            "the reason never echoes values"
        );
    }
    assert_eq!(mailer.deliver("msg_junk", "not json")?.status, 400);
    assert!(outbox_lines(&dir.outbox())?.is_empty());
    Ok(())
}

#[test]
fn an_incomplete_last_line_left_by_a_crash_is_cut_off_at_start() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    assert_eq!(
        mailer
            .deliver("msg_ada", &user_created(ADA, "ada@example.com", "Ada"))?
            .text(),
        "applied"
    );
    mailer.kill()?;
    // A crash in the middle of Grace's append: half a line, never acknowledged.
    let mut text = std::fs::read_to_string(dir.outbox())?;
    text.push_str(r#"{"message_id":"msg_grace","user_id":"user_2g7nq"#);
    std::fs::write(dir.outbox(), &text)?;

    let mailer = Mailer::start(&dir.outbox())?;
    let grace = user_created(GRACE, "grace@example.com", "Grace");
    assert_eq!(
        mailer.deliver("msg_grace", &grace)?.text(),
        "applied",
        "the retry is mailed"
    );
    assert_eq!(mailer.deliver("msg_grace", &grace)?.text(), "duplicate");
    let log = mailer.kill()?;
    assert!(
        log.contains("cut off an incomplete last outbox line"),
        "{log}"
    );
    let ids: Vec<_> = outbox_lines(&dir.outbox())?
        .iter()
        .map(|l| l["message_id"].clone())
        .collect();
    assert_eq!(ids, ["msg_ada", "msg_grace"]);
    Ok(())
}

#[test]
fn a_damaged_complete_line_stops_the_start_and_names_the_line() -> TestResult {
    let dir = TempDir::new()?;
    std::fs::write(
        dir.outbox(),
        "{\"message_id\":\"msg_1\",\"user_id\":\"user_1\"}\ngarbage\n",
    )?;
    let output = command(&dir.outbox()).output()?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2 of the outbox file"), "{stderr}");
    Ok(())
}

#[test]
fn a_second_mailer_on_the_same_outbox_is_refused() -> TestResult {
    let dir = TempDir::new()?;
    let _first = Mailer::start(&dir.outbox())?;
    let output = command(&dir.outbox()).output()?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another welcome-mailer already uses the outbox"),
        "{stderr}"
    );
    assert!(stderr.contains("WELCOME_MAILER_OUTBOX"), "{stderr}");
    Ok(())
}

#[test]
fn a_missing_or_bad_secret_stops_the_start_naming_the_variable() -> TestResult {
    let dir = TempDir::new()?;
    for secret in [None, Some("whsec_not base64!")] {
        let mut command = command(&dir.outbox());
        command.env_remove("CLERK_WEBHOOK_SIGNING_SECRET");
        if let Some(secret) = secret {
            command.env("CLERK_WEBHOOK_SIGNING_SECRET", secret);
        }
        let output = command.output()?;
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("CLERK_WEBHOOK_SIGNING_SECRET"), "{stderr}");
        assert!(
            !stderr.contains("not base64!"),
            "the secret is not echoed: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn the_log_holds_no_email_address_and_other_routes_answer_json() -> TestResult {
    let dir = TempDir::new()?;
    let mailer = Mailer::start(&dir.outbox())?;
    mailer.deliver(
        "msg_ada",
        &user_created(ADA, "ada.lovelace@example.com", "Ada"),
    )?;
    mailer.deliver(
        "msg_bad",
        &user_created(GRACE, "grace hopper@example.com", "Grace"),
    )?;
    let health = mailer.request("GET", "/health", &[], "")?;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    assert_eq!(
        mailer.request("GET", "/webhooks/clerk", &[], "")?.status,
        405
    );
    assert_eq!(mailer.request("POST", "/elsewhere", &[], "{}")?.status, 404);
    let log = mailer.kill()?;
    assert!(log.contains("msg_ada user.created applied"), "{log}");
    assert!(!log.contains("@example.com"), "{log}");
    Ok(())
}

/// The point of this crate: domain and svix are usable without clerk-sync's database and web
/// stack. `cargo tree` lists every crate the mailer builds with, dev-dependencies included.
#[test]
fn the_mailer_depends_on_no_database_or_actix_crate() -> TestResult {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--manifest-path",
            manifest,
            "-p",
            "clerk-sync-welcome-mailer",
        ])
        .args([
            "-e",
            "normal,build,dev",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo tree failed: {stderr}");
    let tree = String::from_utf8(output.stdout)?;
    let crates: std::collections::BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split(' ').next())
        .collect();
    for needed in ["clerk-sync-domain", "clerk-sync-svix", "tiny_http"] {
        assert!(crates.contains(needed), "{needed} missing from {crates:?}");
    }
    let forbidden = [
        "diesel",
        "actix",
        "r2d2",
        "pq-sys",
        "libpq",
        "libsqlite3-sys",
        "clerk-sync-persistence",
        "clerk-sync-http",
    ];
    let found: Vec<_> = crates
        .iter()
        .filter(|name| forbidden.iter().any(|f| name.starts_with(f)))
        .collect();
    assert!(found.is_empty(), "the mailer pulls in {found:?}");
    eprintln!("welcome-mailer builds with {} crates", crates.len());
    Ok(())
}
