package dev.merapi.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merapi.gateway.config.GatewayConfig.Admin;
import dev.merapi.gateway.config.GatewayConfig.AdminClient;
import dev.merapi.gateway.config.GatewayConfig.AdminToken;
import dev.merapi.gateway.config.TokenHash;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The credentials a reload puts in force: what an {@link Authenticator} remembers, and what it forgets. */
class AuthenticatorTest {

    private static Admin admin(List<AdminToken> tokens, List<AdminClient> clients, boolean requireBoth) {
        return new Admin(true, "127.0.0.1:0", Optional.empty(), tokens, clients, requireBoth, Optional.empty(), Admin.DEFAULT_MAX_BODY);
    }

    private static Authenticator.Outcome token(Authenticator a, String token) {
        return a.authenticate(Optional.of(token), Optional.empty());
    }

    @Test
    void aRememberedTokenIsForgottenWhenItsEntryGoesOrChanges() {
        String kept = "kept-token-0123456789abcdef";
        String removed = "removed-token-0123456789abcdef";
        String promoted = "promoted-token-0123456789abcdef";
        AdminToken kim = new AdminToken("kim", "viewer", TokenHash.create(kept).encoded());
        AdminToken rob = new AdminToken("rob", "operator", TokenHash.create(removed).encoded());
        AdminToken pat = new AdminToken("pat", "viewer", TokenHash.create(promoted).encoded());
        Authenticator before = new Authenticator(admin(List.of(kim, rob, pat), List.of(), false));
        for (String t : List.of(kept, removed, promoted)) {
            assertThat(token(before, t)).isInstanceOf(Authenticator.Outcome.Ok.class);
            assertThat(before.needsSlowCheck(Optional.of(t))).isFalse();
        }

        Authenticator after = before.withCredentials(admin(List.of(kim, new AdminToken("pat", "admin", pat.hash())), List.of(), false));

        assertThat(after.remembered()).isEqualTo(1);
        assertThat(after.needsSlowCheck(Optional.of(kept))).isFalse();
        assertThat(after.needsSlowCheck(Optional.of(removed))).isTrue();
        assertThat(after.needsSlowCheck(Optional.of(promoted))).isTrue();
        assertThat(token(after, removed)).isEqualTo(new Authenticator.Outcome.Denied("unknown bearer token", true));
        assertThat(token(after, promoted)).isEqualTo(new Authenticator.Outcome.Ok(new Identity("pat", Role.ADMIN, "token")));
        assertThat(token(after, kept)).isEqualTo(new Authenticator.Outcome.Ok(new Identity("kim", Role.VIEWER, "token")));
        assertThat(after.remembered()).isEqualTo(2);
        // the authenticator it came from is not changed: calls already checked with it keep their answer
        assertThat(before.remembered()).isEqualTo(3);
    }

    @Test
    void requireBothOfTheNewCredentialsHoldsForARememberedAdminToken() {
        String token = "ada-token-0123456789abcdef";
        AdminToken ada = new AdminToken("ada", "admin", TokenHash.create(token).encoded());
        Authenticator oneFactor = new Authenticator(admin(List.of(ada), List.of(), false));
        assertThat(token(oneFactor, token)).isEqualTo(new Authenticator.Outcome.Ok(new Identity("ada", Role.ADMIN, "token")));

        Authenticator twoFactors = oneFactor.withCredentials(admin(List.of(ada),
                List.of(new AdminClient("ada", "admin", Optional.empty(), Optional.of("ab".repeat(32)))), true));

        assertThat(twoFactors.needsSlowCheck(Optional.of(token))).isFalse();
        assertThat(token(twoFactors, token)).isEqualTo(new Authenticator.Outcome.Ok(new Identity("ada", Role.OPERATOR, "token")));
    }
}
