//! The tables, as diesel sees them. One schema serves both backends: the migrations of
//! `migrations/sqlite` and `migrations/postgres` create the same columns with portable types.
#![expect(
    missing_docs,
    reason = "the tables and columns are documented in the migrations"
)]

diesel::table! {
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
    }
}

diesel::table! {
    organizations (id) {
        id -> BigInt,
        clerk_id -> Text,
        name -> Text,
        slug -> Nullable<Text>,
        image_url -> Nullable<Text>,
        clerk_updated_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organization_memberships (id) {
        id -> BigInt,
        clerk_id -> Text,
        user_id -> BigInt,
        organization_id -> BigInt,
        role -> Text,
        clerk_updated_at -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
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
diesel::joinable!(organization_memberships -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    organizations,
    organization_memberships,
    webhook_events,
    tombstones,
);
