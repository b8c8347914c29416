package dev.merapi.http;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * An ordered list of header fields that keeps each name's case exactly as received.
 * Lookups ignore case. Duplicates are kept in place, so what a client sent reaches the upstream in the
 * same order and spelling, less what a filter changed.
 *
 * <p>What may be set: a name must be a token and a value a field-value (RFC 9110 §5.5): no CR, LF, NUL or other
 * control character except HTAB inside it, no whitespace at either end, and no character above U+00FF.
 * {@link #add} and {@link #set} refuse anything else with a {@link dev.merapi.error.ProxyError} of kind
 * {@code INVALID_HTTP_HEADER} from the {@code INTERNAL} source, which the proxy answers with 500; the error names the
 * header and the first bad character but never quotes the value. Nothing of a refused field is kept, so no string
 * can end a line or start a header or a message on the wire (response splitting, request smuggling).
 *
 * <p>Non-ASCII: a character from U+0080 to U+00FF is written as that one byte (ISO-8859-1, the obs-text of RFC 9110),
 * which is how a received one was read; a character above U+00FF is refused, never replaced by {@code ?}. To send
 * other text, encode it first (percent-encoding, or RFC 8187 for parameters).
 *
 * <p>Fields the HTTP/1 parser reads were validated with the same rules as it read them, and are not checked again.
 *
 * <p>Not thread-safe: a request's headers belong to its session's event loop.
 *
 * <p>Cost: names and values live in one {@code String[]}, two slots per field; a typical request of
 * ten fields costs one array of 24 references plus the strings.
 */
public final class Headers {
    private String[] fields;
    private int size;

    /** Creates an empty header list. */
    public Headers() {
        this(12);
    }

    /** Creates an empty header list with room for {@code expected} fields. */
    public Headers(int expected) {
        fields = new String[Math.max(2, expected) * 2];
    }

    private Headers(String[] fields, int size) {
        this.fields = fields;
        this.size = size;
    }

    /** Returns a deep-enough copy: the same strings in a new list, independent of this one. */
    public Headers copy() {
        return new Headers(Arrays.copyOf(fields, Math.max(fields.length, 4)), size);
    }

    /** The number of fields, duplicates included. */
    public int size() {
        return size;
    }

    /** Whether there are no fields. */
    public boolean isEmpty() {
        return size == 0;
    }

    /** The name of the field at {@code index}, in its original case. */
    public String name(int index) {
        Objects.checkIndex(index, size);
        return fields[index << 1];
    }

    /** The value of the field at {@code index}. */
    public String value(int index) {
        Objects.checkIndex(index, size);
        return fields[(index << 1) + 1];
    }

    /**
     * Appends a field, keeping any existing field of the same name.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code name} is not a token or {@code value}
     *     not a field-value (see the class comment); the list is then unchanged
     */
    public Headers add(String name, String value) {
        FieldChecks.field(name, value);
        return append(name, value);
    }

    /** Appends a field that the HTTP/1 parser has validated already: the hot path pays for no second check. */
    void addParsed(String name, String value) {
        append(name, value);
    }

    private Headers append(String name, String value) {
        int i = size << 1;
        if (i + 2 > fields.length) {
            fields = Arrays.copyOf(fields, fields.length * 2);
        }
        fields[i] = name;
        fields[i + 1] = value;
        size++;
        return this;
    }

    /**
     * Sets a field: the first field of that name (ignoring case) takes the new value and keeps its
     * position and spelling, later ones are removed; if there is none, the field is appended.
     *
     * @throws dev.merapi.error.ProxyError {@code INVALID_HTTP_HEADER} if {@code name} is not a token or {@code value}
     *     not a field-value (see the class comment); the list is then unchanged
     */
    public Headers set(String name, String value) {
        FieldChecks.field(name, value);
        int first = indexOf(name, 0);
        if (first < 0) {
            return append(name, value);
        }
        fields[(first << 1) + 1] = value;
        int next;
        while ((next = indexOf(name, first + 1)) >= 0) {
            removeAt(next);
        }
        return this;
    }

    /** Removes every field of that name; returns whether any was removed. */
    public boolean remove(String name) {
        boolean removed = false;
        int i = 0;
        while ((i = indexOf(name, i)) >= 0) {
            removeAt(i);
            removed = true;
        }
        return removed;
    }

    /** Removes the field at {@code index}. */
    @SuppressWarnings("NullAway") // the slots past size hold null: only indexes below size are ever read
    public void removeAt(int index) {
        Objects.checkIndex(index, size);
        int from = (index + 1) << 1;
        System.arraycopy(fields, from, fields, index << 1, (size << 1) - from);
        size--;
        fields[size << 1] = null;
        fields[(size << 1) + 1] = null;
    }

    /**
     * The value of the first field of that name, if there is one.
     *
     * <p>Without an allocation: {@link #indexOf} and {@link #value}, or {@link #contains} for presence only.
     */
    public Optional<String> get(String name) {
        return Optional.ofNullable(first(name));
    }

    /** The value of the first field of that name, or null: for this package's parser, which allocates nothing more. */
    @Nullable String first(String name) {
        int i = indexOf(name, 0);
        return i < 0 ? null : fields[(i << 1) + 1];
    }

    /** The values of every field of that name, in order. */
    public List<String> getAll(String name) {
        List<String> values = new ArrayList<>(2);
        int i = 0;
        while ((i = indexOf(name, i)) >= 0) {
            values.add(fields[(i << 1) + 1]);
            i++;
        }
        return values;
    }

    /** Whether a field of that name is present. */
    public boolean contains(String name) {
        return indexOf(name, 0) >= 0;
    }

    /** How many fields have that name. */
    public int count(String name) {
        int n = 0;
        int i = 0;
        while ((i = indexOf(name, i)) >= 0) {
            n++;
            i++;
        }
        return n;
    }

    /** The index of the first field named {@code name} (ignoring case) at or after {@code from}, or -1. */
    public int indexOf(String name, int from) {
        int len = name.length();
        for (int i = from; i < size; i++) {
            String n = fields[i << 1];
            if (n.length() == len && n.equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Whether any field of that name holds {@code token} in its comma-separated list, ignoring case,
     * such as {@code containsToken("Connection", "close")}.
     */
    public boolean containsToken(String name, String token) {
        int i = 0;
        while ((i = indexOf(name, i)) >= 0) {
            if (Tokens.listContains(fields[(i << 1) + 1], token)) {
                return true;
            }
            i++;
        }
        return false;
    }

    /** Calls {@code action} with each field's name and value, in order. */
    public void forEach(BiConsumer<String, String> action) {
        for (int i = 0; i < size; i++) {
            action.accept(fields[i << 1], fields[(i << 1) + 1]);
        }
    }

    /** Removes every field. */
    public void clear() {
        Arrays.fill(fields, 0, size << 1, null);
        size = 0;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < size; i++) {
            sb.append(fields[i << 1]).append(": ").append(fields[(i << 1) + 1]).append('\n');
        }
        return sb.toString();
    }
}
