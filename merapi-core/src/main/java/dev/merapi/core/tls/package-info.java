/**
 * TLS on a listener: the settings ({@link dev.merapi.core.tls.ServerTls}), the certificates it serves and their reload
 * ({@link dev.merapi.core.tls.CertificateStore}), and what a handshake established
 * ({@link dev.merapi.core.tls.TlsInfo}).
 *
 * <p>Starting points: {@link dev.merapi.core.tls.ServerTls}, {@link dev.merapi.core.tls.CertificateStore},
 * {@link dev.merapi.core.tls.TlsInfo}.
 */
@NullMarked
package dev.merapi.core.tls;

import org.jspecify.annotations.NullMarked;
