package dev.merapi.gateway.observability;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.KeyValuePair;

/**
 * A Logback encoder that writes each event as one flat JSON object on a line of its own, and nothing else: first
 * {@code "time"}, the event's time in UTC as RFC 3339 with milliseconds ({@code 2026-12-03T19:46:06.123Z}), then the
 * event's key-value pairs in the order they were added, each as a JSON value of its Java type: {@link Integer},
 * {@link Long}, {@link Short}, {@link Byte}, {@link BigInteger} and {@link BigDecimal} as numbers, finite {@link Double}
 * and {@link Float} as numbers, {@link Boolean} as {@code true}/{@code false}, anything else as the string of its
 * {@code toString()}. A pair whose value is {@code null}, NaN or infinite is left out, so an absent field is a missing
 * key, never {@code null}. Level, logger name, message, thread and MDC are not written.
 *
 * <p>Jackson's streaming {@link JsonGenerator} writes the text: strings are escaped by it (quotes, backslashes and
 * control characters as JSON escapes; other characters as UTF-8), so a value cannot end the line or the object.
 *
 * <p>Thread-safe: {@link #encode} is synchronized, because one generator and one buffer are reused from line to line.
 * Behind an {@code AsyncAppender} a single worker thread calls it, so the lock is never contended and encoding never
 * runs on the thread that logged. Each call returns a new array, which the appender owns.
 */
public final class JsonLinesEncoder extends EncoderBase<ILoggingEvent> {
    private static final byte[] NO_BYTES = new byte[0];
    // no separator between root values: the newline after each object is written by encode itself
    private static final JsonFactory FACTORY = new JsonFactoryBuilder().rootValueSeparator((String) null).build();
    private final ByteArrayBuilder buffer = new ByteArrayBuilder(512);
    private JsonGenerator generator = newGenerator(buffer);
    // "yyyy-MM-ddTHH:mm:ss" of the last second written, then ".SSSZ": most lines share their second with the last one
    private final char[] time = "0000-00-00T00:00:00.000Z".toCharArray();
    private long timeSecond = Long.MIN_VALUE;

    /** An encoder; Logback calls {@link #start()} before the first event. */
    public JsonLinesEncoder() {
        // public and without arguments, so that logback.xml can name it as well
    }

    private static JsonGenerator newGenerator(ByteArrayBuilder out) {
        try {
            return FACTORY.createGenerator(out, JsonEncoding.UTF8);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writes to memory: cannot happen
        }
    }

    @Override
    public byte[] headerBytes() {
        return NO_BYTES;
    }

    @Override
    public byte[] footerBytes() {
        return NO_BYTES;
    }

    /**
     * One event as one line: the JSON object and a {@code \n}. Called by the appender's thread.
     *
     * @return a new array; empty if the event could not be written (reported to Logback's status manager)
     */
    @Override
    public synchronized byte[] encode(ILoggingEvent event) {
        try {
            generator.writeStartObject();
            generator.writeFieldName("time");
            generator.writeString(time, 0, formatTime(event.getTimeStamp()));
            List<KeyValuePair> pairs = event.getKeyValuePairs();
            if (pairs != null) {
                for (int i = 0; i < pairs.size(); i++) {
                    KeyValuePair p = pairs.get(i);
                    if (p != null && p.key != null && written(p.value)) {
                        generator.writeFieldName(p.key);
                        writeValue(p.value);
                    }
                }
            }
            generator.writeEndObject();
            generator.flush();
            buffer.write('\n');
            return buffer.toByteArray();
        } catch (IOException | RuntimeException e) {
            addError("could not encode a log event as JSON", e);
            generator = newGenerator(buffer); // the old one may be in the middle of an object
            return NO_BYTES;
        } finally {
            buffer.reset();
        }
    }

    private static boolean written(@Nullable Object value) {
        return switch (value) {
            case null -> false;
            case Double d -> Double.isFinite(d);
            case Float f -> Float.isFinite(f);
            default -> true;
        };
    }

    private void writeValue(Object value) throws IOException {
        switch (value) {
            case Integer i -> generator.writeNumber(i.intValue());
            case Long l -> generator.writeNumber(l.longValue());
            case Short s -> generator.writeNumber(s.shortValue());
            case Byte b -> generator.writeNumber(b.intValue());
            case Double d -> generator.writeNumber(d.doubleValue());
            case Float f -> generator.writeNumber(f.floatValue());
            case BigInteger b -> generator.writeNumber(b);
            case BigDecimal b -> generator.writeNumber(b);
            case Boolean b -> generator.writeBoolean(b);
            default -> generator.writeString(value.toString());
        }
    }

    /** Fills {@link #time} with the instant {@code millis}; returns its length. */
    private int formatTime(long millis) {
        long second = Math.floorDiv(millis, 1000L);
        if (second != timeSecond) {
            LocalDateTime t = LocalDateTime.ofEpochSecond(second, 0, ZoneOffset.UTC);
            digits(t.getYear(), 0, 4);
            digits(t.getMonthValue(), 5, 2);
            digits(t.getDayOfMonth(), 8, 2);
            digits(t.getHour(), 11, 2);
            digits(t.getMinute(), 14, 2);
            digits(t.getSecond(), 17, 2);
            timeSecond = second;
        }
        digits((int) Math.floorMod(millis, 1000L), 20, 3);
        return time.length;
    }

    private void digits(int value, int at, int width) {
        int v = value;
        for (int i = at + width - 1; i >= at; i--) {
            time[i] = (char) ('0' + v % 10);
            v /= 10;
        }
    }
}
