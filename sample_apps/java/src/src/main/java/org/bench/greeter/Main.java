package org.bench.greeter;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;

/** Starts the greeter HTTP service on the JDK's built-in server. */
public final class Main {
    static final String APP = "java";
    // System.Logger lives in java.base: without java.logging in a jlinked runtime it
    // falls back to a plain stderr logger, so the app needs no logging module.
    private static final System.Logger LOG = System.getLogger(Main.class.getName());

    private Main() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String version = version();
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        new Routes(APP, version).register(server);
        server.setExecutor(Executors.newFixedThreadPool(4));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
        server.start();
        LOG.log(System.Logger.Level.INFO, () -> "greeter " + version + " listening on :" + port);
    }

    /** The Implementation-Version from the jar's manifest; "dev" when run from classes. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
