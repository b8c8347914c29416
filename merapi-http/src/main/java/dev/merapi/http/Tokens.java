package dev.merapi.http;

/** Character classes of RFC 9110 and helpers for comma-separated lists. */
public final class Tokens {
    private static final boolean[] TCHAR = new boolean[256];
    private static final boolean[] FIELD_VCHAR = new boolean[256];
    private static final boolean[] TARGET = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
        for (int c = 0x21; c <= 0x7e; c++) {
            FIELD_VCHAR[c] = true;
            TARGET[c] = true;
        }
        for (int c = 0x80; c <= 0xff; c++) {
            FIELD_VCHAR[c] = true; // obs-text
        }
        FIELD_VCHAR[' '] = true;
        FIELD_VCHAR['\t'] = true;
        // characters never allowed in a request-target even though they are visible
        for (char c : "\"<>\\^`{|}#".toCharArray()) {
            TARGET[c] = false;
        }
    }

    private Tokens() {
    }

    /** Whether {@code b} (0-255) is a token character (tchar). */
    public static boolean isTchar(int b) {
        return TCHAR[b & 0xff];
    }

    /** Whether {@code b} may appear inside a field value: VCHAR, obs-text, SP or HTAB. */
    public static boolean isFieldValueChar(int b) {
        return FIELD_VCHAR[b & 0xff];
    }

    /** Whether {@code b} may appear in a request-target. */
    public static boolean isTargetChar(int b) {
        return TARGET[b & 0xff];
    }

    /** Whether {@code s} is a non-empty token. */
    public static boolean isToken(CharSequence s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c > 0xff || !TCHAR[c]) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code s} is a valid field value: no CTL or NUL, no leading or trailing whitespace. */
    public static boolean isFieldValue(CharSequence s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c > 0xff || !FIELD_VCHAR[c]) {
                return false;
            }
        }
        return n == 0 || (s.charAt(0) != ' ' && s.charAt(0) != '\t' && s.charAt(n - 1) != ' ' && s.charAt(n - 1) != '\t');
    }

    /** Whether the comma-separated {@code list} contains {@code token}, ignoring case and optional whitespace. */
    public static boolean listContains(String list, String token) {
        int n = list.length();
        int i = 0;
        while (i < n) {
            int end = list.indexOf(',', i);
            if (end < 0) {
                end = n;
            }
            int s = i;
            int e = end;
            while (s < e && isOws(list.charAt(s))) {
                s++;
            }
            while (e > s && isOws(list.charAt(e - 1))) {
                e--;
            }
            if (e - s == token.length() && list.regionMatches(true, s, token, 0, token.length())) {
                return true;
            }
            i = end + 1;
        }
        return false;
    }

    /** Calls {@code action} for each trimmed, non-empty element of a comma-separated list. */
    public static void forEachListElement(String list, java.util.function.Consumer<String> action) {
        int n = list.length();
        int i = 0;
        while (i <= n) {
            int end = list.indexOf(',', i);
            if (end < 0) {
                end = n;
            }
            int s = i;
            int e = end;
            while (s < e && isOws(list.charAt(s))) {
                s++;
            }
            while (e > s && isOws(list.charAt(e - 1))) {
                e--;
            }
            if (e > s) {
                action.accept(list.substring(s, e));
            }
            i = end + 1;
        }
    }

    static boolean isOws(char c) {
        return c == ' ' || c == '\t';
    }
}
