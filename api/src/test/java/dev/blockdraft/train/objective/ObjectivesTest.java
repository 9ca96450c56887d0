package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.train.objective.PositionalWeighting.Schedule;
import java.util.List;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Presets, parsing, toString and hyperparameter validation. */
class ObjectivesTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "uniform|Uniform()",
        "dflash|PositionalWeighting(schedule=exponential(gamma=dflash(B)))",
        "dpace|DPace(a=0.5, normalization=sequences)",
        "positional|PositionalWeighting(schedule=hardReach(momentum=0.9))",
        "first-error|Uniform() + FirstErrorFocal(gamma=2.0, alpha=0.5)",
        "chain|Uniform() + ChainLoss(alpha=0.5)",
        "paper|PositionalWeighting(schedule=hardReach(momentum=0.9)) + FirstErrorFocal(gamma=2.0, alpha=0.5)"
                + " + ChainLoss(alpha=0.5)",
    })
    void presetsParseAndEvaluate(String name, String expected) {
        Objective o = Objectives.parse(name);
        assertEquals(expected, o.toString());
        assertEquals(expected, Objectives.parse("  " + name.toUpperCase() + " ").toString());
        ObjectiveValuesTest.Result r = ObjectiveValuesTest.eval(o, Fixture.small());
        assertTrue(Double.isFinite(r.total()) && r.total() != 0, name + " total " + r.total());
    }

    @Test
    void namesListEveryPreset() {
        assertEquals(List.of("uniform", "dflash", "dpace", "positional", "first-error", "chain", "paper"), Objectives.names());
    }

    @Test
    void presetTermsOnTheFixture() {
        Fixture f = Fixture.small();
        var paper = ObjectiveValuesTest.eval(Objectives.paper(), f);
        assertEquals(List.of("positional_ce", "first_error", "chain", "expected_tau"), List.copyOf(paper.terms().keySet()));
        var dflash = ObjectiveValuesTest.eval(Objectives.dflash(), f);
        // B = 4 here (K = 3): γ = B/2 = 2
        assertEquals(f.positional(f.logits, new double[] {1, Math.exp(-1 / 2.0), Math.exp(-2 / 2.0)}), dflash.total(), 1e-5);
        var fe = ObjectiveValuesTest.eval(Objectives.firstError(), f);
        assertEquals(f.uniform(f.logits) + 0.5 * f.firstErrorFocal(f.logits, 2), fe.total(), 1e-5);
        var ch = ObjectiveValuesTest.eval(Objectives.chain(), f);
        assertEquals(f.uniform(f.logits) + 0.5 * f.chain(f.logits), ch.total(), 1e-5);
    }

    @Test
    void overrides() {
        assertEquals("Uniform() + FirstErrorFocal(gamma=1.0, alpha=0.3)",
                Objectives.parse("first-error:gamma=1,alpha=0.3").toString());
        assertEquals("PositionalWeighting(schedule=hardReach(momentum=0.99)) + FirstErrorFocal(gamma=3.0, alpha=0.2)"
                + " + ChainLoss(alpha=1.0)",
                Objectives.parse("paper: alpha-fe=0.2, gamma=3, alpha-chain=1, momentum=0.99").toString());
        assertEquals(Objectives.parse("paper:gamma=1.5,alpha-fe=0.4,alpha-chain=0.7").toString(),
                Objectives.paper(0.4, 1.5, 0.7).toString());
        assertEquals("DPace(a=0.25, normalization=sequences)", Objectives.parse("dpace:a=0.25").toString());
        assertEquals("DPace(a=0.5, normalization=slots)", Objectives.parse("dpace:norm=slots").toString());
        assertEquals("PositionalWeighting(schedule=reachProbability(momentum=0.9))",
                Objectives.parse("positional:reach=soft").toString());
        assertEquals("PositionalWeighting(schedule=exponential(gamma=dflash(B)))", Objectives.parse("dflash:gamma=auto").toString());
        assertEquals("norm=mean (objective 'dpace'); valid: sequences, slots, weights",
                message(() -> Objectives.parse("dpace:norm=mean")));
        assertEquals("PositionalWeighting(schedule=exponential(gamma=4.0))", Objectives.parse("dflash:gamma=4").toString());
        assertEquals("Uniform()", Objectives.parse("uniform:").toString());
    }

    @Test
    void presetsAreFreshInstances() {
        PositionalWeighting a = (PositionalWeighting) Objectives.parse("positional");
        PositionalWeighting b = (PositionalWeighting) Objectives.parse("positional");
        assertNotSame(a.schedule(), b.schedule());
    }

    private static String message(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    @Test
    void parseErrorsAreClear() {
        String unknown = message(() -> Objectives.parse("focal"));
        assertTrue(unknown.contains("unknown objective 'focal'"), unknown);
        assertTrue(unknown.contains("uniform, dflash, dpace, positional, first-error, chain, paper"), unknown);
        assertTrue(message(() -> Objectives.parse("")).contains("valid: uniform"));
        String badKey = message(() -> Objectives.parse("chain:gamma=2"));
        assertTrue(badKey.contains("'chain' has no parameter 'gamma'") && badKey.contains("valid: alpha"), badKey);
        assertTrue(message(() -> Objectives.parse("uniform:alpha=1")).contains("it takes none"));
        assertTrue(message(() -> Objectives.parse("chain:alpha=lots")).contains("alpha=lots is not a number"));
        assertTrue(message(() -> Objectives.parse("chain:alpha")).contains("needs a value"));
        assertEquals("gamma=-1.0 must be > 0 and finite", message(() -> Objectives.parse("dflash:gamma=-1")));
        assertEquals("alpha=-0.5 must be >= 0 and finite", message(() -> Objectives.parse("paper:alpha-chain=-0.5")));
    }

    @Test
    void hyperparametersAreValidatedNamingTheField() {
        assertEquals("gamma=-1.0 must be > 0 and finite", message(() -> Schedule.exponential(-1)));
        assertEquals("gamma=0.0 must be > 0 and finite", message(() -> Schedule.exponential(0)));
        assertEquals("gamma=-1.0 must be >= 0 and finite", message(() -> new FirstErrorFocal(-1, 0.5)));
        assertEquals("alpha=NaN must be >= 0 and finite", message(() -> new FirstErrorFocal(2, Double.NaN)));
        assertEquals("alpha=-0.1 must be >= 0 and finite", message(() -> new ChainLoss(-0.1)));
        assertEquals("a=1.5 must be in [0, 1]", message(() -> new DPace(1.5)));
        assertEquals("momentum=1.0 must be in [0, 1)", message(() -> Schedule.reachProbability(1)));
        assertEquals("momentum=-0.1 must be in [0, 1)", message(() -> Schedule.reachProbability(-0.1)));
        assertThrows(NullPointerException.class, () -> new PositionalWeighting(null));
    }
}
