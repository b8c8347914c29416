package dev.merapi.http;

/** Names of the headers Merapi itself reads or writes, in their canonical case. Lookups ignore case. */
public final class HeaderNames {
    public static final String HOST = "Host";
    public static final String CONTENT_LENGTH = "Content-Length";
    public static final String TRANSFER_ENCODING = "Transfer-Encoding";
    public static final String CONNECTION = "Connection";
    public static final String KEEP_ALIVE = "Keep-Alive";
    public static final String PROXY_CONNECTION = "Proxy-Connection";
    public static final String TE = "TE";
    public static final String TRAILER = "Trailer";
    public static final String UPGRADE = "Upgrade";
    public static final String EXPECT = "Expect";
    public static final String CONTENT_TYPE = "Content-Type";
    public static final String DATE = "Date";
    public static final String SERVER = "Server";
    public static final String AUTHORIZATION = "Authorization";
    public static final String PROXY_AUTHORIZATION = "Proxy-Authorization";
    public static final String COOKIE = "Cookie";
    public static final String SET_COOKIE = "Set-Cookie";
    public static final String LOCATION = "Location";
    public static final String X_FORWARDED_FOR = "X-Forwarded-For";

    private HeaderNames() {
    }
}
