//! Paging through a listing of Clerk's Backend API, in creation order (`order_by=+created_at`),
//! so objects created while the listing runs land at its end instead of shifting what is still
//! to come.
//!
//! Users are paged with a cursor (`starting_after`: the id of the last user of the previous
//! page), as Clerk's documentation asks: a cursor page costs the same however deep it is,
//! while a large offset gets slower and eventually times out, and deletions between two
//! requests shift nothing.
//!
//! Organizations and memberships have no cursor and are paged by offset. An object deleted
//! between two requests shifts the later ones back by one; so each page after the first starts
//! a few objects before the previous one ended, and objects seen already are dropped. More
//! deletions between two requests than that overlap can still hide an object from this
//! listing: the prune asks Clerk about every object it would remove, so such an object is
//! fetched there, never pruned.

use std::collections::HashSet;

use anyhow::{Context, bail};
use clerk_sync_domain::{DomainError, parse_membership, parse_organization, parse_user};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::{BackendApi, Fetched};
use super::{Batch, Kind};

/// `{data, total_count}`, the shape of every listing but `GET /users`.
#[derive(Deserialize)]
struct Paginated<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Identified {
    id: String,
}

#[derive(Deserialize)]
struct TotalCount {
    total_count: u64,
}

/// How many objects of the previous page each page repeats: a tenth of a page, at most 50.
pub(crate) fn overlap(page_size: u32) -> u32 {
    (page_size / 10).clamp(u32::from(page_size > 1), 50)
}

/// One listing in progress.
pub(crate) struct Lister<'a> {
    api: &'a BackendApi,
    kind: Kind,
    limit: u32,
    offset: u64,
    /// The id of the last user listed: where the next page of users starts.
    cursor: Option<String>,
    done: bool,
    /// The Clerk ids listed so far (also of objects that did not parse: Clerk has them).
    pub(crate) seen: HashSet<String>,
    /// How many objects Clerk says it has, when it says so.
    pub(crate) total: Option<u64>,
}

/// A page's new objects.
pub(crate) struct Page {
    pub(crate) batch: Batch,
    /// Objects that could not be parsed (each logged with its id and the reason).
    pub(crate) failed: u64,
}

impl<'a> Lister<'a> {
    pub(crate) fn new(api: &'a BackendApi, kind: Kind, page_size: u32) -> Self {
        Self {
            api,
            kind,
            limit: page_size,
            offset: 0,
            cursor: None,
            done: false,
            seen: HashSet::new(),
            total: None,
        }
    }

    /// Asks for the number of users up front (`GET /users/count`): the user listing itself
    /// does not say. Other listings say it on each page.
    pub(crate) async fn count(&mut self) -> anyhow::Result<Option<u64>> {
        if self.kind == Kind::Users
            && let Fetched::Found(body) = self.api.get("/users/count", &[]).await?
        {
            self.total = serde_json::from_slice::<TotalCount>(&body)
                .ok()
                .map(|count| count.total_count);
        }
        Ok(self.total)
    }

    /// The next page's objects not seen before; `None` after the last page.
    pub(crate) async fn next(&mut self) -> anyhow::Result<Option<Page>> {
        if self.done {
            return Ok(None);
        }
        let path = self.kind.path();
        let mut query = vec![
            ("limit", self.limit.to_string()),
            ("order_by", "+created_at".to_owned()),
        ];
        if self.kind == Kind::Users {
            query.extend(self.cursor.clone().map(|id| ("starting_after", id)));
        } else {
            query.push(("offset", self.offset.to_string()));
        }
        let Fetched::Found(body) = self.api.get(path, &query).await? else {
            bail!(
                "GET {path} answered 404 Not Found; is CLERK_API_URL the Backend API's base URL (https://api.clerk.com/v1)?"
            );
        };
        let items = if self.kind == Kind::Users {
            serde_json::from_slice::<Vec<&RawValue>>(&body)
        } else {
            serde_json::from_slice::<Paginated<'_>>(&body).map(|page| {
                self.total = page.total_count.or(self.total);
                page.data
            })
        }
        .with_context(|| format!("GET {path} answered with a body that is not a listing"))?;
        let received = u64::try_from(items.len()).unwrap_or(u64::MAX);
        if received < u64::from(self.limit) {
            self.done = true;
        } else {
            self.offset += received - u64::from(overlap(self.limit));
        }
        let mut fresh = Vec::with_capacity(items.len());
        let mut failed = 0;
        let mut last_id = None;
        for raw in items {
            match serde_json::from_str::<Identified>(raw.get()) {
                Ok(Identified { id }) => {
                    last_id = Some(id.clone());
                    if self.seen.insert(id) {
                        fresh.push(raw);
                    }
                }
                Err(_) => {
                    tracing::warn!(
                        kind = self.kind.label(),
                        "a listed object has no id; skipped"
                    );
                    failed += 1;
                }
            }
        }
        if self.kind == Kind::Users && !self.done {
            // A full page that brings nothing new would be asked for again and again.
            if fresh.is_empty() || last_id == self.cursor {
                bail!(
                    "GET {path} answered a full page of users already listed after `starting_after`; the listing cannot go on (run resync again)"
                );
            }
            self.cursor = last_id;
        }
        let (batch, unparsed) = parse(self.kind, &fresh);
        Ok(Some(Page {
            batch,
            failed: failed + unparsed,
        }))
    }
}

/// Parses listed objects of a kind, logging (by id) and counting those that do not parse.
pub(crate) fn parse(kind: Kind, raws: &[&RawValue]) -> (Batch, u64) {
    let mut failed = 0;
    let batch = match kind {
        Kind::Users => Batch::Users(parse_each(kind, raws, parse_user, &mut failed)),
        Kind::Organizations => {
            Batch::Organizations(parse_each(kind, raws, parse_organization, &mut failed))
        }
        Kind::Memberships => {
            Batch::Memberships(parse_each(kind, raws, parse_membership, &mut failed))
        }
    };
    (batch, failed)
}

fn parse_each<T>(
    kind: Kind,
    raws: &[&RawValue],
    parse_one: fn(&str) -> Result<T, DomainError>,
    failed: &mut u64,
) -> Vec<T> {
    raws.iter()
        .filter_map(|raw| match parse_one(raw.get()) {
            Ok(object) => Some(object),
            Err(err) => {
                let id = serde_json::from_str::<Identified>(raw.get()).map(|o| o.id);
                tracing::warn!(
                    kind = kind.label(),
                    id = id.as_deref().unwrap_or("?"),
                    reason = %err,
                    "a listed object could not be parsed; skipped"
                );
                *failed += 1;
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_overlap_by_a_tenth_but_always_make_progress() {
        assert_eq!(overlap(500), 50);
        assert_eq!(overlap(100), 10);
        assert_eq!(overlap(4), 1);
        assert_eq!(overlap(1), 0);
        for size in 1..600 {
            assert!(overlap(size) < size);
        }
    }
}
