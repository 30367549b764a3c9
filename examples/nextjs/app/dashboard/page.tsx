import type { Metadata } from "next";

import { Dashboard } from "@/components/Dashboard";

export const metadata: Metadata = { title: "Dashboard · clerk-sync × Next.js" };

// proxy.ts lets only signed-in visitors here; the data comes from clerk-sync in the browser.
export default function DashboardPage() {
  return (
    <>
      <h1>Dashboard</h1>
      <Dashboard />
    </>
  );
}
