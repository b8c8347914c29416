package dev.merapi.core;

import dev.merapi.core.listeners.Transport;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * The JVM system properties Merapi reads, all in one place: each is read once, at the first call of {@link #current()},
 * and checked, so that a bad value stops the start with a message naming the property instead of being ignored.
 * A property set to a blank value counts as not set. The defaults of the configuration types ({@code ServerConfig.DEFAULT}, {@code ProxyOptions.DEFAULT}) and the
 * security-event log limit take their values from here; a value set in code overrides them.
 *
 * <table>
 *   <caption>The system properties</caption>
 *   <tr><th>Property</th><th>Meaning</th><th>Default</th></tr>
 *   <tr><td>{@value #TRANSPORT}</td><td>the I/O transport of the event loops: {@code epoll}, {@code io_uring} or
 *       {@code nio}; naming one that this machine cannot run is an error</td>
 *       <td>epoll, or NIO where epoll is unavailable ({@link Transport#auto()})</td></tr>
 *   <tr><td>{@value #SPLICE}</td><td>whether the proxy splices large response bodies ({@code true} or
 *       {@code false})</td><td>{@code true}</td></tr>
 *   <tr><td>{@value #SECURITY_EVENTS_BURST}</td><td>security-event log lines let through at once, 1 to
 *       {@value #MAX_SECURITY_EVENTS_BURST}</td><td>{@value #DEFAULT_SECURITY_EVENTS_BURST}</td></tr>
 *   <tr><td>{@value #SECURITY_EVENTS_PER_SECOND}</td><td>security-event log lines let through per second once the
 *       burst is spent, more than 0 and at most {@value #MAX_SECURITY_EVENTS_PER_SECOND}</td>
 *       <td>{@value #DEFAULT_SECURITY_EVENTS_PER_SECOND}</td></tr>
 * </table>
 *
 * <p>Immutable; {@link #current()} is thread-safe.
 *
 * @param transport the value of {@value #TRANSPORT}, or the machine's best transport when it is not set
 * @param splice the value of {@value #SPLICE}
 * @param securityEventsBurst the value of {@value #SECURITY_EVENTS_BURST}
 * @param securityEventsPerSecond the value of {@value #SECURITY_EVENTS_PER_SECOND}
 */
public record SystemSettings(Transport transport, boolean splice, int securityEventsBurst, double securityEventsPerSecond) {
    /** The property that chooses the transport. */
    public static final String TRANSPORT = "merapi.transport";
    /** The property that turns splicing of response bodies off by default. */
    public static final String SPLICE = "merapi.splice";
    /** The property of the security-event log burst. */
    public static final String SECURITY_EVENTS_BURST = "merapi.security.events.burst";
    /** The property of the security-event log rate. */
    public static final String SECURITY_EVENTS_PER_SECOND = "merapi.security.events.per-second";

    /** Security-event log lines let through at once, unless {@value #SECURITY_EVENTS_BURST} says otherwise. */
    public static final int DEFAULT_SECURITY_EVENTS_BURST = 50;
    /** The largest {@value #SECURITY_EVENTS_BURST}. */
    public static final int MAX_SECURITY_EVENTS_BURST = 1_000_000;
    /** Security-event log lines per second, unless {@value #SECURITY_EVENTS_PER_SECOND} says otherwise. */
    public static final double DEFAULT_SECURITY_EVENTS_PER_SECOND = 10;
    /** The largest {@value #SECURITY_EVENTS_PER_SECOND}. */
    public static final double MAX_SECURITY_EVENTS_PER_SECOND = 1_000_000;

    /** The properties read, in the order of the components. */
    public static final List<String> PROPERTIES = List.of(TRANSPORT, SPLICE, SECURITY_EVENTS_BURST, SECURITY_EVENTS_PER_SECOND);

    private static final AtomicReference<@Nullable SystemSettings> CURRENT = new AtomicReference<>();

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the property of the first bad value
     */
    public SystemSettings {
        Objects.requireNonNull(transport, TRANSPORT);
        if (!transport.isAvailable()) {
            throw new IllegalArgumentException(TRANSPORT + "=" + name(transport) + ": this transport is not available here ("
                    + transport.unavailabilityCause() + "); expected one of epoll, io_uring or nio that is");
        }
        if (securityEventsBurst < 1 || securityEventsBurst > MAX_SECURITY_EVENTS_BURST) {
            throw new IllegalArgumentException(SECURITY_EVENTS_BURST + " must be 1 to " + MAX_SECURITY_EVENTS_BURST + ": "
                    + securityEventsBurst);
        }
        if (!(securityEventsPerSecond > 0 && securityEventsPerSecond <= MAX_SECURITY_EVENTS_PER_SECOND)) {
            throw new IllegalArgumentException(SECURITY_EVENTS_PER_SECOND + " must be more than 0 and at most "
                    + MAX_SECURITY_EVENTS_PER_SECOND + ": " + securityEventsPerSecond);
        }
    }

    /**
     * The settings of this JVM, read from the system properties at the first call and kept from then on.
     * {@code Server.start()} calls it, so a bad value fails the start.
     *
     * @throws IllegalArgumentException naming the property whose value is bad (thrown again at every call, as nothing
     *     is kept until every value is good)
     */
    public static SystemSettings current() {
        SystemSettings s = CURRENT.get();
        if (s == null) {
            Map<String, String> set = new HashMap<>();
            for (String name : PROPERTIES) {
                String v = System.getProperty(name);
                if (v != null) {
                    set.put(name, v);
                }
            }
            SystemSettings read = read(set); // nothing is kept when it throws, so a bad value fails every call alike
            // another thread may have read the same properties first: keep its instance, one for the process
            s = CURRENT.compareAndExchange(null, read);
            return s == null ? read : s;
        }
        return s;
    }

    /**
     * Reads and checks the settings from {@code properties}, which holds the value of each property that is set;
     * {@link #current()} passes the JVM's system properties.
     *
     * @throws IllegalArgumentException naming the property whose value is bad
     */
    public static SystemSettings read(Map<String, String> properties) {
        String transport = value(properties, TRANSPORT);
        String splice = value(properties, SPLICE);
        String burst = value(properties, SECURITY_EVENTS_BURST);
        String perSecond = value(properties, SECURITY_EVENTS_PER_SECOND);
        return new SystemSettings(
                transport.isEmpty() ? Transport.auto() : transport(transport),
                splice.isEmpty() || bool(SPLICE, splice),
                burst.isEmpty() ? DEFAULT_SECURITY_EVENTS_BURST : integer(SECURITY_EVENTS_BURST, burst),
                perSecond.isEmpty() ? DEFAULT_SECURITY_EVENTS_PER_SECOND : decimal(SECURITY_EVENTS_PER_SECOND, perSecond));
    }

    /** The value of {@code property}, trimmed; empty if it is not set or blank (as {@code -Dmerapi.splice=} is). */
    private static String value(Map<String, String> properties, String property) {
        String v = properties.get(property);
        return v == null ? "" : v.trim();
    }

    private static Transport transport(String value) {
        try {
            return Transport.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(TRANSPORT + " must be epoll, io_uring or nio: '" + value + "'", e);
        }
    }

    private static boolean bool(String property, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(property + " must be true or false: '" + value + "'");
        };
    }

    private static int integer(String property, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(property + " must be a whole number: '" + value + "'", e);
        }
    }

    private static double decimal(String property, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(property + " must be a number: '" + value + "'", e);
        }
    }

    private static String name(Transport t) {
        return t.name().toLowerCase(Locale.ROOT);
    }
}
