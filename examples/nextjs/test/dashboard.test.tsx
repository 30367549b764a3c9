// The dashboard's API client and its rendered states, against a real clerk-sync started here
// with `clerk-sync dev init` / `serve`, fed by `dev send` and called with `dev token` tokens.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { renderToStaticMarkup } from "react-dom/server";

import { DashboardView } from "@/components/DashboardView";
import { createClerkSyncClient, ME_PATH, type ClerkSyncClient } from "@/lib/clerk-sync";
import { loadDashboard, type DashboardState } from "@/lib/dashboard";

import { ClerkSync, freePort } from "./support/processes";

/** A fetch that records the Authorization header of each request it passes on. */
function recordingFetch() {
  const seen: { url: string; authorization: string | null }[] = [];
  const recording: typeof fetch = async (input, init) => {
    seen.push({ url: String(input), authorization: new Headers(init?.headers).get("authorization") });
    return fetch(input, init);
  };
  return { fetch: recording, seen };
}

function clientFor(baseUrl: string, token: string | null, fetchImpl?: typeof fetch): ClerkSyncClient {
  return createClerkSyncClient({ baseUrl, getToken: async () => token, fetch: fetchImpl });
}

function render(state: DashboardState): string {
  return renderToStaticMarkup(<DashboardView state={state} onRetry={() => {}} />);
}

describe("the dashboard against a real clerk-sync", () => {
  let server: ClerkSync;
  let synced: { user: string; token: string };

  before(async () => {
    server = await ClerkSync.start();
    const user = server.sendUserCreated("ada@example.com", "Ada");
    synced = { user, token: server.token(user) };
  });

  after(async () => {
    await server?.stop();
  });

  test("the session token is sent as a Bearer header and the profile comes back", async () => {
    const { fetch: recording, seen } = recordingFetch();
    const result = await clientFor(server.baseUrl, synced.token, recording).me();
    assert.deepEqual(seen, [{ url: `${server.baseUrl}${ME_PATH}`, authorization: `Bearer ${synced.token}` }]);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.data.clerk_id, synced.user);
    assert.equal(result.data.email, "ada@example.com");
    assert.equal(result.data.first_name, "Ada");
    assert.equal(typeof result.data.id, "number");
  });

  test("a refused token is a 401 error, rendered as such", async () => {
    const state = await loadDashboard(clientFor(server.baseUrl, "not-a-jwt"));
    assert.equal(state.status, "error");
    assert.ok(state.status === "error" && state.error.kind === "unauthenticated", JSON.stringify(state));
    assert.match(state.error.detail, /Could not validate credentials/);
    const html = render(state);
    assert.match(html, /data-error="unauthenticated"/);
    assert.match(html, /clerk-sync did not accept your session \(401\)/);
    assert.match(html, /Could not validate credentials/);
    assert.match(html, /Try again/);
  });

  test("no token at all sends no Authorization header and is a 401", async () => {
    const { fetch: recording, seen } = recordingFetch();
    const state = await loadDashboard(clientFor(server.baseUrl, null, recording));
    assert.equal(seen.length, 2);
    assert.ok(seen.every((request) => request.authorization === null));
    assert.ok(state.status === "error" && state.error.kind === "unauthenticated", JSON.stringify(state));
  });

  test("a user Clerk knows but the webhook never delivered is 404: not synced yet", async () => {
    const token = server.token("user_2NeverSyncedNeverSyncedXYZ");
    const state = await loadDashboard(clientFor(server.baseUrl, token));
    assert.ok(state.status === "error" && state.error.kind === "not-synced", JSON.stringify(state));
    assert.equal(state.error.detail, "User not found");
    const html = render(state);
    assert.match(html, /data-error="not-synced"/);
    assert.match(html, /not synced yet — is the webhook configured\?/);
    assert.match(html, /\/api\/v1\/auth\/clerk_webhook\//);
  });

  test("a synced user without organizations sees the profile and an empty list", async () => {
    const user = server.sendUserCreated("solo@example.com", "Solo");
    const state = await loadDashboard(clientFor(server.baseUrl, server.token(user)));
    assert.ok(state.status === "ready", JSON.stringify(state));
    assert.deepEqual(state.organizations, []);
    const html = render(state);
    assert.match(html, /data-state="ready"/);
    assert.match(html, /solo@example.com/);
    assert.match(html, /not a member of any organization yet/);
  });

  test("after organizationMembership.created the dashboard shows the organization and role", async () => {
    server.run([
      "dev", "send", "organizationMembership.created",
      "--user", synced.user, "--org-name", "Analytical Engines", "--role", "org:admin",
    ]);
    const state = await loadDashboard(clientFor(server.baseUrl, synced.token));
    assert.ok(state.status === "ready", JSON.stringify(state));
    assert.equal(state.me.clerk_id, synced.user);
    assert.equal(state.organizations.length, 1);
    const [organization] = state.organizations;
    assert.equal(organization.name, "Analytical Engines");
    assert.equal(organization.role, "org:admin");
    assert.match(organization.clerk_id, /^org_/);
    const html = render(state);
    assert.match(html, /Ada/);
    assert.match(html, /ada@example.com/);
    assert.match(html, /Analytical Engines/);
    assert.match(html, /org:admin/);
    assert.doesNotMatch(html, /role="alert"/);
  });
});

describe("the dashboard when clerk-sync cannot answer", () => {
  test("clerk-sync without its secrets: the 503 and its detail are shown", async () => {
    const bare = await ClerkSync.start({ devInit: false });
    try {
      const state = await loadDashboard(clientFor(bare.baseUrl, "any-token"));
      assert.ok(state.status === "error" && state.error.kind === "http", JSON.stringify(state));
      assert.equal(state.error.status, 503);
      const html = render(state);
      assert.match(html, /clerk-sync answered 503/);
      assert.match(html, /CLERK_JWT_PUBLIC_KEY/);
    } finally {
      await bare.stop();
    }
  });

  test("nothing listening: a network error, shown as such", async () => {
    const port = await freePort();
    const state = await loadDashboard(clientFor(`http://127.0.0.1:${port}`, "any-token"));
    assert.ok(state.status === "error" && state.error.kind === "network", JSON.stringify(state));
    const html = render(state);
    assert.match(html, /data-error="network"/);
    assert.match(html, /Cannot reach clerk-sync/);
  });

  test("getToken failing (Clerk offline) is a network error, and nothing is fetched", async () => {
    const { fetch: recording, seen } = recordingFetch();
    const client = createClerkSyncClient({
      baseUrl: "http://127.0.0.1:9",
      getToken: async () => {
        throw new Error("ClerkOfflineError");
      },
      fetch: recording,
    });
    const result = await client.me();
    assert.ok(!result.ok && result.error.kind === "network");
    assert.equal(seen.length, 0);
  });
});

describe("the dashboard's other states", () => {
  test("loading is announced", () => {
    const html = render({ status: "loading" });
    assert.match(html, /data-state="loading"/);
    assert.match(html, /role="status"/);
    assert.match(html, /Loading your profile/);
  });

  test("extra fields (e.g. a newer active_organization) are tolerated and kept", async () => {
    const body = {
      id: 7, clerk_id: "user_x", email: null, first_name: null, last_name: null,
      image_url: null, is_staff: true, active_organization: { clerk_id: "org_y", role: "org:admin" },
    };
    const fake: typeof fetch = async () => new Response(JSON.stringify(body), { status: 200 });
    const result = await createClerkSyncClient({ getToken: async () => "t", fetch: fake }).me();
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.data.active_organization, body.active_organization);
    assert.equal(result.data.is_staff, true);
  });

  test("an answer that is not clerk-sync's (e.g. an HTML page) is reported, not thrown", async () => {
    const fake: typeof fetch = async () => new Response("<html>proxy</html>", { status: 200 });
    const client = createClerkSyncClient({ getToken: async () => "t", fetch: fake });
    const state = await loadDashboard(client);
    assert.ok(state.status === "error" && state.error.kind === "invalid-response", JSON.stringify(state));
    assert.match(render(state), /Unexpected answer from clerk-sync/);
  });
});
