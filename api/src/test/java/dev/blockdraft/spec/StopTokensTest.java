package dev.blockdraft.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.lm.Generator;
import dev.blockdraft.lm.LlamaConfig;
import dev.blockdraft.lm.LlamaModel;
import dev.blockdraft.lm.Sampler;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Generation ends at the first of several stop ids (a tokenizer's {@code stopIds()}: Qwen3 stops
 * on {@code <|im_end|>} and on {@code generation_config.json}'s {@code <|endoftext|>}), not only at
 * the first one: plain, batched and speculative decoding all end after the same token, including
 * when it falls inside an accepted block.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.blockdraft.eval.OneTorchThread.class)
class StopTokensTest {

    @Test
    void everyDecoderStopsAtTheFirstOfSeveralStopIds() {
        LlamaConfig config = LlamaConfig.llama(40, 32, 48, 2, 4, 2, 128).withTiedEmbeddings(false);
        int[] prompt = {3, 9, 1, 4, 4, 7, 21};
        int[] other = {5, 2, 8};
        int budget = 40;
        try (LlamaModel target = LlamaModel.initialize(config, Device.cpu(), 8)) {
            int[] free = Generator.generate(target, prompt, budget, Sampler.greedy()).tokens();
            assertEquals(budget, free.length, "no stop ids: the whole budget");
            int unused = unusedToken(free, config.vocabSize());
            int[] reference = new int[prompt.length + free.length];
            System.arraycopy(prompt, 0, reference, 0, prompt.length);
            System.arraycopy(free, 0, reference, prompt.length, free.length);
            int positions = 0;
            // every first occurrence: some stops fall inside an accepted block, some on a bonus token
            for (int at = 1; at < free.length; at++) {
                if (!isFirstOccurrence(free, at)) {
                    continue;
                }
                positions++;
                int[] stops = {unused, free[at]}; // the one that occurs is not the first listed
                int[] expected = Arrays.copyOf(free, at + 1);
                assertArrayEquals(expected, Generator.generate(target, prompt, budget, Sampler.greedy(), stops).tokens(),
                        "plain decoding ends after the stop token it meets (" + at + ")");
                List<int[]> batch = Generator.generateBatch(target, List.of(prompt, other), budget, Sampler.greedy(), stops);
                assertArrayEquals(expected, batch.get(0), "batched decoding, the same row (" + at + ")");
                assertArrayEquals(Generator.generate(target, other, budget, Sampler.greedy(), stops).tokens(), batch.get(1),
                        "batched decoding, a second row with its own stop (" + at + ")");
                ScriptedProposerExactnessTest.Scripted script = new ScriptedProposerExactnessTest.Scripted(5, reference, at, 40);
                SpeculativeDecoder.Output out = new SpeculativeDecoder(target, script).generate(prompt, budget, stops);
                assertArrayEquals(expected, out.tokens(), "speculative decoding ends after the same token (" + at + ")");
            }
            assertTrue(positions >= 5, "stop positions exercised: " + positions);
        }
    }

    private static boolean isFirstOccurrence(int[] tokens, int i) {
        return Arrays.stream(tokens, 0, i).noneMatch(x -> x == tokens[i]);
    }

    private static int unusedToken(int[] tokens, int vocab) {
        for (int v = vocab - 1; v >= 0; v--) {
            final int t = v;
            if (Arrays.stream(tokens).noneMatch(x -> x == t)) {
                return v;
            }
        }
        throw new AssertionError("every token occurs");
    }
}
