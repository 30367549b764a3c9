import { auth } from "@clerk/nextjs/server";
import type { Metadata } from "next";

import { Dashboard } from "@/components/Dashboard";

export const metadata: Metadata = { title: "Dashboard · clerk-sync × Next.js" };

// Signed-in visitors only: a signed-out one is sent to the sign-in page (and back here after).
// The data itself comes from clerk-sync, which checks the session token on every call.
export default async function DashboardPage() {
  await auth.protect();
  return (
    <>
      <h1>Dashboard</h1>
      <Dashboard />
    </>
  );
}
