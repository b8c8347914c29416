package dev.merapi.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Headers}: order, case and duplicates kept; lookups ignore case. Also {@link HopByHop} and {@link Tokens}. */
class HeadersTest {

    private static List<String> lines(Headers h) {
        List<String> out = new ArrayList<>();
        h.forEach((n, v) -> out.add(n + ": " + v));
        return out;
    }

    @Test
    void addKeepsOrderCaseAndDuplicates() {
        Headers h = new Headers().add("x-B", "1").add("Host", "a").add("X-b", "2");
        assertThat(lines(h)).containsExactly("x-B: 1", "Host: a", "X-b: 2");
        assertThat(h.size()).isEqualTo(3);
        assertThat(h.name(2)).isEqualTo("X-b");
        assertThat(h.value(2)).isEqualTo("2");
    }

    @Test
    void lookupsIgnoreCase() {
        Headers h = new Headers().add("Content-Type", "text/plain").add("x-a", "1").add("X-A", "2");
        assertThat(h.get("content-type")).contains("text/plain");
        assertThat(h.get("CONTENT-TYPE")).contains("text/plain");
        assertThat(h.get("x-A")).contains("1");
        assertThat(h.getAll("x-a")).containsExactly("1", "2");
        assertThat(h.count("X-a")).isEqualTo(2);
        assertThat(h.contains("X-A")).isTrue();
        assertThat(h.contains("X-AB")).isFalse();
        assertThat(h.get("missing")).isEmpty();
        assertThat(h.getAll("missing")).isEmpty();
        assertThat(h.indexOf("x-a", 2)).isEqualTo(2);
    }

    @Test
    void setReplacesTheFirstInPlaceAndRemovesTheRest() {
        Headers h = new Headers().add("A", "1").add("x-y", "2").add("B", "3").add("X-Y", "4");
        h.set("X-Y", "new");
        assertThat(lines(h)).containsExactly("A: 1", "x-y: new", "B: 3");
        h.set("C", "5");
        assertThat(lines(h)).containsExactly("A: 1", "x-y: new", "B: 3", "C: 5");
    }

    @Test
    void removeTakesEveryFieldOfThatName() {
        Headers h = new Headers().add("A", "1").add("x", "2").add("B", "3").add("X", "4");
        assertThat(h.remove("X")).isTrue();
        assertThat(lines(h)).containsExactly("A: 1", "B: 3");
        assertThat(h.remove("X")).isFalse();
        h.removeAt(0);
        assertThat(lines(h)).containsExactly("B: 3");
        assertThatThrownBy(() -> h.removeAt(1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void growsPastItsInitialCapacity() {
        Headers h = new Headers(1);
        for (int i = 0; i < 100; i++) {
            h.add("H" + i, Integer.toString(i));
        }
        assertThat(h.size()).isEqualTo(100);
        assertThat(h.get("h99")).contains("99");
        assertThat(h.name(0)).isEqualTo("H0");
    }

    @Test
    void copyIsIndependent() {
        Headers h = new Headers().add("A", "1");
        Headers c = h.copy();
        c.add("B", "2");
        c.set("A", "x");
        assertThat(lines(h)).containsExactly("A: 1");
        assertThat(lines(c)).containsExactly("A: x", "B: 2");
    }

    @Test
    void clearEmptiesTheList() {
        Headers h = new Headers().add("A", "1").add("B", "2");
        h.clear();
        assertThat(h.isEmpty()).isTrue();
        assertThat(h.get("A")).isEmpty();
        h.add("C", "3");
        assertThat(lines(h)).containsExactly("C: 3");
    }

    @Test
    void containsTokenLooksInEveryFieldIgnoringCaseAndWhitespace() {
        Headers h = new Headers().add("Connection", "keep-alive").add("connection", "Upgrade ,\tClose");
        assertThat(h.containsToken("CONNECTION", "close")).isTrue();
        assertThat(h.containsToken("Connection", "upgrade")).isTrue();
        assertThat(h.containsToken("Connection", "clo")).isFalse();
        assertThat(h.containsToken("Connection", "keep")).isFalse();
    }

    @Test
    void nullNamesAndValuesAreRefused() {
        Headers h = new Headers();
        assertThatThrownBy(() -> h.add(null, "v")).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> h.add("n", null)).isInstanceOf(NullPointerException.class);
    }

    // ---- hop-by-hop

    @Test
    void hopByHopStripRemovesTheFixedListAndWhatConnectionNames() {
        Headers h = new Headers()
                .add("Host", "a")
                .add("Connection", "keep-alive, X-Secret")
                .add("connection", "x-other")
                .add("X-Secret", "s")
                .add("X-Other", "o")
                .add("Keep-Alive", "timeout=5")
                .add("Proxy-Connection", "keep-alive")
                .add("TE", "trailers")
                .add("Trailer", "X-T")
                .add("Transfer-Encoding", "chunked")
                .add("Upgrade", "websocket")
                .add("X-Keep", "k");
        HopByHop.strip(h);
        assertThat(lines(h)).containsExactly("Host: a", "X-Keep: k");
    }

    @Test
    void connectionCannotStripHostOrContentLength() {
        Headers h = new Headers().add("Host", "a").add("Content-Length", "3").add("Connection", "Host, content-length, X-A")
                .add("X-A", "1");
        HopByHop.strip(h);
        assertThat(lines(h)).containsExactly("Host: a", "Content-Length: 3");
    }

    @Test
    void stripLeavesAMessageWithoutHopByHopFieldsAsItWas() {
        Headers h = new Headers().add("Host", "a").add("Tea", "x").add("Upgraded", "y").add("X-Connection", "z");
        HopByHop.strip(h);
        assertThat(lines(h)).containsExactly("Host: a", "Tea: x", "Upgraded: y", "X-Connection: z");
    }

    @Test
    void stripRequestRecordsThatTeListedTrailers() {
        RequestHeader r = RequestHeader.of("POST", "/svc/M");
        r.headers().add("Host", "a").add("te", "deflate;q=0.5").add("TE", "Trailers").add("Connection", "TE");
        HopByHop.stripRequest(r);
        assertThat(r.acceptsTrailers()).isTrue();
        assertThat(lines(r.headers())).containsExactly("Host: a");
        assertThat(r.copy().acceptsTrailers()).as("a copy keeps the fact").isTrue();
    }

    @Test
    void stripRequestDoesNotTakeTeWithoutTrailersForAcceptingTrailers() {
        RequestHeader r = RequestHeader.of("GET", "/");
        r.headers().add("Host", "a").add("TE", "gzip, trailersx").add("X-TE", "trailers");
        HopByHop.stripRequest(r);
        assertThat(r.acceptsTrailers()).isFalse();
        assertThat(lines(r.headers())).containsExactly("Host: a", "X-TE: trailers");
    }

    @Test
    void connectionTokensAreLowercaseDistinctAndInOrder() {
        Headers h = new Headers().add("Connection", "Keep-Alive, X-Private ,").add("x", "1").add("connection", "x-private, TE");
        assertThat(HopByHop.connectionTokens(h)).containsExactly("keep-alive", "x-private", "te");
        assertThat(HopByHop.connectionTokens(new Headers().add("Host", "a"))).isEmpty();
    }

    @Test
    void upgradeOfferNeedsConnectionUpgradeAndExactlyOneUpgradeField() {
        assertThat(HopByHop.upgradeOffer(new Headers().add("Upgrade", "websocket").add("Connection", "keep-alive, Upgrade")))
                .contains("websocket");
        assertThat(HopByHop.upgradeOffer(new Headers().add("Upgrade", "websocket").add("Connection", "keep-alive"))).isEmpty();
        assertThat(HopByHop.upgradeOffer(new Headers().add("Connection", "upgrade"))).isEmpty();
        assertThat(HopByHop.upgradeOffer(new Headers().add("Connection", "upgrade").add("Upgrade", "a").add("upgrade", "b")))
                .isEmpty();
    }

    // ---- tokens

    @Test
    void tokenAndValueCharacterClassesFollowRfc9110() {
        assertThat(Tokens.isToken("X-Custom_1.2~!#$%&'*+^`|")).isTrue();
        assertThat(Tokens.isToken("")).isFalse();
        assertThat(Tokens.isToken("a b")).isFalse();
        assertThat(Tokens.isToken("a:b")).isFalse();
        assertThat(Tokens.isFieldValue("a\tb c\u00e9")).isTrue();
        assertThat(Tokens.isFieldValue(" a")).isFalse();
        assertThat(Tokens.isFieldValue("a\u0000")).isFalse();
        assertThat(Tokens.isFieldValue("a\rb")).isFalse();
        assertThat(Tokens.isFieldValue("a\u007f")).isFalse();
    }

    @Test
    void listHelpersSkipEmptyElementsAndWhitespace() {
        List<String> seen = new ArrayList<>();
        Tokens.forEachListElement(" a ,, b,\tc\t,", seen::add);
        assertThat(seen).containsExactly("a", "b", "c");
        assertThat(Tokens.listContains("a, B ,c", "b")).isTrue();
        assertThat(Tokens.listContains("ab", "b")).isFalse();
    }
}
