package dev.merapi.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merapi.core.listeners.ListenerConfig;
import dev.merapi.core.listeners.Transport;
import dev.merapi.core.protocols.http1.Http1Options;
import dev.merapi.core.protocols.http2.Http2Options;
import dev.merapi.core.server.ServerConfig;
import dev.merapi.core.upstreams.PeerOptions;
import dev.merapi.http.Http1Limits;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every configuration type reads the same way: an immutable record with a {@code DEFAULT}, {@code builder()},
 * {@code toBuilder()} and a {@code Builder} whose setters check their values, naming the setting and its range.
 */
class ConfigIdiomTest {
    private static final Duration ZERO = Duration.ZERO;
    private static final Duration NEGATIVE = Duration.ofSeconds(-1);

    @ParameterizedTest
    @ValueSource(classes = {ServerConfig.class, ListenerConfig.class, Http1Options.class, PeerOptions.class,
            ProxyOptions.class, Http1Limits.class, TunnelOptions.class, Http2Options.class})
    void everyConfigTypeIsARecordWithDefaultBuilderAndToBuilder(Class<?> type) throws Exception {
        assertThat(type.isRecord()).as("%s is a record", type.getSimpleName()).isTrue();
        Field def = type.getField("DEFAULT");
        assertThat(def.getType()).isEqualTo(type);
        assertThat(Modifier.isStatic(def.getModifiers()) && Modifier.isFinal(def.getModifiers())).isTrue();
        Method builder = type.getMethod("builder");
        assertThat(Modifier.isStatic(builder.getModifiers())).isTrue();
        Class<?> builderType = builder.getReturnType();
        assertThat(builderType.getSimpleName()).isEqualTo("Builder");
        assertThat(builderType.getEnclosingClass()).isEqualTo(type);
        assertThat(type.getMethod("toBuilder").getReturnType()).isEqualTo(builderType);
        assertThat(builderType.getMethod("build").getReturnType()).isEqualTo(type);
        assertThat(builderType.getConstructors()).as("a builder is made by builder() or toBuilder() only").isEmpty();
        for (RecordComponent c : type.getRecordComponents()) {
            // an optional setting is set with its value: ListenerConfig.tls(ServerTls) for Optional<ServerTls> tls
            Class<?> value = c.getType() == java.util.Optional.class
                    ? (Class<?>) ((java.lang.reflect.ParameterizedType) c.getGenericType()).getActualTypeArguments()[0]
                    : c.getType();
            assertThat(builderType.getMethod(c.getName(), value).getReturnType())
                    .as("%s.Builder has a setter for %s", type.getSimpleName(), c.getName()).isEqualTo(builderType);
        }
        assertThat(Arrays.stream(type.getMethods()).map(Method::getName)
                .filter(n -> n.equals("defaults") || n.matches("with[A-Z].*")))
                .as("%s has no defaults() and no withX() copies", type.getSimpleName()).isEmpty();

        Object defaults = def.get(null);
        Object rebuilt = builderType.getMethod("build").invoke(type.getMethod("toBuilder").invoke(defaults));
        Object fresh = builderType.getMethod("build").invoke(builder.invoke(null));
        assertThat(rebuilt).isEqualTo(defaults);
        assertThat(fresh).isEqualTo(defaults);
    }

    @Test
    void aChangedConfigSurvivesToBuilderAndBuild() {
        List<Object> changed = List.of(
                ServerConfig.builder().threads(3).transport(Transport.NIO).gracePeriod(Duration.ofSeconds(7)).name("edge").build(),
                ListenerConfig.builder().address(new InetSocketAddress("127.0.0.1", 0)).backlog(16).reusePort(true)
                        .tcpNoDelay(false).keepAlive(true).fastOpenQueue(8).maxConnections(100).maxConnectionsPerIp(10).http2(false).build(),
                Http1Options.builder().limits(Http1Limits.builder().maxHeaderCount(20).build())
                        .firstByteTimeout(Duration.ofSeconds(1)).headerReadTimeout(Duration.ofSeconds(2))
                        .keepAliveTimeout(Duration.ofSeconds(3)).bodyReadTimeout(Duration.ofSeconds(4))
                        .writeTimeout(Duration.ofSeconds(5)).maxRequestsPerConnection(6).allowConnect(true).allowTrace(true)
                        .maxUnprocessedBytes(2048).build(),
                PeerOptions.builder().connectTimeout(Duration.ofSeconds(1)).readTimeout(Duration.ofSeconds(2))
                        .writeTimeout(Duration.ofSeconds(3)).idleTimeout(Duration.ofSeconds(4)).retryNonIdempotent(true).build(),
                ProxyOptions.builder().maxRetries(0).replayBufferBytes(0).maxIdleUpstreamPerLoop(0).splice(false).via("")
                        .forwardedHeaders(ForwardedHeaders.off()).maxSplicePipesPerLoop(0).build(),
                Http1Limits.builder().maxRequestLine(1).maxHeaderBytes(2).maxHeaderCount(3).maxChunkLine(4).maxTrailerBytes(5)
                        .build(),
                Http2Options.builder().maxConcurrentStreams(7).initialStreamWindow(20_000).connectionWindow(70_000)
                        .maxRstFramesPerWindow(9).rstFramesWindow(Duration.ofSeconds(2)).maxQueuedControlFrames(17)
                        .maxConsecutiveEmptyDataFrames(3).maxSmallContinuationFrames(4).build());
        assertThat(rebuild(changed.get(0))).isEqualTo(changed.get(0));
        for (Object c : changed) {
            assertThat(rebuild(c)).as(c.getClass().getSimpleName()).isEqualTo(c).isNotEqualTo(defaultOf(c));
        }
        ListenerConfig listener = (ListenerConfig) changed.get(1);
        assertThat(listener.toBuilder().backlog(32).build()).isEqualTo(new ListenerConfig(listener.address(), 32, true,
                false, true, 8, 100, 10, java.util.Optional.empty(), false));
    }

    private static Object rebuild(Object config) {
        try {
            Object builder = config.getClass().getMethod("toBuilder").invoke(config);
            return builder.getClass().getMethod("build").invoke(builder);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    private static Object defaultOf(Object config) {
        try {
            return config.getClass().getField("DEFAULT").get(null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    static Stream<Arguments> badSettings() {
        return Stream.of(
                bad("threads must be 1 to 4096: 0", () -> ServerConfig.builder().threads(0)),
                bad("threads must be 1 to 4096: 4097", () -> ServerConfig.builder().threads(4097)),
                bad("gracePeriod must be positive (there is no infinite timeout): PT0S", () -> ServerConfig.builder().gracePeriod(ZERO)),
                bad("gracePeriod must be positive", () -> ServerConfig.builder().gracePeriod(NEGATIVE)),
                bad("name must be 1 to 64 characters without control characters: ''", () -> ServerConfig.builder().name("")),
                bad("name must be 1 to 64 characters", () -> ServerConfig.builder().name("a\nb")),
                bad("backlog must be at least 1: 0", () -> ListenerConfig.builder().backlog(0)),
                bad("fastOpenQueue (0 is off) must be at least 0: -1", () -> ListenerConfig.builder().fastOpenQueue(-1)),
                bad("maxConnections must be at least 1: 0", () -> ListenerConfig.builder().maxConnections(0)),
                bad("maxConnectionsPerIp (0 is no cap) must be at least 0: -1", () -> ListenerConfig.builder().maxConnectionsPerIp(-1)),
                bad("firstByteTimeout must be positive", () -> Http1Options.builder().firstByteTimeout(ZERO)),
                bad("headerReadTimeout must be positive", () -> Http1Options.builder().headerReadTimeout(NEGATIVE)),
                bad("keepAliveTimeout must be positive", () -> Http1Options.builder().keepAliveTimeout(ZERO)),
                bad("bodyReadTimeout must be positive", () -> Http1Options.builder().bodyReadTimeout(ZERO)),
                bad("writeTimeout must be positive", () -> Http1Options.builder().writeTimeout(ZERO)),
                bad("maxRequestsPerConnection must be at least 1: 0", () -> Http1Options.builder().maxRequestsPerConnection(0)),
                bad("maxUnprocessedBytes must be at least 1024: 1023", () -> Http1Options.builder().maxUnprocessedBytes(1023)),
                bad("connectTimeout must be positive", () -> PeerOptions.builder().connectTimeout(ZERO)),
                bad("readTimeout must be positive", () -> PeerOptions.builder().readTimeout(NEGATIVE)),
                bad("writeTimeout must be positive", () -> PeerOptions.builder().writeTimeout(ZERO)),
                bad("idleTimeout must be positive", () -> PeerOptions.builder().idleTimeout(ZERO)),
                bad("maxRetries must be 0 to 16: 17", () -> ProxyOptions.builder().maxRetries(ProxyOptions.MAX_RETRIES + 1)),
                bad("maxRetries must be 0 to 16: -1", () -> ProxyOptions.builder().maxRetries(-1)),
                bad("replayBufferBytes must be at least 0: -1", () -> ProxyOptions.builder().replayBufferBytes(-1)),
                bad("maxIdleUpstreamPerLoop must be at least 0: -1", () -> ProxyOptions.builder().maxIdleUpstreamPerLoop(-1)),
                bad("maxSplicePipesPerLoop must be at least 0: -1", () -> ProxyOptions.builder().maxSplicePipesPerLoop(-1)),
                bad("via, the Via pseudonym, must be empty or a token of at most 64 characters", () -> ProxyOptions.builder().via("two words")),
                bad("via, the Via pseudonym, must be empty or a token", () -> ProxyOptions.builder().via("x".repeat(65))),
                bad("maxRequestLine must be at least 1: 0", () -> Http1Limits.builder().maxRequestLine(0)),
                bad("maxHeaderBytes must be at least 1: 0", () -> Http1Limits.builder().maxHeaderBytes(0)),
                bad("maxHeaderCount must be at least 1: 0", () -> Http1Limits.builder().maxHeaderCount(0)),
                bad("maxChunkLine must be at least 1: 0", () -> Http1Limits.builder().maxChunkLine(0)),
                bad("maxTrailerBytes must be at least 1: -5", () -> Http1Limits.builder().maxTrailerBytes(-5)),
                bad("maxConcurrentStreams must be 1 to 10000: 0", () -> Http2Options.builder().maxConcurrentStreams(0)),
                bad("initialStreamWindow must be at least 16384: 100", () -> Http2Options.builder().initialStreamWindow(100)),
                bad("connectionWindow must be at least 65535: 100", () -> Http2Options.builder().connectionWindow(100)),
                bad("maxRstFramesPerWindow must be at least 1: 0", () -> Http2Options.builder().maxRstFramesPerWindow(0)),
                bad("rstFramesWindow must be between PT1S and PT1H: PT0S", () -> Http2Options.builder().rstFramesWindow(ZERO)),
                bad("maxQueuedControlFrames must be at least 16: 1", () -> Http2Options.builder().maxQueuedControlFrames(1)),
                bad("maxConsecutiveEmptyDataFrames must be at least 1: 0",
                        () -> Http2Options.builder().maxConsecutiveEmptyDataFrames(0)),
                bad("maxSmallContinuationFrames must be at least 1: 0", () -> Http2Options.builder().maxSmallContinuationFrames(0)));
    }

    private static Arguments bad(String message, ThrowingCallable setter) {
        return Arguments.of(message, setter);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badSettings")
    void eachSetterRefusesAValueOutOfItsRangeNamingTheSettingAndTheRange(String message, ThrowingCallable setter) {
        assertThatThrownBy(setter).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(message);
    }

    @Test
    void eachRangeEndIsAllowed() {
        assertThat(ServerConfig.builder().threads(1).build().threads()).isEqualTo(1);
        assertThat(ServerConfig.builder().threads(ServerConfig.MAX_THREADS).build().threads()).isEqualTo(4096);
        assertThat(ListenerConfig.builder().fastOpenQueue(0).maxConnectionsPerIp(0).backlog(1).maxConnections(1).build().backlog())
                .isEqualTo(1);
        assertThat(Http1Options.builder().maxUnprocessedBytes(Http1Options.MIN_UNPROCESSED_BYTES).maxRequestsPerConnection(1)
                .firstByteTimeout(Duration.ofNanos(1)).build().maxUnprocessedBytes()).isEqualTo(1024);
        assertThat(ProxyOptions.builder().maxRetries(0).build().maxRetries()).isZero();
        assertThat(ProxyOptions.builder().maxRetries(ProxyOptions.MAX_RETRIES).via("x".repeat(64)).build().maxRetries()).isEqualTo(16);
        assertThat(Http1Limits.builder().maxRequestLine(1).build().maxRequestLine()).isEqualTo(1);
    }

    @Test
    void theCanonicalConstructorsCheckAsTheBuildersDo() {
        Http1Limits l = Http1Limits.DEFAULT;
        assertThatThrownBy(() -> new Http1Limits(0, 1, 1, 1, 1)).hasMessage("maxRequestLine must be at least 1: 0");
        assertThatThrownBy(() -> new ServerConfig(0, Transport.NIO, Duration.ofSeconds(1), "m"))
                .hasMessage("threads must be 1 to 4096: 0");
        assertThatThrownBy(() -> new ListenerConfig(new InetSocketAddress(0), 0, false, true, false, 0, 1, 0, java.util.Optional.empty(), true))
                .hasMessage("backlog must be at least 1: 0");
        assertThatThrownBy(() -> new Http1Options(l, ZERO, ZERO, ZERO, ZERO, ZERO, 1, false, false, 1024))
                .hasMessageStartingWith("firstByteTimeout must be positive");
        assertThatThrownBy(() -> new PeerOptions(Duration.ofSeconds(1), ZERO, ZERO, ZERO, false))
                .hasMessageStartingWith("readTimeout must be positive");
        assertThatThrownBy(() -> new ProxyOptions(3, -1, 0, true, "", ForwardedHeaders.DEFAULT, 0))
                .hasMessage("replayBufferBytes must be at least 0: -1");
    }

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        assertThat(ServerConfig.DEFAULT.gracePeriod()).isEqualTo(Duration.ofSeconds(30));
        assertThat(ServerConfig.DEFAULT.name()).isEqualTo("merapi");
        assertThat(ServerConfig.DEFAULT.transport()).isEqualTo(dev.merapi.core.SystemSettings.current().transport());
        assertThat(ListenerConfig.DEFAULT.address()).isEqualTo(new InetSocketAddress("127.0.0.1", 8080));
        assertThat(ListenerConfig.DEFAULT.backlog()).isEqualTo(4096);
        assertThat(ListenerConfig.DEFAULT.maxConnections()).isEqualTo(ListenerConfig.DEFAULT_MAX_CONNECTIONS);
        assertThat(ListenerConfig.unix(java.nio.file.Path.of("/tmp/x.sock")).tcpNoDelay()).isFalse();
        assertThat(ListenerConfig.tcp("127.0.0.1:0")).isEqualTo(ListenerConfig.builder()
                .address(new InetSocketAddress("127.0.0.1", 0)).build());
        assertThat(Http1Options.DEFAULT.limits()).isEqualTo(Http1Limits.DEFAULT);
        assertThat(Http1Options.DEFAULT.maxRequestsPerConnection()).isEqualTo(10_000);
        assertThat(PeerOptions.DEFAULT.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(ProxyOptions.DEFAULT).isEqualTo(new ProxyOptions(3, 64 * 1024, 128,
                dev.merapi.core.SystemSettings.current().splice(), "merapi", ForwardedHeaders.DEFAULT, 256));
        assertThat(Http1Limits.DEFAULT).isEqualTo(new Http1Limits(8192, 32768, 100, 4096, 16384));
    }
}
