import type { NextConfig } from "next";

// Where clerk-sync listens, as seen from this Next.js server. Read when the app is built: Next.js
// writes rewrites into the build, so a Docker image gets it as a build argument.
const clerkSyncUrl = (process.env.CLERK_SYNC_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");

const nextConfig: NextConfig = {
  // A self-contained server in .next/standalone, for the Docker image.
  output: "standalone",
  // clerk-sync's routes end with a slash (/api/v1/auth/me/); pass them on as they are instead of
  // answering each with a redirect first.
  skipTrailingSlashRedirect: true,
  async rewrites() {
    return [
      // Same origin for the browser: /api/v1/* goes to clerk-sync, with the __session cookie.
      { source: "/api/v1/:path*", destination: `${clerkSyncUrl}/api/v1/:path*` },
    ];
  },
};

export default nextConfig;
