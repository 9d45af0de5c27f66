#!/bin/sh
# Build and test the greeter with the JDK's own tools (javac, jar, java).
set -eu
rm -rf out
javac --release 17 -d out/classes $(find src/main/java -name '*.java')
javac --release 17 -d out/test-classes -cp out/classes $(find src/test/java -name '*.java')
java -cp out/classes:out/test-classes org.bench.greeter.GreeterTest
jar --create --file out/greeter.jar --manifest manifest.txt -C out/classes .
echo "built out/greeter.jar"
