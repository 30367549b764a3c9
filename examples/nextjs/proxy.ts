// Clerk's middleware (Next.js 16 calls the middleware file proxy.ts). Only /dashboard needs a
// session; every other page is public.
import { clerkMiddleware, createRouteMatcher } from "@clerk/nextjs/server";

const isProtectedRoute = createRouteMatcher(["/dashboard(.*)"]);

export default clerkMiddleware(async (auth, req) => {
  if (isProtectedRoute(req)) await auth.protect();
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
