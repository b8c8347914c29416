package dev.merapi.gateway;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The module and package boundaries of DESIGN.md §2, checked on the compiled classes of every Merapi module this
 * module sees (all library modules and the gateway): no package cycle anywhere, no module reaching into another's
 * {@code internal} package, a server that knows no protocol, and a proxy that knows no HTTP/1 class. The last two
 * tests run the rules on a deliberate cycle ({@code archfixture}) to prove that they bite.
 *
 * <p>JPMS descriptors ({@code module-info.java}) would state the {@code internal} rule too, but the build cannot
 * package them: Maven runs on JDK 17 here, and maven-jar-plugin writes a modular jar with the running JDK's
 * {@code jar} tool, which rejects a Java 25 {@code module-info.class} ("Unsupported major.minor version 69.0").
 */
class ArchitectureTest {
    /** Every production class of Merapi on this module's class path; test classes (and so the fixture) left out. */
    private static final JavaClasses MERAPI = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.merapi");

    /** The deliberately broken classes the rules must reject. */
    private static final JavaClasses FIXTURE = new ClassFileImporter().importPackages("dev.merapi.gateway.archfixture");

    /**
     * Each package is a slice; a package that needs another needing it back is one unit in two names. One known
     * exception, kept narrow so that any new cycle still fails: load-balancing's sub-packages (selection, health,
     * discovery) take {@code Backend} and {@code LoadBalancer} from the module's root package, which assembles them.
     */
    static final ArchRule NO_PACKAGE_CYCLES = slices().matching("dev.merapi.(**)").should().beFreeOfCycles()
            .ignoreDependency(
                    resideInAnyPackage("dev.merapi.loadbalancing.selection..", "dev.merapi.loadbalancing.health..",
                            "dev.merapi.loadbalancing.discovery.."),
                    resideInAPackage("dev.merapi.loadbalancing"));

    /**
     * {@code a.b.internal..} belongs to the module rooted at {@code a.b}: only classes under {@code a.b} may use it.
     */
    static final ArchRule INTERNAL_STAYS_INSIDE_ITS_MODULE = classes().that().resideInAPackage("dev.merapi..")
            .should(new ArchCondition<JavaClass>("use no other module's internal package") {
                private final Pattern internal = Pattern.compile("^(dev\\.merapi\\..+?)\\.internal(\\..*)?$");

                @Override
                public void check(JavaClass origin, ConditionEvents events) {
                    for (Dependency d : origin.getDirectDependenciesFromSelf()) {
                        Matcher m = internal.matcher(d.getTargetClass().getPackageName());
                        String from = origin.getPackageName();
                        if (m.matches() && !(from.equals(m.group(1)) || from.startsWith(m.group(1) + "."))) {
                            events.add(SimpleConditionEvent.violated(d, d.getDescription()));
                        }
                    }
                }
            });

    @Test
    void noPackageCycleInAnyModule() {
        NO_PACKAGE_CYCLES.check(MERAPI);
    }

    @Test
    void noModuleUsesAnotherModulesInternalPackage() {
        INTERNAL_STAYS_INSIDE_ITS_MODULE.check(MERAPI);
    }

    @Test
    void serverRunsConnectionStagesAndKnowsNoProtocol() {
        noClasses().that().resideInAPackage("dev.merapi.core.server..")
                .should().dependOnClassesThat().resideInAPackage("dev.merapi.core.protocols..")
                .check(MERAPI);
    }

    @Test
    void proxyUsesTheProtocolNeutralSessionOnly() {
        noClasses().that().resideInAPackage("dev.merapi.proxy..")
                .should().dependOnClassesThat().resideInAPackage("dev.merapi.core.protocols.http1..")
                .check(MERAPI);
    }

    @Test
    void clientSideDoesNotDependOnTheServerSide() {
        noClasses().that().resideInAPackage("dev.merapi.core.connectors..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.merapi.core.server..", "dev.merapi.core.services..",
                        "dev.merapi.core.protocols.http1..")
                .check(MERAPI);
    }

    @Test
    void cycleRuleRejectsADeliberateCycle() {
        assertThat(FIXTURE.contain("dev.merapi.gateway.archfixture.a.Ping")).isTrue();
        assertThat(NO_PACKAGE_CYCLES.evaluate(FIXTURE).hasViolation()).isTrue();
    }

    @Test
    void internalRuleRejectsAnotherModulesInternalPackage() {
        assertThat(INTERNAL_STAYS_INSIDE_ITS_MODULE.evaluate(FIXTURE).getFailureReport().getDetails())
                .anyMatch(line -> line.contains("dev.merapi.core.internal.ConnectionTracker"));
    }
}
