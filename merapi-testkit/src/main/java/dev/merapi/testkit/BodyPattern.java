package dev.merapi.testkit;

import java.util.zip.CRC32;

/**
 * The deterministic byte sequence behind {@link MockResponse.Builder#streamedBody(long)}.
 *
 * <p>Byte {@code i} is {@code BASE[i mod 64 KiB] ^ (i >>> 16)}: a fixed pseudo-random 64 KiB block, varied per
 * block so that a lost or repeated block changes the checksum. Any slice can be produced from its offset alone,
 * so gigabyte bodies never live in memory.
 */
final class BodyPattern {

    /** Size of the repeating base block; also a good size for the buffers that stream the pattern. */
    static final int BLOCK_SIZE = 64 * 1024;

    private static final byte[] BASE = base();

    private BodyPattern() {}

    /** Writes pattern bytes {@code offset .. offset + length} into {@code dst} from {@code dstOffset}. */
    static void fill(long offset, byte[] dst, int dstOffset, int length) {
        int done = 0;
        while (done < length) {
            long position = offset + done;
            int inBlock = (int) (position & (BLOCK_SIZE - 1));
            int run = Math.min(length - done, BLOCK_SIZE - inBlock);
            byte blockKey = (byte) (position >>> 16);
            for (int i = 0; i < run; i++) {
                dst[dstOffset + done + i] = (byte) (BASE[inBlock + i] ^ blockKey);
            }
            done += run;
        }
    }

    /** Returns the CRC32 of the first {@code size} pattern bytes; takes about a second per GiB. */
    static long crc32(long size) {
        CRC32 crc = new CRC32();
        byte[] buffer = new byte[BLOCK_SIZE];
        for (long position = 0; position < size; ) {
            int length = (int) Math.min(buffer.length, size - position);
            fill(position, buffer, 0, length);
            crc.update(buffer, 0, length);
            position += length;
        }
        return crc.getValue();
    }

    private static byte[] base() {
        byte[] block = new byte[BLOCK_SIZE];
        long state = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < block.length; i++) {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            block[i] = (byte) (state >>> 24);
        }
        return block;
    }
}
