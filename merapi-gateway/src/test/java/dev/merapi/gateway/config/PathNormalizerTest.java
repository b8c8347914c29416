package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link PathNormalizer}: each rule, and the paths that must not reach a route {@code /admin} would not. */
class PathNormalizerTest {

    @ParameterizedTest
    @ValueSource(strings = {"/admin", "/api/../admin", "/%2e%2e/admin", "/%2E%2E/admin", "//admin", "/./admin", "/api/./../admin",
        "/../admin", "/a/b/../../admin", "/%61dmin", "///admin", "/api/%2e%2e/admin", "/api/.%2e/admin"})
    void everyDisguiseOfAdminNormalisesToAdmin(String raw) {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo("/admin");
    }

    @ParameterizedTest
    @CsvSource({
        "/, /",
        "/api/, /api/",
        "/api/v1/users, /api/v1/users",
        "/a/b/.., /a/",
        "/a/b/., /a/b/",
        "/a/%2fb, /a/%2Fb",
        "/a/%2Fb/../c, /a/c",
        "/a%20b, /a%20b",
        "/~user/%7e, /~user/~",
        "/.., /",
        "/a..b/c, /a..b/c",
        "/.well-known/x, /.well-known/x"})
    void normalisesByTheDocumentedRules(String raw, String normal) {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo(normal);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/a%zz", "/a%2", "/%", "relative", ""})
    void badEscapesAndRelativePathsAreRefused(String raw) {
        assertThatThrownBy(() -> PathNormalizer.normalize(raw)).isInstanceOf(IllegalArgumentException.class);
    }
}
