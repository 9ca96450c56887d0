package dev.blockdraft.tokenize;

import java.util.List;

/** blockdraft's special tokens; a trained vocabulary gives them ids 0..6 in this order. */
public final class SpecialTokens {

    public static final String BEGIN_OF_TEXT = "<|begin_of_text|>";
    public static final String END_OF_TEXT = "<|end_of_text|>";
    public static final String USER = "<|user|>";
    public static final String ASSISTANT = "<|assistant|>";
    /** Ends every chat turn; the end-of-sequence token for generation. */
    public static final String END_OF_TURN = "<|end_of_turn|>";
    /** The placeholder a block-diffusion drafter fills in. */
    public static final String MASK = "<|mask|>";
    public static final String PAD = "<|pad|>";

    /** All of them, in id order. */
    public static final List<String> ALL = List.of(BEGIN_OF_TEXT, END_OF_TEXT, USER, ASSISTANT, END_OF_TURN, MASK, PAD);

    private SpecialTokens() {}
}
