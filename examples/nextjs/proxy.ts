// Clerk's middleware (Next.js 16 calls the middleware file proxy.ts): it makes the session known
// to every page and turns signed-out visitors of /dashboard(.*) away to the sign-in page.
// app/dashboard/page.tsx checks again with `auth.protect()`, as @clerk/nextjs 7 recommends (it
// deprecates createRouteMatcher, so the path is matched here with a plain test).
import { clerkMiddleware } from "@clerk/nextjs/server";

const isDashboard = (pathname: string) => pathname === "/dashboard" || pathname.startsWith("/dashboard/");

export default clerkMiddleware(async (auth, request) => {
  if (isDashboard(request.nextUrl.pathname)) {
    await auth.protect();
  }
});

export const config = {
  matcher: [
    // Every path except Next.js internals, static files and /api/v1: that one is rewritten to
    // clerk-sync (next.config.ts), which checks the session token itself.
    "/((?!_next|api/v1(?:/|$)|[^?]*\\.(?:html?|css|js(?!on)|jpe?g|webp|png|gif|svg|ttf|woff2?|ico|csv|docx?|xlsx?|zip|webmanifest)).*)",
    // Clerk's own routes.
    "/__clerk/(.*)",
  ],
};
