import { ClerkProvider } from "@clerk/nextjs";
import type { Metadata } from "next";

import { Navbar } from "@/components/Navbar";
import "./globals.css";

export const metadata: Metadata = {
  title: "clerk-sync × Next.js",
  description: "Clerk sign-in in Next.js, the synced profile from clerk-sync.",
};

export default function RootLayout({ children }: Readonly<{ children: React.ReactNode }>) {
  return (
    <html lang="en">
      <body>
        <ClerkProvider>
          <Navbar />
          <main>{children}</main>
        </ClerkProvider>
      </body>
    </html>
  );
}
