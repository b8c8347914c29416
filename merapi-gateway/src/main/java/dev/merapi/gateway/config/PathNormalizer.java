package dev.merapi.gateway.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The one form of a request path that routes match on and that goes upstream. In this order:
 * <ol>
 *   <li>percent-escapes of unreserved characters (letters, digits, {@code - . _ ~}) are decoded, so that
 *       {@code %2e%2e} is {@code ..}; other escapes are kept, with upper-case hex ({@code %2f} becomes {@code %2F}
 *       and does not split a segment); a {@code %} not followed by two hex digits makes the path invalid;</li>
 *   <li>runs of slashes become one ({@code //admin} is {@code /admin}), as nginx's {@code merge_slashes on};</li>
 *   <li>dot-segments are removed (RFC 3986 section 5.2.4): {@code /api/../admin} is {@code /admin}; a {@code ..}
 *       above the root stays at the root.</li>
 * </ol>
 * The gateway routes on the normalised path and forwards it normalised, so the upstream sees the path the route
 * was chosen for: {@code /api/../admin}, {@code /%2e%2e/admin} and {@code //admin} all go where {@code /admin}
 * goes, and nowhere else. Static and thread-safe.
 */
public final class PathNormalizer {
    private PathNormalizer() {
    }

    /**
     * The normalised form of {@code path} (the part of the target before any {@code ?}).
     *
     * @throws IllegalArgumentException if it does not start with {@code /} or holds a bad percent-escape
     */
    public static String normalize(String path) {
        if (path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("a path must start with /");
        }
        if (isNormal(path)) {
            return path; // the common case costs one scan and no allocation
        }
        StringBuilder decoded = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                if (i + 2 >= path.length() || hex(path.charAt(i + 1)) < 0 || hex(path.charAt(i + 2)) < 0) {
                    throw new IllegalArgumentException("a bad percent-escape in the path");
                }
                char d = (char) (hex(path.charAt(i + 1)) * 16 + hex(path.charAt(i + 2)));
                if (unreserved(d)) {
                    decoded.append(d);
                } else {
                    decoded.append('%').append(Character.toUpperCase(path.charAt(i + 1))).append(Character.toUpperCase(path.charAt(i + 2)));
                }
                i += 2;
            } else {
                decoded.append(c);
            }
        }
        List<String> out = new ArrayList<>();
        String[] segments = decoded.toString().split("/", -1);
        for (int i = 1; i < segments.length; i++) {
            String seg = segments[i];
            boolean last = i == segments.length - 1;
            if (seg.equals("..")) {
                if (!out.isEmpty()) {
                    out.removeLast();
                }
                if (last) {
                    out.add("");
                }
            } else if (seg.equals(".")) {
                if (last) {
                    out.add("");
                }
            } else if (seg.isEmpty() && !last) {
                continue; // a run of slashes
            } else {
                out.add(seg);
            }
        }
        return "/" + String.join("/", out);
    }

    /** Whether the path has no escape, no {@code //} and no dot-segment, so that it is its own normal form. */
    static boolean isNormal(String path) {
        int n = path.length();
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c == '%') {
                return false;
            }
            if (c == '/' && i + 1 < n) {
                char next = path.charAt(i + 1);
                if (next == '/') {
                    return false;
                }
                if (next == '.') {
                    int end = i + 2;
                    if (end == n || path.charAt(end) == '/') {
                        return false; // "/."
                    }
                    if (path.charAt(end) == '.' && (end + 1 == n || path.charAt(end + 1) == '/')) {
                        return false; // "/.."
                    }
                }
            }
        }
        return true;
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    }

    private static int hex(char c) {
        return Character.digit(c, 16);
    }
}
