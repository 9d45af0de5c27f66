package org.bench.greeter;

import java.io.File;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.startup.Tomcat;
import org.springframework.web.context.support.AnnotationConfigWebApplicationContext;
import org.springframework.web.servlet.DispatcherServlet;

/**
 * greeter-spring: Spring MVC 4.3 on an embedded Tomcat 9, not Spring Boot.
 *
 * <pre>
 *   GET /healthz            -> 200 "ok"
 *   GET /                   -> {"app": "spring", "version": "..."}
 *   GET /greet?name=NAME    -> {"greeting": "Hello, NAME!"}
 *   anything else           -> 404 {"error": "not found"}
 * </pre>
 */
public final class Main {
    static final String APP = "spring";

    private Main() {}

    /** The version from the jar's manifest (the pom's project.version); "dev" when unpackaged. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    public static void main(String[] args) throws LifecycleException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        Tomcat tomcat = new Tomcat();
        // Tomcat writes its work files under its base directory: /tmp, so the image's
        // root filesystem can stay read-only.
        tomcat.setBaseDir(new File(System.getProperty("java.io.tmpdir"), "tomcat").getAbsolutePath());
        tomcat.setPort(port);
        tomcat.getConnector(); // Tomcat 9 creates the HTTP connector on first use

        AnnotationConfigWebApplicationContext spring = new AnnotationConfigWebApplicationContext();
        spring.register(WebBeans.class, GreeterController.class);

        Context ctx = tomcat.addContext("", null);
        Tomcat.addServlet(ctx, "dispatcher", new DispatcherServlet(spring)).setLoadOnStartup(1);
        ctx.addServletMappingDecoded("/", "dispatcher");

        tomcat.start();
        System.out.println("greeter-spring " + version() + " listening on " + port);
        tomcat.getServer().await();
    }
}
