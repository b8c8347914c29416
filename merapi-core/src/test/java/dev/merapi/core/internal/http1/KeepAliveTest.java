package dev.merapi.core.internal.http1;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.http.Headers;
import dev.merapi.http.HttpVersion;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeepAliveTest {
    @ParameterizedTest(name = "{0} with Connection [{1}] keeps the connection: {2}")
    @CsvSource(delimiter = '|', nullValues = "none", value = {
        "HTTP_1_1 | none                  | true",
        "HTTP_1_1 | close                 | false",
        "HTTP_1_1 | Close                 | false",
        "HTTP_1_1 | keep-alive            | true",
        "HTTP_1_1 | upgrade, close        | false",
        "HTTP_1_0 | none                  | false",
        "HTTP_1_0 | keep-alive            | true",
        "HTTP_1_0 | Keep-Alive            | true",
        "HTTP_1_0 | keep-alive, close     | false",
        "HTTP_1_0 | close, keep-alive     | false",
        "HTTP_1_0 | keep-alive-not        | false",
    })
    void closeWinsThenHttp11KeepsAndHttp10KeepsOnlyWhenAsked(HttpVersion version, String connection, boolean keeps) {
        Headers headers = new Headers();
        if (connection != null) {
            headers.add("Connection", connection);
        }
        assertThat(KeepAlive.of(version, headers)).isEqualTo(keeps);
    }
}
