//! Prune: what the mirror holds and no listing returned, checked with Clerk one object at a
//! time, then removed and tombstoned if Clerk no longer has it.
//!
//! Only rows last written before the listing began are candidates: a row written since was
//! written by a webhook about an object that existed then (or by this resync). Each candidate
//! is then asked for by id, so an object a listing missed (deletions shifting the pages) is
//! fetched and applied instead of pruned; only Clerk's 404 (or, for a membership, its absence
//! from its organization's members) removes anything. The removal itself checks again, under
//! the object's lock, that no webhook wrote the row in the meantime.

use chrono::NaiveDateTime;
use clerk_sync_backend_api::{BackendApi, BackendApiError, BodyFault, ObjectKind};
use clerk_sync_domain::{ClerkMembershipId, ClerkOrgId, ClerkUserId, DomainError};
use clerk_sync_persistence::resync::{
    HeldMembership, PrunableId, Tally, held_memberships, held_organizations, held_users,
};
use clerk_sync_persistence::{Database, DbConnection, StoreError, WriteMode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::batch::Batch;
use crate::import::Imported;
use crate::{MASS_PRUNE_MIN_CANDIDATES, Options, Progress, ResyncError};

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

/// The rows of a kind the mirror holds (written before the listing began).
enum HeldRows {
    /// Users or organizations: their Clerk ids.
    Ids(Vec<String>),
    /// Memberships, with their users' and organizations' ids (to look them up with Clerk).
    Memberships(Vec<HeldMembership>),
}

/// What Clerk's answer about a candidate says.
enum ClerkAnswer {
    /// Clerk has it: here it is, to apply.
    Exists(Box<RawValue>),
    /// Clerk no longer has it.
    Gone,
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
) -> Result<Pruned, ResyncError> {
    let kind = import.kind;
    let (candidates, held) = candidates(import, database).await?;
    refuse_mass_prune(kind, candidates.len(), held, options)?;
    if !candidates.is_empty() {
        progress.say(&format!(
            "{}: {} held here but not listed by Clerk; asking Clerk about each",
            kind.label(),
            candidates.len()
        ));
    }
    let (found, gone) = ask_clerk(api, kind, candidates).await?;
    let (batch, failed) = Batch::parse(kind, &found);
    let removal = Removal {
        kind,
        written_before: import.started,
        mode: options.mode(),
        chunk_size: usize::try_from(page_size.max(1)).unwrap_or(1),
    };
    let database = database.clone();
    let (applied, mut pruned) = tokio::task::spawn_blocking(move || -> Result<_, ResyncError> {
        let mut conn = database.get()?;
        let applied = batch.apply(&mut conn, removal.mode)?;
        Ok((applied, removal.remove(&mut conn, &gone)?))
    })
    .await
    .map_err(|source| ResyncError::DatabaseTask {
        role: "writer",
        source,
    })??;
    pruned.sort_unstable();
    report(progress, kind, removal.mode, &pruned);
    Ok(Pruned {
        applied,
        failed,
        pruned,
    })
}

/// Refuses to go on when more than half of the rows held, and more than
/// [`MASS_PRUNE_MIN_CANDIDATES`], would go, unless `--allow-mass-prune` says so.
fn refuse_mass_prune(
    kind: ObjectKind,
    candidates: usize,
    held: usize,
    options: &Options,
) -> Result<(), ResyncError> {
    let mass = candidates > MASS_PRUNE_MIN_CANDIDATES && candidates * 2 > held;
    if mass && !options.allow_mass_prune {
        return Err(ResyncError::MassPrune {
            kind: kind.label(),
            candidates,
            held,
        });
    }
    Ok(())
}

/// The rows written before the listing began whose Clerk ids the listing did not return, and
/// how many rows were held.
async fn candidates(
    import: &Imported,
    database: &Database,
) -> Result<(Vec<Candidate>, usize), ResyncError> {
    let database = database.clone();
    let (kind, cutoff) = (import.kind, import.started);
    let held = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let mut conn = database.get()?;
        Ok(match kind {
            ObjectKind::Users => HeldRows::Ids(held_users(&mut conn, cutoff)?),
            ObjectKind::Organizations => HeldRows::Ids(held_organizations(&mut conn, cutoff)?),
            ObjectKind::Memberships => HeldRows::Memberships(held_memberships(&mut conn, cutoff)?),
        })
    })
    .await
    .map_err(|source| ResyncError::DatabaseTask {
        role: "reader",
        source,
    })??;
    let unseen = |id: &String| !import.seen.contains(id);
    Ok(match held {
        HeldRows::Ids(ids) => {
            let total = ids.len();
            let candidates = ids
                .into_iter()
                .filter(unseen)
                .map(|clerk_id| Candidate {
                    path: format!("{}/{clerk_id}", kind.path()),
                    query: Vec::new(),
                    clerk_id,
                })
                .collect();
            (candidates, total)
        }
        HeldRows::Memberships(held) => {
            let total = held.len();
            let candidates = held
                .into_iter()
                .filter(|m| unseen(&m.clerk_id))
                .filter_map(membership_candidate)
                .collect();
            (candidates, total)
        }
    })
}

/// A membership is looked up among its organization's members (Clerk has no `GET` of one
/// membership); a row without a user's Clerk id is one Clerk never listed, and is left alone.
fn membership_candidate(held: HeldMembership) -> Option<Candidate> {
    let HeldMembership {
        clerk_id,
        user,
        organization,
    } = held;
    Some(Candidate {
        path: format!("/organizations/{organization}/memberships"),
        query: vec![("user_id", user?), ("limit", "100".to_owned())],
        clerk_id,
    })
}

/// Asks Clerk about each candidate: the objects it still has, and the ids it no longer has.
async fn ask_clerk(
    api: &BackendApi,
    kind: ObjectKind,
    candidates: Vec<Candidate>,
) -> Result<(Vec<Box<RawValue>>, Vec<String>), ResyncError> {
    let mut found = Vec::new();
    let mut gone = Vec::new();
    for candidate in candidates {
        let answer = match api.get(&candidate.path, &candidate.query).await {
            Ok(body) => clerk_answer(kind, &candidate, &body)?,
            Err(err) if err.is_not_found() => ClerkAnswer::Gone,
            Err(err) => return Err(err.into()),
        };
        match answer {
            ClerkAnswer::Exists(object) => found.push(object),
            ClerkAnswer::Gone => gone.push(candidate.clerk_id),
        }
    }
    Ok((found, gone))
}

/// A user or an organization is its own answer (Clerk answered 200); a membership must be
/// among its organization's members with the same id (a member who left and rejoined has a
/// new one).
fn clerk_answer(
    kind: ObjectKind,
    candidate: &Candidate,
    body: &[u8],
) -> Result<ClerkAnswer, BackendApiError> {
    let malformed = |expected, fault: BodyFault| BackendApiError::MalformedBody {
        path: candidate.path.clone(),
        expected,
        fault,
    };
    let text = std::str::from_utf8(body).map_err(|_| malformed("JSON", BodyFault::NotUtf8))?;
    if kind != ObjectKind::Memberships {
        let object: &RawValue =
            serde_json::from_str(text).map_err(|err| malformed("JSON", err.into()))?;
        return Ok(ClerkAnswer::Exists(object.to_owned()));
    }
    let members = serde_json::from_str::<Members<'_>>(text)
        .map_err(|err| malformed("a membership list", err.into()))?;
    Ok(members
        .data
        .into_iter()
        .find(|raw| {
            serde_json::from_str::<Identified<'_>>(raw.get())
                .is_ok_and(|o| o.id == candidate.clerk_id)
        })
        .map_or(ClerkAnswer::Gone, |raw| ClerkAnswer::Exists(raw.to_owned())))
}

/// How the ids Clerk no longer has are removed: in transactions of a page each, only if their
/// rows were not written since the listing began.
#[derive(Clone, Copy)]
struct Removal {
    kind: ObjectKind,
    written_before: NaiveDateTime,
    mode: WriteMode,
    chunk_size: usize,
}

impl Removal {
    /// Removes (and tombstones) `gone`; returns the ids removed.
    fn remove(self, conn: &mut DbConnection, gone: &[String]) -> Result<Vec<String>, StoreError> {
        let mut pruned = Vec::new();
        for chunk in gone.chunks(self.chunk_size) {
            let removed = match self.kind {
                ObjectKind::Users => self.remove_chunk(conn, chunk, ClerkUserId::parse)?,
                ObjectKind::Organizations => self.remove_chunk(conn, chunk, ClerkOrgId::parse)?,
                ObjectKind::Memberships => {
                    self.remove_chunk(conn, chunk, ClerkMembershipId::parse)?
                }
            };
            pruned.extend(removed);
        }
        Ok(pruned)
    }

    fn remove_chunk<Id: PrunableId + AsRef<str>>(
        self,
        conn: &mut DbConnection,
        chunk: &[String],
        parse: fn(&str) -> Result<Id, DomainError>,
    ) -> Result<Vec<String>, StoreError> {
        let (ids, rejected) = parse_ids(chunk, parse);
        for id in rejected {
            // Rows are written from parsed Clerk objects, so this takes a row written by hand
            // or by another tool; Clerk has no object with this id, so there is nothing to
            // tombstone either. Left in place, and said, rather than removed on a guess.
            tracing::warn!(
                kind = self.kind.label(),
                id,
                "a row's Clerk id is not one of its kind; not pruned"
            );
        }
        let now = chrono::Utc::now().naive_utc();
        let removed =
            clerk_sync_persistence::resync::prune(conn, &ids, self.written_before, self.mode, now)?;
        Ok(removed.iter().map(|id| id.as_ref().to_owned()).collect())
    }
}

/// The ids that parse as Clerk ids of the kind, and those that do not.
fn parse_ids<Id>(
    ids: &[String],
    parse: fn(&str) -> Result<Id, DomainError>,
) -> (Vec<Id>, Vec<&str>) {
    let mut parsed = Vec::with_capacity(ids.len());
    let mut rejected = Vec::new();
    for id in ids {
        match parse(id) {
            Ok(id) => parsed.push(id),
            Err(_) => rejected.push(id.as_str()),
        }
    }
    (parsed, rejected)
}

/// A line per id pruned (or that would be).
fn report(progress: &Progress, kind: ObjectKind, mode: WriteMode, pruned: &[String]) {
    let verb = match mode {
        WriteMode::Commit => "pruned",
        WriteMode::DryRun => "would prune",
    };
    for id in pruned {
        progress.say(&format!("{}: {verb} {id}", kind.label()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_not_of_the_kind_are_set_apart_not_dropped() {
        let ids = ["user_1".to_owned(), "org_1".to_owned(), "user_2".to_owned()];
        let (parsed, rejected) = parse_ids(&ids, ClerkUserId::parse);
        let parsed: Vec<&str> = parsed.iter().map(ClerkUserId::as_str).collect();
        assert_eq!(parsed, ["user_1", "user_2"]);
        assert_eq!(rejected, ["org_1"]);
    }

    #[test]
    fn a_mass_prune_is_refused_unless_allowed() {
        let mut options = Options {
            kinds: ObjectKind::ALL.to_vec(),
            prune: true,
            allow_mass_prune: false,
            dry_run: false,
            page_size: 4,
        };
        let over = MASS_PRUNE_MIN_CANDIDATES + 1;
        assert!(matches!(
            refuse_mass_prune(ObjectKind::Users, over, over * 2 - 1, &options),
            Err(ResyncError::MassPrune { kind: "users", .. })
        ));
        assert!(refuse_mass_prune(ObjectKind::Users, over, over * 2, &options).is_ok());
        assert!(
            refuse_mass_prune(ObjectKind::Users, MASS_PRUNE_MIN_CANDIDATES, 10, &options).is_ok()
        );
        options.allow_mass_prune = true;
        assert!(refuse_mass_prune(ObjectKind::Users, over, over, &options).is_ok());
    }
}
