// What the dashboard shows, as data: loading, ready (profile and organizations) or an error,
// with the words a person needs to fix each error.
import type { ApiError, ClerkSyncClient, Me, MyOrganization } from "./clerk-sync";

export type DashboardState =
  | { status: "loading" }
  | { status: "ready"; me: Me; organizations: MyOrganization[] }
  | { status: "error"; error: ApiError };

/** Loads the profile and the organizations together; the profile's error wins if both fail. */
export async function loadDashboard(client: ClerkSyncClient, signal?: AbortSignal): Promise<DashboardState> {
  const [me, organizations] = await Promise.all([client.me(signal), client.myOrganizations(signal)]);
  if (!me.ok) return { status: "error", error: me.error };
  if (!organizations.ok) return { status: "error", error: organizations.error };
  return { status: "ready", me: me.data, organizations: organizations.data };
}

export interface ErrorExplanation {
  title: string;
  message: string;
}

export function explainError(error: ApiError): ErrorExplanation {
  switch (error.kind) {
    case "unauthenticated":
      return {
        title: "clerk-sync did not accept your session (401)",
        message:
          `${error.detail}. Sign out and in again; if this persists, check that clerk-sync's ` +
          "CLERK_JWT_PUBLIC_KEY is the PEM public key of this Clerk instance.",
      };
    case "not-synced":
      return {
        title: "Your account is not synced yet — is the webhook configured?",
        message:
          `clerk-sync answered 404 (${error.detail}): it has not received the user.created event for ` +
          "you. Check the webhook endpoint in Clerk's dashboard (Configure → Webhooks) points at " +
          "clerk-sync's /api/v1/auth/clerk_webhook/ and its signing secret is clerk-sync's " +
          "CLERK_WEBHOOK_SIGNING_SECRET, then reload.",
      };
    case "http":
      return {
        title: `clerk-sync answered ${error.status}`,
        message: error.detail,
      };
    case "network":
      return {
        title: "Cannot reach clerk-sync",
        message: `${error.message}. Is clerk-sync running at CLERK_SYNC_URL?`,
      };
    case "invalid-response":
      return {
        title: "Unexpected answer from clerk-sync",
        message: error.message,
      };
  }
}

export function displayName(me: Me): string {
  const name = [me.first_name, me.last_name].filter(Boolean).join(" ");
  return name || me.email || me.clerk_id || `user #${me.id}`;
}
