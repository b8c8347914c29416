package dev.merapi.core.protocols.http2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.core.protocols.http2.StreamHistory.Verdict;
import org.junit.jupiter.api.Test;

class StreamHistoryTest {
    @Test
    void aStreamAboveEveryOpenedOneIsNew() {
        StreamHistory h = new StreamHistory();
        assertThat(h.of(1)).isEqualTo(Verdict.NEW);
        h.opened(1);
        assertThat(h.of(3)).isEqualTo(Verdict.NEW);
    }

    @Test
    void openedSkippedAndResetStreamsAreToldApart() {
        StreamHistory h = new StreamHistory();
        h.opened(1);
        h.opened(7);
        h.reset(7);
        assertThat(h.of(1)).isEqualTo(Verdict.OPENED);
        assertThat(h.of(3)).isEqualTo(Verdict.NEVER_OPENED);
        assertThat(h.of(5)).isEqualTo(Verdict.NEVER_OPENED);
        assertThat(h.of(7)).isEqualTo(Verdict.RESET);
    }

    @Test
    void streamsOlderThanTheWindowAreForgottenAndTheirSlotsReused() {
        StreamHistory h = new StreamHistory();
        h.opened(1);
        h.reset(1);
        int past = 1 + 2 * StreamHistory.WINDOW; // the id whose slot is stream 1's
        h.opened(past);
        assertThat(h.of(1)).isEqualTo(Verdict.FORGOTTEN);
        assertThat(h.of(past)).isEqualTo(Verdict.OPENED);
        assertThat(h.of(past - 2)).isEqualTo(Verdict.NEVER_OPENED);
        h.reset(1); // outside the window: ignored
        assertThat(h.of(past)).isEqualTo(Verdict.OPENED);
    }

    @Test
    void aJumpFarAheadClearsTheWholeWindow() {
        StreamHistory h = new StreamHistory();
        for (int id = 1; id < 2 * StreamHistory.WINDOW; id += 2) {
            h.opened(id);
        }
        int far = 1_000_001;
        h.opened(far);
        assertThat(h.of(far - 2)).isEqualTo(Verdict.NEVER_OPENED);
        assertThat(h.of(far - 2 * (StreamHistory.WINDOW - 1))).isEqualTo(Verdict.NEVER_OPENED);
        assertThat(h.of(far - 2 * StreamHistory.WINDOW)).isEqualTo(Verdict.FORGOTTEN);
    }
}
