package dev.merapi.gateway;

import dev.merapi.gateway.config.ConfigException;
import dev.merapi.gateway.config.ConfigLoader;
import dev.merapi.gateway.config.Ed25519Pem;
import dev.merapi.gateway.config.GatewayConfig;
import dev.merapi.gateway.remote.Bundle;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code merapi config keygen}, {@code merapi config sign} and {@code merapi config verify}: the key pair and the
 * detached Ed25519 signatures of remote configuration bundles (docs/remote-config.md). Exit codes: 0 done, 1 refused
 * (a file exists, a signature does not verify, an invalid configuration), 2 usage.
 */
final class BundleCommands {
    private BundleCommands() {
    }

    /** {@code merapi config keygen}: writes a new Ed25519 key pair. */
    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = {"Writes a new Ed25519 key pair for signing configuration bundles: the private key (PKCS#8 PEM, mode 0600)",
                "and the public key (X.509 SubjectPublicKeyInfo PEM) that remote.public-key names. Never overwrites a file."})
    static final class Keygen implements Callable<Integer> {
        @Option(names = "--out", paramLabel = "DIR", description = "Writes DIR/config-signing.key and DIR/config-signing.pub.")
        @Nullable Path out;

        @Option(names = "--private", paramLabel = "FILE", description = "Where the private key goes (instead of --out).")
        @Nullable Path privateFile;

        @Option(names = "--public", paramLabel = "FILE", description = "Where the public key goes (instead of --out).")
        @Nullable Path publicFile;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            Path priv = privateFile;
            Path pub = publicFile;
            if (out != null && (priv != null || pub != null) || out == null && (priv == null || pub == null)) {
                err.println("merapi config keygen: give --out DIR, or both --private FILE and --public FILE");
                return 2;
            }
            if (out != null) {
                priv = out.resolve("config-signing.key");
                pub = out.resolve("config-signing.pub");
            }
            if (priv == null || pub == null) {
                return 2;
            }
            if (Files.exists(priv) || Files.exists(pub)) {
                err.println("merapi config keygen: " + (Files.exists(priv) ? priv : pub) + " exists; it is never overwritten");
                return 1;
            }
            KeyPair pair;
            try {
                pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            } catch (GeneralSecurityException e) {
                err.println("merapi config keygen: this JDK cannot make Ed25519 keys: " + e.getMessage());
                return 1;
            }
            try {
                if (out != null) {
                    Files.createDirectories(out);
                }
                writePrivate(priv, Ed25519Pem.encode(pair.getPrivate()));
                Files.writeString(pub, Ed25519Pem.encode(pair.getPublic()), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
            } catch (IOException e) {
                err.println("merapi config keygen: cannot write the keys: " + e);
                return 1;
            }
            PrintWriter o = spec.commandLine().getOut();
            o.println("private key: " + priv + " (keep it off the gateways; sign with: merapi config sign --key " + priv + " FILE)");
            o.println("public key:  " + pub + " (remote.public-key on every gateway)");
            o.flush();
            return 0;
        }

        /** Creates the file with mode 0600 from the start, so the key is never readable by others, even for a moment. */
        private static void writePrivate(Path file, String pem) throws IOException {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            } catch (FileAlreadyExistsException e) {
                throw new IOException(file + " exists", e);
            }
            Files.writeString(file, pem, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
        }
    }

    /** {@code merapi config sign}: checks a configuration and writes its detached signature. */
    @Command(name = "sign", mixinStandardHelpOptions = true,
            description = {"Checks a configuration (as merapi check does; it needs a version) and writes its Ed25519 signature,",
                "base64, to FILE.sig. Publish both at the remote source: FILE at remote.url, FILE.sig at the same URL plus .sig."})
    static final class Sign implements Callable<Integer> {
        @Option(names = "--key", required = true, paramLabel = "PRIVATE", description = "The private key (PKCS#8 PEM) from merapi config keygen.")
        Path key;

        @Option(names = "--out", paramLabel = "SIG", description = "Where the signature goes (default: FILE.sig).")
        @Nullable Path out;

        @Parameters(paramLabel = "FILE", description = "The configuration bundle (YAML) to sign.")
        Path file;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            byte[] config;
            Bundle bundle;
            try {
                config = Files.readAllBytes(file);
                bundle = Bundle.sign(config, Ed25519Pem.privateKey(Files.readString(key, StandardCharsets.US_ASCII)));
            } catch (IOException e) {
                err.println("merapi config sign: cannot read " + e.getMessage());
                return 1;
            } catch (IllegalArgumentException e) {
                err.println("merapi config sign: " + key + ": " + e.getMessage());
                return 1;
            }
            try {
                GatewayConfig c = ConfigLoader.of().load(file);
                if (c.version() == 0) {
                    err.println("merapi config sign: " + file + " has no version; add 'version: N' at the top, N higher than the running one");
                    return 1;
                }
                if (c.remote().isPresent()) {
                    err.println("merapi config sign: " + file + " has a remote section, which gateways refuse in a bundle");
                    return 1;
                }
            } catch (ConfigException e) {
                CheckCommand.print(err, e);
                return 1;
            }
            Path sig = out != null ? out : file.resolveSibling(file.getFileName() + ".sig");
            try {
                Files.write(sig, bundle.signatureFile());
            } catch (IOException e) {
                err.println("merapi config sign: cannot write " + sig + ": " + e);
                return 1;
            }
            spec.commandLine().getOut().println(sig + ": signed " + file + " (" + config.length + " bytes, sha256 " + bundle.sha256() + ")");
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    /** {@code merapi config verify}: checks a bundle's signature as a gateway would. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Checks that FILE.sig (or --sig) is a valid signature of FILE by the public key: exit 0 if it is, 1 if not.")
    static final class Verify implements Callable<Integer> {
        @Option(names = "--public-key", required = true, paramLabel = "PUBLIC", description = "The public key (PEM).")
        Path publicKey;

        @Option(names = "--sig", paramLabel = "SIG", description = "The signature file (default: FILE.sig).")
        @Nullable Path sig;

        @Parameters(paramLabel = "FILE", description = "The configuration bundle.")
        Path file;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Path s = sig != null ? sig : file.resolveSibling(file.getFileName() + ".sig");
            try {
                Bundle b = Bundle.of(Files.readAllBytes(file), Files.readString(s, StandardCharsets.US_ASCII));
                if (!b.verifies(Ed25519Pem.publicKey(Files.readString(publicKey, StandardCharsets.US_ASCII)))) {
                    spec.commandLine().getErr().println("merapi config verify: " + s + " is not a valid signature of " + file + " by " + publicKey);
                    return 1;
                }
                spec.commandLine().getOut().println(file + ": signature verified (sha256 " + b.sha256() + ")");
                spec.commandLine().getOut().flush();
                return 0;
            } catch (IOException e) {
                spec.commandLine().getErr().println("merapi config verify: cannot read " + e.getMessage());
                return 1;
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("merapi config verify: " + publicKey + ": " + e.getMessage());
                return 1;
            }
        }
    }
}
