package dev.blockdraft.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.Workflows;
import dev.blockdraft.data.DataFolder;
import dev.blockdraft.grid.TinyGrid;
import dev.blockdraft.lm.Target;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several sampled answers per conversation: more sequences from the same prompts, none leaking across the split. */
class RegenerationAnswersTest {
    @TempDir
    static Path dir;
    static Path target;
    static DataFolder data;

    @BeforeAll
    static void setUp() {
        target = TinyGrid.target(dir);
        data = new DataFolder(TinyGrid.data(dir));
    }

    static RegenerationRecipe recipe(int answers) {
        return RegenerationRecipe.defaultsFor(Device.cpu()).withConversations(8, 3).withFollowUpShare(0)
                .withMaxNewTokens(6).withSampling(1.0, 1.0).withAnswers(answers);
    }

    /** Sequences per distinct prompt (the prompt ids, as text of the array). */
    static Map<String, List<String>> byPrompt(List<RegeneratedData.Sequence> sequences) {
        Map<String, List<String>> out = new HashMap<>();
        for (RegeneratedData.Sequence s : sequences) {
            out.computeIfAbsent(Arrays.toString(Arrays.copyOf(s.ids(), s.responseStart())), k -> new java.util.ArrayList<>())
                    .add(Arrays.toString(Arrays.copyOfRange(s.ids(), s.responseStart(), s.ids().length)));
        }
        return out;
    }

    @Test
    void threeAnswersPerConversationStayOnOneSideOfTheSplitAndDiffer() throws Exception {
        try (Target t = Target.load(target, Device.cpu())) {
            RegeneratedData one = Workflows.regenerate(t, data, dir.resolve("one"), recipe(1));
            RegeneratedData three = Workflows.regenerate(t, data, dir.resolve("three"), recipe(3));
            Map<String, List<String>> train = byPrompt(three.train());
            Map<String, List<String>> validation = byPrompt(three.validation());
            Set<String> both = new HashSet<>(train.keySet());
            both.retainAll(validation.keySet());
            assertTrue(both.isEmpty(), "prompts in both splits: " + both);
            // the same conversations as one answer each, on the same sides (an answer that stops at once is dropped,
            // so either run may lack a conversation the other has)
            assertTrue(java.util.Collections.disjoint(train.keySet(), byPrompt(one.validation()).keySet()));
            assertTrue(java.util.Collections.disjoint(validation.keySet(), byPrompt(one.train()).keySet()));
            assertTrue(byPrompt(one.train()).values().stream().allMatch(a -> a.size() == 1));
            assertTrue(train.values().stream().allMatch(a -> a.size() <= 3));
            assertTrue(three.train().size() > one.train().size(), three.train().size() + " vs " + one.train().size());
            // sampled apart: some conversation got different answers
            assertTrue(train.values().stream().anyMatch(a -> new HashSet<>(a).size() > 1), "every answer repeated: " + train);
            assertEquals("3", three.manifest().provenance().settings().get("answers"));
            assertFalse(one.manifest().provenance().settings().containsKey("answers"));
        }
    }

    @Test
    void severalGreedyAnswersAreRefusedWithTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RegenerationRecipe.defaultsFor(Device.cpu()).withAnswers(2));
        assertTrue(e.getMessage().contains("answers=2") && e.getMessage().contains("temperature > 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> recipe(0));
    }
}
