package dev.blockdraft.data;

import java.util.Objects;

/** One corpus line: an instruction pair or a plain document. */
public sealed interface CorpusRecord {

    String id();

    /** A prompt and the response to it (math word problems, chat dialogue). */
    record Instruction(String id, String prompt, String response) implements CorpusRecord {
        public Instruction {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(response, "response");
        }
    }

    /** A document with no prompt (source files). */
    record Document(String id, String text) implements CorpusRecord {
        public Document {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(text, "text");
        }
    }
}
