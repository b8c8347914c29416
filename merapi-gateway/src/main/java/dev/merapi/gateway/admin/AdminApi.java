package dev.merapi.gateway.admin;

import dev.merapi.core.protocols.ServerSession;
import dev.merapi.core.security.SecurityEvents;
import dev.merapi.core.tls.ClientIdentity;
import dev.merapi.core.tls.TlsInfo;
import dev.merapi.error.ProxyError;
import dev.merapi.gateway.admin.Authenticator.Outcome;
import dev.merapi.gateway.admin.GatewayControl.ConfigVersion;
import dev.merapi.gateway.admin.GatewayControl.ReloadRecord;
import dev.merapi.gateway.config.ConfigError;
import dev.merapi.gateway.remote.RemoteConfig;
import dev.merapi.gateway.remote.RemoteStatus;
import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.http.HeaderNames;
import dev.merapi.http.ResponseHeader;
import dev.merapi.loadbalancing.BackendStatus;
import dev.merapi.loadbalancing.LoadBalancer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API under {@code /api/v1/}: JSON over HTTP, each call authenticated ({@link Authenticator}) and
 * authorised by the role its endpoint declares in {@link #ENDPOINTS}. The order of checks: a body over
 * {@code admin.max-body} is 413; no or bad credentials are 401 (with {@code WWW-Authenticate}; after a growing delay
 * per client address once a credential failed, see {@link FailedAttempts}); an unknown path is 404 and a known one
 * with another method 405; a role below the endpoint's is 403; a query string, or a body where none is taken, is
 * 400; a posted configuration with errors is 422, each error at its {@code line:column} in the posted text; a remote
 * fetch or rollback answers by its result ({@link #remoteAnswer}). Every call that changes something and every
 * refused call goes to the audit log; a change for which the audit log has no room is refused with 503. The
 * credentials (tokens, client identities, {@code require-both}) are those of the configuration in force
 * ({@link #credentials(Admin)}); the rest of the admin section is the one of the start.
 *
 * <p>Threading: runs on the admin listener's event loops. The first check of a token (PBKDF2) runs on one
 * verifier thread with a short queue (503 when it is full); validate, apply and reload run on a virtual thread; the
 * answer is always written on the session's event loop. Request bodies are copied into a heap array as they arrive
 * and each buffer is released at once.
 */
public final class AdminApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
    /** The path prefix of every endpoint. */
    public static final String PREFIX = "/api/v1/";
    private static final String POSTED = "<posted>";
    private static final Pattern TOKEN_HASH = Pattern.compile("pbkdf2-sha256\\$[0-9]+\\$[A-Za-z0-9+/=]*\\$[A-Za-z0-9+/=]*");
    private static final List<String> YAML_TYPES = List.of("application/yaml", "application/x-yaml", "text/yaml", "application/json",
            "text/plain");

    /**
     * One endpoint of the admin API.
     *
     * @param method the HTTP method
     * @param path the path; a {@code {name}} segment matches one percent-encoded segment
     * @param role the least role that may call it
     * @param changes whether it changes the gateway (audit-logged, and refused when the audit log is full)
     * @param takesBody whether it reads a request body (a configuration text)
     */
    public record Endpoint(String method, String path, Role role, boolean changes, boolean takesBody) {
    }

    /** Every endpoint: the single table that says what each one needs. */
    public static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint("GET", "/api/v1/status", Role.VIEWER, false, false),
            new Endpoint("GET", "/api/v1/config", Role.VIEWER, false, false),
            new Endpoint("GET", "/api/v1/reloads", Role.VIEWER, false, false),
            new Endpoint("POST", "/api/v1/reload", Role.OPERATOR, true, false),
            new Endpoint("POST", "/api/v1/backends/{group}/{backend}/enable", Role.OPERATOR, true, false),
            new Endpoint("POST", "/api/v1/backends/{group}/{backend}/disable", Role.OPERATOR, true, false),
            new Endpoint("POST", "/api/v1/backends/{group}/{backend}/drain", Role.OPERATOR, true, false),
            new Endpoint("POST", "/api/v1/config/validate", Role.ADMIN, false, true),
            new Endpoint("POST", "/api/v1/config/apply", Role.ADMIN, true, true),
            new Endpoint("POST", "/api/v1/remote/fetch", Role.OPERATOR, true, false),
            new Endpoint("POST", "/api/v1/remote/rollback", Role.ADMIN, true, false));

    /** The admin section at start: its address, TLS, audit log and body limit hold until the next start. */
    private final Admin config;
    private final GatewayControl gateway;
    private final BooleanSupplier ready;
    /** The credentials in force; replaced whole by {@link #credentials(Admin)}. */
    private volatile Credentials credentials;
    /** Held while the credentials are replaced, one replacement at a time. */
    private final Object swapping = new Object();
    private final FailedAttempts failures = new FailedAttempts(System::nanoTime);
    private final Optional<AuditLog> audit;
    private final ThreadPoolExecutor verifier;

    private AdminApi(Admin config, GatewayControl gateway, BooleanSupplier ready, Optional<AuditLog> audit) {
        this.config = config;
        this.gateway = gateway;
        this.ready = ready;
        this.audit = audit;
        this.credentials = new Credentials(config, new Authenticator(config));
        this.verifier = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(16),
                Thread.ofPlatform().daemon().name("merapi-admin-auth").factory());
    }

    /**
     * The admin API of a gateway; opens the audit log if the configuration names one.
     *
     * @throws IllegalArgumentException if the audit log cannot be opened or does not end with a record
     */
    public static AdminApi of(Admin config, GatewayControl gateway, BooleanSupplier ready) {
        Optional<AuditLog> audit = Optional.empty();
        if (config.auditLog().isPresent()) {
            try {
                audit = Optional.of(AuditLog.open(config.auditLog().get(), Clock.systemUTC()));
            } catch (IOException e) {
                throw new IllegalArgumentException("admin.audit-log: cannot open " + config.auditLog().get() + ": " + e.getMessage(), e);
            }
        }
        return new AdminApi(config, gateway, ready, audit);
    }

    /**
     * The tokens, client identities and {@code require-both} of an admin section, with the authenticator they make.
     *
     * @param config the admin section they were taken from
     * @param authenticator checks calls against them
     */
    private record Credentials(Admin config, Authenticator authenticator) {
    }

    /**
     * Puts the tokens, client identities and {@code require-both} of {@code next} in force for every call
     * authenticated from now on, at once: a token or a client identity that is gone, or whose role changed, no longer
     * authenticates (and a token remembered as verified is forgotten with its entry). The address, TLS, audit log and
     * body limit stay those of the start. Thread-safe; cheap (no hash is computed).
     *
     * @throws IllegalArgumentException if a token has no valid hash (a validated section always has one)
     */
    public void credentials(Admin next) {
        synchronized (swapping) {
            Credentials now = credentials;
            credentials = new Credentials(next, now.authenticator().withCredentials(next));
        }
    }

    /** Whether {@code path} is one of the admin API's. */
    static boolean handles(String path) {
        return path.startsWith(PREFIX) || path.equals("/api/v1");
    }

    /** Stops the verifier thread and writes what the audit log has queued. */
    @Override
    public void close() {
        verifier.shutdownNow();
        audit.ifPresent(AuditLog::close);
    }

    /** Answers one call; on the session's event loop. */
    void handle(ServerSession session) {
        new Call(session).start();
    }

    /** One call, from its head to its answer; every method runs on the session's event loop unless it says otherwise. */
    private final class Call implements ServerSession.Handler {
        private final ServerSession session;
        private final String method;
        private final String path;
        private final SocketAddress client;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        /** The credentials this call was authenticated with. */
        private Credentials checkedWith = credentials;
        private @Nullable Identity identity;
        private @Nullable Runnable afterBody;
        private boolean answered;

        Call(ServerSession session) {
            this.session = session;
            this.method = session.request().method();
            this.path = session.request().path();
            this.client = session.clientAddress();
        }

        void start() {
            session.setHandler(this);
            Optional<Long> length = session.request().headers().get(HeaderNames.CONTENT_LENGTH).flatMap(AdminApi::parseLong);
            if (length.isPresent() && length.get() > config.maxBody()) {
                answer(413, error("the body is larger than admin.max-body (" + config.maxBody() + " bytes)"));
                return;
            }
            authenticate();
        }

        /** Authenticates the call with the credentials in force. */
        private void authenticate() {
            Credentials c = credentials;
            checkedWith = c;
            Authenticator authenticator = c.authenticator();
            if (!c.config().hasCredentials()) {
                deny(new Outcome.Denied("no admin credentials are configured", false));
                return;
            }
            Optional<String> authorization = session.request().headers().get(HeaderNames.AUTHORIZATION);
            Optional<String> bearer = authorization.map(AdminApi::bearer);
            Optional<ClientIdentity> certificate = session.tls().flatMap(TlsInfo::clientIdentity);
            if (authorization.isPresent() && bearer.orElse("").isEmpty()) {
                deny(new Outcome.Denied("Authorization is not a bearer token", true));
                return;
            }
            Optional<String> token = bearer.filter(b -> !b.isEmpty());
            if (!authenticator.needsSlowCheck(token)) {
                decided(authenticator.authenticate(token, certificate));
                return;
            }
            try {
                verifier.execute(() -> {
                    Outcome o = authenticator.authenticate(token, certificate);
                    session.eventLoop().execute(() -> decided(o));
                });
            } catch (RejectedExecutionException e) {
                answer(503, error("too many authentications at once; try again"));
            }
        }

        private void decided(Outcome outcome) {
            if (checkedWith != credentials) { // the credentials changed while this call was checked: check it again
                authenticate();
                return;
            }
            switch (outcome) {
                case Outcome.Denied d -> deny(d);
                case Outcome.Ok ok -> authorised(ok.identity());
            }
        }

        private void deny(Outcome.Denied d) {
            Map<String, Object> record = record("denied", 401);
            record.put("reason", d.reason());
            audit.ifPresent(a -> a.writeIfRoom(record));
            if (!d.presented()) {
                answer(401, error("authentication required: send Authorization: Bearer TOKEN or a client certificate"));
                return;
            }
            Duration delay = failures.failed(client);
            SecurityEvents.record("admin-auth", client, session.serverAddress(), 401);
            log.warn("admin API: authentication failed from {} ({}); answering in {} ms", client, d.reason(), delay.toMillis());
            session.eventLoop().schedule(() -> answer(401, error("authentication failed")), delay.toMillis(), TimeUnit.MILLISECONDS);
        }

        private void authorised(Identity id) {
            this.identity = id;
            failures.succeeded(client);
            List<Endpoint> onPath = ENDPOINTS.stream().filter(e -> match(e.path(), path).isPresent()).toList();
            if (onPath.isEmpty()) {
                answer(404, error("no such endpoint: " + path));
                return;
            }
            Optional<Endpoint> found = onPath.stream().filter(e -> e.method().equals(method)).findFirst();
            if (found.isEmpty()) {
                answer(405, error("use " + onPath.getFirst().method() + " for " + path));
                return;
            }
            Endpoint e = found.get();
            if (!id.role().allows(e.role())) {
                Map<String, Object> record = record("forbidden", 403);
                record.put("needs", e.role().key());
                audit.ifPresent(a -> a.writeIfRoom(record));
                answer(403, error("'" + id.name() + "' is " + id.role().key() + "; " + method + " " + e.path() + " needs " + e.role().key()
                        + (checkedWith.config().requireBoth() && e.role() == Role.ADMIN ? " (with a token and a client certificate)" : "")));
                return;
            }
            if (session.request().target().indexOf('?') >= 0) {
                answer(400, error("the admin API takes no query parameters"));
                return;
            }
            Map<String, String> vars = match(e.path(), path).orElseThrow();
            if (vars.containsValue("")) {
                answer(400, error("a path segment is not valid percent-encoded UTF-8"));
                return;
            }
            if (e.takesBody()) {
                Optional<String> type = session.request().headers().get(HeaderNames.CONTENT_TYPE)
                        .map(t -> t.split(";", 2)[0].strip().toLowerCase(Locale.ROOT));
                if (type.isPresent() && !YAML_TYPES.contains(type.get())) {
                    answer(415, error("post the configuration as application/yaml (or application/json)"));
                    return;
                }
            }
            afterBody = () -> run(e, vars);
            session.readBody();
        }

        @Override
        public void onBody(ByteBuf data, boolean endOfStream) {
            try {
                if (answered) {
                    return;
                }
                if (body.size() + data.readableBytes() > config.maxBody()) {
                    answer(413, error("the body is larger than admin.max-body (" + config.maxBody() + " bytes)"));
                    return;
                }
                data.readBytes(body, data.readableBytes());
            } catch (IOException e) {
                throw new IllegalStateException("a heap stream cannot fail", e);
            } finally {
                data.release();
            }
            if (!endOfStream) {
                session.readBody();
                return;
            }
            Runnable next = afterBody;
            afterBody = null;
            if (next != null) {
                next.run();
            }
        }

        @Override
        public void onWritable() {
        }

        @Override
        public void onError(ProxyError error) {
            afterBody = null;
            if (!answered && session.isOpen() && !session.isResponseStarted()) {
                answered = true;
                session.abort();
            }
        }

        private void run(Endpoint e, Map<String, String> vars) {
            if (!e.takesBody() && body.size() > 0) {
                answer(400, error(method + " " + e.path() + " takes no body"));
                return;
            }
            Identity id = java.util.Objects.requireNonNull(identity, "identity");
            if (e.changes() && audit.map(a -> !a.reserve()).orElse(true)) {
                answer(503, error("the audit log cannot take the record of this change now; nothing was changed"));
                return;
            }
            String last = e.path().substring(e.path().lastIndexOf('/') + 1);
            switch (last) {
                case "status" -> answer(200, status());
                case "config" -> answer(200, configView());
                case "reloads" -> answer(200, Map.of("reloads", gateway.reloads().stream().map(AdminApi::reloadView).toList()));
                case "validate" -> text().ifPresent(t -> offload(() -> {
                    List<ConfigError> errors = gateway.validate(t, POSTED);
                    return () -> answer(errors.isEmpty() ? 200 : 422, validation(errors));
                }));
                case "apply" -> text().ifPresentOrElse(t -> offload(() -> {
                    ReloadRecord r = gateway.apply(t, POSTED, "admin:" + id.name());
                    return () -> changed(r.applied() ? 200 : 422, reloadView(r), r.before(), r.after(), r.errors());
                }), () -> audit.ifPresent(a -> a.write(record("refused", 400))));
                case "reload" -> offload(() -> {
                    ReloadRecord r = gateway.reload("admin:" + id.name());
                    return () -> changed(r.applied() ? 200 : 422, reloadView(r), r.before(), r.after(), r.errors());
                });
                case "fetch" -> remote(false);
                case "rollback" -> remote(true);
                default -> backend(last, vars.getOrDefault("group", ""), vars.getOrDefault("backend", ""));
            }
        }

        /**
         * Fetches the remote bundle now, as the schedule does, or (with {@code rollback}) to take a lower version; the
         * audit record has the remote result and the remote versions before and after, never the bundle's errors.
         */
        private void remote(boolean rollback) {
            offload(() -> {
                ConfigVersion before = gateway.configVersion();
                Optional<Long> remoteBefore = gateway.remoteStatus().map(RemoteStatus::runningVersion);
                Optional<RemoteConfig.Outcome> outcome = rollback ? gateway.rollbackRemote() : gateway.fetchRemote();
                ConfigVersion after = gateway.configVersion();
                if (outcome.isEmpty()) {
                    return () -> changed(409, error("no remote section is configured: the configuration comes from the local file"), before,
                            after, List.of());
                }
                RemoteConfig.Outcome o = outcome.get();
                RemoteStatus now = gateway.remoteStatus().orElseThrow();
                Map<String, Object> remote = new LinkedHashMap<>();
                remote.put("result", o.result().label());
                remote.put("versionBefore", remoteBefore.orElse(0L));
                remote.put("versionAfter", now.runningVersion());
                Map<String, Object> view = new LinkedHashMap<>();
                view.put("result", o.result().label());
                view.put("applied", o.result() == RemoteConfig.Result.APPLIED);
                view.put("message", o.message());
                view.put("before", versionView(before));
                view.put("after", versionView(after));
                view.put("remote", remoteView(now));
                return () -> changed(remoteAnswer(o.result()), view, before, after, List.of(), Map.of("remote", remote));
            });
        }

        /** The posted text, or a 400 answered if it is not UTF-8. */
        private Optional<String> text() {
            try {
                return Optional.of(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body.toByteArray())).toString());
            } catch (CharacterCodingException e) {
                answer(400, error("the body is not UTF-8"));
                return Optional.empty();
            }
        }

        private void backend(String action, String group, String backend) {
            ConfigVersion v = gateway.configVersion();
            LoadBalancer lb = gateway.balancers().get(group);
            if (lb == null || lb.status(backend).isEmpty()) {
                Map<String, Object> view = error(lb == null ? "no upstream group '" + group + "'" : "no backend '" + backend + "' in '" + group + "'");
                changed(404, view, v, v, List.of());
                return;
            }
            switch (action) {
                case "enable" -> lb.enable(backend);
                case "disable" -> lb.disable(backend);
                default -> lb.drain(backend);
            }
            Map<String, Object> view = new LinkedHashMap<>();
            view.put("group", group);
            view.put("backend", backendView(lb.status(backend).orElseThrow()));
            changed(200, view, v, v, List.of());
        }

        /** Runs {@code work} on a virtual thread, then the answer it returns on the event loop. */
        private void offload(Supplier<Runnable> work) {
            Thread.ofVirtual().name("merapi-admin-change").start(() -> {
                Runnable then;
                try {
                    then = work.get();
                } catch (RuntimeException ex) {
                    log.error("admin API: {} {} failed", method, path, ex);
                    then = () -> changedOrAnswer(500, error("internal error: " + ex.getClass().getSimpleName()));
                }
                session.eventLoop().execute(then);
            });
        }

        private void changedOrAnswer(int status, Map<String, Object> view) {
            boolean changes = ENDPOINTS.stream().anyMatch(e -> e.changes() && e.method().equals(method) && match(e.path(), path).isPresent());
            if (changes) {
                ConfigVersion v = gateway.configVersion();
                changed(status, view, v, v, List.of());
            } else {
                answer(status, view);
            }
        }

        private void changed(int status, Map<String, Object> view, ConfigVersion before, ConfigVersion after, List<ConfigError> errors) {
            changed(status, view, before, after, errors, Map.of());
        }

        /** Writes the audit record of a change (its place taken), with {@code extra} fields, then answers once it is on disk. */
        private void changed(int status, Map<String, Object> view, ConfigVersion before, ConfigVersion after, List<ConfigError> errors,
                Map<String, Object> extra) {
            Map<String, Object> record = record(status < 300 ? "ok" : "refused", status);
            record.put("before", versionView(before));
            record.put("after", versionView(after));
            record.putAll(extra);
            if (!errors.isEmpty()) {
                // positions only: a message may quote the posted text
                record.put("errors", errors.stream().map(e -> e.line() + ":" + e.column() + (e.path().isEmpty() ? "" : " " + e.path())).toList());
            }
            AuditLog a = audit.orElseThrow();
            a.write(record).whenComplete((ok, ex) -> session.eventLoop().execute(() -> {
                if (ex != null) {
                    answer(500, error("the change was made but its audit record could not be written: " + ex.getMessage()));
                } else {
                    answer(status, view);
                }
            }));
        }

        private Map<String, Object> record(String outcome, int status) {
            Map<String, Object> r = new LinkedHashMap<>();
            Identity id = identity;
            r.put("identity", id == null ? null : id.name());
            r.put("role", id == null ? null : id.role().key());
            r.put("via", id == null ? null : id.via());
            r.put("address", address(client));
            r.put("method", method);
            r.put("path", path);
            r.put("outcome", outcome);
            r.put("status", status);
            return r;
        }

        private void answer(int status, Map<String, Object> json) {
            if (answered || !session.isOpen() || session.isResponseStarted()) {
                answered = true;
                return;
            }
            answered = true;
            byte[] bytes = (Json.write(json) + "\n").getBytes(StandardCharsets.UTF_8);
            ResponseHeader h = ResponseHeader.of(status);
            h.headers().add(HeaderNames.CONTENT_TYPE, "application/json");
            h.headers().add(HeaderNames.CONTENT_LENGTH, Integer.toString(bytes.length));
            h.headers().add("Cache-Control", "no-store");
            h.headers().add("X-Content-Type-Options", "nosniff");
            if (status == 401) {
                h.headers().add("WWW-Authenticate", "Bearer realm=\"merapi-admin\"");
            }
            if (status == 405) {
                h.headers().add("Allow", ENDPOINTS.stream().filter(e -> match(e.path(), path).isPresent()).map(Endpoint::method).distinct()
                        .reduce((x, y) -> x + ", " + y).orElse("GET"));
            }
            session.writeResponseHeader(h, false);
            session.writeBody(Unpooled.wrappedBuffer(bytes), true);
        }
    }

    private Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("version", gateway.version());
        s.put("started", gateway.startedAt());
        s.put("uptimeSeconds", Duration.between(gateway.startedAt(), java.time.Instant.now()).toSeconds());
        s.put("ready", ready.getAsBoolean());
        s.put("config", versionView(gateway.configVersion()));
        List<Object> listeners = new ArrayList<>();
        gateway.listeners().forEach((name, addresses) -> listeners.add(Map.of("name", name, "addresses",
                addresses.stream().map(AdminApi::address).toList())));
        s.put("listeners", listeners);
        List<Object> groups = new ArrayList<>();
        gateway.balancers().forEach((name, lb) -> {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("name", name);
            g.put("backends", lb.status().stream().map(AdminApi::backendView).toList());
            groups.add(g);
        });
        s.put("upstreams", groups);
        gateway.remoteStatus().ifPresent(r -> s.put("remote", remoteView(r)));
        audit.ifPresent(a -> s.put("auditLog", Map.of("head", a.head(), "dropped", a.dropped())));
        List<Map<String, Object>> reloads = gateway.reloads().stream().filter(r -> !r.applied()).map(AdminApi::reloadView).toList();
        s.put("lastFailedReload", reloads.isEmpty() ? null : reloads.getLast());
        return s;
    }

    /**
     * The status of a remote fetch's answer: 200 when it ended well (applied, or nothing new), 409 for a version in the
     * wrong direction (a rollback refused by a fetch, or no rollback for a rollback), 422 for a bundle refused (bad
     * signature, too large, invalid, or not applicable), 502 when the source failed.
     */
    static int remoteAnswer(RemoteConfig.Result r) {
        return switch (r) {
            case APPLIED, NOT_MODIFIED, UNCHANGED -> 200;
            case ROLLBACK, NOT_A_ROLLBACK -> 409;
            case BAD_SIGNATURE, TOO_LARGE, INVALID, APPLY_FAILED -> 422;
            case UNREACHABLE, TLS_ERROR, HTTP_ERROR -> 502;
        };
    }

    private static Map<String, Object> remoteView(RemoteStatus r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("url", r.url().toString());
        m.put("runningFrom", r.runningFrom());
        m.put("runningVersion", r.runningVersion());
        m.put("runningSha256", r.runningSha256());
        m.put("lastAttempt", r.lastAttempt());
        m.put("lastSuccess", r.lastSuccess());
        m.put("lastResult", r.lastResult());
        m.put("lastError", r.lastError());
        m.put("consecutiveFailures", r.consecutiveFailures());
        return m;
    }

    private Map<String, Object> configView() {
        Map<String, Object> c = new LinkedHashMap<>(versionView(gateway.configVersion()));
        c.put("text", redact(gateway.configText()));
        return c;
    }

    /** The configuration text with every token hash replaced by {@code [redacted]}. */
    static String redact(String text) {
        return TOKEN_HASH.matcher(text).replaceAll("[redacted]");
    }

    private static Map<String, Object> versionView(ConfigVersion v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", v.version());
        m.put("hash", v.hash());
        m.put("source", v.source());
        return m;
    }

    private static Map<String, Object> backendView(BackendStatus b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", b.backend().name());
        m.put("available", b.available());
        m.put("healthy", b.healthy());
        m.put("enabled", b.enabled());
        m.put("draining", b.draining());
        m.put("ejected", b.ejected());
        m.put("inflight", b.inflight());
        return m;
    }

    private static Map<String, Object> reloadView(ReloadRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("at", r.at());
        m.put("trigger", r.trigger());
        m.put("source", r.source());
        m.put("applied", r.applied());
        m.put("before", versionView(r.before()));
        m.put("after", versionView(r.after()));
        m.put("errors", r.errors().stream().map(AdminApi::errorView).toList());
        return m;
    }

    private static Map<String, Object> validation(List<ConfigError> errors) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("valid", errors.isEmpty());
        m.put("errors", errors.stream().map(AdminApi::errorView).toList());
        return m;
    }

    private static Map<String, Object> errorView(ConfigError e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("line", e.line());
        m.put("column", e.column());
        m.put("path", e.path());
        m.put("message", e.message());
        m.put("text", e.toString());
        return m;
    }

    private static Map<String, Object> error(String message) {
        return Map.of("error", message);
    }

    /** The token of an {@code Authorization: Bearer TOKEN} value, or an empty string if it is another scheme. */
    private static String bearer(String authorization) {
        String v = authorization.strip();
        if (v.length() > 7 && v.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return v.substring(7).strip();
        }
        return "";
    }

    private static Optional<Long> parseLong(String s) {
        try {
            return Optional.of(Long.parseLong(s.strip()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static String address(SocketAddress a) {
        return a instanceof InetSocketAddress i ? i.getAddress().getHostAddress() + ":" + i.getPort() : a.toString();
    }

    /**
     * Matches {@code path} against a template; the values of its {@code {name}} segments, percent-decoded (an empty
     * value when one is not valid percent-encoded UTF-8), or empty when it does not match.
     */
    static Optional<Map<String, String>> match(String template, String path) {
        String[] t = template.split("/", -1);
        String[] p = path.split("/", -1);
        if (t.length != p.length) {
            return Optional.empty();
        }
        Map<String, String> vars = new LinkedHashMap<>();
        for (int i = 0; i < t.length; i++) {
            if (t[i].startsWith("{") && t[i].endsWith("}")) {
                if (p[i].isEmpty()) {
                    return Optional.empty();
                }
                vars.put(t[i].substring(1, t[i].length() - 1), decode(p[i]));
            } else if (!t[i].equals(p[i])) {
                return Optional.empty();
            }
        }
        return Optional.of(vars);
    }

    private static String decode(String segment) {
        if (segment.indexOf('+') >= 0) {
            segment = segment.replace("+", "%2B"); // a plus is a plus in a path
        }
        try {
            ByteBuffer bytes = ByteBuffer.wrap(java.net.URLDecoder.decode(segment, StandardCharsets.ISO_8859_1)
                    .getBytes(StandardCharsets.ISO_8859_1));
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (IllegalArgumentException | CharacterCodingException e) {
            return "";
        }
    }
}
