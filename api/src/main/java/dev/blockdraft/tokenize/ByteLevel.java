package dev.blockdraft.tokenize;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** GPT-2's byte-level pre-tokenization, as the Hugging Face {@code ByteLevel} pre-tokenizer does it. */
final class ByteLevel {

    /** GPT-2's split; Unicode classes so {@code \s} matches the same characters as in the Rust tokenizer. */
    static final Pattern SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Byte value to its printable stand-in character (GPT-2's bytes_to_unicode). */
    static final char[] BYTE_TO_CHAR = byteToChar();

    private ByteLevel() {}

    private static char[] byteToChar() {
        char[] table = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? (char) b : (char) (256 + next++);
        }
        return table;
    }

    /** A pre-token's UTF-8 bytes, each as its stand-in character. */
    static String toByteChars(String preToken) {
        byte[] bytes = preToken.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }
}
