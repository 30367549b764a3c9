import { Show, SignInButton } from "@clerk/nextjs";
import Link from "next/link";

export default function Home() {
  return (
    <section className="card">
      <h1>Clerk signs you in, clerk-sync knows you</h1>
      <p>
        This Next.js app signs you in with Clerk. Clerk tells clerk-sync about you through its
        webhook, and the dashboard reads your synced profile and organizations from clerk-sync&apos;s
        API with your session token.
      </p>
      <Show when="signed-out">
        <p>
          <SignInButton>
            <button type="button">Sign in to see your dashboard</button>
          </SignInButton>
        </p>
      </Show>
      <Show when="signed-in">
        <p>
          <Link href="/dashboard">Open your dashboard →</Link>
        </p>
      </Show>
    </section>
  );
}
