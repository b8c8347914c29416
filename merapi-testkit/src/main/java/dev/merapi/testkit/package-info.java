/**
 * Test support for Merapi: a real, independent HTTP/1.1 origin server whose faults are data.
 *
 * <p>Starting points: {@link dev.merapi.testkit.MockOrigin}, {@link dev.merapi.testkit.MockResponse},
 * {@link dev.merapi.testkit.OriginFault}, {@link dev.merapi.testkit.RecordedRequest}.
 *
 * <p>Every public method returns a non-null value and rejects {@code null} arguments.
 */
@NullMarked
package dev.merapi.testkit;

import org.jspecify.annotations.NullMarked;
