package dev.blockdraft.data;

import java.util.List;
import java.util.Objects;

/**
 * One benchmark prompt: its user turns (MT-Bench has two), and, where the set has them, a reference
 * answer and a category; those two are null when absent.
 */
public record BenchmarkPrompt(String id, List<String> turns, String reference, String category) {

    public BenchmarkPrompt {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(turns, "turns");
        if (turns.isEmpty()) {
            throw new IllegalArgumentException("turns of prompt " + id + " is empty; a prompt needs at least one turn");
        }
        turns = List.copyOf(turns);
    }
}
