package dev.merapi.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** docs/admin-api.openapi.yaml and docs/admin-api.md list exactly the endpoints of {@link AdminApi#ENDPOINTS}, with their roles. */
class AdminApiReferenceTest {

    @Test
    void theOpenApiFileAndTheReferenceListEveryEndpointWithItsRole() throws IOException {
        Set<String> fromCode = new TreeSet<>();
        AdminApi.ENDPOINTS.forEach(e -> fromCode.add(e.method() + " " + e.path() + " " + e.role().key()));

        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) new Load(LoadSettings.builder().build())
                .loadFromString(Files.readString(Path.of("..", "docs", "admin-api.openapi.yaml")));
        Set<String> fromOpenApi = new TreeSet<>();
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) spec.get("paths");
        paths.forEach((path, item) -> item.forEach((method, op) -> {
            if (op instanceof Map<?, ?> m && m.containsKey("x-merapi-role")) {
                fromOpenApi.add(method.toUpperCase(Locale.ROOT) + " " + path + " " + m.get("x-merapi-role"));
            }
        }));
        String doc = Files.readString(Path.of("..", "docs", "admin-api.md"));
        Set<String> fromDoc = new TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\| `(GET|POST) (/api/v1/[^`]+)` \\| (\\w+) \\|").matcher(doc);
        while (m.find()) {
            fromDoc.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
        }

        assertThat(fromOpenApi).isEqualTo(fromCode);
        assertThat(fromDoc).isEqualTo(fromCode);
    }
}
