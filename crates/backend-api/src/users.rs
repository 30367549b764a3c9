//! Single users, parsed: what a read-through asks for when the mirror does not know a user yet.

use clerk_sync_domain::{
    ClerkUserId, MembershipSnapshot, UserSnapshot, parse_membership, parse_user,
};

use crate::listing::Paginated;
use crate::{BackendApi, BackendApiError, BodyFault, MAX_PAGE_SIZE};

impl BackendApi {
    /// `GET /users/{id}`: the user, or `None` when Clerk has no such user.
    ///
    /// # Errors
    /// As [`BackendApi::get`] but for a 404; [`BackendApiError::MalformedBody`] when the answer
    /// is not a Clerk user.
    pub async fn get_user(
        &self,
        id: &ClerkUserId,
    ) -> Result<Option<UserSnapshot>, BackendApiError> {
        let path = format!("/users/{}", id.as_str());
        let body = match self.get(&path, &[]).await {
            Ok(body) => body,
            Err(err) if err.is_not_found() => return Ok(None),
            Err(err) => return Err(err),
        };
        let user = utf8(&body)
            .and_then(|text| parse_user(text).map_err(BodyFault::from))
            .map_err(|fault| malformed(&path, "a user", fault))?;
        Ok(Some(user))
    }

    /// `GET /users/{id}/organization_memberships`, every page: the user's memberships, with the
    /// organization data each carries. A user Clerk does not have has none.
    ///
    /// # Errors
    /// As [`BackendApi::get`] but for a 404; [`BackendApiError::MalformedBody`] when a page is
    /// not a listing of memberships.
    pub async fn list_user_memberships(
        &self,
        id: &ClerkUserId,
    ) -> Result<Vec<MembershipSnapshot>, BackendApiError> {
        let path = format!("/users/{}/organization_memberships", id.as_str());
        let mut memberships = Vec::new();
        loop {
            let query = [
                ("limit", MAX_PAGE_SIZE.to_string()),
                ("offset", memberships.len().to_string()),
            ];
            let body = match self.get(&path, &query).await {
                Ok(body) => body,
                Err(err) if err.is_not_found() => return Ok(Vec::new()),
                Err(err) => return Err(err),
            };
            let page = parse_page(&body).map_err(|fault| malformed(&path, "a listing", fault))?;
            let received = page.len();
            memberships.extend(page);
            if received < usize::try_from(MAX_PAGE_SIZE).unwrap_or(usize::MAX) {
                return Ok(memberships);
            }
        }
    }
}

fn parse_page(body: &[u8]) -> Result<Vec<MembershipSnapshot>, BodyFault> {
    let page = serde_json::from_str::<Paginated<'_>>(utf8(body)?)?;
    page.data
        .iter()
        .map(|raw| parse_membership(raw.get()).map_err(BodyFault::from))
        .collect()
}

fn utf8(body: &[u8]) -> Result<&str, BodyFault> {
    std::str::from_utf8(body).map_err(|_| BodyFault::NotUtf8)
}

fn malformed(path: &str, expected: &'static str, fault: BodyFault) -> BackendApiError {
    BackendApiError::MalformedBody {
        path: path.to_owned(),
        expected,
        fault,
    }
}
