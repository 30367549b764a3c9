//! Traefik and Envoy are not in the registries this project's machines reach, so their
//! configurations cannot run here. What can be checked without them is checked: the files
//! parse, name exactly the nine identity headers, strip a client's copies, and call the check
//! in the form the server answers (the Envoy form itself is tested in `endpoint.rs`).

use serde_yaml::Value as Yaml;

use super::*;

fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(deploy(path)).expect("the configuration is committed");
    serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{path} is not YAML: {err}"))
}

/// Every string anywhere under `value` that sits under the key `key`.
fn strings_under(value: &Yaml, key: &str, found: &mut Vec<String>) {
    match value {
        Yaml::Mapping(map) => {
            for (name, child) in map {
                if name.as_str() == Some(key) {
                    collect(child, found);
                }
                strings_under(child, key, found);
            }
        }
        Yaml::Sequence(items) => items
            .iter()
            .for_each(|item| strings_under(item, key, found)),
        _ => {}
    }
}

fn collect(value: &Yaml, found: &mut Vec<String>) {
    match value {
        Yaml::String(text) => found.push(text.clone()),
        Yaml::Sequence(items) => items.iter().for_each(|item| collect(item, found)),
        Yaml::Mapping(map) => map.values().for_each(|child| collect(child, found)),
        _ => {}
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names
        .iter_mut()
        .for_each(|name| *name = name.to_ascii_lowercase());
    names.sort();
    names.dedup();
    names
}

fn identity_headers() -> Vec<String> {
    sorted(
        IDENTITY_HEADERS
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
    )
}

#[test]
fn traefik_copies_exactly_the_identity_headers_from_the_check() {
    let dynamic = yaml("traefik/dynamic.yml");
    let middlewares = &dynamic["http"]["middlewares"];
    let mut addresses = Vec::new();
    for name in ["clerk-sync", "clerk-sync-admin"] {
        let forward = &middlewares[name]["forwardAuth"];
        let mut copied = Vec::new();
        collect(&forward["authResponseHeaders"], &mut copied);
        assert_eq!(sorted(copied), identity_headers(), "{name}");
        addresses.push(forward["address"].as_str().expect("an address").to_owned());
    }
    assert_eq!(
        addresses,
        [
            "http://clerk-sync:8000/api/v1/auth/verify",
            "http://clerk-sync:8000/api/v1/auth/verify?role=org:admin"
        ]
    );
}

#[test]
fn envoy_strips_client_copies_and_calls_the_envoy_form_of_the_check() {
    let envoy = yaml("envoy/envoy.yaml");
    let mut removed = Vec::new();
    strings_under(&envoy, "remove", &mut removed);
    let mut expected = identity_headers();
    expected.push("x-clerk-sync-requirements".to_owned());
    assert_eq!(
        sorted(removed),
        sorted(expected),
        "removed before any filter runs"
    );

    let mut prefixes = Vec::new();
    strings_under(&envoy, "path_prefix", &mut prefixes);
    assert_eq!(prefixes, ["/api/v1/auth/verify/envoy"; 2], "both checks");
    let mut copied = Vec::new();
    strings_under(&envoy, "allowed_upstream_headers", &mut copied);
    assert_eq!(
        sorted(copied),
        ["x-clerk-", "x-user-"],
        "prefixes of exactly the identity headers"
    );
    let mut requirements = Vec::new();
    strings_under(&envoy, "headers_to_add", &mut requirements);
    assert_eq!(
        requirements,
        ["x-clerk-sync-requirements", "role=org:admin"]
    );
}
