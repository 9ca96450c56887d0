package dev.blockdraft.eval;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.blockdraft.data.Benchmark;
import org.junit.jupiter.api.Test;

class PromptTooLongExceptionTest {

    @Test
    void theMessageNeverNamesANegativeRoom() {
        String fits = new PromptTooLongException(Benchmark.GSM8K, "g/1", 1, 1, 900, 1024, 16).getMessage();
        assertTrue(fits.contains("(at most 1007 prompt tokens)"), fits);
        String none = new PromptTooLongException(Benchmark.MT_BENCH, "mt/1", 2, 2, 40, 16, 100_000).getMessage();
        assertTrue(none.contains("a block of 100000 leaves no room for a prompt in a context of 16"), none);
        assertFalse(none.matches(".*-\\d.*"), "no negative numbers: " + none);
    }
}
