package dev.merapi.gateway.observability;

import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.util.FileSize;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A file appender that gathers lines in a buffer of a given size and writes them when it is full, when
 * {@link #flushBuffer()} is called (by {@link AccessLog#flush()}, every flush interval) and when it stops; like nginx's
 * {@code access_log ... buffer=64k flush=1s}.
 *
 * <p>Thread-safe: {@link #flushBuffer()} takes the same lock as the appender's writes and its stop.
 *
 * @param <E> the event type
 */
final class BufferedFileAppender<E> extends FileAppender<E> {

    private final long bufferBytes;

    BufferedFileAppender(long bufferBytes) {
        this.bufferBytes = bufferBytes;
        setImmediateFlush(false);
    }

    /** Sets the buffer here rather than in the constructor, once the appender has its context to report to. */
    @Override
    public void start() {
        setBufferSize(new FileSize(bufferBytes));
        super.start();
    }

    /** Writes what the buffer holds to the file; does nothing once stopped. Called from the gateway.s flush service. */
    void flushBuffer() {
        streamWriteLock.lock();
        try {
            OutputStream out = getOutputStream();
            if (isStarted() && out != null) {
                out.flush();
            }
        } catch (IOException e) {
            addError("could not flush " + getFile(), e);
        } finally {
            streamWriteLock.unlock();
        }
    }
}
