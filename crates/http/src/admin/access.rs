//! Who may open the admin pages: a verified Clerk session of an active staff user.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use clerk_sync_domain::User;
use futures_util::future::LocalBoxFuture;

use super::{AdminError, CsrfKey, csrf};
use crate::auth::Session;
use crate::read_through::caller_with_read_through;
use crate::{ApiError, AppState};

/// The signed-in staff user. A handler that takes one runs only when the request carries a
/// valid Clerk session token (the `__session` cookie, or `Authorization: Bearer`) of a user
/// that is synced, staff and active; otherwise the answer is the 401 page (no or refused
/// token, with how to sign in) or the 403 page.
#[derive(Clone, Debug)]
pub struct Staff {
    /// The staff user, as the mirror holds it.
    pub user: User,
    /// The Clerk session (`sid`) the request was made in, which the forms' CSRF tokens are
    /// bound to.
    pub session_id: Option<String>,
}

impl Staff {
    /// How pages name the signed-in user: the email, else the Clerk id.
    pub fn label(&self) -> String {
        self.user
            .email
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.user.clerk_id.as_ref().map(ToString::to_string))
            .unwrap_or_default()
    }

    /// The CSRF token the forms of this session's pages carry.
    pub fn form_token(&self, key: &CsrfKey) -> String {
        csrf::form_token(key, self.session_id.as_deref())
    }

    /// Accepts a form this session posted: `submitted` must be its token (see
    /// [`csrf::verify`]).
    ///
    /// # Errors
    /// [`ApiError::CsrfRefused`] otherwise.
    pub fn verify_form(
        &self,
        request: &HttpRequest,
        key: &CsrfKey,
        submitted: Option<&str>,
    ) -> Result<(), ApiError> {
        csrf::verify(request, key, self.session_id.as_deref(), submitted)
    }
}

impl FromRequest for Staff {
    type Error = AdminError;
    type Future = LocalBoxFuture<'static, Result<Self, AdminError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(request, payload);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let session = session.await?;
            let state = state.ok_or_else(|| {
                ApiError::Internal("AppState is not registered with the app".into())
            })?;
            let session_id = session.session_id().map(str::to_owned);
            // Read through like the API: a staff account made before Clerk links on first
            // sign-in.
            let user = caller_with_read_through(&state, session.user_id(), Option::is_some)
                .await?
                .found;
            match user {
                Some(user) if user.is_staff && !user.is_disabled() => Ok(Self { user, session_id }),
                Some(user) => {
                    tracing::info!(
                        user_id = user.id.0,
                        "admin refused: not an active staff user"
                    );
                    Err(ApiError::NotStaff.into())
                }
                None => Err(ApiError::NotSynced.into()),
            }
        })
    }
}
