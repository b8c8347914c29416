package dev.merapi.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/configuration.md's gateway table lists exactly the keys the loader takes, so neither can drift. */
class ConfigReferenceTest {

    @Test
    void theReferenceTableListsExactlyTheKeysOfTheRecords() throws IOException {
        Set<String> fromCode = new TreeSet<>();
        add(fromCode, "server", GatewayConfig.Server.KEYS);
        add(fromCode, "listeners[]", GatewayConfig.Listener.KEYS);
        add(fromCode, "listeners[].tls", GatewayConfig.ListenerTls.KEYS);
        add(fromCode, "listeners[].tls.certificates[]", GatewayConfig.CertificateFiles.KEYS);
        add(fromCode, "listeners[].connect", GatewayConfig.Listener.CONNECT_KEYS);
        add(fromCode, "upstreams[]", GatewayConfig.UpstreamGroup.KEYS);
        add(fromCode, "upstreams[].tls", GatewayConfig.UpstreamTlsSpec.KEYS);
        add(fromCode, "upstreams[].backends[]", GatewayConfig.BackendSpec.KEYS);
        add(fromCode, "upstreams[].health-check", GatewayConfig.HealthCheckSpec.KEYS);
        add(fromCode, "upstreams[].dns", GatewayConfig.DnsSpec.KEYS);
        add(fromCode, "routes[]", GatewayConfig.Route.KEYS);
        add(fromCode, "routes[].match", GatewayConfig.Match.KEYS);
        add(fromCode, "routes[].redirect", GatewayConfig.Action.Redirect.KEYS);
        add(fromCode, "routes[].respond", GatewayConfig.Action.Respond.KEYS);
        add(fromCode, "routes[].rewrite", GatewayConfig.Rewrite.KEYS);
        add(fromCode, "routes[].cors", GatewayConfig.Cors.KEYS);
        add(fromCode, "HEADER_EDITS", GatewayConfig.HeaderEdits.KEYS);
        add(fromCode, "admin", GatewayConfig.Admin.KEYS);
        add(fromCode, "admin.tokens[]", GatewayConfig.AdminToken.KEYS);
        add(fromCode, "admin.clients[]", GatewayConfig.AdminClient.KEYS);
        add(fromCode, "access-log", GatewayConfig.AccessLog.KEYS);
        add(fromCode, "metrics", GatewayConfig.Metrics.KEYS);
        add(fromCode, "request-id", GatewayConfig.RequestId.KEYS);
        add(fromCode, "remote", GatewayConfig.Remote.KEYS);
        fromCode.add("version");
        assertThat(GatewayConfig.KEYS).containsExactlyInAnyOrder("server", "listeners", "upstreams", "routes", "admin", "access-log", "metrics",
                "request-id", "version", "remote");

        String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
        String table = doc.substring(doc.indexOf("## Gateway YAML"));
        Set<String> fromDoc = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^\\| `([^`]+)` \\|").matcher(table);
        while (m.find()) {
            fromDoc.add(m.group(1));
        }

        assertThat(fromDoc).isEqualTo(fromCode);
    }

    private static void add(Set<String> out, String prefix, List<String> keys) {
        keys.forEach(k -> out.add(prefix + "." + k));
    }
}
