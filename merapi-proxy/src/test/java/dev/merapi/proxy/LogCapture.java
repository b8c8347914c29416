package dev.merapi.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Everything one logger writes at WARN and above, kept in memory for a test and not passed on to the console.
 * Lines arrive from event loops and from rate limiters' flush threads, so reads take a snapshot under the list's lock.
 */
final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private LogCapture(String loggerName) {
        logger = (Logger) LoggerFactory.getLogger(loggerName);
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.WARN);
        logger.setAdditive(false);
    }

    /** Starts capturing {@code loggerName}; {@link #close()} gives the logger back its level and appenders. */
    static LogCapture of(String loggerName) {
        return new LogCapture(loggerName);
    }

    /** Starts capturing the {@code merapi.upstream} lines, with the rate limit of {@link UpstreamFailures} refilled. */
    static LogCapture upstreamFailures() {
        UpstreamFailures.rateLimitForTest(dev.merapi.core.security.SecurityEvents.DEFAULT_BURST,
                dev.merapi.core.security.SecurityEvents.DEFAULT_PER_SECOND);
        return of(UpstreamFailures.LOGGER_NAME);
    }

    /** The events so far, in order. */
    List<ILoggingEvent> events() {
        synchronized (appender.list) {
            return List.copyOf(appender.list);
        }
    }

    /** The formatted messages so far, in order. */
    List<String> lines() {
        return events().stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        logger.setAdditive(true);
        logger.setLevel(null);
        appender.stop();
    }
}
