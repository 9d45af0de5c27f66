package org.bench.greeter;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/** Starts the greeter HTTP service on the JDK's built-in server. */
public final class Main {
    static final String APP = "java";
    private static final Logger LOG = Logger.getLogger(Main.class.getName());

    private Main() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        String version = version();
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        new Routes(APP, version).register(server);
        server.setExecutor(Executors.newFixedThreadPool(4));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
        server.start();
        LOG.info(() -> "greeter " + version + " listening on :" + port);
    }

    /** The Implementation-Version from the jar's manifest; "dev" when run from classes. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
