/**
 * Settings of the whole process: the JVM system properties Merapi reads, each in one place.
 *
 * <p>Starting point: {@link dev.merapi.core.SystemSettings}.
 */
@NullMarked
package dev.merapi.core;

import org.jspecify.annotations.NullMarked;
