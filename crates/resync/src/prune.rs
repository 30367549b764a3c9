//! Prune: what the mirror holds and no listing returned, checked with Clerk one object at a
//! time, then removed and tombstoned if Clerk no longer has it.
//!
//! Only rows last written before the listing began are candidates: a row written since was
//! written by a webhook about an object that existed then (or by this resync). Each candidate
//! is then asked for by id, so an object a listing missed (deletions shifting the pages) is
//! fetched and applied instead of pruned; only Clerk's 404 (or, for a membership, its absence
//! from its organization's members) removes anything. The removal itself checks again, under
//! the object's lock, that no webhook wrote the row in the meantime.

use anyhow::{Context, bail};
use clerk_sync_domain::{ClerkMembershipId, ClerkOrgId, ClerkUserId};
use clerk_sync_persistence::resync::{
    HeldMembership, Tally, held_memberships, held_organizations, held_users, prune_memberships,
    prune_organizations, prune_users,
};
use clerk_sync_persistence::{Database, WriteMode};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::{BackendApi, Fetched};
use super::listing::parse;
use super::{Imported, Kind, MASS_PRUNE, Options, Progress};

/// What a prune did.
pub(crate) struct Pruned {
    /// Objects the listing missed, found when asked for and applied.
    pub(crate) applied: Tally,
    /// Those of them that could not be parsed.
    pub(crate) failed: u64,
    /// The Clerk ids removed and tombstoned (or that would be, in a dry run).
    pub(crate) pruned: Vec<String>,
}

/// A candidate: the id to remove, and how to ask Clerk about it.
struct Candidate {
    clerk_id: String,
    path: String,
    query: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
struct Members<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Identified<'a> {
    id: &'a str,
}

/// Prunes one kind after its import.
pub(crate) async fn prune(
    import: &Imported,
    database: &Database,
    api: &BackendApi,
    options: &Options,
    page_size: u32,
    progress: &Progress,
) -> anyhow::Result<Pruned> {
    let kind = import.kind;
    let mode = options.mode();
    let (candidates, held) = candidates(import, database).await?;
    if candidates.len() > MASS_PRUNE && candidates.len() * 2 > held && !options.allow_mass_prune {
        bail!(
            "{}: {} of the {held} held here are not in Clerk's listing, which looks like a secret key of another Clerk instance; check CLERK_SECRET_KEY, see the list with --dry-run, and pass --allow-mass-prune if it is right",
            kind.label(),
            candidates.len()
        );
    }
    if !candidates.is_empty() {
        progress.say(&format!(
            "{}: {} held here but not listed by Clerk; asking Clerk about each",
            kind.label(),
            candidates.len()
        ));
    }
    let mut found: Vec<Box<RawValue>> = Vec::new();
    let mut gone = Vec::new();
    for candidate in candidates {
        match api.get(&candidate.path, &candidate.query).await? {
            Fetched::NotFound => gone.push(candidate.clerk_id),
            Fetched::Found(body) => match verdict(kind, &candidate.clerk_id, &body)? {
                Verdict::Found(object) => found.push(object),
                Verdict::Gone => gone.push(candidate.clerk_id),
            },
        }
    }
    let raws: Vec<&RawValue> = found.iter().map(AsRef::as_ref).collect();
    let (batch, failed) = parse(kind, &raws);
    let database = database.clone();
    let cutoff = import.started;
    let chunk_size = usize::try_from(page_size.max(1)).unwrap_or(1);
    let (applied, pruned) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = database.get()?;
        let applied = batch.apply(&mut conn, mode)?;
        let mut pruned = Vec::new();
        for chunk in gone.chunks(chunk_size) {
            let now = chrono::Utc::now().naive_utc();
            let conn = &mut conn;
            match kind {
                Kind::Users => {
                    let ids = typed(chunk, ClerkUserId::parse);
                    let removed = prune_users(conn, &ids, cutoff, mode, now)?;
                    pruned.extend(removed.iter().map(|id| id.as_str().to_owned()));
                }
                Kind::Organizations => {
                    let ids = typed(chunk, ClerkOrgId::parse);
                    let removed = prune_organizations(conn, &ids, cutoff, mode, now)?;
                    pruned.extend(removed.iter().map(|id| id.as_str().to_owned()));
                }
                Kind::Memberships => {
                    let ids = typed(chunk, ClerkMembershipId::parse);
                    let removed = prune_memberships(conn, &ids, cutoff, mode, now)?;
                    pruned.extend(removed.iter().map(|id| id.as_str().to_owned()));
                }
            }
        }
        Ok((applied, pruned))
    })
    .await
    .context("the database writer stopped")??;
    let mut pruned = pruned;
    pruned.sort_unstable();
    let verb = match mode {
        WriteMode::Commit => "pruned",
        WriteMode::DryRun => "would prune",
    };
    for id in &pruned {
        progress.say(&format!("{}: {verb} {id}", kind.label()));
    }
    Ok(Pruned {
        applied,
        failed,
        pruned,
    })
}

/// The rows written before the listing began whose Clerk ids the listing did not return.
async fn candidates(
    import: &Imported,
    database: &Database,
) -> anyhow::Result<(Vec<Candidate>, usize)> {
    let database = database.clone();
    let (kind, cutoff) = (import.kind, import.started);
    let held = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = database.get()?;
        Ok(match kind {
            Kind::Users => Held::Ids(held_users(&mut conn, cutoff)?),
            Kind::Organizations => Held::Ids(held_organizations(&mut conn, cutoff)?),
            Kind::Memberships => Held::Memberships(held_memberships(&mut conn, cutoff)?),
        })
    })
    .await
    .context("the database reader stopped")??;
    let unseen = |id: &String| !import.seen.contains(id);
    let total = match &held {
        Held::Ids(ids) => ids.len(),
        Held::Memberships(held) => held.len(),
    };
    let candidates = match held {
        Held::Ids(ids) => ids
            .into_iter()
            .filter(unseen)
            .map(|clerk_id| Candidate {
                path: format!("{}/{clerk_id}", kind.path()),
                query: Vec::new(),
                clerk_id,
            })
            .collect(),
        Held::Memberships(held) => held
            .into_iter()
            .filter(|m| unseen(&m.clerk_id))
            .filter_map(
                |HeldMembership {
                     clerk_id,
                     user,
                     organization,
                 }| {
                    Some(Candidate {
                        path: format!("/organizations/{organization}/memberships"),
                        query: vec![("user_id", user?), ("limit", "100".to_owned())],
                        clerk_id,
                    })
                },
            )
            .collect(),
    };
    Ok((candidates, total))
}

enum Held {
    Ids(Vec<String>),
    Memberships(Vec<HeldMembership>),
}

/// What Clerk's answer about a candidate says.
enum Verdict {
    /// Clerk has it: here it is, to apply.
    Found(Box<RawValue>),
    /// Clerk no longer has it.
    Gone,
}

/// A user or an organization is its own answer (Clerk answered 200); a membership must be
/// among its organization's members with the same id (a member who left and rejoined has a
/// new one).
fn verdict(kind: Kind, clerk_id: &str, body: &[u8]) -> anyhow::Result<Verdict> {
    let text = std::str::from_utf8(body).context("Clerk answered with a body that is not UTF-8")?;
    if kind != Kind::Memberships {
        let object: &RawValue =
            serde_json::from_str(text).context("Clerk answered with a body that is not JSON")?;
        return Ok(Verdict::Found(object.to_owned()));
    }
    let members = serde_json::from_str::<Members<'_>>(text)
        .context("Clerk answered with a body that is not a membership list")?;
    Ok(members
        .data
        .into_iter()
        .find(|raw| {
            serde_json::from_str::<Identified<'_>>(raw.get()).is_ok_and(|o| o.id == clerk_id)
        })
        .map_or(Verdict::Gone, |raw| Verdict::Found(raw.to_owned())))
}

/// The ids that parse as Clerk ids of the kind (a row with another id was never Clerk's).
fn typed<T, E>(ids: &[String], parse: fn(&str) -> Result<T, E>) -> Vec<T> {
    ids.iter().filter_map(|id| parse(id).ok()).collect()
}
