import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const APP_NAME = "node";

export interface Config {
  port: number;
  host: string;
  version: string;
}

// The version is read from package.json at start-up so it is never stated twice;
// every image variant ships package.json next to dist/. Walk up so the compiled
// tests (build/test/src/) find the same file.
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { version?: string };
      return pkg.version ?? "0.0.0";
    }
  }
  return "0.0.0";
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number.parseInt(env.PORT ?? "8080", 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(env.PORT)}`);
  }
  return { port, host: env.HOST ?? "0.0.0.0", version: packageVersion() };
}
