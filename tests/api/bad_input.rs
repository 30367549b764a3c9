//! The bad-input catalogue: malformed requests to the webhook endpoint and to the API, each with
//! the answer it must get and what it may write, on SQLite and on PostgreSQL.
//!
//! A webhook request that is not validly signed is answered 400 `Invalid webhook signature` and
//! writes nothing. A signed delivery that cannot be applied is answered 400 with a reason that
//! names the field (never quoting its value), and is recorded in the webhook log as `rejected`,
//! payload included, writing nothing else. API requests with bad ids, query strings or tokens
//! are answered 4xx and write nothing.
//!
//! Not repeated here, because other tests cover them: `webhooks.rs` (a wrong signature, a
//! missing id or signature header, no headers, a tampered body, stale and future timestamps,
//! truncated JSON, `updated_at` as a string, a 2 MiB body) and `attacks.rs` (every forged,
//! stretched or misused session token).

use clerk_sync_persistence::webhook_events;
use clerk_sync_svix::WebhookSecret;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::common::*;

const ADA: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
const ORG: &str = "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB";
const LIMIT: usize = 1024 * 1024;
const SIGNATURE: &str = "Invalid webhook signature";

/// What a case may leave in the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    /// Nothing at all.
    Nothing,
    /// One webhook log row, outcome `rejected`, with the answer's detail as its error and the
    /// payload kept; nothing else.
    Rejected,
    /// One webhook log row with this outcome (cases that show which of two values counts).
    Logged(&'static str),
}

enum Request {
    /// The body, signed now under a message id of its own.
    Signed(Vec<u8>),
    /// A POST to the webhook endpoint with exactly these headers.
    Webhook(Vec<(&'static str, HeaderValue)>, Vec<u8>),
    /// A request to another route, with these headers.
    Api(Method, String, Vec<(&'static str, HeaderValue)>),
}

struct Case {
    name: String,
    request: Request,
    status: u16,
    /// A part of the answer's `detail` (for a 200, its `outcome`).
    detail: String,
    writes: Writes,
}

fn case(name: &str, request: Request, status: u16, detail: &str, writes: Writes) -> Case {
    Case {
        name: name.to_owned(),
        request,
        status,
        detail: detail.to_owned(),
        writes,
    }
}

/// A signed delivery that cannot be applied: 400, the reason, a `rejected` log row.
fn rejected(name: &str, body: Vec<u8>, detail: &str) -> Case {
    case(name, Request::Signed(body), 400, detail, Writes::Rejected)
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("a valid header value")
}

fn secret() -> WebhookSecret {
    WebhookSecret::parse(SIGNING_SECRET).expect("the test secret")
}

fn now() -> u64 {
    u64::try_from(unix_now()).expect("a positive clock")
}

/// The three Svix headers of `body` signed now under `id`.
fn signed_headers(id: &str, body: &[u8]) -> Vec<(&'static str, HeaderValue)> {
    secret()
        .signed_headers(id, now(), body)
        .into_iter()
        .map(|(name, value)| (name, header(&value)))
        .collect()
}

/// The fixture of `event_type` with the value at `pointer` replaced (or added to its parent).
fn set(event_type: &str, pointer: &str, value: Value) -> Vec<u8> {
    let mut event = event_fixture(event_type);
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let parent = if parent.is_empty() {
        &mut event
    } else {
        event
            .pointer_mut(parent)
            .expect("the fixture has the parent")
    };
    parent
        .as_object_mut()
        .expect("an object")
        .insert(key.to_owned(), value);
    event.to_string().into_bytes()
}

/// The fixture of `event_type` without the field at `pointer`.
fn remove(event_type: &str, pointer: &str) -> Vec<u8> {
    let mut event = event_fixture(event_type);
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let parent = if parent.is_empty() {
        &mut event
    } else {
        event
            .pointer_mut(parent)
            .expect("the fixture has the parent")
    };
    parent.as_object_mut().expect("an object").remove(key);
    event.to_string().into_bytes()
}

/// Text of `len` bytes that compresses badly (PostgreSQL compresses long index entries, so
/// only such text shows an index's size limit).
fn noise(len: usize) -> String {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char::from(b'a' + u8::try_from(state % 26).expect("below 26"))
        })
        .collect()
}

/// A user.created body padded with spaces to exactly `len` bytes.
fn padded_user(id: &str, len: usize) -> Vec<u8> {
    let mut body = set("user.created", "/data/id", json!(id));
    body.truncate(body.len() - 1);
    body.resize(len - 1, b' ');
    body.push(b'}');
    body
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn webhook_cases() -> Vec<Case> {
    let user_body = event_fixture("user.created").to_string().into_bytes();
    let user_json = event_fixture("user.created");
    let mut cases = vec![
        // Headers: missing, empty, duplicated, oversized. (A missing id or signature and no
        // headers at all: webhooks.rs.)
        case(
            "svix-timestamp missing",
            Request::Webhook(
                signed_headers("msg_h1", &user_body)
                    .into_iter()
                    .filter(|(name, _)| *name != "svix-timestamp")
                    .collect(),
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        case(
            "svix-signature empty",
            Request::Webhook(
                vec![
                    ("svix-id", header("msg_h2")),
                    ("svix-timestamp", header(&now().to_string())),
                    ("svix-signature", header("")),
                ],
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        case(
            "svix-id empty, signed as such",
            Request::Webhook(signed_headers("", &user_body), user_body.clone()),
            400,
            "The svix-id header must hold 1 to 256 characters",
            Writes::Nothing,
        ),
        case(
            "svix-id of 257 characters, signed as such",
            Request::Webhook(
                signed_headers(&format!("msg_{}", noise(253)), &user_body),
                user_body.clone(),
            ),
            400,
            "The svix-id header must hold 1 to 256 characters",
            Writes::Nothing,
        ),
        case(
            "svix-id of 4000 characters, signed as such",
            Request::Webhook(
                signed_headers(&format!("msg_{}", noise(3996)), &user_body),
                user_body.clone(),
            ),
            400,
            "The svix-id header must hold 1 to 256 characters",
            Writes::Nothing,
        ),
        case(
            "svix-signature of 16 KiB",
            Request::Webhook(
                vec![
                    ("svix-id", header("msg_h3")),
                    ("svix-timestamp", header(&now().to_string())),
                    (
                        "svix-signature",
                        header(&format!("v1,{}", noise(16 * 1024))),
                    ),
                ],
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        case(
            "svix-timestamp of 40 digits",
            Request::Webhook(
                vec![
                    ("svix-id", header("msg_h4")),
                    ("svix-timestamp", header(&"9".repeat(40))),
                    ("svix-signature", header("v1,x")),
                ],
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        case(
            "svix-id with bytes that are not ASCII",
            Request::Webhook(
                {
                    let mut headers = signed_headers("msg_h5", &user_body);
                    headers[0].1 = HeaderValue::from_bytes(b"msg_\xff").expect("obs-text");
                    headers
                },
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        case(
            "svix-signature twice, the first wrong: the first counts",
            Request::Webhook(
                {
                    let mut headers = vec![("svix-signature", header("v1,d3Jvbmc="))];
                    headers.extend(signed_headers("msg_h6", &user_body));
                    headers
                },
                user_body.clone(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        {
            let body = set("user.created", "/data/id", json!("user_dupid"));
            let mut headers = signed_headers("msg_h7", &body);
            headers.push(("svix-id", header("msg_h7_other")));
            case(
                "svix-id twice, the first signed: the first counts",
                Request::Webhook(headers, body),
                200,
                "applied",
                Writes::Logged("applied"),
            )
        },
        {
            let body = set("user.created", "/data/id", json!("user_bothnames"));
            let mut headers = signed_headers("msg_h8", &body);
            headers.push(("webhook-id", header("msg_h8_unbranded")));
            case(
                "webhook-id beside svix-id: svix-id counts",
                Request::Webhook(headers, body),
                200,
                "applied",
                Writes::Logged("applied"),
            )
        },
        // Bodies: size, encoding, nesting, syntax.
        case(
            "body of exactly the limit",
            Request::Signed(padded_user("user_atlimit", LIMIT)),
            200,
            "applied",
            Writes::Logged("applied"),
        ),
        case(
            "body one byte over the limit",
            Request::Signed(padded_user("user_overlimit", LIMIT + 1)),
            413,
            "Request body is larger than the limit of 1048576 bytes",
            Writes::Nothing,
        ),
        case(
            "body not UTF-8, unsigned",
            Request::Webhook(
                vec![
                    ("svix-id", header("msg_b1")),
                    ("svix-timestamp", header(&now().to_string())),
                    ("svix-signature", header("v1,x")),
                ],
                b"\xff\xfe{}".to_vec(),
            ),
            400,
            SIGNATURE,
            Writes::Nothing,
        ),
        rejected(
            "body not UTF-8 inside a string",
            b"{\"type\":\"user.created\",\"data\":{\"id\":\"user_\xff\"}}".to_vec(),
            "malformed webhook event: invalid unicode code point",
        ),
        rejected(
            "body not UTF-8 outside strings",
            b"\xff\xfe\x00{}".to_vec(),
            "malformed webhook event: expected value",
        ),
        rejected(
            "body with a raw NUL byte",
            b"{\"type\":\"user.created\",\x00\"data\":{}}".to_vec(),
            "malformed webhook event: key must be a string",
        ),
        rejected(
            "empty body",
            Vec::new(),
            "malformed webhook event: EOF while parsing",
        ),
        rejected(
            "body that is a JSON array",
            b"[]".to_vec(),
            "malformed webhook event: invalid length, expected struct WireEnvelope",
        ),
        rejected(
            "10,000 levels of nesting",
            nested(10_000).into_bytes(),
            "malformed webhook event: `[0]`: invalid type, expected a string",
        ),
        rejected(
            "10,000 levels of nesting as data",
            format!(r#"{{"type":"user.created","data":{}}}"#, nested(10_000)).into_bytes(),
            "malformed user.created event: `data[0]`: invalid type, expected a string",
        ),
        case(
            "10,000 levels of nesting in a field the sync does not read: skipped",
            Request::Signed({
                let mut event = user_json.clone();
                event["data"]["id"] = json!("user_deep");
                event["data"]["email_addresses"] = json!([]);
                event["data"]["saml_accounts"] = json!("NEST");
                event
                    .to_string()
                    .replace("\"NEST\"", &nested(10_000))
                    .into_bytes()
            }),
            200,
            "applied",
            Writes::Logged("applied"),
        ),
        rejected(
            "10,000 levels of nesting in public_metadata",
            String::from_utf8(set("user.created", "/data/public_metadata", json!("NEST")))
                .expect("UTF-8")
                .replace("\"NEST\"", &nested(10_000))
                .into_bytes(),
            "malformed user.created event: `data.public_metadata`: invalid type, expected a JSON object",
        ),
        rejected(
            "metadata that is not an object",
            set("user.created", "/data/public_metadata", json!(["plan"])),
            "malformed user.created event: `data.public_metadata`: invalid type, expected a JSON object",
        ),
        rejected(
            "metadata with a NUL character, which PostgreSQL's jsonb cannot store",
            set(
                "user.created",
                "/data/unsafe_metadata",
                json!({"name": "a\u{0}b"}),
            ),
            "malformed user.created event: `data.unsafe_metadata`: invalid value, expected JSON without NUL characters",
        ),
        rejected(
            "a NUL character in a field the sync does not otherwise read, kept in the object",
            set("user.created", "/data/locale", json!("a\u{0}b")),
            "malformed user.created event: `data`: invalid JSON: expected one JSON value without NUL characters",
        ),
        rejected(
            "10,000 levels of nesting in first_name",
            String::from_utf8(set("user.created", "/data/first_name", json!("NEST")))
                .expect("UTF-8")
                .replace("\"NEST\"", &nested(10_000))
                .into_bytes(),
            "malformed user.created event: `data.first_name`: invalid type, expected a string",
        ),
        rejected(
            "10,000 levels of nesting in email_addresses",
            String::from_utf8(set("user.created", "/data/email_addresses", json!("NEST")))
                .expect("UTF-8")
                .replace("\"NEST\"", &nested(10_000))
                .into_bytes(),
            "malformed user.created event: `data.email_addresses[0][0]`: invalid type, expected a string",
        ),
        case(
            "10,000 levels of nesting as the data of a type not handled: not read",
            Request::Signed(
                format!(r#"{{"type":"session.created","data":{}}}"#, nested(10_000)).into_bytes(),
            ),
            200,
            "ignored",
            Writes::Logged("ignored"),
        ),
        rejected(
            "a duplicated key",
            br#"{"type":"user.created","type":"user.deleted","data":{}}"#.to_vec(),
            "malformed webhook event: duplicate field `type`",
        ),
        rejected(
            "truncated inside a string",
            user_body[..40].to_vec(),
            "malformed webhook event: EOF while parsing a string",
        ),
        rejected(
            "trailing characters after the JSON",
            [user_body.as_slice(), b"}"].concat(),
            "malformed webhook event: trailing characters",
        ),
        // The envelope.
        rejected(
            "type missing",
            remove("user.created", "/type"),
            "malformed webhook event: missing field `type`",
        ),
        rejected(
            "type a number",
            set("user.created", "/type", json!(7)),
            "malformed webhook event: `type`: invalid type, expected a string",
        ),
        rejected(
            "type null",
            set("user.created", "/type", Value::Null),
            "malformed webhook event: `type`: invalid type, expected a string",
        ),
        rejected(
            "type empty",
            set("user.created", "/type", json!("")),
            "`type` must be 1 to 128 printable ASCII characters",
        ),
        rejected(
            "type of 129 characters",
            set("user.created", "/type", json!("u".repeat(129))),
            "`type` must be 1 to 128 printable ASCII characters",
        ),
        rejected(
            "type with a NUL character",
            set("user.created", "/type", json!("user.created\u{0}")),
            "`type` must be 1 to 128 printable ASCII characters",
        ),
        rejected(
            "type with a space",
            set("user.created", "/type", json!("user created")),
            "`type` must be 1 to 128 printable ASCII characters",
        ),
        rejected(
            "data missing",
            remove("user.created", "/data"),
            "malformed webhook event: missing field `data`",
        ),
        rejected(
            "data null",
            set("user.created", "/data", Value::Null),
            "malformed user.created event: `data`: invalid type, expected struct WireUser",
        ),
        rejected(
            "data a string",
            set("organization.created", "/data", json!("org")),
            "malformed organization.created event: `data`: invalid type, expected struct WireOrganization",
        ),
        rejected(
            "timestamp a string",
            set("user.created", "/timestamp", json!("1736942401268")),
            "malformed webhook event: `timestamp`: invalid type, expected i64",
        ),
        rejected(
            "timestamp negative",
            set("user.deleted", "/timestamp", json!(-1)),
            "malformed webhook event: `timestamp`: invalid value, expected Unix milliseconds from 0 to 253402300799999",
        ),
        rejected(
            "timestamp past the year 9999",
            set("user.deleted", "/timestamp", json!(253_402_300_800_000_i64)),
            "malformed webhook event: `timestamp`: invalid value, expected Unix milliseconds",
        ),
        rejected(
            "timestamp beyond i64",
            br#"{"type":"user.deleted","data":{"id":"user_1"},"timestamp":9223372036854775808}"#
                .to_vec(),
            "malformed webhook event: `timestamp`: invalid value, expected i64",
        ),
        rejected(
            "timestamp a fraction",
            set("user.deleted", "/timestamp", json!(1.5)),
            "malformed webhook event: `timestamp`: invalid type, expected i64",
        ),
        // user.created / user.updated: every field the sync reads.
        rejected(
            "user id missing",
            remove("user.created", "/data/id"),
            "malformed user.created event: `data`: missing field `id`",
        ),
        rejected(
            "user id a number",
            set("user.created", "/data/id", json!(12)),
            "malformed user.created event: `data.id`: invalid type, expected a string",
        ),
        rejected(
            "user id of another kind",
            set("user.created", "/data/id", json!(ORG)),
            "malformed user.created event: `data.id`: invalid user id",
        ),
        rejected(
            "user id of 129 characters",
            set(
                "user.created",
                "/data/id",
                json!(format!("user_{}", noise(124))),
            ),
            "malformed user.created event: `data.id`: invalid user id",
        ),
        rejected(
            "user id with a slash",
            set("user.created", "/data/id", json!("user_../../x")),
            "malformed user.created event: `data.id`: invalid user id",
        ),
        rejected(
            "email_addresses an object",
            set(
                "user.created",
                "/data/email_addresses",
                json!({"id": "idn_1"}),
            ),
            "malformed user.created event: `data.email_addresses`: invalid type, expected a sequence",
        ),
        rejected(
            "email_addresses a string",
            set(
                "user.created",
                "/data/email_addresses",
                json!("ada@example.com"),
            ),
            "malformed user.created event: `data.email_addresses`: invalid type, expected a sequence",
        ),
        rejected(
            "email_addresses holding a number",
            set("user.created", "/data/email_addresses", json!([1])),
            "malformed user.created event: `data.email_addresses[0]`: invalid type, expected struct WireEmail",
        ),
        rejected(
            "an email entry without email_address",
            set(
                "user.created",
                "/data/email_addresses",
                json!([{"id": "idn_1"}]),
            ),
            "malformed user.created event: `data.email_addresses[0]`: missing field `email_address`",
        ),
        rejected(
            "email_address a number",
            set(
                "user.created",
                "/data/email_addresses",
                json!([{"id": "idn_1", "email_address": 5}]),
            ),
            "malformed user.created event: `data.email_addresses[0].email_address`: invalid type, expected a string",
        ),
        rejected(
            "the primary email_address not an address",
            {
                let mut event = user_json.clone();
                event["data"]["email_addresses"][0]["email_address"] = json!("ada at example");
                event.to_string().into_bytes()
            },
            "malformed user.created event: `data.email_addresses[0].email_address`: invalid email address",
        ),
        rejected(
            "an email's verification a string",
            set(
                "user.created",
                "/data/email_addresses/0/verification",
                json!("verified"),
            ),
            "malformed user.created event: `data.email_addresses[0].verification`: invalid type, expected struct WireVerification",
        ),
        rejected(
            "an email's verification status a number",
            set(
                "user.created",
                "/data/email_addresses/0/verification/status",
                json!(1),
            ),
            "malformed user.created event: `data.email_addresses[0].verification.status`: invalid type, expected a string",
        ),
        rejected(
            "banned a string",
            set("user.created", "/data/banned", json!("no")),
            "malformed user.created event: `data.banned`: invalid type, expected a boolean",
        ),
        rejected(
            "external_id a number",
            set("user.created", "/data/external_id", json!(42)),
            "malformed user.created event: `data.external_id`: invalid type, expected a string",
        ),
        rejected(
            "external_id with a NUL character",
            set("user.created", "/data/external_id", json!("4\u{0}2")),
            "malformed user.created event: `data.external_id`: invalid value, expected text without NUL characters",
        ),
        rejected(
            "primary_email_address_id a number",
            set("user.created", "/data/primary_email_address_id", json!(1)),
            "malformed user.created event: `data.primary_email_address_id`: invalid type, expected a string",
        ),
        rejected(
            "first_name a number",
            set("user.created", "/data/first_name", json!(1)),
            "malformed user.created event: `data.first_name`: invalid type, expected a string",
        ),
        rejected(
            "first_name with a NUL character",
            set("user.created", "/data/first_name", json!("A\u{0}da")),
            "malformed user.created event: `data.first_name`: invalid value, expected text without NUL characters",
        ),
        rejected(
            "first_name of 1025 bytes",
            set("user.created", "/data/first_name", json!(noise(1025))),
            "malformed user.created event: `data.first_name`: invalid length, expected text of at most 1024 bytes",
        ),
        rejected(
            "first_name of 3000 bytes",
            set("user.created", "/data/first_name", json!(noise(3000))),
            "malformed user.created event: `data.first_name`: invalid length, expected text of at most 1024 bytes",
        ),
        case(
            "first_name of 1024 bytes is stored",
            Request::Signed({
                let mut event = user_json.clone();
                event["data"]["id"] = json!("user_longname");
                event["data"]["first_name"] = json!(noise(1024));
                event["data"]["last_name"] = json!(noise(1024).to_uppercase());
                event["data"]["email_addresses"] = json!([]);
                event.to_string().into_bytes()
            }),
            200,
            "applied",
            Writes::Logged("applied"),
        ),
        rejected(
            "last_name an array",
            set("user.updated", "/data/last_name", json!(["Lovelace"])),
            "malformed user.updated event: `data.last_name`: invalid type, expected a string",
        ),
        rejected(
            "image_url a number",
            set("user.updated", "/data/image_url", json!(3)),
            "malformed user.updated event: `data.image_url`: invalid type, expected a string",
        ),
        rejected(
            "image_url with a NUL character",
            set("user.updated", "/data/image_url", json!("https://img\u{0}")),
            "malformed user.updated event: `data.image_url`: invalid value, expected text without NUL characters",
        ),
        rejected(
            "updated_at missing",
            remove("user.updated", "/data/updated_at"),
            "malformed user.updated event: `data`: missing field `updated_at`",
        ),
        rejected(
            "updated_at null",
            set("user.updated", "/data/updated_at", Value::Null),
            "malformed user.updated event: `data.updated_at`: invalid type, expected i64",
        ),
        rejected(
            "updated_at negative",
            set("user.updated", "/data/updated_at", json!(-5)),
            "malformed user.updated event: `data.updated_at`: invalid value, expected Unix milliseconds from 0 to 253402300799999",
        ),
        rejected(
            "updated_at past the year 9999",
            set("user.updated", "/data/updated_at", json!(i64::MAX)),
            "malformed user.updated event: `data.updated_at`: invalid value, expected Unix milliseconds",
        ),
        rejected(
            "updated_at beyond i64",
            set("user.updated", "/data/updated_at", json!(u64::MAX)),
            "malformed user.updated event: `data.updated_at`: invalid value, expected i64",
        ),
        rejected(
            "updated_at beyond u64",
            set(
                "user.updated",
                "/data/updated_at",
                serde_json::from_str("1e30").expect("JSON"),
            ),
            "malformed user.updated event: `data.updated_at`: invalid type, expected i64",
        ),
        rejected(
            "updated_at a fraction",
            set(
                "user.updated",
                "/data/updated_at",
                json!(1_736_942_401_251.5),
            ),
            "malformed user.updated event: `data.updated_at`: invalid type, expected i64",
        ),
        case(
            "password_last_updated_at a string: not read, so not refused",
            Request::Signed({
                let mut event = user_json.clone();
                event["data"]["id"] = json!("user_createdat");
                event["data"]["password_last_updated_at"] = json!("yesterday");
                event["data"]["email_addresses"] = json!([]);
                event.to_string().into_bytes()
            }),
            200,
            "applied",
            Writes::Logged("applied"),
        ),
        rejected(
            "created_at a string: stored, so refused",
            set("user.created", "/data/created_at", json!("yesterday")),
            "malformed user.created event: `data.created_at`: invalid type, expected i64",
        ),
        rejected(
            "a phone number that is not text",
            set(
                "user.created",
                "/data/phone_numbers",
                json!([{"id": "idn_p", "phone_number": 5}]),
            ),
            "malformed user.created event: `data.phone_numbers[0].phone_number`: invalid type, expected a string",
        ),
        rejected(
            "a permission that is not text",
            set(
                "organizationMembership.created",
                "/data/permissions",
                json!([7]),
            ),
            "malformed organizationMembership.created event: `data.permissions[0]`: invalid type, expected a string",
        ),
        // user.deleted and organization.deleted.
        rejected(
            "deleted user id a number",
            set("user.deleted", "/data/id", json!(1)),
            "malformed user.deleted event: `data.id`: invalid type, expected a string",
        ),
        rejected(
            "deleted user id missing",
            remove("user.deleted", "/data/id"),
            "malformed user.deleted event: `data`: missing field `id`",
        ),
        rejected(
            "deleted organization id of another kind",
            set("organization.deleted", "/data/id", json!(ADA)),
            "malformed organization.deleted event: `data.id`: invalid organization id",
        ),
        // organization.created / organization.updated.
        rejected(
            "organization id of another kind",
            set("organization.created", "/data/id", json!(ADA)),
            "malformed organization.created event: `data.id`: invalid organization id",
        ),
        rejected(
            "organization name missing",
            remove("organization.created", "/data/name"),
            "malformed organization.created event: `data`: missing field `name`",
        ),
        rejected(
            "organization name null",
            set("organization.created", "/data/name", Value::Null),
            "malformed organization.created event: `data.name`: invalid type, expected a string",
        ),
        rejected(
            "organization name with a NUL character",
            set(
                "organization.created",
                "/data/name",
                json!("Analytical\u{0}"),
            ),
            "malformed organization.created event: `data.name`: invalid value, expected text without NUL characters",
        ),
        rejected(
            "organization name of 3000 bytes",
            set("organization.created", "/data/name", json!(noise(3000))),
            "malformed organization.created event: `data.name`: invalid length, expected text of at most 1024 bytes",
        ),
        rejected(
            "organization slug a number",
            set("organization.updated", "/data/slug", json!(5)),
            "malformed organization.updated event: `data.slug`: invalid type, expected a string",
        ),
        rejected(
            "organization slug of 3000 bytes",
            set("organization.updated", "/data/slug", json!(noise(3000))),
            "malformed organization.updated event: `data.slug`: invalid length, expected text of at most 1024 bytes",
        ),
        rejected(
            "organization image_url an object",
            set("organization.updated", "/data/image_url", json!({})),
            "malformed organization.updated event: `data.image_url`: invalid type, expected a string",
        ),
        rejected(
            "organization updated_at negative",
            set("organization.updated", "/data/updated_at", json!(-1)),
            "malformed organization.updated event: `data.updated_at`: invalid value, expected Unix milliseconds",
        ),
        // organizationMembership.created / .updated / .deleted.
        rejected(
            "membership id of another kind",
            set("organizationMembership.created", "/data/id", json!(ORG)),
            "malformed organizationMembership.created event: `data.id`: invalid organization membership id",
        ),
        rejected(
            "membership role a number",
            set("organizationMembership.created", "/data/role", json!(1)),
            "malformed organizationMembership.created event: `data.role`: invalid type, expected a string",
        ),
        rejected(
            "membership role empty",
            set("organizationMembership.created", "/data/role", json!("")),
            "malformed organizationMembership.created event: `data.role`: invalid role",
        ),
        rejected(
            "membership role with a space",
            set(
                "organizationMembership.updated",
                "/data/role",
                json!("org: admin"),
            ),
            "malformed organizationMembership.updated event: `data.role`: invalid role",
        ),
        rejected(
            "membership organization missing",
            remove("organizationMembership.created", "/data/organization"),
            "malformed organizationMembership.created event: `data`: missing field `organization`",
        ),
        rejected(
            "membership organization null",
            set(
                "organizationMembership.created",
                "/data/organization",
                Value::Null,
            ),
            "malformed organizationMembership.created event: `data.organization`: invalid type, expected struct WireOrganization",
        ),
        rejected(
            "membership organization id of another kind",
            set(
                "organizationMembership.created",
                "/data/organization/id",
                json!(ADA),
            ),
            "malformed organizationMembership.created event: `data.organization.id`: invalid organization id",
        ),
        rejected(
            "membership organization updated_at a string",
            set(
                "organizationMembership.created",
                "/data/organization/updated_at",
                json!("now"),
            ),
            "malformed organizationMembership.created event: `data.organization.updated_at`: invalid type, expected i64",
        ),
        rejected(
            "membership public_user_data missing",
            remove("organizationMembership.created", "/data/public_user_data"),
            "malformed organizationMembership.created event: `data`: missing field `public_user_data`",
        ),
        rejected(
            "membership public_user_data an array",
            set(
                "organizationMembership.created",
                "/data/public_user_data",
                json!([]),
            ),
            "malformed organizationMembership.created event: `data.public_user_data`: invalid length, expected struct WirePublicUserData",
        ),
        rejected(
            "membership user_id a number",
            set(
                "organizationMembership.created",
                "/data/public_user_data/user_id",
                json!(7),
            ),
            "malformed organizationMembership.created event: `data.public_user_data.user_id`: invalid type, expected a string",
        ),
        rejected(
            "membership user_id of another kind",
            set(
                "organizationMembership.created",
                "/data/public_user_data/user_id",
                json!(ORG),
            ),
            "malformed organizationMembership.created event: `data.public_user_data.user_id`: invalid user id",
        ),
        rejected(
            "membership member first_name with a NUL character",
            set(
                "organizationMembership.created",
                "/data/public_user_data/first_name",
                json!("\u{0}"),
            ),
            "malformed organizationMembership.created event: `data.public_user_data.first_name`: invalid value, expected text without NUL characters",
        ),
        rejected(
            "membership updated_at beyond i64",
            set(
                "organizationMembership.updated",
                "/data/updated_at",
                serde_json::from_str("99999999999999999999").expect("JSON"),
            ),
            "malformed organizationMembership.updated event: `data.updated_at`: invalid type, expected i64",
        ),
        rejected(
            "a deleted membership with its role missing",
            remove("organizationMembership.deleted", "/data/role"),
            "malformed organizationMembership.deleted event: `data`: missing field `role`",
        ),
    ];
    // Each Svix header missing in turn, whatever else is right (id and signature:
    // webhooks.rs); the unbranded names are refused alike when empty.
    cases.push(case(
        "webhook-timestamp empty",
        Request::Webhook(
            vec![
                ("webhook-id", header("msg_h9")),
                ("webhook-timestamp", header("")),
                ("webhook-signature", header("v1,x")),
            ],
            user_body,
        ),
        400,
        SIGNATURE,
        Writes::Nothing,
    ));
    cases
}

fn api_cases(token: &str) -> Vec<Case> {
    let bearer = || vec![("authorization", header(&format!("Bearer {token}")))];
    let get = |path: &str, headers| Request::Api(Method::GET, path.to_owned(), headers);
    let members = |org_id: &str| format!("/api/v1/organizations/{org_id}/members/");
    let not_found = "Organization not found";
    let no_token = "Not authenticated: send the Clerk session token";
    vec![
        case(
            "organization id of another kind",
            get(&members(ADA), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id of a prefix only",
            get(&members("org_"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id with an encoded space",
            get(&members("org_a%20b"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id with an encoded NUL",
            get(&members("org_a%00"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id with bad percent-encoding",
            get(&members("org_%zz"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id with encoded non-UTF-8",
            get(&members("org_%ff%fe"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id of 4000 characters",
            get(&members(&format!("org_{}", noise(3996))), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "organization id unknown",
            get(&members("org_unknown"), bearer()),
            404,
            not_found,
            Writes::Nothing,
        ),
        case(
            "a query string on a route that takes none",
            get("/api/v1/auth/me/?id=1&id=2&%zz=%ff&&=", bearer()),
            200,
            "",
            Writes::Nothing,
        ),
        case(
            "a query string of 4000 characters",
            get(
                &format!("/api/v1/auth/me/organizations/?q={}", noise(4000)),
                bearer(),
            ),
            200,
            "",
            Writes::Nothing,
        ),
        case(
            "Authorization with bytes that are not ASCII",
            get(
                "/api/v1/auth/me/",
                vec![(
                    "authorization",
                    HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("obs-text"),
                )],
            ),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "Authorization with Basic credentials",
            get(
                "/api/v1/auth/me/",
                vec![("authorization", header("Basic YWRhOmxvdmVsYWNl"))],
            ),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "Authorization Bearer without a token",
            get(
                "/api/v1/auth/me/",
                vec![("authorization", header("Bearer    "))],
            ),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "an empty __session cookie",
            get("/api/v1/auth/me/", vec![("cookie", header("__session="))]),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "a __session cookie that cannot be read",
            get(
                "/api/v1/auth/me/",
                vec![("cookie", header("__session=%00%ff;;=="))],
            ),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "a bearer token that is not a token",
            get(
                &members(ORG),
                vec![("authorization", header("Bearer a.b.c"))],
            ),
            401,
            "Could not validate credentials: malformed token",
            Writes::Nothing,
        ),
        case(
            "the member list without a token",
            get(&members(ORG), Vec::new()),
            401,
            no_token,
            Writes::Nothing,
        ),
        case(
            "POST to a GET route",
            Request::Api(Method::POST, "/api/v1/auth/me/".to_owned(), bearer()),
            405,
            "Method Not Allowed",
            Writes::Nothing,
        ),
        case(
            "GET on the webhook endpoint",
            get("/api/v1/auth/clerk_webhook/", Vec::new()),
            405,
            "Method Not Allowed",
            Writes::Nothing,
        ),
        case(
            "an unknown route",
            get("/api/v1/users/../../etc/passwd", bearer()),
            404,
            "Not Found",
            Writes::Nothing,
        ),
    ]
}

const TABLES: [&str; 5] = [
    "users",
    "organizations",
    "organization_memberships",
    "tombstones",
    "webhook_events",
];

fn counts(server: &TestServer) -> Vec<i64> {
    TABLES.iter().map(|table| server.count(table)).collect()
}

/// Sends a case's request; returns the status, the answer's detail (or outcome), and the
/// message id it was delivered under, if any.
async fn send(
    server: &TestServer,
    index: usize,
    request: &Request,
) -> (u16, String, Option<String>) {
    let (builder, id) = match request {
        Request::Signed(body) => {
            let id = format!("msg_bad_{index}");
            let mut builder = server
                .client
                .post(server.url("/api/v1/auth/clerk_webhook/"))
                .body(body.clone());
            for (name, value) in signed_headers(&id, body) {
                builder = builder.header(name, value);
            }
            (builder, Some(id))
        }
        Request::Webhook(headers, body) => {
            let mut builder = server
                .client
                .post(server.url("/api/v1/auth/clerk_webhook/"))
                .body(body.clone());
            let mut id = None;
            for (name, value) in headers {
                if *name == "svix-id" && id.is_none() {
                    id = value.to_str().ok().map(str::to_owned);
                }
                builder = builder.header(*name, value.clone());
            }
            (builder, id)
        }
        Request::Api(method, path, headers) => {
            let mut builder = server.client.request(method.clone(), server.url(path));
            for (name, value) in headers {
                builder = builder.header(*name, value.clone());
            }
            (builder, None)
        }
    };
    let response = builder.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let detail = body["detail"]
        .as_str()
        .or(body["outcome"].as_str())
        .unwrap_or_default()
        .to_owned();
    (status, detail, id)
}

/// Runs every case and returns a line for each that answered or wrote otherwise.
async fn run(server: &TestServer, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let before = counts(server);
        let (status, detail, id) = send(server, index, &case.request).await;
        let after = counts(server);
        let mut wrong = Vec::new();
        if status != case.status || !detail.contains(&case.detail) {
            wrong.push(format!("answered {status} {detail:?}"));
        }
        let logged = match (&id, case.writes) {
            (Some(id), Writes::Rejected | Writes::Logged(_)) => {
                webhook_events::find(&mut server.conn(), id).expect("query")
            }
            _ => None,
        };
        let log_growth = after[4] - before[4];
        let mirror_unchanged = after[..4] == before[..4];
        match case.writes {
            Writes::Nothing if after != before => {
                wrong.push(format!("wrote {before:?} -> {after:?}"))
            }
            Writes::Rejected => {
                let row = logged.as_ref();
                let kept = row.is_some_and(|row| {
                    row.outcome == "rejected"
                        && row.error.as_deref() == Some(detail.as_str())
                        && row.payload.is_some()
                });
                if !kept || log_growth != 1 || !mirror_unchanged {
                    wrong.push(format!(
                        "not kept as rejected alone: {before:?} -> {after:?}, row {:?}",
                        row.map(|r| (&r.outcome, &r.error))
                    ));
                }
            }
            Writes::Logged(outcome) => {
                if logged.as_ref().map(|row| row.outcome.as_str()) != Some(outcome)
                    || log_growth != 1
                {
                    wrong.push(format!("not logged as {outcome}: {before:?} -> {after:?}"));
                }
            }
            Writes::Nothing => {}
        }
        // The fixture's name and address (`metadata` holds "ada" too: whole words only).
        let quoted = detail
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.eq_ignore_ascii_case("ada") || word.eq_ignore_ascii_case("lovelace"));
        if quoted {
            wrong.push("the detail quotes personal data".to_owned());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{:?} (want {} {:?}, {:?}): {}",
                case.name,
                case.status,
                case.detail,
                case.writes,
                wrong.join("; ")
            ));
        }
    }
    failures
}

async fn catalogue(server: TestServer) {
    // A synced user in a synced organization, so that API cases reach the database.
    for (i, event_type) in [
        "user.created",
        "organization.created",
        "organizationMembership.created",
    ]
    .iter()
    .enumerate()
    {
        let (status, outcome) = server
            .deliver_json(&format!("msg_setup_{i}"), &event_fixture(event_type))
            .await;
        assert_eq!((status, outcome.as_str()), (200, "applied"), "{event_type}");
    }
    let mut failures = run(&server, &webhook_cases()).await;
    failures.extend(run(&server, &api_cases(&token_for(ADA))).await);
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The server is still well after all of it.
    let (status, me) = server.get_as("/api/v1/auth/me/", &token_for(ADA)).await;
    assert_eq!((status, me["clerk_id"].as_str()), (200, Some(ADA)));
}

#[actix_web::test]
async fn sqlite() {
    catalogue(TestServer::sqlite().await).await;
}

#[actix_web::test]
async fn postgres() {
    if let Some(server) = TestServer::postgres().await {
        catalogue(server).await;
    }
}
