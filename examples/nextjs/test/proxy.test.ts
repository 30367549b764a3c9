// The built app (`next build`, then .next/standalone/server.js, as in the Docker image) in front
// of a real clerk-sync: /api/v1/* reaches clerk-sync on the same origin, with the __session
// cookie as well as with the Bearer header, and /dashboard is not served to a signed-out visitor.
//
// The rewrite's destination is fixed when the app is built (CLERK_SYNC_URL), so this test starts
// clerk-sync where the build points: .ci/run builds with CLERK_SYNC_URL on a free local port.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { createClerkSyncClient } from "@/lib/clerk-sync";
import { loadDashboard } from "@/lib/dashboard";

import { APP_DIR, ClerkSync, NextServer, freePort } from "./support/processes";

// A syntactically valid publishable key of a Clerk instance that does not exist: nothing here
// may need to talk to Clerk.
const PLACEHOLDER_ENV = {
  NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk",
  CLERK_SECRET_KEY: "sk_test_placeholder",
  NEXT_PUBLIC_CLERK_TELEMETRY_DISABLED: "1",
};

/** Why this test cannot run against the current build, or undefined when it can. */
async function builtDestinationPort(): Promise<{ port?: number; reason?: string }> {
  if (!existsSync(NextServer.SERVER_JS)) return { reason: "no build: run `npm run build` first" };
  const manifest = JSON.parse(readFileSync(path.join(APP_DIR, ".next/routes-manifest.json"), "utf8"));
  const rewrites = Array.isArray(manifest.rewrites)
    ? manifest.rewrites
    : [...manifest.rewrites.beforeFiles, ...manifest.rewrites.afterFiles, ...manifest.rewrites.fallback];
  const rewrite = rewrites.find((r: { source: string }) => r.source === "/api/v1/:path*");
  if (!rewrite) return { reason: "the build has no /api/v1 rewrite" };
  const destination = new URL(rewrite.destination.replace(":path*", ""));
  if (!["127.0.0.1", "localhost"].includes(destination.hostname)) {
    return { reason: `the build rewrites to ${destination.origin}, not to this machine` };
  }
  const port = Number(destination.port || 80);
  const probe = await freePortIs(port);
  if (!probe) {
    return {
      reason:
        `port ${port} (CLERK_SYNC_URL of the build) is taken; build with ` +
        "CLERK_SYNC_URL=http://127.0.0.1:<a free port> to run this test",
    };
  }
  return { port };
}

async function freePortIs(port: number): Promise<boolean> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

test("the built Next.js app in front of clerk-sync", async (t) => {
  const target = await builtDestinationPort();
  if (target.reason) {
    // CI must run it; elsewhere say why it is skipped.
    if (process.env.CI) throw new Error(target.reason);
    t.skip(target.reason);
    return;
  }
  const clerkSync = await ClerkSync.start({ port: target.port });
  let next: NextServer | undefined;
  try {
    const user = clerkSync.sendUserCreated("grace@example.com", "Grace");
    const token = clerkSync.token(user);
    const app = await NextServer.start(PLACEHOLDER_ENV);
    next = app;

    await t.test("the __session cookie alone authenticates /api/v1/auth/me/ through the rewrite", async () => {
      const response = await fetch(`${app.baseUrl}/api/v1/auth/me/`, {
        headers: { Cookie: `__session=${token}` },
        redirect: "manual",
      });
      assert.equal(response.status, 200, await response.clone().text());
      const me = await response.json();
      assert.equal(me.email, "grace@example.com");
    });

    await t.test("the dashboard's client works on the app's origin with the Bearer header", async () => {
      const client = createClerkSyncClient({ baseUrl: app.baseUrl, getToken: async () => token });
      const state = await loadDashboard(client);
      assert.ok(state.status === "ready", JSON.stringify(state));
      assert.equal(state.me.first_name, "Grace");
    });

    await t.test("clerk-sync's own 401 comes through unchanged (Clerk's middleware leaves /api/v1 alone)", async () => {
      const response = await fetch(`${app.baseUrl}/api/v1/auth/me/`, { redirect: "manual" });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get("x-clerk-auth-status"), null, "Clerk's middleware did not run");
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.match((await response.json()).detail, /credentials|token/i);
    });

    // A development instance first sends a browser without Clerk's dev-browser cookie to Clerk
    // (the "handshake"); with one (any value: only Clerk's servers read it) and no session, the
    // visitor is simply signed out.
    const signedOut = { Accept: "text/html", Cookie: "__clerk_db_jwt=dvb_placeholder; __client_uat=0" };

    await t.test("a signed-out visitor sees the public pages", async () => {
      for (const page of ["/", "/sign-in", "/sign-up"]) {
        const response = await fetch(`${app.baseUrl}${page}`, { headers: signedOut, redirect: "manual" });
        assert.equal(response.status, 200, `${page}: status ${response.status}\n${app.log}`);
        assert.equal(response.headers.get("x-clerk-auth-status"), "signed-out", page);
      }
      const home = await (await fetch(`${app.baseUrl}/`, { headers: signedOut })).text();
      assert.match(home, /Clerk signs you in, clerk-sync knows you/);
    });

    await t.test("a signed-out visitor is sent from /dashboard to /sign-in", async () => {
      const response = await fetch(`${app.baseUrl}/dashboard`, { headers: signedOut, redirect: "manual" });
      assert.equal(response.status, 307, `status ${response.status}\n${app.log}`);
      const location = new URL(response.headers.get("location") ?? "", app.baseUrl);
      assert.equal(location.pathname, "/sign-in");
      assert.equal(new URL(location.searchParams.get("redirect_url") ?? "", app.baseUrl).pathname, "/dashboard");
    });
  } finally {
    await next?.stop();
    await clerkSync.stop();
  }
});
