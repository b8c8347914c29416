package dev.merapi.gateway.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Reads typed values out of a composed YAML tree, collecting every problem as a {@link ConfigError} with the
 * position of the node at fault instead of stopping at the first one. A reader that finds a problem returns its
 * default (or empty) so that reading goes on and later problems are found too.
 *
 * <p>Strings of the form {@code ${env:NAME}} or {@code ${file:PATH}} are replaced by the variable's value or the
 * file's content (without its final line break). Errors then quote the reference, never the value it gave.
 *
 * <p>Not thread-safe: one binder reads one file, on one thread.
 */
final class Binder {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h)");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|KB|MB|GB)?");
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{(env|file):([^}]+)}");

    private final String file;
    private final Path baseDir;
    private final Function<String, String> env;
    private final List<ConfigError> errors = new ArrayList<>();

    Binder(String file, Path baseDir, Function<String, String> env) {
        this.file = file;
        this.baseDir = baseDir;
        this.env = env;
    }

    List<ConfigError> errors() {
        return errors;
    }

    void error(Node at, String path, String message) {
        Optional<Mark> m = at.getStartMark();
        errors.add(new ConfigError(file, m.map(x -> x.getLine() + 1).orElse(0), m.map(x -> x.getColumn() + 1).orElse(0), path, message));
    }

    /** A path of the configuration, relative to the configuration file's directory unless absolute. */
    Path resolve(String path) {
        return baseDir.resolve(path).normalize();
    }

    /** A mapping at {@code path}, its keys checked against {@code keys}. */
    Optional<Section> section(Node node, String path, List<String> keys) {
        if (!(node instanceof MappingNode mapping)) {
            error(node, path, "expected a mapping of " + String.join(", ", keys) + "; got " + describe(node));
            return Optional.empty();
        }
        Map<String, NodeTuple> entries = new LinkedHashMap<>();
        for (NodeTuple t : mapping.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                error(t.getKeyNode(), path, "keys must be plain names");
                continue;
            }
            String key = k.getValue();
            String keyPath = join(path, key);
            if (!keys.contains(key)) {
                error(k, keyPath, "unknown key '" + key + "'" + Names.suggestion(key, keys).map(s -> "; did you mean '" + s + "'?")
                        .orElse("; expected one of " + String.join(", ", keys)));
            } else if (entries.containsKey(key)) {
                error(k, keyPath, "'" + key + "' is given twice in the same mapping");
            } else {
                entries.put(key, t);
            }
        }
        return Optional.of(new Section(this, mapping, path, entries));
    }

    /** The items of a sequence at {@code path}; a lone scalar is taken as a list of one when {@code loneOk}. */
    List<Node> items(Node node, String path) {
        if (node instanceof SequenceNode seq) {
            return seq.getValue();
        }
        error(node, path, "expected a list; got " + describe(node));
        return List.of();
    }

    /** A string scalar, with {@code ${env:...}} and {@code ${file:...}} references resolved. */
    Optional<String> string(Node node, String path) {
        if (!(node instanceof ScalarNode s)) {
            error(node, path, "expected a value; got " + describe(node));
            return Optional.empty();
        }
        String raw = s.getValue();
        Matcher m = REFERENCE.matcher(raw);
        if (!m.find()) {
            return Optional.of(raw);
        }
        StringBuilder out = new StringBuilder();
        m.reset();
        while (m.find()) {
            String name = m.group(2).strip();
            String value;
            if (m.group(1).equals("env")) {
                value = env.apply(name);
                if (value == null) {
                    error(node, path, "environment variable " + name + " is not set");
                    return Optional.empty();
                }
            } else {
                try {
                    value = stripFinalNewline(Files.readString(baseDir.resolve(name), StandardCharsets.UTF_8));
                } catch (IOException | RuntimeException e) {
                    error(node, path, "cannot read " + name + " (" + e.getClass().getSimpleName() + ")");
                    return Optional.empty();
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return Optional.of(out.toString());
    }

    Optional<Integer> integer(Node node, String path, int min, int max) {
        return string(node, path).flatMap(v -> {
            try {
                int i = Integer.parseInt(v.strip());
                if (i < min || i > max) {
                    error(node, path, "must be from " + min + " to " + max + "; got " + quoted(node));
                    return Optional.empty();
                }
                return Optional.of(i);
            } catch (NumberFormatException e) {
                error(node, path, "expected a whole number from " + min + " to " + max + "; got " + quoted(node));
                return Optional.empty();
            }
        });
    }

    Optional<Boolean> bool(Node node, String path) {
        return string(node, path).flatMap(v -> switch (v.strip()) {
            case "true" -> Optional.of(true);
            case "false" -> Optional.of(false);
            default -> {
                error(node, path, "expected true or false; got " + quoted(node));
                yield Optional.empty();
            }
        });
    }

    /** A duration such as {@code 30s}, {@code 500ms}, {@code 2m}, {@code 1h} or {@code 1m30s}, within bounds. */
    Optional<Duration> duration(Node node, String path, Duration min, Duration max) {
        return string(node, path).flatMap(v -> {
            Optional<Duration> d = parseDuration(v.strip());
            if (d.isEmpty()) {
                error(node, path, "expected a duration such as 30s, 500ms, 2m or 1h; got " + quoted(node));
            } else if (d.get().compareTo(min) < 0 || d.get().compareTo(max) > 0) {
                error(node, path, "must be from " + Names.duration(min) + " to " + Names.duration(max) + "; got " + quoted(node));
                return Optional.empty();
            }
            return d;
        });
    }

    /** A size in bytes such as {@code 1MiB}, {@code 512KiB}, {@code 10MB} or {@code 4096}, within bounds. */
    Optional<Long> size(Node node, String path, long min, long max) {
        return string(node, path).flatMap(v -> {
            Matcher m = SIZE.matcher(v.strip());
            if (!m.matches()) {
                error(node, path, "expected a size such as 1MiB, 512KiB, 10MB or 4096 (bytes); got " + quoted(node));
                return Optional.empty();
            }
            long unit = switch (m.group(2) == null ? "B" : m.group(2)) {
                case "KiB" -> 1024L;
                case "MiB" -> 1024L * 1024;
                case "GiB" -> 1024L * 1024 * 1024;
                case "KB" -> 1000L;
                case "MB" -> 1000L * 1000;
                case "GB" -> 1000L * 1000 * 1000;
                default -> 1L;
            };
            try {
                long bytes = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
                if (bytes < min || bytes > max) {
                    error(node, path, "must be from " + min + " to " + max + " bytes; got " + quoted(node));
                    return Optional.empty();
                }
                return Optional.of(bytes);
            } catch (ArithmeticException | NumberFormatException e) {
                error(node, path, "is too large: " + quoted(node));
                return Optional.empty();
            }
        });
    }

    /** One of {@code choices} (case-insensitive), returned in lower case. */
    Optional<String> choice(Node node, String path, List<String> choices) {
        return string(node, path).flatMap(v -> {
            String lower = v.strip().toLowerCase(Locale.ROOT);
            if (choices.contains(lower)) {
                return Optional.of(lower);
            }
            error(node, path, "expected one of " + String.join(", ", choices) + "; got " + quoted(node)
                    + Names.suggestion(lower, choices).map(s -> " (did you mean '" + s + "'?)").orElse(""));
            return Optional.empty();
        });
    }

    /** A list of strings; a single value is a list of one. */
    List<String> strings(Node node, String path) {
        if (node instanceof ScalarNode) {
            return string(node, path).map(List::of).orElse(List.of());
        }
        List<String> out = new ArrayList<>();
        List<Node> items = items(node, path);
        for (int i = 0; i < items.size(); i++) {
            string(items.get(i), path + "[" + i + "]").ifPresent(out::add);
        }
        return out;
    }

    /** A mapping of names to strings, in file order. */
    Map<String, String> stringMap(Node node, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        if (!(node instanceof MappingNode mapping)) {
            error(node, path, "expected a mapping of names to values; got " + describe(node));
            return out;
        }
        for (NodeTuple t : mapping.getValue()) {
            Optional<String> k = string(t.getKeyNode(), path);
            if (k.isEmpty()) {
                continue;
            }
            if (out.containsKey(k.get())) {
                error(t.getKeyNode(), join(path, k.get()), "'" + k.get() + "' is given twice in the same mapping");
                continue;
            }
            string(t.getValueNode(), join(path, k.get())).ifPresent(v -> out.put(k.get(), v));
        }
        return out;
    }

    /** The items of a list read by {@code reader}, with the names in {@code nameOf} checked for duplicates. */
    <T> List<T> list(Node node, String path, BiFunction<Node, String, Optional<T>> reader) {
        List<T> out = new ArrayList<>();
        List<Node> items = items(node, path);
        for (int i = 0; i < items.size(); i++) {
            reader.apply(items.get(i), path + "[" + i + "]").ifPresent(out::add);
        }
        return out;
    }

    static Optional<Duration> parseDuration(String v) {
        Matcher m = DURATION_PART.matcher(v);
        Duration total = Duration.ZERO;
        int at = 0;
        while (at < v.length() && m.find(at) && m.start() == at) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            });
            at = m.end();
        }
        return at == v.length() && at > 0 ? Optional.of(total) : Optional.empty();
    }

    /** The raw YAML text of a scalar, in quotes: a reference stays a reference, so no secret is echoed. */
    static String quoted(Node node) {
        return node instanceof ScalarNode s ? "'" + s.getValue() + "'" : describe(node);
    }

    static String describe(Node node) {
        return switch (node) {
            case MappingNode m -> "a mapping";
            case SequenceNode s -> "a list";
            case ScalarNode s -> "'" + s.getValue() + "'";
            default -> "something else";
        };
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String stripFinalNewline(String s) {
        return s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /** The checked entries of one mapping; getters read a key if present. */
    record Section(Binder binder, MappingNode node, String path, Map<String, NodeTuple> entries) {
        Optional<Node> get(String key) {
            NodeTuple t = entries.get(key);
            return t == null ? Optional.empty() : Optional.of(t.getValueNode());
        }

        /** The key's node, or an error that it is missing. */
        Optional<Node> required(String key) {
            Optional<Node> n = get(key);
            if (n.isEmpty()) {
                binder.error(node, path, "'" + key + "' is required");
            }
            return n;
        }

        String at(String key) {
            return join(path, key);
        }

        Node keyNode(String key) {
            return java.util.Objects.requireNonNull(entries.get(key), key).getKeyNode();
        }

        Optional<String> string(String key) {
            return get(key).flatMap(n -> binder.string(n, at(key)));
        }

        Optional<String> requiredString(String key) {
            return required(key).flatMap(n -> binder.string(n, at(key)));
        }

        int integer(String key, int min, int max, int def) {
            return get(key).flatMap(n -> binder.integer(n, at(key), min, max)).orElse(def);
        }

        boolean bool(String key, boolean def) {
            return get(key).flatMap(n -> binder.bool(n, at(key))).orElse(def);
        }

        Duration duration(String key, Duration min, Duration max, Duration def) {
            return get(key).flatMap(n -> binder.duration(n, at(key), min, max)).orElse(def);
        }

        Optional<Duration> optionalDuration(String key, Duration min, Duration max) {
            return get(key).flatMap(n -> binder.duration(n, at(key), min, max));
        }

        Optional<Long> size(String key, long min, long max) {
            return get(key).flatMap(n -> binder.size(n, at(key), min, max));
        }

        String choice(String key, List<String> choices, String def) {
            return get(key).flatMap(n -> binder.choice(n, at(key), choices)).orElse(def);
        }

        List<String> strings(String key) {
            return get(key).map(n -> binder.strings(n, at(key))).orElse(List.of());
        }

        Map<String, String> stringMap(String key) {
            return get(key).map(n -> binder.stringMap(n, at(key))).orElse(Map.of());
        }
    }
}
