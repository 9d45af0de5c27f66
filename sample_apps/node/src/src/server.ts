import { createApp } from "./app";
import { APP_NAME, loadConfig } from "./config";

const config = loadConfig();
const app = createApp({ app: APP_NAME, version: config.version });

const server = app.listen(config.port, config.host, () => {
  console.log(`${APP_NAME} ${config.version} listening on ${config.host}:${config.port}`);
});

// `docker stop` sends SIGTERM. Node installs no handler for it by default, so
// close the listener and let in-flight requests finish before exiting.
function shutdown(signal: NodeJS.Signals): void {
  console.log(`${signal} received, closing`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
