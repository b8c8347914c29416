package dev.merapi.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.merapi.core.listeners.ConnectionStage;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ConnectionStage#chain} on its own: order, refusal, and what each stage is handed. */
class ConnectionStageTest {

    @Test
    void chainRunsStagesInOrderAndTheLastIsHandedAnEndThatAccepts() {
        List<String> walk = new ArrayList<>();
        List<Boolean> endSaid = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel();
        ConnectionStage.Next chain = ConnectionStage.chain(List.of(
                (ch, next) -> walk.add("a") && next.install(ch),
                (ch, next) -> walk.add("b") && next.install(ch),
                (ch, next) -> {
                    walk.add("protocol");
                    endSaid.add(next.install(ch));
                    return true;
                }));
        assertThat(chain.install(channel)).isTrue();
        assertThat(walk).containsExactly("a", "b", "protocol");
        assertThat(endSaid).containsExactly(true);
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void refusalStopsTheWalkAndReachesEveryStageBefore() {
        List<String> walk = new ArrayList<>();
        List<Boolean> firstHeard = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel();
        ConnectionStage.Next chain = ConnectionStage.chain(List.of(
                (ch, next) -> {
                    boolean on = next.install(ch);
                    firstHeard.add(on); // where a stage that took something gives it back
                    return on;
                },
                (ch, next) -> walk.add("refuses") && false,
                (ch, next) -> walk.add("never") && next.install(ch)));
        assertThat(chain.install(channel)).isFalse();
        assertThat(walk).containsExactly("refuses");
        assertThat(firstHeard).containsExactly(false);
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void noStagesLetEveryConnectionThrough() {
        EmbeddedChannel channel = new EmbeddedChannel();
        assertThat(ConnectionStage.chain(List.of()).install(channel)).isTrue();
        assertFalse(channel.finishAndReleaseAll());
    }
}
