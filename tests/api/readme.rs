//! README's shell examples as the tests read them: the commands of a section's `sh` blocks,
//! each with the output README shows under it, so a test can run what README tells a reader
//! to run and compare what it prints with what README says it prints.

use std::collections::HashMap;

use crate::common::fixture;

/// One command of an `sh` block and the output lines README shows for it.
#[derive(Debug)]
pub struct Example {
    /// The command, continuation lines joined, its trailing `# comment` removed.
    pub command: String,
    /// The `#   ` lines that follow it, without that prefix.
    pub output: Vec<String>,
}

/// The text of README's section whose `## ` heading starts with `heading`, up to the next one.
pub fn section(heading: &str) -> String {
    let readme = fixture("README.md");
    let start = readme
        .find(&format!("\n## {heading}"))
        .unwrap_or_else(|| panic!("README has no section `## {heading}`"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    rest[..end].to_owned()
}

/// The commands of the `sh` blocks of README's section `heading`, in order.
pub fn examples(heading: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in section(heading).lines() {
        if line.starts_with("```") {
            in_block = !in_block && line == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(output) = line.strip_prefix("#   ") {
            if let Some(example) = examples.last_mut() {
                example.output.push(output.to_owned());
            }
            continue;
        }
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let line = line.split("  #").next().unwrap_or_default().trim_end();
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued.trim_start());
            continue;
        }
        pending.push_str(line.trim_start());
        examples.push(Example {
            command: std::mem::take(&mut pending),
            output: Vec::new(),
        });
    }
    examples
}

/// Whether `text` has the shape of `pattern`, in which `…` stands for any text.
pub fn fits(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The words of a simple shell command, as sh splits them: quotes group, `$NAME` inside
/// double quotes or bare is replaced from `vars` (an unknown name by nothing, as in sh).
pub fn words(command: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ' ') => words.extend(word.take()),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '$') => {
                let mut name = String::new();
                while let Some(&next) = chars
                    .peek()
                    .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
                {
                    name.push(next);
                    chars.next();
                }
                let value = vars.get(&name).cloned().unwrap_or_default();
                word.get_or_insert_with(String::new).push_str(&value);
            }
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn the_readme_helpers_read_shell_as_sh_does() {
    let vars = HashMap::from([("TOKEN".to_owned(), "t.k.n".to_owned())]);
    assert_eq!(
        words(
            r#"curl -s -H "Authorization: Bearer $TOKEN" 'a b' """#,
            &vars
        ),
        ["curl", "-s", "-H", "Authorization: Bearer t.k.n", "a b", ""]
    );
    assert!(fits("user_…", "user_2abc"));
    assert!(fits(
        r#"{"id":1,…"x":null,…}"#,
        r#"{"id":1,"a":2,"x":null,"b":3}"#
    ));
    assert!(!fits("user_…", "org_2abc"));
    assert!(!fits(r#"{…"x":null…}"#, r#"{"x":"y"}"#));
    assert!(fits("exact", "exact") && !fits("exact", "exactly"));
}
