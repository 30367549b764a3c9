// Clerk's middleware (Next.js 16 calls the middleware file proxy.ts): it makes the session known
// to every page, and `auth.protect()` in app/dashboard/page.tsx turns signed-out visitors away.
// (@clerk/nextjs 7 deprecates path matching here, createRouteMatcher: each protected page checks
// for itself.)
import { clerkMiddleware } from "@clerk/nextjs/server";

export default clerkMiddleware();

export const config = {
  matcher: [
    // Every path except Next.js internals, static files and /api/v1: that one is rewritten to
    // clerk-sync (next.config.ts), which checks the session token itself.
    "/((?!_next|api/v1(?:/|$)|[^?]*\\.(?:html?|css|js(?!on)|jpe?g|webp|png|gif|svg|ttf|woff2?|ico|csv|docx?|xlsx?|zip|webmanifest)).*)",
    // Clerk's own routes.
    "/__clerk/(.*)",
  ],
};
