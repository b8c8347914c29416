/**
 * Settings of the whole process: the JVM system properties Merapi reads, each in one place.
 *
 * <p>Starting point: {@link dev.merapi.core.SystemSettings}.
 */
package dev.merapi.core;
