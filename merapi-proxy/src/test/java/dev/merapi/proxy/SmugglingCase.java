package dev.merapi.proxy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One case of the request-smuggling corpus in {@code src/test/resources/smuggling}: raw request bytes and the
 * outcome a strict proxy must produce. The file format is described in that folder's README.
 *
 * @param id           the file name without {@code .http}
 * @param family       the attack family, such as {@code cl-te} or {@code chunk-size}
 * @param rfc          the RFC sections the case is about
 * @param description  what the case sends and why it matters
 * @param statuses     the final statuses the client gets on its connection, in order
 * @param close        whether the proxy closes the connection after the last response
 * @param origin       the requests that must reach the origin, in order
 * @param explanations why nginx or HAProxy let the origin see other request boundaries, by proxy name
 * @param bytes        the exact bytes to send
 */
record SmugglingCase(String id, String family, String rfc, String description, List<Integer> statuses, boolean close,
        List<OriginRequest> origin, Map<String, String> explanations, byte[] bytes) {

    /** The classpath folder of the corpus. */
    static final String FOLDER = "smuggling";

    /**
     * A request as the origin must see it: method, target, body, and the Host value when the case names one.
     *
     * @param host the expected Host, or {@code null} when the case does not check it
     */
    record OriginRequest(String method, String target, String body, String host) {
        static OriginRequest parse(String line) {
            String[] parts = line.strip().split(" ");
            if (parts.length < 2) {
                throw new IllegalArgumentException("origin needs a method and a target: " + line);
            }
            String body = null;
            String host = null;
            for (int i = 2; i < parts.length; i++) {
                if (parts[i].startsWith("body=")) {
                    body = new String(unescape(parts[i].substring(5)), StandardCharsets.ISO_8859_1);
                } else if (parts[i].startsWith("host=")) {
                    host = parts[i].substring(5);
                } else {
                    throw new IllegalArgumentException("unknown origin attribute: " + parts[i]);
                }
            }
            return new OriginRequest(parts[0], parts[1], body == null ? "" : body, host);
        }
    }

    /** Whether the case expects at least one request to reach the origin. */
    boolean accepted() {
        return !origin.isEmpty();
    }

    @Override
    public String toString() {
        return id;
    }

    /** Every case of the corpus, sorted by id. */
    static List<SmugglingCase> loadAll() {
        URL url = SmugglingCase.class.getClassLoader().getResource(FOLDER);
        if (url == null) {
            throw new IllegalStateException("corpus folder " + FOLDER + " is not on the test classpath");
        }
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
            List<SmugglingCase> cases = new ArrayList<>();
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".http")).sorted().toList()) {
                cases.add(parse(file.getFileName().toString().replaceFirst("\\.http$", ""),
                        Files.readString(file, StandardCharsets.UTF_8)));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses one case file: {@code key: value} lines, a line {@code ---}, then the escaped raw bytes. */
    static SmugglingCase parse(String id, String text) {
        int separator = text.indexOf("\n---\n");
        if (separator < 0) {
            throw new IllegalArgumentException(id + ": no '---' line between the metadata and the raw request");
        }
        String family = null;
        String rfc = null;
        String description = null;
        List<Integer> statuses = null;
        Boolean close = null;
        List<OriginRequest> origin = new ArrayList<>();
        Map<String, String> explanations = new TreeMap<>();
        for (String line : text.substring(0, separator).split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(id + ": metadata line without a colon: " + line);
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "family" -> family = value;
                case "rfc" -> rfc = value;
                case "description" -> description = value;
                case "expect" -> {
                    String[] words = value.split(" ");
                    statuses = new ArrayList<>();
                    for (int i = 0; i < words.length - 1; i++) {
                        statuses.add(Integer.parseInt(words[i]));
                    }
                    String last = words[words.length - 1];
                    if (!last.equals("close") && !last.equals("open")) {
                        throw new IllegalArgumentException(id + ": expect must end in close or open: " + value);
                    }
                    close = last.equals("close");
                }
                case "origin" -> origin.add(OriginRequest.parse(value));
                default -> {
                    if (!key.startsWith("explain-")) {
                        throw new IllegalArgumentException(id + ": unknown metadata key " + key);
                    }
                    explanations.put(key.substring("explain-".length()), value);
                }
            }
        }
        if (family == null || rfc == null || description == null || statuses == null || statuses.isEmpty()) {
            throw new IllegalArgumentException(id + ": family, rfc, description and expect are required");
        }
        long successes = statuses.stream().filter(s -> s < 300).count();
        if (successes != origin.size()) {
            throw new IllegalArgumentException(id + ": " + successes + " 2xx statuses but " + origin.size() + " origin lines");
        }
        byte[] bytes = unescape(text.substring(separator + 5).replace("\n", ""));
        return new SmugglingCase(id, family, rfc, description, List.copyOf(statuses), close, List.copyOf(origin),
                Map.copyOf(explanations), bytes);
    }

    /** Decodes {@code \r \n \t \0 \\ \xHH}; every other character stands for itself (as ISO-8859-1). */
    static byte[] unescape(String s) {
        byte[] out = new byte[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch != '\\') {
                if (ch > 0xFF) {
                    throw new IllegalArgumentException("non-Latin-1 character in raw bytes: " + ch);
                }
                out[n++] = (byte) ch;
                continue;
            }
            if (++i == s.length()) {
                throw new IllegalArgumentException("dangling backslash");
            }
            switch (s.charAt(i)) {
                case 'r' -> out[n++] = '\r';
                case 'n' -> out[n++] = '\n';
                case 't' -> out[n++] = '\t';
                case '0' -> out[n++] = 0;
                case '\\' -> out[n++] = '\\';
                case 'x' -> {
                    out[n++] = (byte) Integer.parseInt(s.substring(i + 1, i + 3), 16);
                    i += 2;
                }
                default -> throw new IllegalArgumentException("unknown escape \\" + s.charAt(i));
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** The bytes with CR, LF, tab and other controls escaped, shortened to {@code max} characters. */
    static String printable(byte[] bytes, int max) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            int c = b & 0xFF;
            switch (c) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\\' -> sb.append("\\\\");
                default -> sb.append(c < 0x20 || c >= 0x7F ? String.format("\\x%02x", c) : String.valueOf((char) c));
            }
            if (sb.length() > max) {
                return sb.substring(0, max) + "...";
            }
        }
        return sb.toString();
    }
}
