package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.upstreams.HttpPeer;
import dev.merapi.error.ErrorSource;
import dev.merapi.error.ErrorType;
import dev.merapi.error.ProxyError;
import dev.merapi.http.RequestHeader;
import dev.merapi.http.ResponseHeader;
import dev.merapi.testkit.MockOrigin;
import dev.merapi.testkit.MockResponse;
import dev.merapi.testkit.RawClient;
import dev.merapi.testkit.RecordedRequest;
import dev.merapi.testkit.TestServer;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The phases of {@link ProxyHttp} against a real origin over real sockets: their order, what each may change,
 * asynchronous completion on other threads, offloading, and failures inside them. Every test also checks that
 * {@code logging} ran exactly once per request.
 */
class PhasesIT {
    @RegisterExtension
    final ProxyFixture fixture = new ProxyFixture();

    private static final Executor ELSEWHERE = CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS);

    /** Records every phase into the ctx, with whether it ran on the session's loop. */
    static class PhaseProxy extends RecordingProxy {
        final List<String> offLoop = new CopyOnWriteArrayList<>();

        PhaseProxy(HttpPeer peer) {
            super(peer);
        }

        void mark(Session session, Ctx ctx, String phase) {
            if (!session.eventLoop().inEventLoop()) {
                offLoop.add(phase);
            }
            // body filters run once per piece: record a run of them once
            if (ctx.phases.isEmpty() || !ctx.phases.getLast().equals(phase)) {
                ctx.phases.add(phase);
            }
        }

        @Override
        public CompletionStage<Void> earlyRequestFilter(Session session, Ctx ctx) {
            mark(session, ctx, "earlyRequestFilter");
            return Stages.DONE;
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
            mark(session, ctx, "requestFilter");
            return FilterResult.CONTINUE_STAGE;
        }

        @Override
        public void requestBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
            mark(session, ctx, "requestBodyFilter");
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
            if (!session.eventLoop().inEventLoop()) {
                offLoop.add("upstreamPeer");
            }
            return super.upstreamPeer(session, ctx);
        }

        @Override
        public CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, Ctx ctx) {
            mark(session, ctx, "connectedToUpstream");
            return Stages.DONE;
        }

        @Override
        public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader upstreamRequest, Ctx ctx) {
            mark(session, ctx, "upstreamRequestFilter");
            return Stages.DONE;
        }

        @Override
        public void upstreamResponseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
            mark(session, ctx, "upstreamResponseFilter");
        }

        @Override
        public CompletionStage<Void> responseFilter(Session session, ResponseHeader upstreamResponse, Ctx ctx) {
            mark(session, ctx, "responseFilter");
            return Stages.DONE;
        }

        @Override
        public Duration upstreamResponseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
            mark(session, ctx, "upstreamResponseBodyFilter");
            return Duration.ZERO;
        }

        @Override
        public Duration responseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
            mark(session, ctx, "responseBodyFilter");
            return Duration.ZERO;
        }

        @Override
        public void logging(Session session, Optional<ProxyError> error, Ctx ctx) {
            if (!session.eventLoop().inEventLoop()) {
                offLoop.add("logging");
            }
            super.logging(session, error, ctx);
        }
    }

    private static HttpPeer peer(MockOrigin origin) {
        return HttpPeer.of("127.0.0.1:" + origin.port());
    }

    @Test
    void phasesRunInTheDocumentedOrder() throws Exception {
        MockOrigin origin = fixture.origin();
        PhaseProxy proxy = new PhaseProxy(peer(origin));
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpClient client = RecordingProxy.http();
        HttpResponse<String> get = client.send(HttpRequest.newBuilder(server.uri("/get")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo("hello from mock origin\n");
        proxy.awaitLogged(1);

        HttpResponse<String> post = client.send(HttpRequest.newBuilder(server.uri("/post"))
                .POST(HttpRequest.BodyPublishers.ofString("some request body")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(200);
        proxy.awaitLogged(2);
        assertThat(origin.takeRequest().target()).isEqualTo("/get");
        assertThat(origin.takeRequest().bodyUtf8()).isEqualTo("some request body");
        assertThat(proxy.loggedPhases.get(0)).containsExactly(
                "earlyRequestFilter", "requestFilter", "upstreamPeer", "connectedToUpstream", "upstreamRequestFilter",
                "upstreamResponseFilter", "responseFilter", "upstreamResponseBodyFilter", "responseBodyFilter", "logging");
        // the body filters alternate per piece; squash each alternation into the pair
        List<String> postPhases = squashBodyLoop(proxy.loggedPhases.get(1));
        assertThat(postPhases).containsExactly(
                "earlyRequestFilter", "requestFilter", "upstreamPeer", "connectedToUpstream", "upstreamRequestFilter",
                "requestBodyFilter", "upstreamResponseFilter", "responseFilter", "upstreamResponseBodyFilter",
                "responseBodyFilter", "logging");
        assertThat(proxy.offLoop).as("phases that ran off the session's loop").isEmpty();
        assertThat(proxy.loggedErrors()).hasSize(2).allMatch(Optional::isEmpty);
    }

    private static List<String> squashBodyLoop(List<String> phases) {
        List<String> out = new ArrayList<>();
        for (String p : phases) {
            boolean bodyLoop = p.equals("upstreamResponseBodyFilter") || p.equals("responseBodyFilter");
            if (bodyLoop && out.contains(p)) {
                continue;
            }
            out.add(p);
        }
        return out;
    }

    @Test
    void requestFilterRespondedSkipsUpstreamAndLogsOnce() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                ctx.phases.add("requestFilter");
                session.respond(403, "text/plain", "denied by filter\n");
                return FilterResult.RESPONDED_STAGE;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpClient client = RecordingProxy.http();
        for (int i = 0; i < 2; i++) { // twice on one kept-alive connection: the response was framed right
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(403);
            assertThat(r.body()).isEqualTo("denied by filter\n");
        }
        proxy.awaitLogged(2);
        assertThat(origin.requestCount()).isZero();
        assertThat(origin.connectionCount()).isZero();
        assertThat(proxy.peerCalls).hasValue(0);
        assertThat(proxy.loggedPhases).allSatisfy(p -> assertThat(p).containsExactly("requestFilter", "logging"));
        assertThat(proxy.loggedErrors()).hasSize(2).allMatch(Optional::isEmpty);
    }

    @Test
    void upstreamRequestFilterEditsReachTheOriginAndResponseFilterEditsReachTheClient() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().header("X-Origin-Secret", "s3cr3t").header("X-Keep", "yes")
                .body("origin body").build());
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader req, Ctx ctx) {
                req.headers().add("X-Added-By-Proxy", "1");
                req.headers().remove("X-Drop-Me");
                req.setTarget("/rewritten?q=1");
                return Stages.DONE;
            }

            @Override
            public CompletionStage<Void> responseFilter(Session session, ResponseHeader resp, Ctx ctx) {
                resp.headers().remove("X-Origin-Secret");
                resp.headers().add("X-Served-By", "merapi");
                resp.setStatus(202);
                return Stages.DONE;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/original"))
                .header("X-Drop-Me", "please").header("X-Client", "c").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(r.body()).isEqualTo("origin body");
        assertThat(r.headers().firstValue("X-Served-By")).contains("merapi");
        assertThat(r.headers().firstValue("X-Keep")).contains("yes");
        assertThat(r.headers().firstValue("X-Origin-Secret")).isEmpty();
        proxy.awaitLogged(1);
        RecordedRequest seen = origin.takeRequest();
        assertThat(seen.target()).isEqualTo("/rewritten?q=1");
        assertThat(seen.header("X-Added-By-Proxy")).contains("1");
        assertThat(seen.header("X-Client")).contains("c");
        assertThat(seen.header("X-Drop-Me")).isEmpty();
        proxy.awaitLogged(1);
    }

    /** Uppercases each piece and doubles its length, so the framing has to change on the way. */
    private static void shout(BodyChunk chunk) {
        String s = chunk.toString(StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
        chunk.replace(Unpooled.copiedBuffer(s + s, StandardCharsets.US_ASCII));
    }

    @Test
    void bodyFiltersReplaceChunksAndTheFramingStaysRight() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().body("response-" + req.bodyUtf8()).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public void requestBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
                shout(chunk);
            }

            @Override
            public Duration responseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
                shout(chunk);
                return Duration.ZERO;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            // two exchanges on one connection: if either framing were off, the second would break
            for (String body : List.of("abc", "hello")) {
                client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
                RawClient.Response r = client.readResponse();
                assertThat(r.status()).isEqualTo(200);
                String upstreamBody = body.toUpperCase(Locale.ROOT).repeat(2);
                String expected = ("response-" + upstreamBody).toUpperCase(Locale.ROOT);
                assertThat(r.header("Content-Length")).isEmpty(); // a body filter may change the length
                assertThat(r.header("Transfer-Encoding")).contains("chunked");
                assertThat(r.bodyText()).isEqualTo(expected + expected);
                RecordedRequest seen = origin.takeRequest();
                assertThat(seen.chunked()).isTrue();
                assertThat(seen.bodyUtf8()).isEqualTo(upstreamBody);
            }
            assertThat(client.isClosedByPeer(Duration.ofMillis(100))).isFalse();
            proxy.awaitLogged(2);
        }
        assertThat(proxy.loggedErrors()).hasSize(2).allMatch(Optional::isEmpty);
    }

    @Test
    void responseBodyFilterDelayThrottlesWithTheBodyIntact() throws Exception {
        long size = 512 * 1024;
        MockOrigin origin = fixture.origin();
        origin.enqueue(MockResponse.builder().streamedBody(size).build());
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public Duration responseBodyFilter(Session session, BodyChunk chunk, boolean endOfStream, Ctx ctx) {
                return Duration.ofMillis(1);
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<InputStream> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/slow")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        CRC32 crc = new CRC32();
        long n = 0;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[16 * 1024];
            for (int k; (k = in.read(buf)) >= 0; ) {
                crc.update(buf, 0, k);
                n += k;
            }
        }
        assertThat(n).isEqualTo(size);
        assertThat(crc.getValue()).isEqualTo(MockResponse.patternCrc(size));
        proxy.awaitLogged(1);
        assertThat(proxy.loggedErrors()).hasSize(1).allMatch(Optional::isEmpty);
    }

    @Test
    void asyncPhasesCompletingOnAnotherThreadResumeOnTheLoop() throws Exception {
        MockOrigin origin = fixture.origin();
        origin.setDispatcher(req -> MockResponse.builder().body("got " + req.header("X-Async").orElse("-")).build());
        PhaseProxy proxy = new PhaseProxy(peer(origin)) {
            @Override
            public CompletionStage<Void> earlyRequestFilter(Session session, Ctx ctx) {
                mark(session, ctx, "earlyRequestFilter");
                return CompletableFuture.runAsync(() -> { }, ELSEWHERE);
            }

            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                mark(session, ctx, "requestFilter");
                return CompletableFuture.supplyAsync(() -> FilterResult.CONTINUE, ELSEWHERE);
            }

            @Override
            public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
                mark(session, ctx, "upstreamPeer");
                return CompletableFuture.supplyAsync(() -> peer(origin), ELSEWHERE);
            }

            @Override
            public CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, Ctx ctx) {
                mark(session, ctx, "connectedToUpstream");
                return CompletableFuture.runAsync(() -> { }, ELSEWHERE);
            }

            @Override
            public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader req, Ctx ctx) {
                mark(session, ctx, "upstreamRequestFilter");
                // the edit happens off the loop, on a header copy the loop does not touch until the stage completes
                return CompletableFuture.runAsync(() -> req.headers().add("X-Async", "yes"), ELSEWHERE);
            }

            @Override
            public CompletionStage<Void> responseFilter(Session session, ResponseHeader resp, Ctx ctx) {
                mark(session, ctx, "responseFilter");
                return CompletableFuture.runAsync(() -> resp.headers().add("X-Async-Response", "yes"), ELSEWHERE);
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpClient client = RecordingProxy.http();
        for (int i = 0; i < 3; i++) { // the later ones on a pooled upstream connection
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/async")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("got yes");
            assertThat(r.headers().firstValue("X-Async-Response")).contains("yes");
        }
        proxy.awaitLogged(3);
        assertThat(proxy.offLoop).as("phases that ran off the session's loop").isEmpty();
        assertThat(proxy.loggedPhases).allSatisfy(p -> assertThat(p).containsSubsequence(
                "earlyRequestFilter", "requestFilter", "upstreamPeer", "connectedToUpstream", "upstreamRequestFilter",
                "upstreamResponseFilter", "responseFilter", "logging"));
        assertThat(proxy.loggedErrors()).hasSize(3).allMatch(Optional::isEmpty);
    }

    @Test
    void offloadRunsBlockingCodeOnAVirtualThreadAndResumesOnTheLoop() throws Exception {
        MockOrigin origin = fixture.origin();
        List<String> seen = new CopyOnWriteArrayList<>();
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                return session.offload(() -> {
                    seen.add("offloaded virtual=" + Thread.currentThread().isVirtual()
                            + " loop=" + session.eventLoop().inEventLoop());
                    Thread.sleep(20); // blocking is fine here
                    return "looked-up";
                }).thenApply(value -> {
                    // the continuation touches the session: it must be on the loop
                    seen.add("continuation loop=" + session.eventLoop().inEventLoop());
                    session.requestHeader().headers().add("X-Lookup", value);
                    return FilterResult.CONTINUE;
                });
            }

            @Override
            public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
                seen.add("upstreamPeer loop=" + session.eventLoop().inEventLoop());
                return super.upstreamPeer(session, ctx);
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/offload")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        proxy.awaitLogged(1);
        assertThat(seen).containsExactly("offloaded virtual=true loop=false", "continuation loop=true",
                "upstreamPeer loop=true");
        assertThat(origin.takeRequest().header("X-Lookup")).contains("looked-up");
        assertThat(proxy.loggedErrors()).hasSize(1).allMatch(Optional::isEmpty);
    }

    /** A proxy that fails in one named phase, by throwing or (for the asynchronous ones) with a failed stage. */
    static final class FailingProxy extends RecordingProxy {
        private final String phase;
        private final boolean async;

        FailingProxy(HttpPeer peer, String phase, boolean async) {
            super(peer);
            this.phase = phase;
            this.async = async;
        }

        private <T> CompletionStage<T> maybeFail(String here, CompletionStage<T> otherwise) {
            if (!here.equals(phase)) {
                return otherwise;
            }
            IllegalStateException boom = new IllegalStateException("secret internal detail in " + here);
            if (async) {
                return CompletableFuture.supplyAsync(() -> {
                    throw boom;
                }, ELSEWHERE);
            }
            throw boom;
        }

        private void maybeThrow(String here) {
            if (here.equals(phase)) {
                throw new IllegalStateException("secret internal detail in " + here);
            }
        }

        @Override
        public Ctx newCtx() {
            maybeThrow("newCtx");
            return super.newCtx();
        }

        @Override
        public CompletionStage<Void> earlyRequestFilter(Session session, Ctx ctx) {
            return maybeFail("earlyRequestFilter", Stages.DONE);
        }

        @Override
        public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
            return maybeFail("requestFilter", FilterResult.CONTINUE_STAGE);
        }

        @Override
        public CompletionStage<HttpPeer> upstreamPeer(Session session, Ctx ctx) {
            return maybeFail("upstreamPeer", super.upstreamPeer(session, ctx));
        }

        @Override
        public CompletionStage<Void> connectedToUpstream(Session session, HttpPeer peer, boolean reused, Ctx ctx) {
            return maybeFail("connectedToUpstream", Stages.DONE);
        }

        @Override
        public CompletionStage<Void> upstreamRequestFilter(Session session, RequestHeader req, Ctx ctx) {
            return maybeFail("upstreamRequestFilter", Stages.DONE);
        }

        @Override
        public void upstreamResponseFilter(Session session, ResponseHeader resp, Ctx ctx) {
            maybeThrow("upstreamResponseFilter");
        }

        @Override
        public CompletionStage<Void> responseFilter(Session session, ResponseHeader resp, Ctx ctx) {
            return maybeFail("responseFilter", Stages.DONE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"earlyRequestFilter", "requestFilter", "upstreamPeer", "connectedToUpstream",
            "upstreamRequestFilter", "upstreamResponseFilter", "responseFilter", "async:earlyRequestFilter",
            "async:requestFilter", "async:upstreamPeer", "async:connectedToUpstream", "async:upstreamRequestFilter",
            "async:responseFilter"})
    void aFailingPhaseAnswers500WithAGenericBodyAndLogsOnce(String which) throws Exception {
        boolean async = which.startsWith("async:");
        String phase = which.substring(which.indexOf(':') + 1);
        MockOrigin origin = fixture.origin();
        FailingProxy proxy = new FailingProxy(peer(origin), phase, async);
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/fail")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("secret", "Exception", "at dev.merapi", "\tat ");
        assertThat(r.body()).hasSizeLessThan(200);
        ProxyError e = proxy.onlyLoggedError();
        assertThat(e.source()).isEqualTo(ErrorSource.INTERNAL);
        assertThat(e.type()).isEqualTo(ErrorType.Kind.FILTER_FAILED);
        assertThat(e.getCause()).hasMessageContaining("secret internal detail in " + phase);
        proxy.awaitLogged(1);
        assertThat(proxy.peerCalls).as("no retry after a filter failure").hasValueLessThanOrEqualTo(1);
    }

    @Test
    void aFailingNewCtxAnswers500() throws Exception {
        MockOrigin origin = fixture.origin();
        FailingProxy proxy = new FailingProxy(peer(origin), "newCtx", false);
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/fail")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("secret", "Exception");
        assertThat(proxy.onlyLoggedError().type()).isEqualTo(ErrorType.Kind.FILTER_FAILED);
        proxy.awaitLogged(1);
        assertThat(origin.requestCount()).isZero();
    }

    @Test
    void requestFilterAnsweringAnUploadClosesTheConnectionInsteadOfReadingTheBody() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                session.respond(413, "text/plain", "too big\n");
                return FilterResult.RESPONDED_STAGE;
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        try (RawClient client = RawClient.connect(server.port())) {
            client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000));
            RawClient.Response r = client.readResponse();
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("Connection")).contains("close");
            assertThat(client.isClosedByPeer()).isTrue();
            proxy.awaitLogged(1);
        }
        assertThat(origin.connectionCount()).isZero();
        assertThat(proxy.loggedErrors()).hasSize(1).allMatch(Optional::isEmpty);
    }

    @Test
    void aFailingOffloadedTaskAnswers500() throws Exception {
        MockOrigin origin = fixture.origin();
        RecordingProxy proxy = new RecordingProxy(peer(origin)) {
            @Override
            public CompletionStage<FilterResult> requestFilter(Session session, Ctx ctx) {
                return session.offload(() -> {
                    throw new IOException("secret database is down");
                });
            }
        };
        HttpProxy<RecordingProxy.Ctx> engine = HttpProxy.of(proxy, ProxyOptions.DEFAULT);
        TestServer server = fixture.serve(engine);
        HttpResponse<String> r = RecordingProxy.http().send(HttpRequest.newBuilder(server.uri("/offload")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("secret", "Exception");
        ProxyError e = proxy.onlyLoggedError();
        assertThat(e.type()).isEqualTo(ErrorType.Kind.FILTER_FAILED);
        assertThat(e.getCause()).isInstanceOf(IOException.class);
        proxy.awaitLogged(1);
        assertThat(origin.requestCount()).isZero();
    }
}
