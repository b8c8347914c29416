package dev.merapi.gateway.remote;

import dev.merapi.core.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * The last bundle taken, kept in a directory as {@code bundle.yaml} and {@code bundle.yaml.sig}, each replaced whole
 * ({@link AtomicFiles}: written to a synced temporary file, then renamed onto its name), so that a crash never leaves a
 * half-written file. The signature is
 * written first: a crash between the two renames leaves a pair whose signature does not verify, which a start
 * refuses (falling back to the local file) rather than trusting. Files are readable by the owner only.
 *
 * <p>Threading: used under the remote configuration's lock.
 */
final class BundleCache {
    static final String CONFIG = "bundle.yaml";
    static final String SIGNATURE = "bundle.yaml.sig";
    private final Path dir;

    BundleCache(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    /** The cached bundle, if both files are there. */
    Optional<Bundle> read() throws IOException {
        Path config = dir.resolve(CONFIG);
        Path sig = dir.resolve(SIGNATURE);
        if (!Files.exists(config) && !Files.exists(sig)) {
            return Optional.empty();
        }
        return Optional.of(Bundle.of(Files.readAllBytes(config), Files.readString(sig, StandardCharsets.US_ASCII)));
    }

    /** Keeps {@code bundle} as the last one taken. */
    void write(Bundle bundle) throws IOException {
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException e) {
                Files.createDirectories(dir);
            } catch (FileAlreadyExistsException e) {
                throw new IOException(dir + " exists and is not a directory", e);
            }
        }
        AtomicFiles.replace(dir.resolve(SIGNATURE), bundle.signatureFile());
        AtomicFiles.replace(dir.resolve(CONFIG), bundle.config());
    }
}
