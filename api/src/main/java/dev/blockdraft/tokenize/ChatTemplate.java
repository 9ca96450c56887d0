package dev.blockdraft.tokenize;

import java.util.List;
import java.util.Objects;

/**
 * The one chat layout used by training data and evaluation alike:
 * {@code <|begin_of_text|>} once at the start, then per turn
 * {@code <|user|>{user}<|end_of_turn|><|assistant|>{assistant}<|end_of_turn|>}.
 * The template's special tokens are inserted as ids; the texts between them are encoded on their
 * own, so token boundaries never straddle a special token.
 */
public final class ChatTemplate {

    /** One finished exchange. */
    public record Turn(String user, String assistant) {
        public Turn {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(assistant, "assistant");
        }
    }

    /**
     * A training example: the full token ids and where the response begins.
     *
     * @param ids           the whole conversation, ending with the response's end-of-turn
     * @param responseStart index of the response's first token (right after {@code <|assistant|>});
     *                      tokens before it are prompt and are not trained on
     */
    public record EncodedExample(int[] ids, int responseStart) {
        public EncodedExample {
            Objects.requireNonNull(ids, "ids");
            if (responseStart < 0 || responseStart > ids.length) {
                throw new IllegalArgumentException("responseStart must be in [0, " + ids.length + "], was " + responseStart);
            }
        }

        /** Response tokens including the closing end-of-turn. */
        public int responseLength() {
            return ids.length - responseStart;
        }
    }

    private final Tokenizer tokenizer;
    private final int bos;
    private final int user;
    private final int assistant;
    private final int endOfTurn;

    /** Fails when the tokenizer lacks blockdraft's special tokens, naming the file and token. */
    public ChatTemplate(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.bos = tokenizer.bosId();
        this.user = tokenizer.userId();
        this.assistant = tokenizer.assistantId();
        this.endOfTurn = tokenizer.eosId();
    }

    /** The conversation so far plus the next user message, ending with {@code <|assistant|>}, ready to generate. */
    public int[] promptIds(List<Turn> history, String nextUser) {
        Objects.requireNonNull(nextUser, "nextUser");
        IdBuffer buffer = new IdBuffer();
        buffer.add(bos);
        for (Turn turn : history) {
            appendTurn(buffer, turn.user(), turn.assistant());
        }
        buffer.add(user);
        buffer.addAll(tokenizer.encode(nextUser));
        buffer.add(endOfTurn);
        buffer.add(assistant);
        return buffer.toArray();
    }

    /** A single-turn training example. */
    public EncodedExample encodeExample(String prompt, String response) {
        return encodeExample(List.of(), prompt, response);
    }

    /** A training example whose trained part is the last response; earlier turns are context. */
    public EncodedExample encodeExample(List<Turn> history, String prompt, String response) {
        Objects.requireNonNull(response, "response");
        IdBuffer buffer = new IdBuffer();
        buffer.addAll(promptIds(history, prompt));
        int responseStart = buffer.size();
        buffer.addAll(tokenizer.encode(response));
        buffer.add(endOfTurn);
        return new EncodedExample(buffer.toArray(), responseStart);
    }

    private void appendTurn(IdBuffer buffer, String userText, String assistantText) {
        buffer.add(user);
        buffer.addAll(tokenizer.encode(userText));
        buffer.add(endOfTurn);
        buffer.add(assistant);
        buffer.addAll(tokenizer.encode(assistantText));
        buffer.add(endOfTurn);
    }

    /** The template as text, for display and for checking against the ids. */
    public static String render(List<Turn> history, String nextUser) {
        StringBuilder text = new StringBuilder(SpecialTokens.BEGIN_OF_TEXT);
        for (Turn turn : history) {
            text.append(SpecialTokens.USER).append(turn.user()).append(SpecialTokens.END_OF_TURN)
                    .append(SpecialTokens.ASSISTANT).append(turn.assistant()).append(SpecialTokens.END_OF_TURN);
        }
        return text.append(SpecialTokens.USER).append(nextUser).append(SpecialTokens.END_OF_TURN)
                .append(SpecialTokens.ASSISTANT).toString();
    }

    private static final class IdBuffer {
        private int[] ids = new int[64];
        private int size;

        void add(int id) {
            if (size == ids.length) {
                ids = java.util.Arrays.copyOf(ids, size * 2);
            }
            ids[size++] = id;
        }

        void addAll(int[] more) {
            for (int id : more) {
                add(id);
            }
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(ids, size);
        }
    }
}
