//! Runs every case and signing vector of `tests/fixtures/verification_cases.json` (described in
//! `tests/fixtures/README.md`) and asserts the exact outcome of each.

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::fs;

use clerk_sync_svix::{
    HeaderKind, Headers, VerifiedMessage, Verifier, WebhookError, WebhookSecret,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    tolerance_seconds: u64,
    outcomes: HashMap<String, String>,
    signing_vectors: Vec<SigningVector>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct SigningVector {
    secret: String,
    msg_id: String,
    timestamp: u64,
    body: Option<String>,
    body_repeat: Option<BodyRepeat>,
    signature: String,
}

#[derive(Deserialize)]
struct BodyRepeat {
    char: char,
    count: usize,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    secret: String,
    headers: HashMap<String, String>,
    body: String,
    now: u64,
    expected: String,
    expected_header: Option<String>,
}

fn load() -> Result<Fixture, Box<dyn Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/verification_cases.json"
    );
    Ok(serde_json::from_str(&fs::read_to_string(path)?)?)
}

/// The fixture's name for an outcome: `expected`, plus `expected_header` for a missing header.
/// Each error variant maps to exactly one name.
fn outcome(result: &Result<VerifiedMessage, WebhookError>) -> (&'static str, Option<&'static str>) {
    match result {
        Ok(_) => ("ok", None),
        Err(WebhookError::MissingHeader(kind)) => (
            "missing_header",
            Some(match kind {
                HeaderKind::Id => "id",
                HeaderKind::Timestamp => "timestamp",
                HeaderKind::Signature => "signature",
            }),
        ),
        Err(WebhookError::InvalidTimestamp) => ("invalid_timestamp", None),
        Err(WebhookError::TimestampTooOld) => ("timestamp_too_old", None),
        Err(WebhookError::TimestampTooNew) => ("timestamp_too_new", None),
        Err(WebhookError::InvalidSignature) => ("invalid_signature", None),
        Err(WebhookError::InvalidSecret) => ("invalid_secret", None),
        Err(WebhookError::EmptySecret) => ("empty_secret", None),
    }
}

fn run(case: &Case, tolerance_seconds: u64) -> Result<VerifiedMessage, WebhookError> {
    // The secret is loaded before any header is read, as the fixture requires.
    let verifier = Verifier::new(WebhookSecret::parse(&case.secret)?)
        .with_tolerance(std::time::Duration::from_secs(tolerance_seconds));
    verifier.verify_at(case.body.as_bytes(), &case.headers, case.now)
}

#[test]
fn every_verification_case_has_its_expected_outcome() -> Result<(), Box<dyn Error>> {
    let fixture = load()?;
    assert!(!fixture.cases.is_empty());
    let mut failures = Vec::new();
    for case in &fixture.cases {
        let result = run(case, fixture.tolerance_seconds);
        let got = outcome(&result);
        let expected = (case.expected.as_str(), case.expected_header.as_deref());
        if got != expected {
            failures.push(format!(
                "{}: expected {expected:?}, got {got:?} ({result:?})",
                case.name
            ));
        } else if let Ok(message) = &result {
            // On success the returned id and timestamp are the headers' values.
            let header = |kind: HeaderKind| {
                Headers::get(&case.headers, kind.svix_name())
                    .or_else(|| Headers::get(&case.headers, kind.unbranded_name()))
            };
            let timestamp = message.timestamp.to_string();
            if header(HeaderKind::Id) != Some(&message.id)
                || header(HeaderKind::Timestamp) != Some(&timestamp)
            {
                failures.push(format!(
                    "{}: verified message {message:?} does not echo the headers",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        fixture.cases.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn fixture_exercises_every_outcome() -> Result<(), Box<dyn Error>> {
    let fixture = load()?;
    let declared: BTreeSet<&str> = fixture.outcomes.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = fixture.cases.iter().map(|c| c.expected.as_str()).collect();
    assert_eq!(
        declared, expected,
        "every declared outcome should be expected by some case"
    );
    let headers: BTreeSet<&str> = fixture
        .cases
        .iter()
        .filter_map(|c| c.expected_header.as_deref())
        .collect();
    assert_eq!(headers, BTreeSet::from(["id", "signature", "timestamp"]));
    Ok(())
}

#[test]
fn every_signing_vector_matches() -> Result<(), Box<dyn Error>> {
    let fixture = load()?;
    assert!(!fixture.signing_vectors.is_empty());
    let mut failures = Vec::new();
    for (index, vector) in fixture.signing_vectors.iter().enumerate() {
        let body = match (&vector.body, &vector.body_repeat) {
            (Some(body), None) => body.clone(),
            (None, Some(repeat)) => repeat.char.to_string().repeat(repeat.count),
            _ => {
                return Err(format!(
                    "signing vector {index}: needs exactly one of body, body_repeat"
                )
                .into());
            }
        };
        let name = format!(
            "signing vector {index} ({}, {} body bytes)",
            vector.msg_id,
            body.len()
        );
        let secret = WebhookSecret::parse(&vector.secret)?;
        let signature = secret.sign(&vector.msg_id, vector.timestamp, body.as_bytes());
        if signature != vector.signature {
            failures.push(format!(
                "{name}: expected {}, got {signature}",
                vector.signature
            ));
            continue;
        }
        // What we sign, we also accept.
        let headers = secret.signed_headers(&vector.msg_id, vector.timestamp, body.as_bytes());
        if let Err(error) =
            Verifier::new(secret).verify_at(body.as_bytes(), &headers, vector.timestamp)
        {
            failures.push(format!("{name}: signed but not verified: {error:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
