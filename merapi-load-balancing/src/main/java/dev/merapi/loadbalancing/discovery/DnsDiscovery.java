package dev.merapi.loadbalancing.discovery;

import dev.merapi.core.upstreams.UpstreamTls;
import dev.merapi.loadbalancing.Backend;
import dev.merapi.error.Bounds;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRecordDecoder;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Backends from DNS: the A and AAAA records of a name with a fixed port, or the SRV records of a service name,
 * which give each backend's port and weight (RFC 2782; only the answers of the lowest priority are used, the
 * others being for failover). The answer's smallest TTL tells the load balancer when to ask again.
 *
 * <pre>{@code
 * DnsDiscovery.builder().srv("_http._tcp.app.internal").build();      // ports and weights from SRV
 * DnsDiscovery.builder().name("app.internal").port(8080).build();    // every address, port 8080
 * }</pre>
 *
 * <p>Queries go to the system's name servers ({@code /etc/resolv.conf}) unless others are given, with no cache
 * of their own, from one event-loop thread this object owns; {@link #discover()} blocks its caller (the load
 * balancer's background virtual thread) until the answers are in or the timeout passes. An error, a timeout or
 * NXDOMAIN throws, and the load balancer keeps its last good set. {@link #close()} stops the thread.
 */
public final class DnsDiscovery implements ServiceDiscovery, AutoCloseable {
    private final Builder settings;
    private final EventLoopGroup group;
    private final DnsNameResolver resolver;

    private DnsDiscovery(Builder b) {
        this.settings = b;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("merapi-dns", true), NioIoHandler.newFactory());
        DnsServerAddressStreamProvider servers = b.nameServers.isEmpty()
                ? DnsServerAddressStreamProviders.platformDefault()
                : new SequentialDnsServerAddressStreamProvider(b.nameServers);
        this.resolver = new DnsNameResolverBuilder(group.next())
                .datagramChannelType(NioDatagramChannel.class)
                .socketChannelType(NioSocketChannel.class)
                .nameServerProvider(servers)
                .resolveCache(NoopDnsCache.INSTANCE)
                .queryTimeoutMillis(b.timeout.toMillis())
                .recursionDesired(true)
                .build();
    }

    /** Starts a discovery: give {@link Builder#srv} or {@link Builder#name} with {@link Builder#port}. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Discovered discover() throws IOException, InterruptedException {
        List<Backend> backends = new ArrayList<>();
        long[] minTtl = {Long.MAX_VALUE};
        if (settings.srv != null) {
            List<DnsRecord> srv = query(settings.srv, DnsRecordType.SRV, minTtl);
            int best = Integer.MAX_VALUE;
            List<int[]> fields = new ArrayList<>();
            List<String> targets = new ArrayList<>();
            for (DnsRecord r : srv) {
                ByteBuf c = ((DnsRawRecord) r).content();
                int priority = c.getUnsignedShort(c.readerIndex());
                int weight = c.getUnsignedShort(c.readerIndex() + 2);
                int port = c.getUnsignedShort(c.readerIndex() + 4);
                ByteBuf name = c.duplicate().skipBytes(6);
                String target = DefaultDnsRecordDecoder.decodeName(name);
                fields.add(new int[] {priority, weight, port});
                targets.add(target);
                best = Math.min(best, priority);
            }
            release(srv);
            for (int i = 0; i < fields.size(); i++) {
                int[] f = fields.get(i);
                if (f[0] != best) {
                    continue;
                }
                for (InetAddress a : addresses(targets.get(i), minTtl)) {
                    backends.add(backend(a, f[2], Math.clamp(f[1], 1, Backend.MAX_WEIGHT), hostOf(targets.get(i))));
                }
            }
        } else {
            String host = Objects.requireNonNull(settings.name, "a discovery without srv has a name");
            for (InetAddress a : addresses(host, minTtl)) {
                backends.add(backend(a, settings.port, settings.weight, host));
            }
        }
        backends.sort(Comparator.comparing(Backend::name));
        List<Backend> unique = new ArrayList<>();
        for (Backend b : backends) {
            if (unique.isEmpty() || !unique.getLast().name().equals(b.name())) {
                unique.add(b);
            }
        }
        Optional<Duration> ttl = minTtl[0] == Long.MAX_VALUE ? Optional.empty() : Optional.of(Duration.ofSeconds(minTtl[0]));
        return new Discovered(unique, ttl);
    }

    private Backend backend(InetAddress address, int port, int weight, String host) {
        Backend.Builder b = Backend.builder(hostPort(address, port)).weight(weight).tls(settings.tls);
        if (settings.tls) {
            b.sni(settings.sni.orElse(host)).upstreamTls(settings.upstreamTls);
        }
        return b.build();
    }

    private static String hostPort(InetAddress a, int port) {
        String ip = io.netty.util.NetUtil.toAddressString(a);
        return (ip.indexOf(':') >= 0 ? '[' + ip + ']' : ip) + ':' + port;
    }

    private static String hostOf(String dnsName) {
        return dnsName.endsWith(".") ? dnsName.substring(0, dnsName.length() - 1) : dnsName;
    }

    private List<InetAddress> addresses(String name, long[] minTtl) throws IOException, InterruptedException {
        List<InetAddress> out = new ArrayList<>();
        List<DnsRecord> a = query(name, DnsRecordType.A, minTtl);
        List<DnsRecord> aaaa = settings.ipv6 ? queryOrEmpty(name, DnsRecordType.AAAA, minTtl) : List.of();
        try {
            for (DnsRecord r : a.isEmpty() ? aaaa : concat(a, aaaa)) {
                ByteBuf c = ((DnsRawRecord) r).content();
                byte[] bytes = new byte[c.readableBytes()];
                c.getBytes(c.readerIndex(), bytes);
                if (bytes.length == 4 || bytes.length == 16) {
                    out.add(InetAddress.getByAddress(bytes));
                }
            }
        } finally {
            release(a);
            release(aaaa);
        }
        return out;
    }

    private static List<DnsRecord> concat(List<DnsRecord> a, List<DnsRecord> b) {
        List<DnsRecord> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private List<DnsRecord> queryOrEmpty(String name, DnsRecordType type, long[] minTtl) throws InterruptedException {
        try {
            return query(name, type, minTtl);
        } catch (IOException e) {
            return List.of(); // no AAAA where A answered: an IPv4-only name
        }
    }

    /** The answers of {@code type}, retained: the caller releases them. Throws on an error code or a timeout. */
    private List<DnsRecord> query(String name, DnsRecordType type, long[] minTtl) throws IOException, InterruptedException {
        AddressedEnvelope<DnsResponse, InetSocketAddress> envelope;
        try {
            envelope = resolver.query(new DefaultDnsQuestion(name, type)).get(settings.timeout.toMillis() * 3, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
            throw new IOException("DNS " + type.name() + " " + name + ": " + cause.getMessage(), cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("DNS " + type.name() + " " + name + ": no answer in time", e);
        }
        try {
            DnsResponse response = envelope.content();
            if (response.code() != DnsResponseCode.NOERROR) {
                throw new IOException("DNS " + type.name() + " " + name + ": " + response.code());
            }
            List<DnsRecord> out = new ArrayList<>();
            for (int i = 0; i < response.count(DnsSection.ANSWER); i++) {
                DnsRecord r = response.recordAt(DnsSection.ANSWER, i);
                if (r.type().equals(type) && r instanceof DnsRawRecord raw) {
                    out.add(raw.retain());
                    minTtl[0] = Math.min(minTtl[0], r.timeToLive());
                }
            }
            return out;
        } finally {
            envelope.release();
        }
    }

    private static void release(List<DnsRecord> records) {
        for (DnsRecord r : records) {
            ((DnsRawRecord) r).release();
        }
    }

    /** Stops the resolver's thread. */
    @Override
    public void close() {
        resolver.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "dns " + (settings.srv != null ? "SRV " + settings.srv : settings.name + ":" + settings.port);
    }

    /** Settings of a {@link DnsDiscovery}; not thread-safe. */
    public static final class Builder {
        private @Nullable String srv;
        private @Nullable String name;
        private int port;
        private int weight = 1;
        private boolean ipv6 = true;
        private boolean tls;
        private Optional<String> sni = Optional.empty();
        private UpstreamTls upstreamTls = UpstreamTls.DEFAULT;
        private List<InetSocketAddress> nameServers = List.of();
        private Duration timeout = Duration.ofSeconds(2);

        private Builder() {
        }

        /** A service name whose SRV records give the targets, ports and weights, such as {@code _http._tcp.app}. */
        public Builder srv(String serviceName) {
            this.srv = Objects.requireNonNull(serviceName, "serviceName");
            return this;
        }

        /** A host name whose A (and AAAA) records give the addresses; with {@link #port}. */
        public Builder name(String hostName) {
            this.name = Objects.requireNonNull(hostName, "hostName");
            return this;
        }

        /** The port of every address of {@link #name}. */
        public Builder port(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** The weight of every address of {@link #name}; default 1 (SRV records bring their own). */
        public Builder weight(int weight) {
            this.weight = Bounds.count("weight", weight, 1, Backend.MAX_WEIGHT);
            return this;
        }

        /** Whether to ask for AAAA records too; default yes. */
        public Builder ipv6(boolean ipv6) {
            this.ipv6 = ipv6;
            return this;
        }

        /** Whether the backends speak TLS; their SNI is the DNS name unless {@link #sni} says otherwise. */
        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }

        /** The TLS settings (trusted CA, client certificate…) of every backend when {@link #tls}; default {@link UpstreamTls#DEFAULT}. */
        public Builder upstreamTls(UpstreamTls upstreamTls) {
            this.upstreamTls = Objects.requireNonNull(upstreamTls, "upstreamTls");
            return this;
        }

        /** The TLS server name of every backend. */
        public Builder sni(String sni) {
            this.sni = Optional.of(sni);
            return this;
        }

        /** The name servers to ask, in order; default the system's. */
        public Builder nameServers(List<InetSocketAddress> servers) {
            this.nameServers = List.copyOf(servers);
            return this;
        }

        /** How long one query may take, 10 ms to 1 min; default 2 s. */
        public Builder timeout(Duration timeout) {
            this.timeout = Bounds.duration("timeout", timeout, Duration.ofMillis(10), Duration.ofMinutes(1));
            return this;
        }

        /**
         * The discovery, with its own resolver thread.
         *
         * @throws IllegalArgumentException without a name and port or an SRV name, or with both
         */
        public DnsDiscovery build() {
            if ((srv == null) == (name == null)) {
                throw new IllegalArgumentException("give either srv(...) or name(...) with port(...)");
            }
            if (name != null && port == 0) {
                throw new IllegalArgumentException("name(" + name + ") needs a port(...)");
            }
            return new DnsDiscovery(this);
        }
    }
}
