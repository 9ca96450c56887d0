package dev.blockdraft.eval;

import dev.blockdraft.data.Benchmark;
import dev.blockdraft.io.BadInputException;

/** A benchmark turn whose prompt leaves no room in the target's context for one drafted block. */
public final class PromptTooLongException extends BadInputException {
    private static final long serialVersionUID = 1L;

    private final transient Benchmark benchmark;
    private final String promptId;
    private final int turn;
    private final int promptTokens;
    private final int contextTokens;

    public PromptTooLongException(Benchmark benchmark, String promptId, int turn, int turns, int promptTokens,
            int contextTokens, int blockSize) {
        super(benchmark.displayName() + " prompt " + promptId + (turns > 1 ? " (turn " + turn + " of " + turns + ")" : "")
                + " is " + promptTokens + " tokens long but the target's context is " + contextTokens
                + " tokens; speculative decoding needs the prompt plus a block of " + blockSize
                + " plus at least one new token to fit (" + room(contextTokens, blockSize)
                + "); shorten the prompt, use a target with a longer context, or skip such prompts"
                + " (BenchmarkRun.withOnTooLong(SKIP))");
        this.benchmark = benchmark;
        this.promptId = promptId;
        this.turn = turn;
        this.promptTokens = promptTokens;
        this.contextTokens = contextTokens;
    }

    /** What fits: a number of prompt tokens, or, when the block alone fills the context, that. */
    private static String room(int contextTokens, int blockSize) {
        int most = contextTokens - blockSize - 1;
        return most >= 1 ? "at most " + most + " prompt tokens"
                : "a block of " + blockSize + " leaves no room for a prompt in a context of " + contextTokens
                        + "; use a smaller block size";
    }

    public Benchmark benchmark() {
        return benchmark;
    }

    public String promptId() {
        return promptId;
    }

    /** 1-based turn. */
    public int turn() {
        return turn;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextTokens() {
        return contextTokens;
    }
}
