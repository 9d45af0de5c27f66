import express, { type Express, type NextFunction, type Request, type Response } from "express";

export interface AppInfo {
  app: string;
  version: string;
}

export function createApp(info: AppInfo): Express {
  const app = express();
  app.disable("x-powered-by");

  // Liveness probe used by bench's smoke test and by orchestrators.
  app.get("/healthz", (_req: Request, res: Response) => {
    res.type("text/plain").send("ok");
  });

  app.get("/", (_req: Request, res: Response) => {
    res.json({ app: info.app, version: info.version });
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: "not found" });
  });

  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    console.error(err);
    res.status(500).json({ error: "internal error" });
  });

  return app;
}
