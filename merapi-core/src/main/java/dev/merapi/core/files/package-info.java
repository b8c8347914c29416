/**
 * Watching files for a change, for the parts of Merapi that read configuration, certificates or keys from disk.
 *
 * <p>Starting point: {@link dev.merapi.core.files.FileStamp}.
 */
@NullMarked
package dev.merapi.core.files;

import org.jspecify.annotations.NullMarked;
