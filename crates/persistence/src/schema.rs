//! The tables, as diesel sees them. One schema serves both backends: the migrations of
//! `migrations/sqlite` and `migrations/postgres` create the same columns with portable types.
#![expect(
    missing_docs,
    reason = "the tables and columns are documented in the migrations"
)]

/// The SQL types of columns that are not diesel's own.
pub mod sql_types {
    /// A JSON column: `jsonb` on PostgreSQL, JSON text on SQLite.
    #[derive(Clone, Copy, Debug, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "jsonb"))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct ClerkJson;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::ClerkJson;

    users (id) {
        id -> BigInt,
        clerk_id -> Nullable<Text>,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        image_url -> Nullable<Text>,
        is_staff -> Bool,
        is_active -> Bool,
        clerk_updated_at -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        external_id -> Nullable<Text>,
        banned -> Bool,
        username -> Nullable<Text>,
        phone_number -> Nullable<Text>,
        public_metadata -> ClerkJson,
        private_metadata -> ClerkJson,
        unsafe_metadata -> ClerkJson,
        locked -> Bool,
        two_factor_enabled -> Bool,
        last_sign_in_at -> Nullable<BigInt>,
        last_active_at -> Nullable<BigInt>,
        clerk_created_at -> Nullable<BigInt>,
        clerk_object -> Nullable<ClerkJson>,
    }
}

diesel::table! {
    user_email_addresses (user_id, clerk_id) {
        user_id -> BigInt,
        clerk_id -> Text,
        email_address -> Text,
        verified -> Bool,
        is_primary -> Bool,
    }
}

diesel::table! {
    user_phone_numbers (user_id, clerk_id) {
        user_id -> BigInt,
        clerk_id -> Text,
        phone_number -> Text,
        verified -> Bool,
        is_primary -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::ClerkJson;

    organizations (id) {
        id -> BigInt,
        clerk_id -> Text,
        name -> Text,
        slug -> Nullable<Text>,
        image_url -> Nullable<Text>,
        clerk_updated_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        public_metadata -> ClerkJson,
        private_metadata -> ClerkJson,
        max_allowed_memberships -> Nullable<BigInt>,
        created_by -> Nullable<Text>,
        clerk_created_at -> Nullable<BigInt>,
        members_count -> BigInt,
        clerk_object -> Nullable<ClerkJson>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::ClerkJson;

    organization_memberships (id) {
        id -> BigInt,
        clerk_id -> Text,
        user_id -> BigInt,
        organization_id -> BigInt,
        role -> Text,
        clerk_updated_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        permissions -> ClerkJson,
        public_metadata -> ClerkJson,
        private_metadata -> ClerkJson,
        clerk_created_at -> Nullable<BigInt>,
        clerk_object -> Nullable<ClerkJson>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        svix_id -> Text,
        event_type -> Text,
        clerk_object_id -> Nullable<Text>,
        outcome -> Text,
        error -> Nullable<Text>,
        payload -> Nullable<Text>,
        attempts -> Integer,
        received_at -> Timestamp,
        last_received_at -> Timestamp,
    }
}

diesel::table! {
    tombstones (clerk_id) {
        clerk_id -> Text,
        kind -> Text,
        deleted_at -> Nullable<BigInt>,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(organization_memberships -> users (user_id));
diesel::joinable!(user_email_addresses -> users (user_id));
diesel::joinable!(user_phone_numbers -> users (user_id));
diesel::joinable!(organization_memberships -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_email_addresses,
    user_phone_numbers,
    organizations,
    organization_memberships,
    webhook_events,
    tombstones,
);
