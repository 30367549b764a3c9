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
//! deletions between two requests than that overlap can still hide an object from a listing:
//! a caller that removes what was not listed (resync's prune) must ask for each by id first.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{BackendApi, BackendApiError, ObjectKind};

/// `{data, total_count}`, the shape of every listing but `GET /users`.
#[derive(Deserialize)]
pub(crate) struct Paginated<'a> {
    #[serde(borrow)]
    pub(crate) data: Vec<&'a RawValue>,
    #[serde(default)]
    pub(crate) total_count: Option<u64>,
}

/// An object's `id`, all a listing needs to know of it.
#[derive(Deserialize)]
pub(crate) struct Identified {
    pub(crate) id: String,
}

#[derive(Deserialize)]
struct TotalCount {
    total_count: u64,
}

/// How many objects of the previous page each page repeats: a tenth of a page, at most 50.
pub fn overlap(page_size: u32) -> u32 {
    (page_size / 10).clamp(u32::from(page_size > 1), 50)
}

/// One listing in progress.
pub struct Listing<'a> {
    api: &'a BackendApi,
    kind: ObjectKind,
    limit: u32,
    offset: u64,
    /// The id of the last user listed: where the next page of users starts.
    cursor: Option<String>,
    done: bool,
    seen: HashSet<String>,
    total: Option<u64>,
}

/// A page's objects not listed before, unparsed.
#[derive(Debug)]
pub struct ListedPage {
    /// The objects, as Clerk sent them.
    pub objects: Vec<Box<RawValue>>,
    /// Objects without an `id` (each logged): they can be neither written nor pruned.
    pub without_id: u64,
}

impl<'a> Listing<'a> {
    /// A listing of `kind`, `page_size` objects a request (1 to
    /// [`MAX_PAGE_SIZE`](crate::MAX_PAGE_SIZE)).
    pub fn new(api: &'a BackendApi, kind: ObjectKind, page_size: u32) -> Self {
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

    /// How many objects Clerk says it has, when it has said so.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The Clerk ids listed so far (also of objects that will not parse: Clerk has them).
    pub fn seen(&self) -> &HashSet<String> {
        &self.seen
    }

    /// The Clerk ids listed, once the listing is done.
    pub fn into_seen(self) -> HashSet<String> {
        self.seen
    }

    /// Asks for the number of users up front (`GET /users/count`): the user listing itself
    /// does not say. Other listings say it on each page.
    ///
    /// # Errors
    /// As [`BackendApi::get`], but for a 404 (no count then).
    pub async fn count(&mut self) -> Result<Option<u64>, BackendApiError> {
        if self.kind == ObjectKind::Users {
            match self.api.get("/users/count", &[]).await {
                // A count that does not parse only costs the progress bar its length.
                Ok(body) => {
                    self.total = serde_json::from_slice::<TotalCount>(&body)
                        .ok()
                        .map(|count| count.total_count);
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
        }
        Ok(self.total)
    }

    /// The next page's objects not listed before; `None` after the last page.
    ///
    /// # Errors
    /// As [`BackendApi::get`] (a 404 included: a listing always exists);
    /// [`BackendApiError::MalformedBody`] for a body that is not a listing, and
    /// [`BackendApiError::CursorStuck`] for a full page of users with none new.
    pub async fn next_page(&mut self) -> Result<Option<ListedPage>, BackendApiError> {
        if self.done {
            return Ok(None);
        }
        let path = self.kind.path();
        let body = self.api.get(path, &self.query()).await?;
        let items = self
            .items(&body)
            .map_err(|err| BackendApiError::MalformedBody {
                path: path.to_owned(),
                expected: "a listing",
                fault: err.into(),
            })?;
        let received = u64::try_from(items.len()).unwrap_or(u64::MAX);
        if received < u64::from(self.limit) {
            self.done = true;
        } else {
            self.offset += received - u64::from(overlap(self.limit));
        }
        let mut objects = Vec::with_capacity(items.len());
        let mut without_id = 0;
        let mut last_id = None;
        for raw in items {
            match serde_json::from_str::<Identified>(raw.get()) {
                Ok(Identified { id }) => {
                    last_id = Some(id.clone());
                    if self.seen.insert(id) {
                        objects.push(raw.to_owned());
                    }
                }
                Err(_) => {
                    tracing::warn!(
                        kind = self.kind.label(),
                        "a listed object has no id; skipped"
                    );
                    without_id += 1;
                }
            }
        }
        if self.kind == ObjectKind::Users && !self.done {
            // A full page that brings nothing new would be asked for again and again.
            if objects.is_empty() || last_id == self.cursor {
                return Err(BackendApiError::CursorStuck {
                    path: path.to_owned(),
                });
            }
            self.cursor = last_id;
        }
        Ok(Some(ListedPage {
            objects,
            without_id,
        }))
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("limit", self.limit.to_string()),
            ("order_by", "+created_at".to_owned()),
        ];
        if self.kind == ObjectKind::Users {
            query.extend(self.cursor.clone().map(|id| ("starting_after", id)));
        } else {
            query.push(("offset", self.offset.to_string()));
        }
        query
    }

    /// A page's objects: `GET /users` answers a bare array, the others `{data, total_count}`.
    fn items<'b>(&mut self, body: &'b [u8]) -> Result<Vec<&'b RawValue>, serde_json::Error> {
        if self.kind == ObjectKind::Users {
            return serde_json::from_slice::<Vec<&RawValue>>(body);
        }
        let page = serde_json::from_slice::<Paginated<'_>>(body)?;
        self.total = page.total_count.or(self.total);
        Ok(page.data)
    }
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
