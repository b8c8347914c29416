package dev.merapi.gateway;

import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.proxy.Session;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The upstream options of {@code merapi proxy}: {@code --upstream [https://]HOST:PORT[,weight=N]} (repeatable), the
 * {@code --upstream-*} TLS flags and {@code --hash-key uri|client-ip|header:NAME}. Static; every parse error is an {@link IllegalArgumentException}
 * whose message the command prints before exiting with 2.
 */
final class UpstreamSpec {
    private UpstreamSpec() {
    }

    /**
     * The backends of the {@code --upstream} values, in order.
     *
     * @throws IllegalArgumentException for a bad address, weight or option, or the same upstream twice
     */
    static List<Backend> parse(List<String> specs) {
        List<Backend> out = new ArrayList<>();
        for (String spec : specs) {
            Backend b = parseOne(spec);
            if (out.stream().anyMatch(x -> x.name().equals(b.name()))) {
                throw new IllegalArgumentException("'" + b.name() + "' is given twice");
            }
            out.add(b);
        }
        return out;
    }

    static Backend parseOne(String spec) {
        String[] parts = spec.strip().split(",", -1);
        String address = parts[0].strip();
        String lower = address.toLowerCase(Locale.ROOT);
        boolean tls = lower.startsWith("https://");
        if (tls) {
            address = address.substring("https://".length());
        } else if (lower.startsWith("http://")) {
            address = address.substring("http://".length());
        }
        if (address.endsWith("/")) {
            address = address.substring(0, address.length() - 1);
        }
        Backend.Builder b = Backend.builder(address).tls(tls);
        for (int i = 1; i < parts.length; i++) {
            String option = parts[i].strip();
            if (!option.startsWith("weight=")) {
                throw new IllegalArgumentException("'" + spec + "': unknown option '" + option + "' (only weight=N)");
            }
            try {
                b.weight(Integer.parseInt(option.substring("weight=".length())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + spec + "': weight must be a number from 1 to " + Backend.MAX_WEIGHT, e);
            }
        }
        return b.build();
    }

    /**
     * The backends with the TLS flags applied to each {@code https://} one.
     *
     * @param tls the settings of {@code --upstream-ca}, {@code --upstream-client-cert/-key} and {@code --upstream-insecure};
     *     {@code null} when none was given
     * @param sni the {@code --upstream-sni} name; {@code null} when not given
     * @throws IllegalArgumentException when TLS flags are given and no upstream is {@code https://}
     */
    static List<Backend> withTls(List<Backend> backends, @Nullable UpstreamTls tls, @Nullable String sni) {
        if ((tls != null || sni != null) && backends.stream().noneMatch(Backend::tls)) {
            throw new IllegalArgumentException("the --upstream-* TLS flags need an https:// upstream");
        }
        if (sni != null && (sni.isBlank() || sni.chars().anyMatch(c -> c <= ' ' || c >= 0x7f))) {
            throw new IllegalArgumentException("--upstream-sni: invalid name '" + sni + "'");
        }
        List<Backend> out = new ArrayList<>();
        for (Backend b : backends) {
            if (!b.tls()) {
                out.add(b);
                continue;
            }
            Backend.Builder builder = b.toBuilder();
            if (tls != null) {
                builder.upstreamTls(tls);
            }
            if (sni != null) {
                builder.sni(sni.strip());
            }
            out.add(builder.build());
        }
        return out;
    }

    /**
     * What the hashing algorithms hash, from a {@code --hash-key} value: {@code uri} (the request target, as
     * nginx's {@code $request_uri}), {@code client-ip} (the client's address) or {@code header:NAME} (that
     * header's value, empty when absent).
     */
    static Function<Session, byte[]> hashKey(String spec) {
        String s = spec.strip();
        if (s.equalsIgnoreCase("uri")) {
            return session -> session.requestHeader().target().getBytes(StandardCharsets.UTF_8);
        }
        if (s.equalsIgnoreCase("client-ip")) {
            return session -> session.clientAddress() instanceof InetSocketAddress a && a.getAddress() != null
                    ? a.getAddress().getAddress() : new byte[0];
        }
        if (s.regionMatches(true, 0, "header:", 0, 7) && s.length() > 7) {
            String name = s.substring(7);
            if (name.chars().anyMatch(c -> c <= ' ' || c == ':' || c >= 0x7f)) {
                throw new IllegalArgumentException("--hash-key: invalid header name '" + name + "'");
            }
            return session -> {
                return session.requestHeader().header(name).map(v -> v.getBytes(StandardCharsets.UTF_8)).orElse(new byte[0]);
            };
        }
        throw new IllegalArgumentException("--hash-key: expected uri, client-ip or header:NAME, got '" + spec + "'");
    }
}
