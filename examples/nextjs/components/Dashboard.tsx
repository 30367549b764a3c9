"use client";

// The dashboard's client component: Clerk gives the session token, clerk-sync the data.
import { useAuth } from "@clerk/nextjs";
import { useCallback, useEffect, useState } from "react";

import { DashboardView } from "@/components/DashboardView";
import { createClerkSyncClient } from "@/lib/clerk-sync";
import { loadDashboard, type DashboardState } from "@/lib/dashboard";

export function Dashboard() {
  const { isLoaded, getToken } = useAuth();
  const [state, setState] = useState<DashboardState>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  useEffect(() => {
    if (!isLoaded) return;
    const controller = new AbortController();
    setState({ status: "loading" });
    // Same origin: next.config.ts rewrites /api/v1/* to clerk-sync. The token goes in the
    // Authorization header; the __session cookie travels along and would do on its own.
    const client = createClerkSyncClient({ getToken: () => getToken() });
    loadDashboard(client, controller.signal).then((next) => {
      if (!controller.signal.aborted) setState(next);
    });
    return () => controller.abort();
  }, [isLoaded, getToken, attempt]);

  return <DashboardView state={state} onRetry={retry} />;
}
