/**
 * Watching files for a change, for the parts of Merapi that read configuration, certificates or keys from disk, and
 * replacing a file whole, for what Merapi writes back.
 *
 * <p>Starting points: {@link dev.merapi.core.files.FileStamp}, {@link dev.merapi.core.files.AtomicFiles}.
 */
@NullMarked
package dev.merapi.core.files;

import org.jspecify.annotations.NullMarked;
