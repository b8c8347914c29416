package dev.merapi.http;

/** The HTTP versions Merapi speaks. */
public enum HttpVersion {
    HTTP_1_0("HTTP/1.0"),
    HTTP_1_1("HTTP/1.1"),
    HTTP_2("HTTP/2");

    private final String text;

    HttpVersion(String text) {
        this.text = text;
    }

    /** The version as it appears on the wire, such as {@code HTTP/1.1}. */
    public String text() {
        return text;
    }
}
