//! A model of a Clerk instance for the reliability tests: operations on users,
//! organizations and memberships, the events Clerk sends for them (in the payload shapes of
//! `crates/domain/tests/fixtures/events`, with consistent `updated_at` and envelope
//! timestamps), Clerk's final state, and a dump of the mirror to compare it with.
//!
//! Shared by the convergence property test (`crates/persistence/tests/convergence.rs`) and the
//! black-box reliability tests (`tests/api/reliability`).

mod mirror;

use serde_json::{Value, json};

pub use mirror::{Mirror, UserRow, dump};

/// Most users and organizations alive at once, and the distinct emails: few, so that they
/// collide.
pub const MAX_USERS: usize = 5;
pub const MAX_ORGS: usize = 3;
pub const EMAILS: u8 = 5;
pub const ROLES: [&str; 3] = ["org:admin", "org:member", "org:billing_manager"];
/// Clerk's clock at the start of every history (milliseconds).
pub const EPOCH: i64 = 1_737_000_000_000;

/// One thing that happens in Clerk. Indices pick among the live objects (modulo their number);
/// an operation that Clerk would not allow at that point is skipped.
#[derive(Clone, Debug)]
pub enum Op {
    CreateUser {
        email: Option<u8>,
        name: u8,
    },
    RenameUser {
        user: u8,
        name: u8,
    },
    /// Makes `email` the primary address (adding it when the user lacks it), or leaves the user
    /// without one; `drop_old` removes the previous primary address, freeing it.
    ChangePrimaryEmail {
        user: u8,
        email: Option<u8>,
        drop_old: bool,
    },
    /// The user adds `email` as a new, unverified address and makes it primary: an address
    /// anybody can type in, also one another user has (the account-takeover attempt).
    AddUnverifiedPrimary {
        user: u8,
        email: u8,
    },
    /// The user verifies their primary address (unless another user has it verified: Clerk
    /// refuses that).
    VerifyPrimary {
        user: u8,
    },
    /// Two users exchange their primary emails, in the three steps Clerk's uniqueness needs.
    SwapEmails {
        a: u8,
        b: u8,
    },
    /// `notify_memberships`: Clerk also sends `organizationMembership.deleted` for the user's
    /// memberships (both are handled).
    DeleteUser {
        user: u8,
        notify_memberships: bool,
    },
    CreateOrg {
        name: u8,
    },
    RenameOrg {
        org: u8,
        name: u8,
    },
    DeleteOrg {
        org: u8,
        notify_memberships: bool,
    },
    Join {
        user: u8,
        org: u8,
        role: u8,
    },
    ChangeRole {
        user: u8,
        org: u8,
        role: u8,
    },
    Leave {
        user: u8,
        org: u8,
    },
}

#[derive(Clone, Debug)]
struct ModelUser {
    id: String,
    live: bool,
    /// (address id, address, verified), in the order added.
    addresses: Vec<(String, String, bool)>,
    primary: Option<String>,
    first_name: String,
    updated_at: i64,
}

impl ModelUser {
    /// The primary address when verified: what the mirror keeps as the user's email.
    fn email(&self) -> Option<&str> {
        let primary = self.primary.as_ref()?;
        self.addresses
            .iter()
            .find(|(id, _, verified)| id == primary && *verified)
            .map(|(_, email, _)| email.as_str())
    }

    fn data(&self) -> Value {
        let addresses: Vec<Value> = self
            .addresses
            .iter()
            .map(|(id, email, verified)| {
                let status = if *verified { "verified" } else { "unverified" };
                json!({"id": id, "object": "email_address", "email_address": email,
                       "verification": {"status": status, "strategy": "email_code"},
                       "linked_to": [], "reserved": false})
            })
            .collect();
        json!({
            "id": self.id, "object": "user", "username": null,
            "first_name": self.first_name, "last_name": "Lovelace",
            "image_url": format!("https://img.clerk.com/{}", self.first_name),
            "has_image": false, "primary_email_address_id": self.primary,
            "primary_phone_number_id": null, "email_addresses": addresses, "phone_numbers": [],
            "public_metadata": {}, "private_metadata": {}, "unsafe_metadata": {},
            "created_at": EPOCH, "updated_at": self.updated_at,
        })
    }
}

#[derive(Clone, Debug)]
struct ModelOrg {
    id: String,
    live: bool,
    name: String,
    updated_at: i64,
}

impl ModelOrg {
    fn data(&self) -> Value {
        json!({
            "id": self.id, "object": "organization", "name": self.name,
            "slug": self.name.to_lowercase().replace(' ', "-"),
            "image_url": format!("https://img.clerk.com/{}", self.name.len()), "has_image": false,
            "max_allowed_memberships": 5, "admin_delete_enabled": true,
            "public_metadata": {}, "private_metadata": {},
            "created_at": EPOCH, "updated_at": self.updated_at,
        })
    }
}

#[derive(Clone, Debug)]
struct ModelMembership {
    id: String,
    user: usize,
    org: usize,
    live: bool,
    role: String,
    updated_at: i64,
}

/// A Clerk instance, and the events it sent, in the order it sent them.
#[derive(Debug, Default)]
pub struct Clerk {
    now: i64,
    users: Vec<ModelUser>,
    orgs: Vec<ModelOrg>,
    memberships: Vec<ModelMembership>,
    next_address: usize,
    /// The events sent, in the order Clerk sent them.
    pub events: Vec<Value>,
}

fn email_address(n: u8) -> String {
    format!("person{n}@example.com")
}

impl Clerk {
    /// Runs a history from an empty instance.
    pub fn run(ops: &[Op]) -> Self {
        let mut clerk = Self {
            now: EPOCH,
            ..Self::default()
        };
        for op in ops {
            clerk.apply(op);
        }
        clerk
    }

    fn tick(&mut self) -> i64 {
        self.now += 1 + (self.now % 3);
        self.now
    }

    /// The `n`-th live user (modulo their number).
    fn pick_user(&self, n: u8) -> Option<usize> {
        let live: Vec<usize> = (0..self.users.len())
            .filter(|&i| self.users[i].live)
            .collect();
        live.get(usize::from(n) % live.len().max(1)).copied()
    }

    /// The `n`-th live organization (modulo their number).
    fn pick_org(&self, n: u8) -> Option<usize> {
        let live: Vec<usize> = (0..self.orgs.len())
            .filter(|&i| self.orgs[i].live)
            .collect();
        live.get(usize::from(n) % live.len().max(1)).copied()
    }

    fn live_users(&self) -> usize {
        self.users.iter().filter(|u| u.live).count()
    }

    fn live_orgs(&self) -> usize {
        self.orgs.iter().filter(|o| o.live).count()
    }

    /// Whether a live user other than `except` has the address verified (Clerk keeps
    /// verified addresses unique).
    fn address_taken(&self, email: &str, except: Option<usize>) -> bool {
        self.users.iter().enumerate().any(|(i, u)| {
            Some(i) != except
                && u.live
                && u.addresses
                    .iter()
                    .any(|(_, e, verified)| e == email && *verified)
        })
    }

    fn emit(&mut self, event_type: &str, data: Value, timestamp: i64) {
        self.events.push(json!({
            "data": data, "object": "event", "type": event_type, "timestamp": timestamp,
            "instance_id": "ins_2LLnHdIvv70DVp8wUQvyJxLJmur",
            "event_attributes": {"http_request": {"client_ip": "192.0.2.1", "user_agent": "test"}},
        }));
    }

    fn emit_user(&mut self, event_type: &str, user: usize) {
        let data = self.users[user].data();
        let timestamp = self.users[user].updated_at;
        self.emit(event_type, data, timestamp);
    }

    fn emit_org(&mut self, event_type: &str, org: usize) {
        let data = self.orgs[org].data();
        let timestamp = self.orgs[org].updated_at;
        self.emit(event_type, data, timestamp);
    }

    fn membership_data(&self, membership: usize) -> Value {
        let m = &self.memberships[membership];
        let user = &self.users[m.user];
        json!({
            "id": m.id, "object": "organization_membership", "role": m.role,
            "role_name": m.role.trim_start_matches("org:"), "permissions": [],
            "public_metadata": {}, "private_metadata": {},
            "organization": self.orgs[m.org].data(),
            "public_user_data": {
                "user_id": user.id, "first_name": user.first_name, "last_name": "Lovelace",
                "identifier": user.email().unwrap_or("+15555550100"),
                "image_url": format!("https://img.clerk.com/{}", user.first_name),
                "has_image": false,
            },
            "created_at": EPOCH, "updated_at": m.updated_at,
        })
    }

    fn write_user(&mut self, user: usize, change: impl FnOnce(&mut ModelUser)) {
        let now = self.tick();
        let model = &mut self.users[user];
        change(model);
        model.updated_at = now;
        self.emit_user("user.updated", user);
    }

    /// Adds `email` to the user (when not there) and makes it primary.
    fn set_primary(&mut self, user: usize, email: &str, drop_old: bool) {
        let address = self.next_address;
        self.next_address += 1;
        self.write_user(user, |u| {
            if drop_old && let Some(old) = u.primary.take() {
                u.addresses.retain(|(id, _, _)| *id != old);
            }
            let id = match u.addresses.iter_mut().find(|(_, e, _)| e == email) {
                Some((id, _, verified)) => {
                    *verified = true;
                    id.clone()
                }
                None => {
                    let id = format!("idn_{address:04}");
                    u.addresses.push((id.clone(), email.to_owned(), true));
                    id
                }
            };
            u.primary = Some(id);
        });
    }

    /// Removes every address of the user (a phone-only user).
    fn clear_emails(&mut self, user: usize) {
        self.write_user(user, |u| {
            u.addresses.clear();
            u.primary = None;
        });
    }

    fn end_membership(&mut self, membership: usize, notify: bool) {
        self.memberships[membership].live = false;
        if notify {
            let data = self.membership_data(membership);
            let now = self.tick();
            self.emit("organizationMembership.deleted", data, now);
        }
    }

    fn live_membership(&self, user: usize, org: usize) -> Option<usize> {
        self.memberships
            .iter()
            .position(|m| m.live && m.user == user && m.org == org)
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::CreateUser { email, name } if self.live_users() < MAX_USERS => {
                let now = self.tick();
                let mut user = ModelUser {
                    id: format!("user_{:02}", self.users.len()),
                    live: true,
                    addresses: Vec::new(),
                    primary: None,
                    first_name: format!("Name{name}"),
                    updated_at: now,
                };
                if let Some(email) = email.map(email_address)
                    && !self.address_taken(&email, None)
                {
                    let id = format!("idn_{:04}", self.next_address);
                    self.next_address += 1;
                    user.addresses.push((id.clone(), email, true));
                    user.primary = Some(id);
                }
                self.users.push(user);
                self.emit_user("user.created", self.users.len() - 1);
            }
            Op::RenameUser { user, name } => {
                if let Some(user) = self.pick_user(user) {
                    self.write_user(user, |u| u.first_name = format!("Name{name}"));
                }
            }
            Op::ChangePrimaryEmail {
                user,
                email,
                drop_old,
            } => {
                let Some(user) = self.pick_user(user) else {
                    return;
                };
                match email.map(email_address) {
                    Some(email) if !self.address_taken(&email, Some(user)) => {
                        self.set_primary(user, &email, drop_old);
                    }
                    Some(_) => {}
                    None => self.clear_emails(user),
                }
            }
            Op::AddUnverifiedPrimary { user, email } => {
                let Some(user) = self.pick_user(user) else {
                    return;
                };
                let address = self.next_address;
                self.next_address += 1;
                self.write_user(user, |u| {
                    let id = format!("idn_{address:04}");
                    u.addresses.push((id.clone(), email_address(email), false));
                    u.primary = Some(id);
                });
            }
            Op::VerifyPrimary { user } => {
                let Some(user) = self.pick_user(user) else {
                    return;
                };
                let model = &self.users[user];
                let Some((_, email, false)) = model
                    .addresses
                    .iter()
                    .find(|(id, _, _)| model.primary.as_ref() == Some(id))
                    .cloned()
                else {
                    return;
                };
                if !self.address_taken(&email, Some(user)) {
                    self.set_primary(user, &email, false);
                }
            }
            Op::SwapEmails { a, b } => {
                let (Some(a), Some(b)) = (self.pick_user(a), self.pick_user(b)) else {
                    return;
                };
                let (Some(email_a), Some(email_b)) = (
                    self.users[a].email().map(str::to_owned),
                    self.users[b].email().map(str::to_owned),
                ) else {
                    return;
                };
                if a == b {
                    return;
                }
                self.clear_emails(a);
                self.clear_emails(b);
                self.set_primary(b, &email_a, false);
                self.set_primary(a, &email_b, false);
            }
            Op::DeleteUser {
                user,
                notify_memberships,
            } => {
                let Some(user) = self.pick_user(user) else {
                    return;
                };
                for m in 0..self.memberships.len() {
                    if self.memberships[m].live && self.memberships[m].user == user {
                        self.end_membership(m, notify_memberships);
                    }
                }
                self.users[user].live = false;
                let now = self.tick();
                let id = self.users[user].id.clone();
                self.emit(
                    "user.deleted",
                    json!({"id": id, "object": "user", "deleted": true}),
                    now,
                );
            }
            Op::CreateOrg { name } if self.live_orgs() < MAX_ORGS => {
                let now = self.tick();
                self.orgs.push(ModelOrg {
                    id: format!("org_{:02}", self.orgs.len()),
                    live: true,
                    name: format!("Org {name}"),
                    updated_at: now,
                });
                self.emit_org("organization.created", self.orgs.len() - 1);
            }
            Op::RenameOrg { org, name } => {
                if let Some(org) = self.pick_org(org) {
                    let now = self.tick();
                    self.orgs[org].name = format!("Org {name}");
                    self.orgs[org].updated_at = now;
                    self.emit_org("organization.updated", org);
                }
            }
            Op::DeleteOrg {
                org,
                notify_memberships,
            } => {
                let Some(org) = self.pick_org(org) else {
                    return;
                };
                for m in 0..self.memberships.len() {
                    if self.memberships[m].live && self.memberships[m].org == org {
                        self.end_membership(m, notify_memberships);
                    }
                }
                self.orgs[org].live = false;
                let now = self.tick();
                let id = self.orgs[org].id.clone();
                self.emit(
                    "organization.deleted",
                    json!({"id": id, "object": "organization", "deleted": true}),
                    now,
                );
            }
            Op::Join { user, org, role } => {
                let (Some(user), Some(org)) = (self.pick_user(user), self.pick_org(org)) else {
                    return;
                };
                if self.live_membership(user, org).is_some() {
                    return;
                }
                let now = self.tick();
                self.memberships.push(ModelMembership {
                    id: format!("orgmem_{:03}", self.memberships.len()),
                    user,
                    org,
                    live: true,
                    role: ROLES[usize::from(role) % ROLES.len()].to_owned(),
                    updated_at: now,
                });
                let data = self.membership_data(self.memberships.len() - 1);
                self.emit("organizationMembership.created", data, now);
            }
            Op::ChangeRole { user, org, role } => {
                let (Some(user), Some(org)) = (self.pick_user(user), self.pick_org(org)) else {
                    return;
                };
                let Some(m) = self.live_membership(user, org) else {
                    return;
                };
                let now = self.tick();
                self.memberships[m].role = ROLES[usize::from(role) % ROLES.len()].to_owned();
                self.memberships[m].updated_at = now;
                let data = self.membership_data(m);
                self.emit("organizationMembership.updated", data, now);
            }
            Op::Leave { user, org } => {
                let (Some(user), Some(org)) = (self.pick_user(user), self.pick_org(org)) else {
                    return;
                };
                if let Some(m) = self.live_membership(user, org) {
                    self.end_membership(m, true);
                }
            }
            Op::CreateUser { .. } | Op::CreateOrg { .. } => {}
        }
    }

    /// Clerk's final state, in the shape [`dump`] reads the mirror in.
    pub fn final_state(&self) -> Mirror {
        let users = self
            .users
            .iter()
            .filter(|u| u.live)
            .map(|u| UserRow {
                clerk_id: Some(u.id.clone()),
                email: u.email().map(str::to_owned),
                first_name: Some(u.first_name.clone()),
                last_name: Some("Lovelace".to_owned()),
                image_url: Some(format!("https://img.clerk.com/{}", u.first_name)),
                is_staff: false,
                is_active: true,
                clerk_updated_at: Some(u.updated_at),
            })
            .collect();
        let orgs = self
            .orgs
            .iter()
            .filter(|o| o.live)
            .map(|o| {
                let data = o.data();
                (
                    o.id.clone(),
                    o.name.clone(),
                    data["slug"].as_str().map(str::to_owned),
                    data["image_url"].as_str().map(str::to_owned),
                    o.updated_at,
                )
            })
            .collect();
        let memberships = self
            .memberships
            .iter()
            .filter(|m| m.live)
            .map(|m| {
                (
                    m.id.clone(),
                    Some(self.users[m.user].id.clone()),
                    self.orgs[m.org].id.clone(),
                    m.role.clone(),
                    m.updated_at,
                )
            })
            .collect();
        let mut tombstones: Vec<(String, Option<i64>)> = self
            .events
            .iter()
            .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with(".deleted")))
            .map(|e| {
                (
                    e["data"]["id"].as_str().unwrap_or_default().to_owned(),
                    e["timestamp"].as_i64(),
                )
            })
            .collect();
        tombstones.sort();
        let addresses = self
            .users
            .iter()
            .filter(|u| u.live)
            .flat_map(|u| {
                u.addresses.iter().map(|(id, email, verified)| {
                    let primary = u.primary.as_deref() == Some(id.as_str());
                    (
                        Some(u.id.clone()),
                        id.clone(),
                        email.clone(),
                        *verified,
                        primary,
                    )
                })
            })
            .collect();
        let mut mirror = Mirror {
            users,
            orgs,
            memberships,
            tombstones,
            addresses,
        };
        mirror.sort();
        mirror
    }
}
