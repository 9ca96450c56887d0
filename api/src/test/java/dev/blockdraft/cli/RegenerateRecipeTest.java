package dev.blockdraft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.blockdraft.train.RegenerationRecipe;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How `regenerate`'s flags edit the device's recipe: the GPU samples three answers unless told greedy. */
class RegenerateRecipeTest {
    static RegenerationRecipe recipe(Device device, String... args) {
        RegenerateCommand c = new RegenerateCommand();
        new CommandLine(c).parseArgs(args);
        return c.recipe(device);
    }

    @Test
    void aGpuSamplesThreeAnswersByDefaultAndACpuOneGreedy() {
        RegenerationRecipe gpu = recipe(Device.gpu());
        assertEquals(0.7, gpu.temperature());
        assertEquals(3, gpu.answers());
        assertEquals(RegenerationRecipe.defaultsFor(Device.gpu()), gpu);
        RegenerationRecipe cpu = recipe(Device.cpu());
        assertEquals(0, cpu.temperature());
        assertEquals(1, cpu.answers());
    }

    @Test
    void temperatureZeroMeansOneGreedyAnswerOnAnyDevice() {
        RegenerationRecipe greedy = recipe(Device.gpu(), "--temperature", "0");
        assertEquals(0, greedy.temperature());
        assertEquals(1, greedy.answers());
        assertEquals("greedy", greedy.asSettings().get("sampling"));
        assertFalse(greedy.asSettings().containsKey("answers"), "one answer records no answers key: " + greedy.asSettings());
        // the rest of the GPU recipe stays
        assertEquals(RegenerationRecipe.defaultsFor(Device.gpu()).maxNewTokens(), greedy.maxNewTokens());
    }

    @Test
    void explicitFlagsWinAndContradictionsNameTheFlag() {
        RegenerationRecipe r = recipe(Device.gpu(), "--temperature", "1", "--answers", "2", "--top-p", "0.9");
        assertEquals(1.0, r.temperature());
        assertEquals(2, r.answers());
        assertEquals(0.9, r.topP());
        assertEquals(4, recipe(Device.cpu(), "--temperature", "0.8", "--answers", "4").answers());
        assertEquals(1, recipe(Device.cpu(), "--temperature", "0.8").answers(), "a CPU's default K is 1, sampled or not");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> recipe(Device.gpu(), "--temperature", "0", "--answers", "2"));
        assertTrue(e.getMessage().startsWith("--answers 2: greedy decoding gives one answer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> recipe(Device.cpu(), "--answers", "3"));
        assertTrue(e.getMessage().startsWith("--answers 3: greedy decoding gives one answer"), e.getMessage());
    }
}
