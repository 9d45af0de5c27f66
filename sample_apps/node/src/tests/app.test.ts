import { strict as assert } from "node:assert";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";

import { createApp } from "../src/app";
import { loadConfig } from "../src/config";

describe("http contract", () => {
  let server: Server;
  let base: string;

  before(async () => {
    const app = createApp({ app: "node", version: "9.9.9" });
    server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.close();
  });

  it("answers /healthz with 200 ok", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
  });

  it("names the app and version on /", async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await res.json(), { app: "node", version: "9.9.9" });
  });

  it("returns JSON 404 for unknown paths", async () => {
    const res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: "not found" });
  });

  it("does not advertise the framework", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.headers.get("x-powered-by"), null);
  });
});

describe("config", () => {
  it("defaults to port 8080 and reads the version from package.json", () => {
    const cfg = loadConfig({});
    assert.equal(cfg.port, 8080);
    assert.match(cfg.version, /^\d+\.\d+\.\d+$/);
  });

  it("rejects a PORT that is not a number", () => {
    assert.throws(() => loadConfig({ PORT: "http" }), /PORT must be a TCP port/);
  });
});
