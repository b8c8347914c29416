package dev.merapi.gateway.config;

/**
 * One problem found in a configuration file, at a position: printed as {@code FILE:LINE:COL: key.path: message}.
 * Lines and columns count from 1. The message never holds a value read through a {@code ${env:...}} or
 * {@code ${file:...}} reference.
 *
 * @param file the file as it was named (or {@code <built-in>} for the embedded default)
 * @param line the line, from 1 (0 when the problem has no position, such as an unreadable file)
 * @param column the column, from 1 (0 when the problem has no position)
 * @param path the key path, such as {@code routes[2].match.path-prefix}; empty for the whole file
 * @param message what is wrong and, where it helps, what would be right
 */
public record ConfigError(String file, int line, int column, String path, String message) implements Comparable<ConfigError> {

    @Override
    public String toString() {
        return file + ':' + line + ':' + column + ": " + (path.isEmpty() ? "" : path + ": ") + message;
    }

    @Override
    public int compareTo(ConfigError o) {
        int c = Integer.compare(line, o.line);
        return c != 0 ? c : Integer.compare(column, o.column);
    }
}
