package dev.blockdraft.tokenize;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A tokenizer's chat template, used by target training data, regeneration and evaluation alike.
 * It is the model's own Jinja {@code chat_template} (rendered as {@code transformers}'
 * {@code apply_chat_template} renders it), or, for blockdraft's own tokenizers,
 * {@link #BLOCKDRAFT}: {@code <|begin_of_text|>} once, an optional system prompt closed by
 * {@code <|end_of_turn|>}, then per turn {@code <|user|>{user}<|end_of_turn|><|assistant|>{assistant}<|end_of_turn|>}.
 * Rendered text is encoded whole: Hugging Face tokenizers split special tokens out first, so token
 * boundaries never straddle one.
 */
public final class ChatTemplate {

    /** blockdraft's own template, written to its tokenizers' tokenizer_config.json. */
    public static final String BLOCKDRAFT = "{{- '<|begin_of_text|>' }}"
            + "{%- for message in messages %}"
            + "{%- if message.role == 'system' %}{{- message.content + '<|end_of_turn|>' }}"
            + "{%- elif message.role == 'user' %}{{- '<|user|>' + message.content + '<|end_of_turn|>' }}"
            + "{%- elif message.role == 'assistant' %}{{- '<|assistant|>' + message.content + '<|end_of_turn|>' }}"
            + "{%- else %}{{- raise_exception('blockdraft chat template: unknown role ' + message.role) }}"
            + "{%- endif %}"
            + "{%- endfor %}"
            + "{%- if add_generation_prompt %}{{- '<|assistant|>' }}{%- endif %}";

    /** One message of a conversation: role {@code system}, {@code user} or {@code assistant}. */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }

        public static Message system(String content) {
            return new Message("system", content);
        }

        public static Message user(String content) {
            return new Message("user", content);
        }

        public static Message assistant(String content) {
            return new Message("assistant", content);
        }
    }

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
     * @param ids           the whole conversation, ending with what the template puts after the response
     * @param responseStart index of the response's first token (right after the generation prompt);
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
    private final String text;
    private final String origin;
    private final JinjaTemplate jinja;

    /**
     * The tokenizer's template: its own, else blockdraft's when it is a blockdraft tokenizer; fails,
     * naming the folder, when it has neither.
     */
    public ChatTemplate(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        TokenizerConfig config = tokenizer.config();
        if (config.chatTemplate() != null) {
            this.text = config.chatTemplate();
            this.origin = config.chatTemplateSource().toString();
        } else {
            for (String token : List.of(SpecialTokens.BEGIN_OF_TEXT, SpecialTokens.USER, SpecialTokens.ASSISTANT,
                    SpecialTokens.END_OF_TURN)) {
                if (!tokenizer.hasToken(token)) {
                    throw new TokenizerException("tokenizer " + tokenizer.source().getParent() + " has no chat template ("
                            + TokenizerConfig.TEMPLATE_FILE + " or \"chat_template\" in " + TokenizerConfig.FILE
                            + ") and is not a blockdraft tokenizer (no token \"" + token + "\")");
                }
            }
            this.text = BLOCKDRAFT;
            this.origin = "blockdraft's chat template";
        }
        this.jinja = new JinjaTemplate(text, origin);
    }

    /** The Jinja source. */
    public String text() {
        return text;
    }

    /** Where the template came from: its file, or "blockdraft's chat template". */
    public String origin() {
        return origin;
    }

    /**
     * The conversation as text, as {@code apply_chat_template(messages, tokenize=False,
     * add_generation_prompt=...)} renders it.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> variables = new HashMap<>(tokenizer.config().namedTokens());
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (Message m : messages) {
            list.add(Map.of("role", m.role(), "content", m.content()));
        }
        variables.put("messages", list);
        variables.put("add_generation_prompt", addGenerationPrompt);
        return jinja.render(variables);
    }

    /** The rendered conversation's token ids. */
    public int[] encode(List<Message> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(messages, addGenerationPrompt));
    }

    /** The messages of earlier turns, an optional system prompt (null for none) first. */
    public static List<Message> messages(String system, List<Turn> history) {
        List<Message> messages = new ArrayList<>();
        if (system != null) {
            messages.add(Message.system(system));
        }
        for (Turn turn : history) {
            messages.add(Message.user(turn.user()));
            messages.add(Message.assistant(turn.assistant()));
        }
        return messages;
    }

    /** The conversation so far plus the next user message, ending with the generation prompt, ready to generate. */
    public int[] promptIds(List<Turn> history, String nextUser) {
        return promptIds(null, history, nextUser);
    }

    /** As {@link #promptIds(List, String)} with a system prompt (null for none). */
    public int[] promptIds(String system, List<Turn> history, String nextUser) {
        Objects.requireNonNull(nextUser, "nextUser");
        List<Message> messages = messages(system, history);
        messages.add(Message.user(nextUser));
        return encode(messages, true);
    }

    /** A single-turn training example. */
    public EncodedExample encodeExample(String prompt, String response) {
        return encodeExample(List.of(), prompt, response);
    }

    /** A training example whose trained part is the last response; earlier turns are context. */
    public EncodedExample encodeExample(List<Turn> history, String prompt, String response) {
        return encodeExample(null, history, prompt, response);
    }

    /**
     * A training example with a system prompt (null for none). The prompt's ids are exactly those
     * generation starts from ({@link #promptIds}); the rest of the rendered conversation is the response.
     */
    public EncodedExample encodeExample(String system, List<Turn> history, String prompt, String response) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(response, "response");
        List<Message> messages = messages(system, history);
        messages.add(Message.user(prompt));
        String promptText = render(messages, true);
        messages.add(Message.assistant(response));
        String fullText = render(messages, false);
        if (!fullText.startsWith(promptText)) {
            throw new TokenizerException(origin + ": the conversation with its answer does not begin with the prompt"
                    + " the template renders for generation, so the response's start is undefined");
        }
        IdBuffer buffer = new IdBuffer();
        buffer.addAll(tokenizer.encode(promptText));
        int responseStart = buffer.size();
        buffer.addAll(tokenizer.encode(fullText.substring(promptText.length())));
        return new EncodedExample(buffer.toArray(), responseStart);
    }

    @Override
    public String toString() {
        return "ChatTemplate(" + origin + ")";
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
