package org.bench.greeter;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** The service's endpoints: GET /healthz, GET /, GET /greet?name=. */
final class Routes {
    private final String app;
    private final String version;

    Routes(String app, String version) {
        this.app = app;
        this.version = version;
    }

    void register(HttpServer server) {
        server.createContext("/", this::handle);
    }

    /** One response: status, content type and body. Kept separate from I/O for tests. */
    record Response(int status, String contentType, String body) {}

    Response route(String method, String path, String query) {
        if (!"GET".equals(method)) {
            return json(405, Map.of("error", "method not allowed"));
        }
        switch (path) {
            case "/healthz":
                return new Response(200, "text/plain; charset=utf-8", "ok");
            case "/": {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("app", app);
                body.put("version", version);
                return json(200, body);
            }
            case "/greet": {
                String name = Query.parse(query).getOrDefault("name", "world");
                return json(200, Map.of("greeting", "Hello, " + name + "!"));
            }
            default:
                return json(404, Map.of("error", "not found"));
        }
    }

    private static Response json(int status, Map<String, ?> body) {
        return new Response(status, "application/json", Json.write(body));
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Response r = route(
                    exchange.getRequestMethod(),
                    exchange.getRequestURI().getPath(),
                    exchange.getRequestURI().getRawQuery());
            byte[] bytes = r.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", r.contentType());
            exchange.sendResponseHeaders(r.status(), bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
