"use client";

// A client component: the signed-in/out switch then reads Clerk's state in the browser, so the
// navbar also renders on pages Clerk's middleware does not run for (e.g. a 404 for a static file).
import { Show, SignInButton, SignUpButton, UserButton } from "@clerk/nextjs";
import Link from "next/link";

export function Navbar() {
  return (
    <header className="navbar">
      <nav>
        <Link href="/" className="brand">
          clerk-sync
        </Link>
        <Link href="/dashboard">Dashboard</Link>
      </nav>
      <div className="session">
        <Show when="signed-out">
          <SignInButton />
          <SignUpButton />
        </Show>
        <Show when="signed-in">
          <UserButton />
        </Show>
      </div>
    </header>
  );
}
