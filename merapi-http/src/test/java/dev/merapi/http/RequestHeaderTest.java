package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link RequestHeader#path()} and {@link RequestHeader#query()} for every target form. */
class RequestHeaderTest {

    @ParameterizedTest
    @CsvSource(delimiter = ' ', nullValues = "-", value = {
        "/a/b?c=d /a/b c=d",
        "/ / -",
        "/a?b?c /a b?c",
        "http://a.example/p?q=1 /p q=1",
        "http://a.example / -",
        "http://a.example:8080/ / -",
        // found by fuzzing: a '/' in the query of an absolute-form target was taken for the start of the path
        "http://a.example?x=/y / x=/y",
        "http://a.example?/admin / /admin",
        "https://a.example:443?q / q",
    })
    void pathAndQueryOfEveryForm(String target, String path, String query) {
        RequestHeader request = RequestHeader.of("GET", target);
        assertThat(request.path()).isEqualTo(path);
        assertThat(request.query()).isEqualTo(java.util.Optional.ofNullable(query));
    }
}
