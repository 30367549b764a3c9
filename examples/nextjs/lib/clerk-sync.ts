// A small, typed client for clerk-sync's "me" routes. It has no dependency on Clerk or React:
// give it a way to get the session token (Clerk's `getToken`) and, in tests, a fetch and a base
// URL, and it answers typed results instead of throwing.

/** The caller's synced user, as GET /api/v1/auth/me/ answers. Extra fields are kept. */
export interface Me {
  id: number;
  clerk_id: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  is_staff: boolean;
  [field: string]: unknown;
}

/** One of the caller's organizations, as GET /api/v1/auth/me/organizations/ answers. */
export interface MyOrganization {
  id: number;
  clerk_id: string;
  name: string;
  slug: string | null;
  role: string;
  [field: string]: unknown;
}

/** Why a call did not give data. */
export type ApiError =
  /** 401: no session, or a token clerk-sync refused (expired, wrong key, …). */
  | { kind: "unauthenticated"; status: 401; detail: string }
  /** 404 "User not found": signed in with Clerk, but the user.created webhook has not arrived. */
  | { kind: "not-synced"; status: 404; detail: string }
  /** Any other error status, e.g. 503 when clerk-sync lacks CLERK_JWT_PUBLIC_KEY. */
  | { kind: "http"; status: number; detail: string }
  /** No answer at all: clerk-sync (or the network to it) is down, or the token could not be had. */
  | { kind: "network"; message: string }
  /** An answer that is not what clerk-sync sends. */
  | { kind: "invalid-response"; status: number; message: string };

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiError };

export interface ClerkSyncClientOptions {
  /**
   * Where clerk-sync's /api/v1 is. Empty (the default) means this origin: the Next.js app
   * rewrites /api/v1/* to clerk-sync, and the browser sends Clerk's `__session` cookie with it.
   */
  baseUrl?: string;
  /** Clerk's `getToken` from `useAuth()`. When it gives no token, only the cookie can authenticate. */
  getToken: () => Promise<string | null>;
  /** The fetch to use (tests pass a recording one). */
  fetch?: typeof fetch;
}

export interface ClerkSyncClient {
  me(signal?: AbortSignal): Promise<ApiResult<Me>>;
  myOrganizations(signal?: AbortSignal): Promise<ApiResult<MyOrganization[]>>;
}

export const ME_PATH = "/api/v1/auth/me/";
export const MY_ORGANIZATIONS_PATH = "/api/v1/auth/me/organizations/";

export function createClerkSyncClient(options: ClerkSyncClientOptions): ClerkSyncClient {
  const baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  async function get<T>(
    path: string,
    parse: (body: unknown) => T | undefined,
    signal?: AbortSignal,
  ): Promise<ApiResult<T>> {
    let token: string | null;
    try {
      token = await options.getToken();
    } catch (err) {
      // Clerk's getToken throws when the browser is offline.
      return { ok: false, error: { kind: "network", message: `no session token: ${describe(err)}` } };
    }
    const headers: Record<string, string> = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;

    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        headers,
        credentials: "same-origin",
        cache: "no-store",
        signal,
      });
    } catch (err) {
      return { ok: false, error: { kind: "network", message: describe(err) } };
    }

    let body: unknown;
    const text = await response.text().catch(() => "");
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }

    if (!response.ok) {
      const detail = detailOf(body) ?? (text.trim().slice(0, 200) || response.statusText || "no detail");
      if (response.status === 401) return { ok: false, error: { kind: "unauthenticated", status: 401, detail } };
      if (response.status === 404) return { ok: false, error: { kind: "not-synced", status: 404, detail } };
      return { ok: false, error: { kind: "http", status: response.status, detail } };
    }

    const data = parse(body);
    if (data === undefined) {
      return {
        ok: false,
        error: {
          kind: "invalid-response",
          status: response.status,
          message: `unexpected answer from ${path}: ${text.slice(0, 200) || "(empty)"}`,
        },
      };
    }
    return { ok: true, data };
  }

  return {
    me: (signal) => get(ME_PATH, parseMe, signal),
    myOrganizations: (signal) => get(MY_ORGANIZATIONS_PATH, parseOrganizations, signal),
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function detailOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const { detail } = body;
  if (typeof detail === "string") return detail;
  // FastAPI's validation errors are lists; keep the text rather than lose it.
  return detail === undefined ? undefined : JSON.stringify(detail);
}

const isNullableString = (value: unknown) => value === null || value === undefined || typeof value === "string";

/** Checks the fields the dashboard uses; any other field (e.g. a newer one) is kept as is. */
export function parseMe(body: unknown): Me | undefined {
  if (!isRecord(body) || typeof body.id !== "number") return undefined;
  for (const key of ["clerk_id", "email", "first_name", "last_name", "image_url"]) {
    if (!isNullableString(body[key])) return undefined;
  }
  return {
    ...body,
    id: body.id,
    clerk_id: (body.clerk_id as string | null | undefined) ?? null,
    email: (body.email as string | null | undefined) ?? null,
    first_name: (body.first_name as string | null | undefined) ?? null,
    last_name: (body.last_name as string | null | undefined) ?? null,
    image_url: (body.image_url as string | null | undefined) ?? null,
    is_staff: body.is_staff === true,
  };
}

export function parseOrganizations(body: unknown): MyOrganization[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const organizations: MyOrganization[] = [];
  for (const item of body) {
    if (
      !isRecord(item) ||
      typeof item.id !== "number" ||
      typeof item.clerk_id !== "string" ||
      typeof item.name !== "string" ||
      typeof item.role !== "string" ||
      !isNullableString(item.slug)
    ) {
      return undefined;
    }
    organizations.push({
      ...item,
      id: item.id,
      clerk_id: item.clerk_id,
      name: item.name,
      slug: (item.slug as string | null | undefined) ?? null,
      role: item.role,
    });
  }
  return organizations;
}
