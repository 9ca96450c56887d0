package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.data.BenchmarkPrompt;
import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.Target;
import dev.blockdraft.spec.SpeculativeDecoder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The train/serve mismatch detector: the drafter's training forward, teacher-forced at the
 * anchors online decoding visited, accepts exactly what verification accepted — and a drafter
 * that differs from the one that decoded is caught.
 */
@org.junit.jupiter.api.extension.ExtendWith(OneTorchThread.class)
class MismatchDetectorTest {
    static final int FAVOURITE = 70;

    /** A target that often, not always, says the drafter's favourite token: accepted lengths of every size. */
    static Target riggedTarget() {
        Target target = TinyChat.target(256, 11);
        TinyModels.favour(target.model(), FAVOURITE, target.tokenizer().maskId(), 3.0);
        return target;
    }

    @Test
    void teacherForcedAcceptanceAtTheVisitedAnchorsEqualsOnlineAcceptance() {
        try (Target target = riggedTarget(); Drafter drafter = TinyChat.randomDrafter(target, 5, 3)) {
            TinyModels.silenceLayers(drafter.parameters().asMap()); // always drafts the favourite
            Map<Benchmark, List<BenchmarkPrompt>> prompts = Map.of(Benchmark.GSM8K, List.of(
                    SpeculativeEvaluatorTest.prompt("a", "What is the answer?"),
                    SpeculativeEvaluatorTest.prompt("b", "Write a poem about the sea."),
                    SpeculativeEvaluatorTest.prompt("c", "def add(a, b):")));
            AcceptanceReport report = new SpeculativeEvaluator().quiet().withProvenance(false)
                    .evaluate(target, drafter, prompts, BenchmarkRun.of(3, 40, Benchmark.GSM8K).withBaseline(false));
            AcceptanceReport.BenchmarkResult r = report.result(Benchmark.GSM8K).orElseThrow();
            long[] h = r.stats().acceptedHistogram();
            assertTrue(h[0] > 0 && Arrays.stream(h, 1, h.length).sum() > 0, "partial acceptance: " + Arrays.toString(h));
            assertEquals(0, r.forcedMismatches());
            assertEquals(r.visitedTau(), r.forcedTau(), 0.0);
            assertEquals(3, r.perPrompt().size());
            assertTrue(r.forcedTau() > 1.0, "some drafts accepted: " + r.forcedTau());
        }
    }

    @Test
    void aDrafterThatDiffersFromTheDecodingOneIsCaught() {
        try (Target target = riggedTarget(); Drafter drafter = TinyChat.randomDrafter(target, 5, 3);
                Drafter other = TinyChat.randomDrafter(target, 5, 3)) {
            TinyModels.silenceLayers(drafter.parameters().asMap());
            TinyModels.silenceLayers(other.parameters().asMap());
            // the mutant: the same drafter with its final norm zeroed drafts token 0, never the favourite
            ai.djl.ndarray.NDArray norm = other.parameters().get(Drafter.FINAL_NORM);
            norm.set(new float[Math.toIntExact(norm.size())]);
            int[] prompt = target.template().promptIds(List.of(), "What is the answer?");
            SpeculativeDecoder.Output out = new SpeculativeDecoder(drafter).generate(prompt, 40, target.tokenizer().eosId());
            int[] text = Arrays.copyOf(prompt, prompt.length + out.tokens().length);
            System.arraycopy(out.tokens(), 0, text, prompt.length, out.tokens().length);
            int[] anchors = out.steps().stream().mapToInt(SpeculativeDecoder.Step::anchorPosition).toArray();
            int[] same = drafter.acceptedAt(target.model(), text, anchors, target.tokenizer().padId());
            int[] different = other.acceptedAt(target.model(), text, anchors, target.tokenizer().padId());
            int agree = 0, disagree = 0;
            for (int s = 0; s < same.length; s++) {
                int known = Math.min(out.steps().get(s).accepted(), text.length - 1 - anchors[s]);
                agree += same[s] == known ? 1 : 0;
                disagree += different[s] == known ? 0 : 1;
            }
            assertEquals(same.length, agree);
            assertTrue(disagree > 0, "the mutant disagrees where drafts were accepted");
        }
    }
}
