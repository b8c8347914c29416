package dev.merapi.error;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class ProxyErrorTest {

    @Test
    void upstreamErrorsMapTo502AndTimeoutsTo504() {
        assertThat(ProxyError.explain(ErrorType.Kind.CONNECT_REFUSED, ErrorSource.UPSTREAM, "x").responseStatus()).isEqualTo(502);
        assertThat(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM, "x").responseStatus()).isEqualTo(502);
        assertThat(ProxyError.explain(ErrorType.Kind.CONNECT_TIMEOUT, ErrorSource.UPSTREAM, "x").responseStatus()).isEqualTo(504);
        assertThat(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.UPSTREAM, "x").responseStatus()).isEqualTo(504);
    }

    @Test
    void downstreamErrorsMapTo400AndInternalTo500() {
        assertThat(ProxyError.explain(ErrorType.Kind.INVALID_HTTP_BODY, ErrorSource.DOWNSTREAM, "x").responseStatus()).isEqualTo(400);
        assertThat(ProxyError.explain(ErrorType.Kind.READ_TIMEOUT, ErrorSource.DOWNSTREAM, "x").responseStatus()).isEqualTo(408);
        assertThat(ProxyError.explain(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "x").responseStatus()).isEqualTo(500);
        assertThat(ProxyError.explain(new ErrorType.Custom("limited"), ErrorSource.DOWNSTREAM, "x").responseStatus()).isEqualTo(400);
    }

    @Test
    void explicitStatusWins() {
        assertThat(ProxyError.explain(ErrorType.status(429), ErrorSource.INTERNAL, "slow down").responseStatus()).isEqualTo(429);
        assertThatThrownBy(() -> ErrorType.status(42)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void expectedNetworkErrorsHaveNoStackTraceButBugsDo() {
        assertThat(ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM, "x").getStackTrace()).isEmpty();
        assertThat(ProxyError.explain(ErrorType.Kind.INTERNAL_ERROR, ErrorSource.INTERNAL, "x").getStackTrace()).isNotEmpty();
    }

    @Test
    void reusedOnlyRetryDependsOnTheConnection() {
        assertThat(Retry.REUSED_ONLY.allows(true)).isTrue();
        assertThat(Retry.REUSED_ONLY.allows(false)).isFalse();
        assertThat(Retry.YES.allows(false)).isTrue();
        assertThat(Retry.NO.allows(true)).isFalse();
        ProxyError e = ProxyError.explain(ErrorType.Kind.CONNECTION_CLOSED, ErrorSource.UPSTREAM, "x");
        assertThat(e.retry()).isEqualTo(Retry.NO);
        assertThat(e.withRetry(Retry.YES).retry()).isEqualTo(Retry.YES);
        assertThat(e.withRetry(Retry.NO)).isSameAs(e);
    }

    @Test
    void fromUnwrapsCompletionExceptionsAndWrapsOthersAsInternal() {
        ProxyError inner = ProxyError.explain(ErrorType.Kind.NO_UPSTREAM, ErrorSource.UPSTREAM, "none");
        assertThat(ProxyError.from(new CompletionException(inner))).isSameAs(inner);
        ProxyError wrapped = ProxyError.from(new IllegalStateException("boom"));
        assertThat(wrapped.type()).isEqualTo(ErrorType.Kind.INTERNAL_ERROR);
        assertThat(wrapped.source()).isEqualTo(ErrorSource.INTERNAL);
        assertThat(wrapped.getCause()).hasMessage("boom");
    }

    @Test
    void messageNamesTypeSourceAndContext() {
        ProxyError e = ProxyError.explain(ErrorType.Kind.CONNECT_REFUSED, ErrorSource.UPSTREAM, "cannot connect to x");
        assertThat(e.getMessage()).isEqualTo("CONNECT_REFUSED (UPSTREAM): cannot connect to x");
    }

    @Test
    void aRejectedErrorCarriesItsRuleThroughARetryDecision() {
        ProxyError e = ProxyError.rejected(new ErrorType.HttpStatus(400), ErrorSource.DOWNSTREAM, "te-and-cl",
                "Transfer-Encoding and Content-Length");
        assertThat(e.rule()).contains("te-and-cl");
        assertThat(e.context()).isEqualTo("te-and-cl: Transfer-Encoding and Content-Length");
        assertThat(e.withRetry(Retry.YES).rule()).contains("te-and-cl");
        assertThat(ProxyError.explain(ErrorType.Kind.CONNECT_REFUSED, ErrorSource.UPSTREAM, "x").rule()).isEmpty();
    }

    @Test
    void aRuleNameIsLowerCaseLettersDigitsAndDashes() {
        assertThatThrownBy(() -> ProxyError.rejected(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM,
                "Bad Rule", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProxyError.rejected(ErrorType.Kind.INVALID_HTTP_HEADER, ErrorSource.UPSTREAM,
                "", "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
