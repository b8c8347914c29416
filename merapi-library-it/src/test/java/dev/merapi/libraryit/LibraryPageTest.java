package dev.merapi.libraryit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/library.md shows the outside project that {@link LibraryPageIT} builds, file for file, and the BOM pins the
 * versions this build uses.
 */
class LibraryPageTest {
    private static final Path PROJECT = Path.of("src/it/hello-proxy");

    private static String read(Path path) throws IOException {
        return Files.readString(path).strip();
    }

    @Test
    void theLibraryPageQuotesTheOutsideProjectVerbatim() throws IOException {
        String page = Files.readString(Path.of("../docs/library.md"));
        assertThat(page).contains("```xml\n" + read(PROJECT.resolve("pom.xml")) + "\n```");
        assertThat(page).contains("```java\n" + read(PROJECT.resolve("src/main/java/com/example/HelloProxy.java")) + "\n```");
        assertThat(page).contains("```xml\n" + read(PROJECT.resolve("src/main/resources/logback.xml")) + "\n```");
    }

    @Test
    void theOutsideProjectImportsTheBomOfThisVersion() throws IOException {
        String pom = read(PROJECT.resolve("pom.xml"));
        assertThat(pom).contains("<merapi.version>" + System.getProperty("merapi.version") + "</merapi.version>")
                .contains("<artifactId>merapi-bom</artifactId>").contains("<scope>import</scope>");
    }

    @Test
    void theBomPinsTheVersionsThisBuildUses() throws IOException {
        String bom = read(Path.of("../bom/pom.xml"));
        assertThat(property(bom, "merapi.netty.version")).isEqualTo(System.getProperty("merapi.nettyVersion"));
        assertThat(property(bom, "merapi.slf4j.version")).isEqualTo(System.getProperty("merapi.slf4jVersion"));
        assertThat(property(bom, "merapi.logback.version")).isEqualTo(System.getProperty("merapi.logbackVersion"));
        assertThat(property(bom, "merapi.jspecify.version")).isEqualTo(System.getProperty("merapi.jspecifyVersion"));
    }

    private static String property(String pom, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">").matcher(pom);
        assertThat(m.find()).as("property %s in the BOM", name).isTrue();
        return m.group(1).strip();
    }
}
