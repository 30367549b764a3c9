#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the committed
fixtures: Clerk's event bodies (crates/domain/tests/fixtures/events) and the Svix verification
cases (crates/svix/tests/fixtures/verification_cases.json). Deterministic: run it again after
changing a fixture, and commit the result. The input formats are those documented in
fuzz/src/lib.rs.
"""

import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "crates/domain/tests/fixtures/events"
CASES = ROOT / "crates/svix/tests/fixtures/verification_cases.json"
CORPUS = ROOT / "fuzz/corpus"

# Placement bytes of fuzz/src/lib.rs: absent, svix-, webhook-, other case, both, duplicated.
ABSENT, SVIX, UNBRANDED, OTHER_CASE, BOTH, DUPLICATED = range(6)


def compact(body):
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def events():
    return {path.stem: json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))}


def text(value):
    data = value.encode() if isinstance(value, str) else value
    assert len(data) < 256, value
    return bytes([len(data)]) + data


def svix_input(sign, placements, offset, msg_id, timestamp, signature, decoy, body):
    header = bytes([1 if sign else 0, *placements, offset & 0xFF])
    return header + text(msg_id) + text(timestamp) + text(signature) + text(decoy) + body


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def event_parse(fixtures):
    for name, body in fixtures.items():
        write("event_parse", f"{name}.json", (EVENTS / f"{name}.json").read_bytes())
    user = fixtures["user.created"]
    membership = fixtures["organizationMembership.created"]
    bad = {
        "truncated": compact(user)[:300],
        "updated_at_string": compact({**user, "data": {**user["data"], "updated_at": "1736942401251"}}),
        "updated_at_negative": compact({**user, "data": {**user["data"], "updated_at": -1}}),
        "updated_at_beyond_i64": b'{"type":"user.updated","data":{"id":"user_1","updated_at":9223372036854775808}}',
        "emails_not_a_list": compact({**user, "data": {**user["data"], "email_addresses": {"id": "idn_1"}}}),
        "role_number": compact({**membership, "data": {**membership["data"], "role": 1}}),
        "public_user_data_null": compact({**membership, "data": {**membership["data"], "public_user_data": None}}),
        "unknown_type": b'{"type":"session.created","object":"event","data":{"id":"sess_1"},"timestamp":1}',
        "type_number": b'{"type":7,"data":{}}',
        "nested": b'{"type":"user.created","data":' + b"[" * 200 + b"]" * 200 + b"}",
        "not_utf8": b'{"type":"user.created","data":{"id":"user_\xff\xfe"}}',
        # Lower-casing lengthens `İ` (2 bytes to 3): 320 bytes in, 479 stored.
        "email_lengthening": compact({**user, "data": {**user["data"], "email_addresses": [
            {"id": user["data"]["primary_email_address_id"], "email_address": "\u0130" * 159 + "@x"}]}}),
        "nul_in_name": b'{"type":"organization.created","data":{"id":"org_1","name":"a\\u0000b","updated_at":1}}',
    }
    for name, data in bad.items():
        write("event_parse", f"bad_{name}.json", data)


def event_decide(fixtures):
    states = {
        "empty": bytes(6),
        "stored_older": bytes([0b0100_0110, 0xF6, 0, 1, 2, 0x10]),
        "stored_newer_other_holder": bytes([0b0101_1110, 10, 0xF0, 3, 4, 0xAB]),
        "tombstoned": bytes([0b0100_0011, 0, 0, 5, 6, 0]),
    }
    for name, body in fixtures.items():
        for state_name, state in states.items():
            write("event_decide", f"{name}.{state_name}", state + compact(body))


def svix_verify(fixtures):
    now = 1_700_000_000
    for name, body in fixtures.items():
        write("svix_verify", f"signed.{name}",
              svix_input(True, (SVIX, SVIX, SVIX), 0, "msg_2SjJW1vJ6MsnE8wmx3mB", "", "", "", compact(body)))
    body = compact(fixtures["user.created"])
    write("svix_verify", "signed_unbranded_and_duplicates",
          svix_input(True, (UNBRANDED, DUPLICATED, BOTH), 12, "msg_1", "", "v1a,xyz v2,abc", "decoy", body))
    write("svix_verify", "signed_too_old",
          svix_input(True, (SVIX, OTHER_CASE, SVIX), -61, "msg_1", "", "", "", body))
    placement_of = {"svix": SVIX, "webhook": UNBRANDED}
    for case in json.loads(CASES.read_text())["cases"]:
        headers = {name.lower(): value for name, value in case["headers"].items()}
        values, placements = [], []
        for kind in ("id", "signature", "timestamp"):
            found = [(p, headers[f"{p}-{kind}"]) for p in ("svix", "webhook") if f"{p}-{kind}" in headers]
            placements.append(placement_of[found[0][0]] if found else ABSENT)
            values.append(found[0][1] if found else "")
        msg_id, signature, timestamp = values
        if max(len(v.encode()) for v in values) > 255:
            continue
        # The timestamp is moved next to this corpus' clock, keeping its text's shape.
        write("svix_verify", f"case.{case['name']}",
              svix_input(False, placements, 0, msg_id, timestamp.replace(str(case["now"]), str(now)),
                         signature, "", case["body"].encode()))


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    fixtures = events()
    event_parse(fixtures)
    event_decide(fixtures)
    svix_verify(fixtures)
    for folder in sorted(CORPUS.iterdir()):
        print(f"{folder.relative_to(ROOT)}: {len(list(folder.iterdir()))} files")


if __name__ == "__main__":
    main()
