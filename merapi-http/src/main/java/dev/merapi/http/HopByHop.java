package dev.merapi.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Removes hop-by-hop headers (RFC 9110 §7.6.1), including every header named in {@code Connection}, and reads the
 * hop-by-hop fields a proxy must act on before they go: the tokens of {@code Connection}, whether {@code TE} lists
 * {@code trailers}, and what an upgrade request offers.
 *
 * <p>Cost: {@link #strip} reads the fields once and, only when it found a hop-by-hop one, walks them once more to
 * remove what it found; it allocates nothing for a message without a {@code Connection} field. Stateless; safe on any
 * thread, though the {@link Headers} it is given belong to one event loop.
 */
public final class HopByHop {
    /** The fields RFC 9113 §8.2.2 calls connection-specific, which an HTTP/2 message must not carry; lowercase. */
    private static final Set<String> HTTP2_CONNECTION_SPECIFIC = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade", "http2-settings");

    private HopByHop() {
    }

    /**
     * Whether {@code lowercaseName} is a connection-specific field that an HTTP/2 message must not carry (RFC 9113
     * §8.2.2: Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, HTTP2-Settings). {@code TE} is
     * not among them: it is allowed with the value {@code trailers}, which the caller checks.
     */
    public static boolean isHttp2ConnectionSpecific(String lowercaseName) {
        return HTTP2_CONNECTION_SPECIFIC.contains(lowercaseName);
    }

    /**
     * The field names that the {@code Connection} fields of {@code headers} list, lowercase, each once, in order: the
     * fields that are hop-by-hop for this message only. Elements are trimmed of optional whitespace; empty ones are
     * skipped. An empty immutable list, with no allocation, when there is no {@code Connection} field.
     */
    public static List<String> connectionTokens(Headers headers) {
        List<String> tokens = List.of();
        for (int i = headers.indexOf(HeaderNames.CONNECTION, 0); i >= 0; i = headers.indexOf(HeaderNames.CONNECTION, i + 1)) {
            tokens = addTokens(tokens, headers.value(i));
        }
        return tokens;
    }

    /** Adds the elements of one {@code Connection} value to {@code tokens}: the one rule for reading them. */
    private static List<String> addTokens(List<String> tokens, String connection) {
        List<String> out = tokens.isEmpty() ? new ArrayList<>(2) : tokens;
        Tokens.forEachListElement(connection, t -> {
            String lower = t.toLowerCase(Locale.ROOT);
            if (!out.contains(lower)) {
                out.add(lower);
            }
        });
        return out;
    }

    /**
     * What a genuine upgrade request offers: the value of its only {@code Upgrade} field when {@code Connection} lists
     * {@code upgrade} (RFC 9110 §7.8). Empty when there is no {@code Upgrade} field, more than one, or
     * {@code Connection} does not list it. One pass over the fields, no allocation.
     */
    public static Optional<String> upgradeOffer(Headers headers) {
        @Nullable String offer = null;
        boolean listed = false;
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.name(i);
            if (name.length() == 7 && (name.charAt(0) | 0x20) == 'u' && name.equalsIgnoreCase(HeaderNames.UPGRADE)) {
                if (offer != null) {
                    return Optional.empty();
                }
                offer = headers.value(i);
            } else if (!listed && name.length() == 10 && (name.charAt(0) | 0x20) == 'c'
                    && name.equalsIgnoreCase(HeaderNames.CONNECTION)) {
                listed = Tokens.listContains(headers.value(i), "upgrade");
            }
        }
        return listed ? Optional.ofNullable(offer) : Optional.empty();
    }

    /** Strips the hop-by-hop headers from {@code headers} in place. */
    public static void strip(Headers headers) {
        stripFields(headers);
    }

    /**
     * Strips the hop-by-hop headers of {@code request} in place, as {@link #strip(Headers)} does, and records on it
     * whether a removed {@code TE} field listed {@code trailers} ({@link RequestHeader#acceptsTrailers()}): the one
     * part of {@code TE} that a next hop over HTTP/2 carries on (gRPC needs it), read in the same pass.
     */
    public static void stripRequest(RequestHeader request) {
        if (stripFields(request.headers())) {
            request.setAcceptsTrailers(true);
        }
    }

    /** The single read pass, then a removal walk if it found anything; whether a TE field listed trailers. */
    private static boolean stripFields(Headers headers) {
        List<String> named = List.of();
        boolean found = false;
        boolean trailers = false;
        int size = headers.size();
        for (int i = 0; i < size; i++) {
            String name = headers.name(i);
            if (isFixed(name)) {
                found = true;
                if (name.length() == 10 && (name.charAt(0) | 0x20) == 'c') {
                    named = addTokens(named, headers.value(i));
                } else if (name.length() == 2 && !trailers) {
                    trailers = Tokens.listContains(headers.value(i), "trailers");
                }
            }
        }
        if (found) {
            for (int i = size - 1; i >= 0; i--) {
                String name = headers.name(i);
                if (isFixed(name) || (!named.isEmpty() && isNamed(named, name))) {
                    headers.removeAt(i);
                }
            }
        }
        return trailers;
    }

    /**
     * Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding or Upgrade, in any case: the length
     * and the first letter pick at most one candidate, so most other fields cost a switch and a comparison, and no
     * {@code equalsIgnoreCase}.
     */
    private static boolean isFixed(String name) {
        int first = name.isEmpty() ? 0 : name.charAt(0) | 0x20; // ASCII lowercase: tells apart two names of one length
        return switch (name.length()) {
            case 2 -> first == 't' && name.equalsIgnoreCase(HeaderNames.TE);
            case 7 -> first == 'u' ? name.equalsIgnoreCase(HeaderNames.UPGRADE)
                    : first == 't' && name.equalsIgnoreCase(HeaderNames.TRAILER);
            case 10 -> first == 'c' ? name.equalsIgnoreCase(HeaderNames.CONNECTION)
                    : first == 'k' && name.equalsIgnoreCase(HeaderNames.KEEP_ALIVE);
            case 16 -> first == 'p' && name.equalsIgnoreCase(HeaderNames.PROXY_CONNECTION);
            case 17 -> first == 't' && name.equalsIgnoreCase(HeaderNames.TRANSFER_ENCODING);
            default -> false;
        };
    }

    /** Whether {@code Connection} named this field; a client must not be able to strip the fields that route and frame the request. */
    private static boolean isNamed(List<String> named, String name) {
        for (int k = 0; k < named.size(); k++) {
            if (named.get(k).equalsIgnoreCase(name)) {
                return !name.equalsIgnoreCase(HeaderNames.HOST) && !name.equalsIgnoreCase(HeaderNames.CONTENT_LENGTH);
            }
        }
        return false;
    }
}
