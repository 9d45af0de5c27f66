package org.bench.greeter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The service's endpoints; the same contract as bench's other sample apps. */
@RestController
public class GreeterController {
    @RequestMapping(value = "/healthz", method = RequestMethod.GET, produces = "text/plain;charset=UTF-8")
    public String healthz() {
        return "ok";
    }

    @RequestMapping(value = "/", method = RequestMethod.GET, produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, String> info() {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("app", Main.APP);
        body.put("version", Main.version());
        return body;
    }

    @RequestMapping(value = "/greet", method = RequestMethod.GET, produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, String> greet(@RequestParam(value = "name", defaultValue = "world") String name) {
        return Collections.singletonMap("greeting", "Hello, " + name + "!");
    }

    /** Any path no other mapping claims: a JSON 404 instead of Tomcat's HTML error page. */
    @RequestMapping("/**")
    public ResponseEntity<Map<String, String>> notFound() {
        return ResponseEntity.status(HttpStatus.NOT_FOUND)
                .contentType(MediaType.APPLICATION_JSON)
                .body(Collections.singletonMap("error", "not found"));
    }
}
