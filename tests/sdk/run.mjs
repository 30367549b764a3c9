// Calls clerk-sync's /clerk/v1 through Clerk's official @clerk/backend and prints what the
// SDK returned, as JSON, for tests/api/clerk_api/sdk.rs to compare with the mirror.
//
//   CLERK_API_URL=http://127.0.0.1:<port>/clerk CLERK_SECRET_KEY=sk_test_… \
//   CLERK_SYNC_IDS='{"ada":"user_…",…}' node run.mjs
import { createClerkClient } from "@clerk/backend";

const apiUrl = process.env.CLERK_API_URL;
const secretKey = process.env.CLERK_SECRET_KEY;
const ids = JSON.parse(process.env.CLERK_SYNC_IDS);
const clerk = createClerkClient({ secretKey, apiUrl });

// An SDK resource as the test compares it: its id, the JSON the SDK received (`raw`), and a
// few fields the SDK itself parsed, so that a shape it cannot read shows.
function resource(item) {
  return {
    id: item.id,
    raw: item.raw,
    parsed: {
      firstName: item.firstName,
      emailAddresses: item.emailAddresses?.map((e) => e.emailAddress),
      name: item.name,
      slug: item.slug,
      membersCount: item.membersCount,
      role: item.role,
      organizationName: item.organization?.name,
      userId: item.publicUserData?.userId,
      publicMetadata: item.publicMetadata,
    },
  };
}

function page(result) {
  if (Array.isArray(result)) return { data: result.map(resource) };
  return { data: result.data.map(resource), totalCount: result.totalCount };
}

async function call(run, shape) {
  try {
    const result = await run();
    return shape(result);
  } catch (error) {
    return { error: { status: error.status, codes: (error.errors ?? []).map((e) => e.code) } };
  }
}

const users = clerk.users;
const organizations = clerk.organizations;

// CLERK_SYNC_SCENARIO=writes: writes that clerk-sync passes on to Clerk (a fake Backend API in
// the test), then a read that the mirror answers.
if (process.env.CLERK_SYNC_SCENARIO === "writes") {
  const written = {};
  written.updateUserMetadata = await call(
    () => users.updateUserMetadata(ids.ada, { publicMetadata: { plan: "pro" } }),
    resource,
  );
  written.updateUser = await call(() => users.updateUser(ids.ada, { firstName: "Augusta" }), resource);
  written.getUser = await call(() => users.getUser(ids.ada), resource);
  console.log(JSON.stringify(written));
  process.exit(0);
}

const calls = {
  getUser: () => call(() => users.getUser(ids.ada), resource),
  getUserUnknown: () => call(() => users.getUser("user_unknown"), resource),
  getUserList: () => call(() => users.getUserList(), page),
  getCount: () => call(() => users.getCount(), (count) => ({ count })),
  getOrganization: () =>
    call(() => organizations.getOrganization({ organizationId: ids.engines }), resource),
  getOrganizationBySlug: () =>
    call(
      () => organizations.getOrganization({ slug: "difference-engines", includeMembersCount: true }),
      resource,
    ),
  getOrganizationList: () => call(() => organizations.getOrganizationList(), page),
  getOrganizationListByName: () =>
    call(
      () => organizations.getOrganizationList({ orderBy: "+name", includeMembersCount: true }),
      page,
    ),
  getOrganizationMembershipList: () =>
    call(() => organizations.getOrganizationMembershipList({ organizationId: ids.engines }), page),
  getOrganizationMembershipListAdmins: () =>
    call(
      () =>
        organizations.getOrganizationMembershipList({
          organizationId: ids.engines,
          role: ["org:admin"],
        }),
      page,
    ),
  getInstanceOrganizationMembershipList: () =>
    call(() => organizations.getInstanceOrganizationMembershipList({ limit: 2 }), page),
  getUserOrganizationMembershipList: () =>
    call(() => users.getOrganizationMembershipList({ userId: ids.grace }), page),
  getUserListWithQuery: () => call(() => users.getUserList({ query: "ada" }), page),
  wrongKey: () =>
    call(() => createClerkClient({ secretKey: "sk_test_wrong", apiUrl }).users.getUser(ids.ada), resource),
};
const filters = {
  emailAddress: [["hopper@navy.example", "alan@example.com"]],
  phoneNumber: [["+15555550100"]],
  username: [["alan"]],
  externalId: [["ext_grace"]],
  userId: [[ids.ada, ids.alan], [`-${ids.ada}`]],
  organizationId: [[ids.engines], [`-${ids.engines}`]],
};
for (const [name, values] of Object.entries(filters)) {
  values.forEach((value, index) => {
    calls[`getUserList.${name}.${index}`] = () =>
      call(() => users.getUserList({ [name]: value }), page);
  });
}
for (const field of ["created_at", "updated_at", "email_address", "username", "first_name", "last_name"]) {
  for (const sign of ["+", "-"]) {
    calls[`getUserList.orderBy.${sign}${field}`] = () =>
      call(() => users.getUserList({ orderBy: `${sign}${field}` }), page);
  }
}
calls["getUserList.page"] = () => call(() => users.getUserList({ limit: 1, offset: 1 }), page);

const results = {};
for (const [name, run] of Object.entries(calls)) {
  results[name] = await run();
}
console.log(JSON.stringify(results));
