package dev.blockdraft.tokenize;

/** A tokenizer that cannot be loaded or lacks a token; the message names the tokenizer file. */
public class TokenizerException extends RuntimeException {

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
