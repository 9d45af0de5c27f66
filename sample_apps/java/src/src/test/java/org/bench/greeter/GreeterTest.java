package org.bench.greeter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The app's tests, without a test framework (no Maven Central here): each check
 * throws on failure; main() runs them all and exits non-zero if any failed.
 */
public final class GreeterTest {
    private static final List<String> failures = new ArrayList<>();
    private static int run;

    public static void main(String[] args) {
        check("json writes nested values in order", () -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("app", "java");
            m.put("n", 3);
            m.put("ok", true);
            m.put("none", null);
            m.put("list", List.of(1, "two"));
            equal("{\"app\":\"java\",\"n\":3,\"ok\":true,\"none\":null,\"list\":[1,\"two\"]}", Json.write(m));
        });
        check("json escapes quotes, backslashes and control characters", () ->
                equal("\"a\\\"b\\\\c\\n\\u0001\"", Json.write("a\"b\\c\n\u0001")));
        check("json refuses NaN", () -> {
            try {
                Json.write(Double.NaN);
            } catch (IllegalArgumentException expected) {
                return;
            }
            throw new AssertionError("NaN was written");
        });
        check("query decodes and keeps the last value", () ->
                equal(Map.of("name", "Ada Lovelace", "x", "2"), Query.parse("name=Ada+Lovelace&x=1&x=2")));
        check("query of null is empty", () -> equal(Map.of(), Query.parse(null)));

        Routes routes = new Routes("java", "1.2.3");
        check("healthz answers ok", () -> {
            Routes.Response r = routes.route("GET", "/healthz", null);
            equal(200, r.status());
            equal("ok", r.body());
        });
        check("root names app and version", () ->
                equal("{\"app\":\"java\",\"version\":\"1.2.3\"}", routes.route("GET", "/", null).body()));
        check("greet uses the name", () ->
                equal("{\"greeting\":\"Hello, Ada!\"}", routes.route("GET", "/greet", "name=Ada").body()));
        check("unknown path is 404", () -> equal(404, routes.route("GET", "/nope", null).status()));
        check("POST is 405", () -> equal(405, routes.route("POST", "/", null).status()));

        System.out.printf("%d checks, %d failed%n", run, failures.size());
        failures.forEach(f -> System.out.println("FAIL " + f));
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    private static void check(String name, Runnable body) {
        run++;
        try {
            body.run();
        } catch (AssertionError | RuntimeException e) {
            failures.add(name + ": " + e.getMessage());
        }
    }

    private static void equal(Object want, Object got) {
        if (!want.equals(got)) {
            throw new AssertionError("want " + want + ", got " + got);
        }
    }
}
