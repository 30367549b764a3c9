// Starting the real clerk-sync binary (and the built Next.js server) for the tests.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/** examples/nextjs */
export const APP_DIR = path.resolve(__dirname, "../..");

/** The clerk-sync binary: CLERK_SYNC_BIN, else the workspace's debug build. */
export const CLERK_SYNC_BIN = path.resolve(
  process.env.CLERK_SYNC_BIN ?? path.join(APP_DIR, "../../target/debug/clerk-sync"),
);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { redirect: "manual" });
      if (response.status < 500) return;
      last = `status ${response.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms (${last})`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A clerk-sync server on a free port, in a temporary directory of its own. */
export class ClerkSync {
  readonly baseUrl: string;
  private stderr = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  /**
   * `clerk-sync dev init` (unless `devInit` is false: then the server has no secrets and its
   * authenticated routes answer 503), then `clerk-sync serve` on `port` or a free one.
   */
  static async start(options: { devInit?: boolean; port?: number } = {}): Promise<ClerkSync> {
    if (!existsSync(CLERK_SYNC_BIN)) {
      throw new Error(
        `clerk-sync binary not found at ${CLERK_SYNC_BIN}: run \`cargo build --bin clerk-sync\` ` +
          "at the repository root, or set CLERK_SYNC_BIN",
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), "clerk-sync-nextjs-"));
    const port = options.port ?? (await freePort());
    if (options.devInit !== false) run(dir, port, ["dev", "init"]);
    const child = spawn(CLERK_SYNC_BIN, ["serve"], {
      cwd: dir,
      env: baseEnv(port),
      stdio: ["ignore", "ignore", "pipe"],
    });
    const server = new ClerkSync(dir, port, child);
    try {
      await waitFor(`${server.baseUrl}/api/v1/ready`, "clerk-sync");
    } catch (err) {
      await server.stop();
      throw new Error(`${(err as Error).message}\n${server.stderr}`);
    }
    return server;
  }

  /** Runs `clerk-sync <args>` against this server and returns its standard output. */
  run(args: string[]): string {
    return run(this.dir, this.port, args);
  }

  /** `dev send user.created`: the new user's Clerk id. */
  sendUserCreated(email: string, firstName: string): string {
    const out = this.run(["dev", "send", "user.created", "--email", email, "--first-name", firstName]);
    const user = out.split(/\s+/).find((word) => /^user_\w+$/.test(word));
    if (!user) throw new Error(`no user id in the output of dev send:\n${out}`);
    return user;
  }

  /** `dev token`: a session token for the user, signed with the development key. */
  token(user: string, extra: string[] = []): string {
    return this.run(["dev", "token", "--user", user, "--expires-in", "10m", ...extra]).trim();
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A clean environment: nothing of the caller's (no DATABASE_URL, no secrets) leaks in. */
function baseEnv(port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "",
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(port),
    RUST_LOG: "warn",
  };
}

function run(dir: string, port: number, args: string[]): string {
  const result = spawnSync(CLERK_SYNC_BIN, args, { cwd: dir, env: baseEnv(port), encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`clerk-sync ${args.join(" ")} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/** The production server of `next build` (.next/standalone/server.js), on a free port. */
export class NextServer {
  readonly baseUrl: string;
  private output = "";

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.baseUrl = `http://localhost:${port}`;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  static readonly SERVER_JS = path.join(APP_DIR, ".next/standalone/server.js");

  static async start(env: Record<string, string> = {}): Promise<NextServer> {
    const port = await freePort();
    const child = spawn(process.execPath, [NextServer.SERVER_JS], {
      cwd: path.dirname(NextServer.SERVER_JS),
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        // "localhost", not 127.0.0.1: Clerk's middleware passes the auth state on by rewriting to
        // http://localhost:<port>/…, which Next.js proxies as an external URL unless it is the
        // server's own host name.
        HOSTNAME: "localhost",
        PORT: String(port),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const server = new NextServer(port, child);
    try {
      await waitFor(`${server.baseUrl}/favicon.ico`, "next server");
    } catch (err) {
      await server.stop();
      throw new Error(`${(err as Error).message}\n${server.output}`);
    }
    return server;
  }

  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
