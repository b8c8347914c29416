package dev.merapi.testkit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A small authoritative DNS server on 127.0.0.1 (UDP, ephemeral port) for discovery tests, on Netty's DNS codec.
 * It answers A, AAAA and SRV questions from records the test sets and may change at any time, with the TTL
 * given; unknown names get NXDOMAIN. {@link #failWith(DnsResponseCode)} makes every answer a failure and
 * {@link #silence(boolean)} drops questions unanswered (a resolver then times out). Thread-safe.
 *
 * <pre>{@code
 * try (TestDnsServer dns = TestDnsServer.start()) {
 *     dns.a("app.test", 30, "127.0.0.1", "127.0.0.2");
 *     dns.srv("_http._tcp.app.test", 30, new TestDnsServer.Srv(10, 3, 8080, "app.test"));
 *     ... resolve against dns.address() ...
 * }
 * }</pre>
 */
public final class TestDnsServer implements AutoCloseable {
    /**
     * One SRV answer.
     *
     * @param priority lower is preferred
     * @param weight the share among answers of one priority
     * @param port the service's port
     * @param target the host name, resolved with A/AAAA
     */
    public record Srv(int priority, int weight, int port, String target) {
    }

    private record Answer(DnsRecordType type, long ttl, byte[] data) {
    }

    private final EventLoopGroup group;
    private final Channel channel;
    private final Map<String, List<Answer>> records = new ConcurrentHashMap<>();
    private final AtomicInteger questions = new AtomicInteger();
    private volatile @Nullable DnsResponseCode failure;
    private volatile boolean silent;

    private TestDnsServer() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            channel = new Bootstrap().group(group).channel(NioDatagramChannel.class)
                    .handler(new io.netty.channel.ChannelInitializer<NioDatagramChannel>() {
                        @Override
                        protected void initChannel(NioDatagramChannel ch) {
                            ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(), new Handler());
                        }
                    })
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            throw e;
        }
    }

    /** Starts a server with no records. */
    public static TestDnsServer start() {
        return new TestDnsServer();
    }

    /** Where it listens, for a resolver's name-server list. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Sets the A and AAAA answers of {@code name}: each address goes to the record of its family. */
    public TestDnsServer a(String name, long ttl, String... addresses) {
        List<Answer> list = new CopyOnWriteArrayList<>();
        for (String a : addresses) {
            byte[] bytes = NetUtil.createByteArrayFromIpAddressString(a);
            if (bytes == null) {
                throw new IllegalArgumentException("not an IP address: " + a);
            }
            list.add(new Answer(bytes.length == 4 ? DnsRecordType.A : DnsRecordType.AAAA, ttl, bytes));
        }
        records.merge(key(name), list, (old, add) -> {
            List<Answer> merged = new CopyOnWriteArrayList<>(old.stream()
                    .filter(x -> x.type != DnsRecordType.A && x.type != DnsRecordType.AAAA).toList());
            merged.addAll(add);
            return merged;
        });
        return this;
    }

    /** Sets the SRV answers of {@code name}. */
    public TestDnsServer srv(String name, long ttl, Srv... answers) {
        List<Answer> list = new CopyOnWriteArrayList<>();
        for (Srv s : answers) {
            ByteBuf b = Unpooled.buffer();
            b.writeShort(s.priority()).writeShort(s.weight()).writeShort(s.port());
            writeName(b, s.target());
            byte[] data = new byte[b.readableBytes()];
            b.readBytes(data);
            list.add(new Answer(DnsRecordType.SRV, ttl, data));
        }
        records.merge(key(name), list, (old, add) -> {
            List<Answer> merged = new CopyOnWriteArrayList<>(old.stream().filter(x -> x.type != DnsRecordType.SRV).toList());
            merged.addAll(add);
            return merged;
        });
        return this;
    }

    /** Forgets every record of {@code name}: it gets NXDOMAIN. */
    public TestDnsServer remove(String name) {
        records.remove(key(name));
        return this;
    }

    /** Answers every question with this error code ({@code SERVFAIL}, {@code REFUSED}…), or normally again with {@code null}. */
    public TestDnsServer failWith(DnsResponseCode code) {
        this.failure = code;
        return this;
    }

    /** Drops every question without an answer while {@code true}. */
    public TestDnsServer silence(boolean silent) {
        this.silent = silent;
        return this;
    }

    /** How many questions arrived. */
    public int questionCount() {
        return questions.get();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static String key(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n : n + '.';
    }

    private static void writeName(ByteBuf b, String name) {
        for (String label : key(name).split("\\.")) {
            if (!label.isEmpty()) {
                byte[] l = label.getBytes(StandardCharsets.US_ASCII);
                b.writeByte(l.length).writeBytes(l);
            }
        }
        b.writeByte(0);
    }

    private final class Handler extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            questions.incrementAndGet();
            if (silent || query.count(DnsSection.QUESTION) == 0) {
                return;
            }
            DnsQuestion q = query.recordAt(DnsSection.QUESTION);
            DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
            response.setRecursionDesired(query.isRecursionDesired()).setAuthoritativeAnswer(true);
            response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(q.name(), q.type()));
            DnsResponseCode fail = failure;
            List<Answer> answers = records.get(key(q.name()));
            if (fail != null) {
                response.setCode(fail);
            } else if (answers == null) {
                response.setCode(DnsResponseCode.NXDOMAIN);
            } else {
                for (Answer a : answers) {
                    if (a.type.equals(q.type())) {
                        response.addRecord(DnsSection.ANSWER,
                                new DefaultDnsRawRecord(q.name(), a.type, a.ttl, Unpooled.wrappedBuffer(a.data)));
                    }
                }
            }
            ctx.writeAndFlush(response);
        }
    }
}
