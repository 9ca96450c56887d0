package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.draft.Drafter;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import dev.blockdraft.spec.SpecStats;
import dev.blockdraft.spec.SpeculativeDecoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The project's greedy exactness test: speculative decoding emits exactly the target's greedy
 * tokens, for many prompts of varied length, block sizes 2, 4 and 8, one and two denoising steps;
 * and its statistics obey their identities.
 *
 * <p>Two targets: a random one with a random drafter (almost every draft rejected), and one whose
 * LM head is rigged so that the drafter's favourite token is often, not always, the target's
 * choice: there steps accept nothing, one draft, and the whole block, which exercises the KV
 * rollback after rejection, partial and full acceptance. (Accepted lengths 2..B−2 do not occur
 * with these tiny models: greedy decoding falls into short cycles.)
 */
@org.junit.jupiter.api.extension.ExtendWith(OneTorchThread.class)
class GreedyExactnessTest {
    static final int VOCAB = 64;
    static final int MASK = 5;
    static final int FAVOURITE = 9;
    static final int PROMPTS = 24;
    static final int NEW_TOKENS = 12;

    static LlamaModel random;
    static LlamaModel rigged;
    static List<int[]> prompts;
    static List<int[]> randomGreedy;
    static List<int[]> riggedGreedy;

    @BeforeAll
    static void models() {
        LlamaConfig config = TinyModels.config(VOCAB, 128);
        random = TinyModels.target(config, 3);
        rigged = TinyModels.target(config, 3);
        TinyModels.favour(rigged, FAVOURITE, MASK, 3.0);
        SplittableRandom rng = new SplittableRandom(2024);
        prompts = new ArrayList<>();
        for (int p = 0; p < PROMPTS; p++) {
            prompts.add(rng.ints(1 + rng.nextInt(40), 0, VOCAB).toArray()); // 1..40 tokens
        }
        randomGreedy = greedy(random);
        riggedGreedy = greedy(rigged);
    }

    static List<int[]> greedy(LlamaModel model) {
        return prompts.stream().map(p -> Generator.generate(model, p, NEW_TOKENS, Sampler.greedy(), -1).tokens()).toList();
    }

    @AfterAll
    static void close() {
        random.close();
        rigged.close();
    }

    @ParameterizedTest(name = "B={0}, {1} denoising step(s)")
    @CsvSource({"2,1", "4,1", "4,2", "8,1", "8,2"})
    void randomDrafterOnRandomTarget(int blockSize, int steps) {
        try (Drafter drafter = TinyModels.drafter(random, blockSize, steps, MASK, 11)) {
            SpecStats total = check(drafter, randomGreedy);
            // each step emits at most B tokens and every prompt needs NEW_TOKENS − 1 after the prefill
            assertTrue(total.steps() >= (long) PROMPTS * ((NEW_TOKENS - 1 + blockSize - 1) / blockSize), total.toString());
        }
    }

    @ParameterizedTest(name = "B={0}, {1} denoising step(s)")
    @CsvSource({"2,1", "4,1", "4,2", "8,1", "8,2"})
    void partiallyAcceptingDrafter(int blockSize, int steps) {
        try (Drafter drafter = TinyModels.drafter(rigged, blockSize, steps, MASK, 11)) {
            TinyModels.silenceLayers(drafter.parameters().asMap()); // always drafts FAVOURITE
            SpecStats total = check(drafter, riggedGreedy);
            long[] h = total.acceptedHistogram();
            // the test only proves rollback if it saw rejections, partial and full acceptance
            assertTrue(h[0] > 0 && h[blockSize - 1] > 0, "histogram " + Arrays.toString(h));
            if (blockSize > 2) {
                long partial = Arrays.stream(h, 1, blockSize - 1).sum();
                assertTrue(partial > 0, "no partial acceptance in " + Arrays.toString(h));
            }
        }
    }

    /** Decodes every prompt, asserts token identity and the statistics' identities; returns the sum. */
    private static SpecStats check(Drafter drafter, List<int[]> expected) {
        int b = drafter.config().blockSize();
        SpeculativeDecoder decoder = new SpeculativeDecoder(drafter);
        SpecStats total = SpecStats.empty(b);
        for (int p = 0; p < PROMPTS; p++) {
            SpeculativeDecoder.Output out = decoder.generate(prompts.get(p), NEW_TOKENS, -1);
            String where = "prompt " + p + " (" + prompts.get(p).length + " tokens), B=" + b;
            assertEquals(NEW_TOKENS, expected.get(p).length, where);
            assertArrayEquals(expected.get(p), out.tokens(), where);
            checkInvariants(out.stats(), where);
            // no stop token: decoding ran until the budget; the anchor from the prefill plus emitted
            // tokens reach it, and the last step started below it
            long produced = 1 + out.stats().emitted();
            assertTrue(produced >= NEW_TOKENS && produced - b < NEW_TOKENS, where + ": " + out.stats());
            total = total.plus(out.stats());
        }
        checkInvariants(total, "sum, B=" + b);
        return total;
    }

    /** Identities of speculative statistics without a stop token. */
    static void checkInvariants(SpecStats s, String where) {
        int b = s.blockSize();
        long[] h = s.acceptedHistogram();
        assertEquals(s.steps(), Arrays.stream(h).sum(), where + ": Σ histogram == steps");
        long emitted = 0;
        for (int n = 0; n < b; n++) {
            emitted += (n + 1) * h[n];
        }
        assertEquals(emitted, s.emitted(), where + ": emitted == Σ (n+1)·histogram[n]");
        assertEquals(s.steps(), s.slotReached()[0], where + ": slotReached[0] == steps");
        for (int k = 0; k < b - 1; k++) {
            long atLeastK = Arrays.stream(h, k, b).sum();
            long moreThanK = Arrays.stream(h, k + 1, b).sum();
            assertEquals(atLeastK, s.slotReached()[k], where + ": slotReached[" + k + "]");
            assertEquals(moreThanK, s.slotAccepted()[k], where + ": slotAccepted[" + k + "]");
            if (k < b - 2) {
                assertEquals(s.slotReached()[k + 1], s.slotAccepted()[k], where + ": slotAccepted[k] == slotReached[k+1]");
            }
        }
        assertEquals(h[b - 1], s.slotAccepted()[b - 2], where + ": last slot accepted == full acceptances");
    }
}
